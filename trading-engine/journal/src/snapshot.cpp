#include "trading/journal/snapshot.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "trading/journal/crc32c.hpp"

namespace trading::journal {
namespace {

constexpr unsigned char kSnapshotMagic[8] = {'G', 'V', 'S', 'N', 'A', 'P', 'S', 'H'};
// Version 2: ClOrdID keys are the gateway's exact numbers (journal format 2); a version 1
// snapshot is skipped and the journal replays instead.
// Version 3: the venue's ledger holdings (positions and cash for reconciliation) and the engine's
// run-time limits; a version 2 snapshot is skipped likewise.
constexpr std::uint32_t kSnapshotVersion = 3;

std::vector<std::pair<std::uint64_t, std::string>> list_matching(const std::string& directory,
                                                                 std::string_view prefix,
                                                                 std::string_view suffix) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != prefix.size() + 20 + suffix.size() || !name.starts_with(prefix) ||
        !name.ends_with(suffix)) {
      continue;
    }
    const std::string digits = name.substr(prefix.size(), 20);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.emplace_back(std::stoull(digits), entry.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

core::Result<void> write_all(int fd, const unsigned char* data, std::size_t size,
                             const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::fail(kIoError, "cannot write " + path + ": " + std::strerror(errno));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

std::string snapshot_file_name(std::uint64_t sequence) {
  char name[64];
  std::snprintf(name, sizeof name, "snapshot-%020llu.gvs",
                static_cast<unsigned long long>(sequence));
  return name;
}

std::vector<std::pair<std::uint64_t, std::string>> list_segments(const std::string& directory) {
  return list_matching(directory, "journal-", ".gvj");
}

std::vector<std::pair<std::uint64_t, std::string>> list_snapshots(const std::string& directory) {
  auto out = list_matching(directory, "snapshot-", ".gvs");
  std::reverse(out.begin(), out.end());
  return out;
}

core::Result<std::string> write_snapshot_file(const std::string& directory, std::uint64_t sequence,
                                              const std::vector<unsigned char>& payload) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  const std::string path = directory + "/" + snapshot_file_name(sequence);
  const std::string temp = path + ".tmp";
  unsigned char header[kSnapshotHeaderSize];
  std::memcpy(header, kSnapshotMagic, 8);
  store_u32(header + 8, kSnapshotVersion);
  store_u32(header + 12, 0);
  store_u64(header + 16, sequence);
  store_u64(header + 24, payload.size());
  store_u32(header + 32, crc32c(0, payload.data(), payload.size()));
  store_u32(header + 36, crc32c(0, header, 36));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return core::fail(kIoError, "cannot create " + temp + ": " + std::strerror(errno));
  auto written = write_all(fd, header, sizeof header, temp);
  if (written) written = write_all(fd, payload.data(), payload.size(), temp);
  if (written && ::fdatasync(fd) != 0) {
    written = core::fail(kIoError, "cannot sync " + temp + ": " + std::strerror(errno));
  }
  ::close(fd);
  if (!written) {
    ::unlink(temp.c_str());
    return core::fail(written.error());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return core::fail(kIoError, "cannot rename " + temp + ": " + std::strerror(errno));
  }
  const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return path;
}

core::Result<SnapshotFile> read_snapshot_file(const std::string& path) {
  const auto bad = [&path](const std::string& what) {
    return core::fail(kBadSnapshot, "snapshot " + path + ": " + what);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return core::fail(kIoError, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::size_t>(st.st_size) < kSnapshotHeaderSize) {
    ::close(fd);
    return bad("shorter than its header");
  }
  std::vector<unsigned char> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != bytes.size()) return bad("could not be read completely");
  const unsigned char* h = bytes.data();
  if (std::memcmp(h, kSnapshotMagic, 8) != 0) return bad("not a snapshot (bad magic)");
  if (load_u32(h + 36) != crc32c(0, h, 36)) return bad("header checksum mismatch");
  if (load_u32(h + 8) != kSnapshotVersion) return bad("unsupported snapshot version");
  SnapshotFile out;
  out.sequence = load_u64(h + 16);
  const std::uint64_t size = load_u64(h + 24);
  if (size != bytes.size() - kSnapshotHeaderSize || size % 8 != 0) return bad("size mismatch");
  if (load_u32(h + 32) != crc32c(0, h + kSnapshotHeaderSize, size)) {
    return bad("payload checksum mismatch");
  }
  out.payload.assign(bytes.begin() + kSnapshotHeaderSize, bytes.end());
  return out;
}

}  // namespace trading::journal
