#include "trading/journal/leadership.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include "trading/journal/record.hpp"

namespace trading::journal {
namespace {

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

core::Result<std::uint64_t> read_epoch(int fd, const std::string& path) {
  char text[kEpochFileSize + 1] = {};
  const ssize_t n = ::pread(fd, text, kEpochFileSize, 0);
  if (n < 0) return core::fail(kIoError, errno_text("cannot read", path));
  if (n == 0) return std::uint64_t{0};
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (end == text) return core::fail(kIoError, path + ": not an epoch number");
  return static_cast<std::uint64_t>(v);
}

std::string holder_text(int fd) {
  char text[128] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string s = n > 0 ? std::string(text, static_cast<std::size_t>(n)) : std::string();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.empty() ? "an unknown process" : s;
}

core::Result<int> open_lock(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  const std::string path = directory + "/leader.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return core::fail(kIoError, errno_text("cannot open", path));
  return fd;
}

}  // namespace

core::Result<std::unique_ptr<Leadership>> Leadership::raise_epoch(const std::string& directory,
                                                                  int lock_fd) {
  const std::string path = directory + "/epoch";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (lock_fd >= 0) ::close(lock_fd);
    return core::fail(kIoError, errno_text("cannot open", path));
  }
  const auto fail = [&](const std::string& why) {
    ::close(fd);
    if (lock_fd >= 0) ::close(lock_fd);
    return core::fail(kIoError, why);
  };
  auto current = read_epoch(fd, path);
  if (!current) return fail(current.error().message);
  const std::uint64_t epoch = *current + 1;
  char text[kEpochFileSize + 1];
  std::snprintf(text, sizeof text, "%-31llu\n", static_cast<unsigned long long>(epoch));
  if (::pwrite(fd, text, kEpochFileSize, 0) != static_cast<ssize_t>(kEpochFileSize) ||
      ::fdatasync(fd) != 0) {
    return fail(errno_text("cannot write", path));
  }
  if (lock_fd >= 0) {
    char who[128];
    const int n =
        std::snprintf(who, sizeof who, "pid %d, epoch %llu\n", static_cast<int>(::getpid()),
                      static_cast<unsigned long long>(epoch));
    if (::ftruncate(lock_fd, 0) != 0 ||
        ::pwrite(lock_fd, who, static_cast<std::size_t>(n), 0) != n) {
      return fail(errno_text("cannot write", directory + "/leader.lock"));
    }
  }
  // The writer compares the epoch at every commit: a shared mapping makes that a memory read
  // (another process's pwrite of the file is visible in it), not a system call.
  void* map = ::mmap(nullptr, kEpochFileSize, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return fail(errno_text("cannot map", path));
  std::unique_ptr<Leadership> leadership(new Leadership(directory, lock_fd, fd, epoch));
  leadership->epoch_map_ = static_cast<const volatile char*>(map);
  std::memcpy(leadership->epoch_text_, text, kEpochFileSize);
  return leadership;
}

core::Result<std::unique_ptr<Leadership>> Leadership::acquire(const std::string& directory,
                                                              core::Nanos wait) {
  auto fd = open_lock(directory);
  if (!fd) return core::fail(fd.error());
  const core::Nanos until = core::monotonic_now_ns() + wait;
  while (::flock(*fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      ::close(*fd);
      return core::fail(kIoError, errno_text("cannot lock", directory + "/leader.lock"));
    }
    if (core::monotonic_now_ns() >= until) {
      const std::string holder = holder_text(*fd);
      ::close(*fd);
      return core::fail(kNotLeader, "another primary holds the leadership of " + directory + " (" +
                                        holder + "): one primary per journal");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return raise_epoch(directory, *fd);
}

core::Result<std::unique_ptr<Leadership>> Leadership::take_over(const std::string& directory) {
  auto fd = open_lock(directory);
  if (!fd) return core::fail(fd.error());
  int lock_fd = *fd;
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd);
    lock_fd = -1;  // the hung holder keeps the lock; the epoch fences it
  }
  return raise_epoch(directory, lock_fd);
}

Leadership::~Leadership() {
  if (epoch_map_ != nullptr) {
    ::munmap(const_cast<char*>(epoch_map_), kEpochFileSize);
  }
  if (epoch_fd_ >= 0) ::close(epoch_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

core::Result<void> Leadership::still_leader() const {
  // The hot path (twice per journal commit): the mapped bytes against the ones we wrote.
  char text[kEpochFileSize];
  for (std::size_t i = 0; i < kEpochFileSize; ++i) text[i] = epoch_map_[i];  // volatile: re-read
  if (std::memcmp(text, epoch_text_, kEpochFileSize) == 0) return {};
  auto now = read_epoch(epoch_fd_, directory_ + "/epoch");
  if (!now) return core::fail(now.error());
  if (*now != epoch_) {
    return core::fail(kNotLeader, "fenced: leadership epoch " + std::to_string(epoch_) +
                                      " was superseded by epoch " + std::to_string(*now) +
                                      " (another primary took over)");
  }
  return {};
}

core::Result<std::uint64_t> Leadership::current_epoch(const std::string& directory) {
  const std::string path = directory + "/epoch";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::uint64_t{0};
    return core::fail(kIoError, errno_text("cannot open", path));
  }
  auto e = read_epoch(fd, path);
  ::close(fd);
  return e;
}

}  // namespace trading::journal
