#include "mes/domain/esign.hpp"

#include <array>

namespace mes {
namespace {

constexpr std::array<std::string_view, 6> kMeanings = {"authored", "reviewed", "approved",
                                                       "verified", "released", "rejected"};

void put(std::string& out, std::string_view field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '|';
}

}  // namespace

std::string_view to_string(Meaning meaning) { return kMeanings[static_cast<std::size_t>(meaning)]; }

std::optional<Meaning> parse_meaning(std::string_view text) {
  for (std::size_t i = 0; i < kMeanings.size(); ++i) {
    if (kMeanings[i] == text) return static_cast<Meaning>(i);
  }
  return std::nullopt;
}

std::string signature_message(const Signature& s) {
  std::string out = "signature/1|";
  put(out, s.id);
  put(out, s.user_id);
  put(out, s.printed_name);
  put(out, to_string(s.meaning));
  put(out, std::to_string(s.signed_at));
  put(out, s.record_type);
  put(out, s.record_id);
  put(out, s.record_hash);
  return out;
}

void seal(Signature& signature, const crypto::SigningKey& key) {
  signature.seal = key.sign_hex(signature_message(signature));
}

std::string_view to_string(SignatureCheck check) {
  switch (check) {
    case SignatureCheck::kValid:
      return "valid";
    case SignatureCheck::kSealBroken:
      return "seal_broken";
    case SignatureCheck::kWrongRecord:
      return "wrong_record";
    case SignatureCheck::kRecordChanged:
      return "record_changed";
  }
  return "?";
}

SignatureCheck check_signature(const Signature& s, std::string_view record_type,
                               std::string_view record_id, std::string_view current_record_hash,
                               std::string_view public_key_hex) {
  if (!crypto::verify_hex(public_key_hex, signature_message(s), s.seal)) {
    return SignatureCheck::kSealBroken;
  }
  if (s.record_type != record_type || s.record_id != record_id) return SignatureCheck::kWrongRecord;
  if (s.record_hash != current_record_hash) return SignatureCheck::kRecordChanged;
  return SignatureCheck::kValid;
}

Components components_needed(const SigningSession& session, std::string_view signer_id, Millis now,
                             Millis idle_timeout) {
  const bool same_person = !session.user_id.empty() && session.user_id == signer_id;
  const bool continuous = now - session.last_activity < idle_timeout;
  return same_person && continuous && session.has_signed ? Components::kPasswordOnly
                                                         : Components::kUserIdAndPassword;
}

Result<void> check_components(const SigningSession& session, std::string_view signer_id,
                              std::string_view presented_user_id, Millis now, Millis idle_timeout) {
  if (components_needed(session, signer_id, now, idle_timeout) == Components::kUserIdAndPassword &&
      presented_user_id.empty()) {
    return refuse(Code::kSignatureRequired,
                  "this signing needs both components: user id and password", "user_id");
  }
  if (!presented_user_id.empty() && presented_user_id != signer_id) {
    return refuse(Code::kBadSignature, "the user id does not match the signer", "user_id");
  }
  return {};
}

}  // namespace mes
