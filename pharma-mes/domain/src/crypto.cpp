#include "mes/domain/crypto.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <memory>

namespace mes::crypto {
namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

struct DigestContext {
  DigestContext() : ctx(EVP_MD_CTX_new()), md(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {}
  ~DigestContext() {
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
  }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
  EVP_MD_CTX* ctx;
  EVP_MD* md;
};

}  // namespace

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 15];
  }
  return out;
}

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

namespace {

void sha256(std::string_view bytes, unsigned char (&out)[32]) {
  thread_local DigestContext digest;
  unsigned int size = 0;
  if (digest.ctx == nullptr || digest.md == nullptr ||
      EVP_DigestInit_ex2(digest.ctx, digest.md, nullptr) != 1 ||
      EVP_DigestUpdate(digest.ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(digest.ctx, out, &size) != 1 || size != 32) {
    (void)sodium_ready();  // libsodium's portable SHA-256: same result, slower
    crypto_hash_sha256(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  }
}

}  // namespace

bool sha256_hex_equals(std::string_view bytes, std::string_view expected_hex) {
  if (expected_hex.size() != 64) return false;
  unsigned char out[32];
  sha256(bytes, out);
  static constexpr char kDigits[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 32; ++i) {
    if (expected_hex[2 * i] != kDigits[out[i] >> 4] ||
        expected_hex[2 * i + 1] != kDigits[out[i] & 15]) {
      return false;
    }
  }
  return true;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char out[32];
  sha256(bytes, out);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), 32));
}

std::optional<SigningKey> SigningKey::from_seed(std::string_view seed32) {
  if (seed32.size() != crypto_sign_SEEDBYTES || !sodium_ready()) return std::nullopt;
  SigningKey key;
  crypto_sign_seed_keypair(key.public_.data(), key.secret_.data(),
                           reinterpret_cast<const unsigned char*>(seed32.data()));
  return key;
}

std::string SigningKey::public_key_hex() const {
  return to_hex(std::string_view(reinterpret_cast<const char*>(public_.data()), public_.size()));
}

std::string SigningKey::sign_hex(std::string_view message) const {
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_.data());
  return to_hex(std::string_view(reinterpret_cast<const char*>(sig), sizeof sig));
}

bool verify_hex(std::string_view public_key_hex, std::string_view message,
                std::string_view signature_hex) {
  const auto pk = from_hex(public_key_hex);
  const auto sig = from_hex(signature_hex);
  if (!pk || !sig || pk->size() != crypto_sign_PUBLICKEYBYTES || sig->size() != crypto_sign_BYTES ||
      !sodium_ready()) {
    return false;
  }
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(),
                                     reinterpret_cast<const unsigned char*>(pk->data())) == 0;
}

}  // namespace mes::crypto
