// Electronic signatures: what a signature is (11.50: printed name, UTC time, meaning), how it is
// linked to exactly one version of one record (11.70: the record's hash, sealed with the server's
// Ed25519 key so it cannot be copied to another record or survive an edit of the record), and
// which components a signing needs (11.200: user id and password for the first signing of a
// session or a signer other than the session's user, the password alone for later signings by
// the session's user, both again after logout or idle timeout). Value types; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mes/domain/accounts.hpp"
#include "mes/domain/crypto.hpp"

namespace mes {

enum class Meaning : std::uint8_t {
  kAuthored,
  kReviewed,
  kApproved,
  kVerified,
  kReleased,
  kRejected
};
std::string_view to_string(Meaning meaning);
std::optional<Meaning> parse_meaning(std::string_view text);

// What a user attests once, at their first signing (21 CFR 11.100(c)); the MES keeps when and
// this text's SHA-256 on the user's record and in the trail.
inline constexpr std::string_view kSignatureAttestation =
    "I attest that my electronic signature in this system is the legally binding equivalent of "
    "my traditional handwritten signature, and that I am accountable for every record I sign "
    "with it (21 CFR 11.100(c)).";

struct Signature {
  std::string id;
  std::string user_id;
  std::string printed_name;  // the signer's full name at signing time
  Meaning meaning = Meaning::kAuthored;
  Millis signed_at = 0;  // server UTC
  std::string record_type, record_id;
  std::string record_hash;  // sha256 of the signed record version's canonical bytes
  std::string seal;         // Ed25519 (server key) over signature_message()

  friend bool operator==(const Signature&, const Signature&) = default;
};

std::string signature_message(const Signature& signature);
void seal(Signature& signature, const crypto::SigningKey& key);

enum class SignatureCheck : std::uint8_t {
  kValid,
  kSealBroken,     // a field of the signature row was changed
  kWrongRecord,    // the signature belongs to another record (copied)
  kRecordChanged,  // the record was edited after signing
};
std::string_view to_string(SignatureCheck check);

SignatureCheck check_signature(const Signature& signature, std::string_view record_type,
                               std::string_view record_id, std::string_view current_record_hash,
                               std::string_view public_key_hex);

// The signing state of one login session.
struct SigningSession {
  std::string user_id;  // who logged in
  Millis last_activity = 0;
  bool has_signed = false;  // a full (two-component) signing happened in this session
};

enum class Components : std::uint8_t { kUserIdAndPassword, kPasswordOnly };

Components components_needed(const SigningSession& session, std::string_view signer_id, Millis now,
                             Millis idle_timeout);

// Checks the components presented (password verification is the caller's, through the hasher):
// refuses a missing user id when both are needed, or a user id that is not the signer.
Result<void> check_components(const SigningSession& session, std::string_view signer_id,
                              std::string_view presented_user_id, Millis now, Millis idle_timeout);

}  // namespace mes
