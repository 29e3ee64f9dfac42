// SecretSpool: one-time passwords on their way to the user and to nobody else (11.300(c),(d),
// Annex 11 §12: an administrator never chooses or sees a user's password). A spool directory,
// one file per secret, for the site's delivery agent (mail, SMS, a sealed-envelope printer) to
// take and delete, as a mail transfer agent takes a maildrop. Files are written aside and renamed
// into place (never half-written), mode 0600 in a 0700 directory; the server never reads one back.
// Thread-safe: each delivery writes its own file.
#pragma once

#include <filesystem>
#include <string>

#include "mes/domain/accounts.hpp"
#include "mes/domain/errors.hpp"

namespace mes::api {

class SecretSpool {
 public:
  explicit SecretSpool(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // Writes {"user","secret","why","issued_at"} to DIR/<user>-<issued_at>-<n>.json; returns its
  // path. Refuses (kStorage) when the directory cannot be made or written.
  Result<std::filesystem::path> deliver(const std::string& user_id, const std::string& secret,
                                        const std::string& why, Millis issued_at) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// A random one-time password that satisfies the password policy (upper and lower case, digits,
// dashes; 16 random characters of 56: 92 bits). libsodium's generator.
std::string one_time_password();

}  // namespace mes::api
