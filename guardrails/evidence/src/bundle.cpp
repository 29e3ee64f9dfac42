#include "guardrails/evidence/bundle.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "guardrails/evidence/evidence_log.hpp"

namespace guardrails::evidence {
namespace {

constexpr const char* kFormat = "guarded-venue-evidence-bundle/1";

std::string hex(const unsigned char* bytes, std::size_t n) {
  std::string out(n * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, n);
  out.pop_back();
  return out;
}

std::optional<std::string> unhex(const std::string& text, std::size_t n) {
  std::string out(n, '\0');
  std::size_t len = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), n, text.data(), text.size(),
                     nullptr, &len, nullptr) != 0 ||
      len != n) {
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

core::Result<void> write_all(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  if (!out.flush()) return core::fail(kIoError, "cannot write " + path);
  return {};
}

}  // namespace

core::Result<std::string> load_or_create_seed(const std::string& path) {
  if (sodium_init() < 0) return core::fail(kIoError, "libsodium failed to initialise");
  if (::access(path.c_str(), F_OK) != 0) {
    unsigned char seed[crypto_sign_SEEDBYTES];
    randombytes_buf(seed, sizeof seed);
    const std::string text = hex(seed, sizeof seed) + "\n";
    sodium_memzero(seed, sizeof seed);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return core::fail(kIoError, "cannot create " + path);
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                    ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return core::fail(kIoError, "cannot write " + path);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return core::fail(kIoError, "cannot read " + path);
  if ((st.st_mode & 027) != 0) {
    return core::fail(kIoError, path + " must not be writable by its group nor open to others");
  }
  auto text = read_all(path);
  if (!text) return core::fail(kIoError, "cannot read " + path);
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  if (!unhex(*text, crypto_sign_SEEDBYTES)) {
    return core::fail(kIoError, path + " is not a 32-byte hex Ed25519 seed");
  }
  return *text;
}

core::Result<std::string> public_key_of(const std::string& seed_hex) {
  if (sodium_init() < 0) return core::fail(kIoError, "libsodium failed to initialise");
  auto seed = unhex(seed_hex, crypto_sign_SEEDBYTES);
  if (!seed) return core::fail(kIoError, "not a 32-byte hex seed");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed->data()));
  sodium_memzero(sk, sizeof sk);
  return hex(pk, sizeof pk);
}

core::Result<void> seal_bundle(const std::string& dir, const std::string& log_name,
                               const std::vector<std::string>& files, const std::string& seed_hex,
                               std::int64_t sealed_at_ns) {
  if (sodium_init() < 0) return core::fail(kIoError, "libsodium failed to initialise");
  const std::string log_path = dir + "/" + log_name;
  const auto report = verify_file(log_path);
  if (!report.ok)
    return core::fail(kBrokenChain, "the evidence log does not verify: " + report.problem);
  auto log = read_all(log_path);
  if (!log) return core::fail(kIoError, "cannot read " + log_path);
  nlohmann::json file_hashes = nlohmann::json::object();
  for (const auto& f : files) {
    auto bytes = read_all(dir + "/" + f);
    if (!bytes) return core::fail(kIoError, "cannot read " + dir + "/" + f);
    file_hashes[f] = sha256_hex(*bytes);
  }
  auto seed = unhex(seed_hex, crypto_sign_SEEDBYTES);
  if (!seed) return core::fail(kIoError, "not a 32-byte hex seed");
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, reinterpret_cast<const unsigned char*>(seed->data()));
  const nlohmann::json manifest = {{"format", kFormat},
                                   {"log", log_name},
                                   {"log_sha256", sha256_hex(*log)},
                                   {"entries", report.entries},
                                   {"last_hash", report.last_hash},
                                   {"files", file_hashes},
                                   {"sealed_at_ns", sealed_at_ns},
                                   {"public_key", hex(pk, sizeof pk)}};
  const std::string bytes = manifest.dump(2) + "\n";
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(bytes.data()),
                       bytes.size(), sk);
  sodium_memzero(sk, sizeof sk);
  if (auto r = write_all(dir + "/manifest.json", bytes); !r) return r;
  return write_all(dir + "/manifest.sig", hex(sig, sizeof sig) + "\n");
}

namespace {

// verify_bundle's checks; a manifest field of the wrong type throws (nlohmann's type_error).
BundleReport check_bundle(const std::string& dir,
                          const std::optional<std::string>& trusted_public_key) {
  BundleReport r;
  if (sodium_init() < 0) {
    r.problem = "libsodium failed to initialise";
    return r;
  }
  auto manifest_bytes = read_all(dir + "/manifest.json");
  auto sig_text = read_all(dir + "/manifest.sig");
  if (!manifest_bytes || !sig_text) {
    r.problem = "no manifest.json and manifest.sig in " + dir + " (not sealed)";
    return r;
  }
  const auto manifest = nlohmann::json::parse(*manifest_bytes, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || manifest.value("format", "") != kFormat) {
    r.problem = "manifest.json is not an evidence bundle manifest";
    return r;
  }
  r.public_key = trusted_public_key ? *trusted_public_key : manifest.value("public_key", "");
  while (!sig_text->empty() && (sig_text->back() == '\n' || sig_text->back() == '\r')) {
    sig_text->pop_back();
  }
  const auto pk = unhex(r.public_key, crypto_sign_PUBLICKEYBYTES);
  const auto sig = unhex(*sig_text, crypto_sign_BYTES);
  if (!pk || !sig) {
    r.problem = "malformed public key or signature";
    return r;
  }
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig->data()),
                                  reinterpret_cast<const unsigned char*>(manifest_bytes->data()),
                                  manifest_bytes->size(),
                                  reinterpret_cast<const unsigned char*>(pk->data())) != 0) {
    r.problem = trusted_public_key && *trusted_public_key != manifest.value("public_key", "")
                    ? "the manifest is not signed by the trusted key"
                    : "the manifest's signature does not verify (manifest.json changed?)";
    return r;
  }
  const std::string log_name = manifest.value("log", "");
  const auto chain = verify_file(dir + "/" + log_name);
  if (!chain.ok) {
    r.problem = log_name + " is broken at entry " + std::to_string(chain.first_bad_entry) + ": " +
                chain.problem;
    return r;
  }
  auto log = read_all(dir + "/" + log_name);
  if (!log || sha256_hex(*log) != manifest.value("log_sha256", "") ||
      !manifest.contains("entries") || !manifest["entries"].is_number_unsigned() ||
      chain.entries != manifest["entries"].get<std::uint64_t>()) {
    r.problem = log_name + " is not the log that was sealed (entries added or changed since)";
    return r;
  }
  if (!manifest.contains("files") || !manifest["files"].is_object()) {
    r.problem = "manifest.json lists no files";
    return r;
  }
  for (const auto& [name, hash] : manifest["files"].items()) {
    auto bytes = read_all(dir + "/" + name);
    if (!bytes || !hash.is_string() || sha256_hex(*bytes) != hash.get<std::string>()) {
      r.problem = name + " does not match the manifest";
      return r;
    }
  }
  r.ok = true;
  r.entries = chain.entries;
  return r;
}

}  // namespace

BundleReport verify_bundle(const std::string& dir,
                           const std::optional<std::string>& trusted_public_key) {
  try {
    return check_bundle(dir, trusted_public_key);
  } catch (const nlohmann::json::exception& e) {  // e.g. "format": 5, "files": [1]
    BundleReport r;
    r.problem = std::string("manifest.json has a field of the wrong type: ") + e.what();
    return r;
  }
}

}  // namespace guardrails::evidence
