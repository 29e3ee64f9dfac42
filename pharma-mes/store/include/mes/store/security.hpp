// The MES's security adapters: Argon2id password hashing (libsodium) and the server's Ed25519
// signing key kept in a file. Thread-safe (no shared mutable state).
#pragma once

#include <cstddef>
#include <string>

#include "mes/domain/accounts.hpp"
#include "mes/domain/crypto.hpp"
#include "mes/domain/errors.hpp"

namespace mes::store {

// Argon2id with libsodium's PHC string format ($argon2id$v=19$m=...,t=...,p=1$salt$hash): each
// hash carries its own random salt and parameters, so old hashes verify after a change of cost.
class Argon2idHasher final : public PasswordHasher {
 public:
  struct Cost {
    unsigned long long ops;
    std::size_t memory_bytes;
  };
  static Cost interactive();  // libsodium's INTERACTIVE limits (production default)
  static Cost minimal();      // the smallest Argon2id cost libsodium allows (tests only)
  explicit Argon2idHasher(Cost cost = interactive());
  std::string hash(std::string_view password) const override;
  bool verify(std::string_view hash, std::string_view password) const override;

 private:
  Cost cost_;
};

// The 32-byte seed of the server's Ed25519 key in `path` (hex, mode 0600), created at random
// when the file does not exist. Refuses a file that is not a seed, is writable by its group or is
// open to others (group read is allowed: how a Kubernetes Secret reaches the pod's user).
Result<crypto::SigningKey> load_or_create_signing_key(const std::string& path);

}  // namespace mes::store
