#include "guardrails/evidence/evidence_log.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace guardrails::evidence {

namespace {

std::string canonical(const nlohmann::json& entry_without_hash) {
  // nlohmann::json objects keep keys sorted, and dump() without indent is compact: canonical.
  return entry_without_hash.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool is_hex64(const nlohmann::json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * sizeof digest, '0');
  for (std::size_t i = 0; i < sizeof digest; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

VerifyReport verify_content(std::string_view content) {
  return verify_content(content, 0, kGenesisHash, nullptr);
}

VerifyReport verify_content(std::string_view content, std::uint64_t entries_before,
                            const std::string& last_hash_before,
                            std::vector<nlohmann::json>* parsed) {
  VerifyReport r;
  r.last_hash = last_hash_before;
  r.entries = entries_before;
  std::uint64_t line_no = entries_before;
  const auto bad = [&](std::string problem) {
    r.ok = false;
    r.first_bad_entry = line_no;
    r.problem = std::move(problem);
    return r;
  };
  while (!content.empty()) {
    const auto nl = content.find('\n');
    if (nl == std::string_view::npos) {
      ++line_no;
      return bad("entry is not terminated by a newline (torn or truncated write)");
    }
    const std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl + 1);
    ++line_no;
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) return bad("entry is not a JSON object");
    for (const char* key : {"data", "hash", "prev", "seq", "ts", "type"}) {
      if (!entry.contains(key)) return bad(fmt::format("entry has no \"{}\"", key));
    }
    if (entry.size() != 6) return bad("entry has unexpected keys");
    if (!is_hex64(entry["hash"]) || !is_hex64(entry["prev"]))
      return bad("hash or prev is not 64 hex digits");
    if (!entry["seq"].is_number_unsigned() || entry["seq"].get<std::uint64_t>() != line_no) {
      return bad(
          fmt::format("sequence number is not {} (entry removed, inserted or reordered)", line_no));
    }
    const std::string stored_hash = entry["hash"].get<std::string>();
    const std::string prev = entry["prev"].get<std::string>();
    if (prev != r.last_hash) {
      return bad(
          "prev does not match the hash of the entry before it (entry removed, inserted or "
          "reordered)");
    }
    entry.erase("hash");
    if (sha256_hex(canonical(entry)) != stored_hash)
      return bad("body does not match its hash (entry altered)");
    r.last_hash = stored_hash;
    r.entries = line_no;
    if (parsed != nullptr) {
      entry["hash"] = stored_hash;
      parsed->push_back(std::move(entry));
    }
  }
  return r;
}

VerifyReport verify_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    VerifyReport r;
    r.ok = false;
    r.problem = "cannot open " + path + ": " + std::strerror(errno);
    return r;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return verify_content(buffer.str());
}

core::Result<std::unique_ptr<EvidenceLog>> EvidenceLog::open(const std::string& path, bool shared) {
  if (sodium_init() < 0) return core::fail(kIoError, "libsodium failed to initialise");
  // The log's directory is created here, so every binary gets the same behaviour.
  if (const auto dir = std::filesystem::path(path).parent_path(); !dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
      return core::fail(kIoError,
                        fmt::format("cannot create directory {}: {}", dir.string(), ec.message()));
    }
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0)
    return core::fail(kIoError,
                      fmt::format("cannot open evidence log {}: {}", path, std::strerror(errno)));
  std::string content;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(content.size()));
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return core::fail(kIoError,
                        fmt::format("cannot read evidence log {}: {}", path, std::strerror(errno)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
  }
  const VerifyReport report = verify_content(content);
  if (!report.ok) {
    ::close(fd);
    return core::fail(kBrokenChain,
                      fmt::format("evidence log {} is broken at entry {}: {}; refusing to append",
                                  path, report.first_bad_entry, report.problem));
  }
  return std::unique_ptr<EvidenceLog>(
      new EvidenceLog(path, fd, report.entries, report.last_hash, content.size(), shared));
}

EvidenceLog::EvidenceLog(std::string path, int fd, std::uint64_t entries, std::string last_hash,
                         std::uint64_t size, bool shared)
    : path_(std::move(path)),
      fd_(fd),
      entries_(entries),
      last_hash_(std::move(last_hash)),
      size_(size),
      shared_(shared) {}

core::Result<void> EvidenceLog::take_in_others_locked() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return core::fail(kIoError, fmt::format("cannot stat {}: {}", path_, std::strerror(errno)));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == size_) return {};
  if (size < size_) {
    return core::fail(kFileChanged, fmt::format("evidence log {} shrank on disk ({} bytes, "
                                                "expected at least {}); refusing to append",
                                                path_, size, size_));
  }
  std::string added(size - size_, '\0');
  std::size_t got = 0;
  while (got < added.size()) {
    const ssize_t n =
        ::pread(fd_, added.data() + got, added.size() - got, static_cast<off_t>(size_ + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return core::fail(kIoError, fmt::format("cannot read evidence log {}", path_));
    got += static_cast<std::size_t>(n);
  }
  const VerifyReport report = verify_content(added, entries_, last_hash_, nullptr);
  if (!report.ok) {
    return core::fail(kBrokenChain,
                      fmt::format("evidence log {}: what another process appended is broken at "
                                  "entry {}: {}; refusing to append",
                                  path_, report.first_bad_entry, report.problem));
  }
  entries_ = report.entries;
  last_hash_ = report.last_hash;
  size_ = size;
  return {};
}

EvidenceLog::~EvidenceLog() { ::close(fd_); }

std::uint64_t EvidenceLog::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

core::Result<std::string> EvidenceLog::append(std::string_view type, const nlohmann::json& data,
                                              core::Nanos wall_ns) {
  std::lock_guard lock(mutex_);
  struct FileLock {  // shared: one appender at a time across processes
    int fd = -1;
    ~FileLock() {
      if (fd >= 0) ::flock(fd, LOCK_UN);
    }
  } file_lock;
  if (shared_) {
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        return core::fail(kIoError, fmt::format("cannot lock {}: {}", path_, std::strerror(errno)));
      }
    }
    file_lock.fd = fd_;
    if (auto r = take_in_others_locked(); !r) return core::fail(r.error());
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != size_) {
    return core::fail(kFileChanged,
                      fmt::format("evidence log {} changed on disk since it was opened ({} bytes, "
                                  "expected {}); refusing to append",
                                  path_, static_cast<long long>(st.st_size), size_));
  }
  char ts[32];
  core::format_utc_iso8601(wall_ns, ts);
  nlohmann::json entry = {{"data", data},
                          {"prev", last_hash_},
                          {"seq", entries_ + 1},
                          {"ts", ts},
                          {"type", std::string(type)}};
  const std::string hash = sha256_hex(canonical(entry));
  entry["hash"] = hash;
  const std::string line = canonical(entry) + "\n";
  std::size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::fail(
          kIoError, fmt::format("cannot write evidence log {}: {}", path_, std::strerror(errno)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    return core::fail(kIoError,
                      fmt::format("cannot sync evidence log {}: {}", path_, std::strerror(errno)));
  }
  size_ += line.size();
  ++entries_;
  last_hash_ = hash;
  return hash;
}

}  // namespace guardrails::evidence
