// Hashing and signing for the audit trail and electronic signatures: SHA-256 (OpenSSL, which
// uses the CPU's SHA extensions) and Ed25519 (libsodium). Deterministic computations: keys come
// in as arguments. Thread-safe (each thread keeps its own digest context).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace mes::crypto {

std::string sha256_hex(std::string_view bytes);
// sha256_hex(bytes) == expected_hex, without building the hex string.
bool sha256_hex_equals(std::string_view bytes, std::string_view expected_hex);
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

// An Ed25519 key pair derived from a 32-byte seed (kept secret by the adapter that loads it).
class SigningKey {
 public:
  static std::optional<SigningKey> from_seed(std::string_view seed32);
  std::string public_key_hex() const;
  std::string sign_hex(std::string_view message) const;  // 64-byte signature, hex

 private:
  std::array<unsigned char, 64> secret_{};
  std::array<unsigned char, 32> public_{};
};

bool verify_hex(std::string_view public_key_hex, std::string_view message,
                std::string_view signature_hex);

}  // namespace mes::crypto
