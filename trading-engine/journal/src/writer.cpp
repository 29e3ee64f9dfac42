#include "trading/journal/writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "trading/journal/leadership.hpp"

namespace trading::journal {
namespace {

constexpr std::size_t kBufferSize = 1 << 16;  // kNone writes when this much is buffered

std::string errno_text(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

core::Result<void> sync_directory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return core::fail(kIoError, errno_text("cannot open directory", directory));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return core::fail(kIoError, errno_text("cannot sync directory", directory));
  return {};
}

}  // namespace

core::Result<SyncPolicy> parse_sync_policy(std::string_view text) {
  if (text == "none") return SyncPolicy::kNone;
  if (text == "write") return SyncPolicy::kWrite;
  if (text == "fsync") return SyncPolicy::kFsync;
  return core::fail(kIoError, "journal sync policy must be none, write or fsync, not '" +
                                  std::string(text) + "'");
}

std::string_view to_string(SyncPolicy policy) {
  switch (policy) {
    case SyncPolicy::kNone:
      return "none";
    case SyncPolicy::kWrite:
      return "write";
    case SyncPolicy::kFsync:
      return "fsync";
  }
  return "write";
}

std::string segment_file_name(std::uint64_t first_sequence) {
  char name[64];
  std::snprintf(name, sizeof name, "journal-%020llu.gvj",
                static_cast<unsigned long long>(first_sequence));
  return name;
}

JournalWriter::JournalWriter(std::string directory, SyncPolicy policy, std::uint64_t next_sequence,
                             const ChainLink& chain_head)
    : directory_(std::move(directory)),
      policy_(policy),
      next_sequence_(next_sequence),
      chain_(chain_head) {
  buffer_.resize(kBufferSize + kMaxRecordSize);
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) {
    if (!failed_) (void)flush();
    ::close(fd_);
  }
}

core::Result<std::unique_ptr<JournalWriter>> JournalWriter::open(const std::string& directory,
                                                                 SyncPolicy policy,
                                                                 std::uint64_t next_sequence,
                                                                 const ChainLink& chain_head) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) {
    return core::fail(kIoError,
                      "cannot create journal directory " + directory + ": " + ec.message());
  }
  std::unique_ptr<JournalWriter> w(new JournalWriter(directory, policy, next_sequence, chain_head));
  if (auto r = w->open_segment(); !r) return core::fail(r.error());
  return w;
}

core::Result<void> JournalWriter::open_segment() {
  path_ = directory_ + "/" + segment_file_name(next_sequence_);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0 && errno == EEXIST) {
    // A segment with this first sequence and no records (an earlier run stopped before its
    // first record) is replaced; one with records means recovery did not run.
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 &&
        static_cast<std::size_t>(st.st_size) <= kFileHeaderSize) {
      ::unlink(path_.c_str());
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    } else {
      return core::fail(
          kIoError, "journal segment " + path_ + " already holds records: recover before writing");
    }
  }
  if (fd_ < 0) return core::fail(kIoError, errno_text("cannot create journal segment", path_));
  unsigned char header[kFileHeaderSize];
  encode_file_header(next_sequence_, chain_, header);
  if (::write(fd_, header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
    failed_ = true;
    return core::fail(kIoError, errno_text("cannot write journal header", path_));
  }
  if (policy_ == SyncPolicy::kFsync) {
    if (::fdatasync(fd_) != 0) {
      failed_ = true;
      return core::fail(kIoError, errno_text("cannot sync", path_));
    }
    return sync_directory(directory_);  // the new file's name survives power loss too
  }
  return {};
}

void JournalWriter::grow() {
  // Only reached with kNone between flushes, or with very large batches: keep appending in
  // memory; commit() decides when it goes out.
  buffer_.resize(buffer_.size() * 2);
}

core::Result<void> JournalWriter::write_buffer(bool sync) {
  if (failed_) {
    return core::fail(
        leadership_ != nullptr && !failure_.empty() ? kNotLeader : kIoError,
        failure_.empty() ? "journal is in a failed state after an I/O error" : failure_);
  }
  const auto fenced = [this]() -> core::Result<void> {
    if (leadership_ == nullptr) return {};
    if (auto r = leadership_->still_leader(); !r) {
      failed_ = true;
      failure_ = r.error().message;
      return core::fail(kNotLeader, failure_);
    }
    return {};
  };
  if (auto r = fenced(); !r) return r;  // a fenced primary writes nothing more
  std::size_t done = 0;
  while (done < used_) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, used_ - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      failed_ = true;
      return core::fail(kIoError, errno_text("cannot write journal", path_));
    }
    done += static_cast<std::size_t>(n);
    ++stats_.writes;
  }
  stats_.bytes += used_;
  used_ = 0;
  if (sync) {
    const core::Nanos start = core::monotonic_now_ns();
    if (::fdatasync(fd_) != 0) {
      failed_ = true;
      return core::fail(kIoError, errno_text("cannot sync journal", path_));
    }
    stats_.last_sync_ns = core::monotonic_now_ns() - start;
    stats_.total_sync_ns += stats_.last_sync_ns;
    ++stats_.syncs;
  }
  // Fenced while writing (the process was paused): these bytes must not be acknowledged.
  return fenced();
}

core::Result<void> JournalWriter::commit() {
  switch (policy_) {
    case SyncPolicy::kNone:
      if (used_ < kBufferSize) return failed_ ? write_buffer(false) : core::Result<void>{};
      return write_buffer(false);
    case SyncPolicy::kWrite:
      return used_ == 0 && !failed_ ? core::Result<void>{} : write_buffer(false);
    case SyncPolicy::kFsync:
      return used_ == 0 && !failed_ ? core::Result<void>{} : write_buffer(true);
  }
  return {};
}

core::Result<void> JournalWriter::flush() { return write_buffer(policy_ == SyncPolicy::kFsync); }

core::Result<void> JournalWriter::rotate() {
  if (auto r = flush(); !r) return r;
  ::close(fd_);
  fd_ = -1;
  return open_segment();
}

}  // namespace trading::journal
