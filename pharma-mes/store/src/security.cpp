#include "mes/store/security.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace mes::store {

Argon2idHasher::Cost Argon2idHasher::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

Argon2idHasher::Cost Argon2idHasher::minimal() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

Argon2idHasher::Argon2idHasher(Cost cost) : cost_(cost) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
}

std::string Argon2idHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops, cost_.memory_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("Argon2id: out of memory");
  }
  return out;
}

bool Argon2idHasher::verify(std::string_view hash, std::string_view password) const {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

Result<crypto::SigningKey> load_or_create_signing_key(const std::string& path) {
  if (sodium_init() < 0) return refuse(Code::kStorage, "libsodium failed to initialise");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    unsigned char seed[32];
    randombytes_buf(seed, sizeof seed);
    const std::string hex =
        crypto::to_hex(std::string_view(reinterpret_cast<const char*>(seed), sizeof seed)) + "\n";
    sodium_memzero(seed, sizeof seed);
    const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
      return refuse(Code::kStorage, "cannot create " + path + ": " + std::strerror(errno));
    }
    const bool written = ::write(out, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) &&
                         ::fsync(out) == 0;
    ::close(out);
    if (!written) return refuse(Code::kStorage, "cannot write " + path);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return refuse(Code::kStorage, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  char buf[80] = {};
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  // Group read is allowed: a Kubernetes Secret volume reaches the pod's user only through its
  // group (fsGroup), as mode 0440. Anything more (group write, any access for others) is not.
  if ((st.st_mode & 027) != 0) {
    return refuse(Code::kStorage, path +
                                      " must not be writable by its group nor open to others "
                                      "(chmod 600; 640 for a Secret read through its group)");
  }
  std::string text(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const auto seed = crypto::from_hex(text);
  if (!seed || seed->size() != 32)
    return refuse(Code::kStorage, path + " is not a 32-byte hex seed");
  auto key = crypto::SigningKey::from_seed(*seed);
  if (!key) return refuse(Code::kStorage, "cannot derive the signing key");
  return *key;
}

}  // namespace mes::store
