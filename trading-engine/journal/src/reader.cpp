#include "trading/journal/reader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "trading/journal/crc32c.hpp"

namespace trading::journal {

core::Result<SegmentReader> SegmentReader::open(const std::string& path) {
  SegmentReader r;
  r.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::fail(kIoError, "cannot open journal " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return core::fail(kIoError, "cannot stat journal " + path + ": " + std::strerror(errno));
  }
  r.size_ = static_cast<std::uint64_t>(st.st_size);
  if (r.size_ > 0) {
    void* p = ::mmap(nullptr, r.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return core::fail(kIoError, "cannot map journal " + path + ": " + std::strerror(errno));
    }
    ::madvise(p, r.size_, MADV_SEQUENTIAL);
    r.data_ = static_cast<const unsigned char*>(p);
  }
  ::close(fd);
  auto header = decode_file_header(r.data_, r.size_);
  if (!header) {
    return core::fail(header.error().code == kShortHeader ? kShortHeader : kBadHeader,
                      path + ": " + header.error().message);
  }
  r.first_sequence_ = header->first_sequence;
  r.format_version_ = header->format_version;
  r.anchor_ = header->anchor;
  r.expected_sequence_ = header->first_sequence;
  r.offset_ = header->size;
  return r;
}

SegmentReader::SegmentReader(SegmentReader&& other) noexcept { *this = std::move(other); }

SegmentReader& SegmentReader::operator=(SegmentReader&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    offset_ = other.offset_;
    first_sequence_ = other.first_sequence_;
    format_version_ = other.format_version_;
    anchor_ = other.anchor_;
    last_payload_ = other.last_payload_;
    last_payload_size_ = other.last_payload_size_;
    expected_sequence_ = other.expected_sequence_;
    torn_tail_ = std::move(other.torn_tail_);
  }
  return *this;
}

SegmentReader::~SegmentReader() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
}

core::Error SegmentReader::corrupt(const std::string& what) const {
  return core::Error{kCorruptRecord, "corrupt journal record in " + path_ + " at byte offset " +
                                         std::to_string(offset_) + ": " + what +
                                         " (start-up stops: a record in the middle of the "
                                         "journal is never skipped)"};
}

core::Result<bool> SegmentReader::end_with_torn_tail(std::string reason) {
  torn_tail_ = TornTail{offset_, size_ - offset_, std::move(reason)};
  return false;
}

core::Result<bool> SegmentReader::next(DecodedRecord& out) {
  if (torn_tail_) return false;
  const std::uint64_t left = size_ - offset_;
  if (left == 0) return false;
  const unsigned char* p = data_ + offset_;
  const Frame frame = parse_frame(p, left, format_version_);
  switch (frame.status) {
    case FrameStatus::kOk:
      break;
    case FrameStatus::kIncomplete:
      return end_with_torn_tail(left < kRecordHeaderSize ? "incomplete record header"
                                                         : "incomplete record");
    case FrameStatus::kZeroFill:
      return end_with_torn_tail("zero-filled tail");  // the crash left it unwritten
    case FrameStatus::kBadSize:
      return core::fail(corrupt("impossible record size " + std::to_string(frame.payload_size)));
    case FrameStatus::kBadCrc:
      if (frame.size == left) return end_with_torn_tail("checksum mismatch on the last record");
      return core::fail(corrupt("checksum mismatch"));
  }
  const std::uint32_t payload_size = frame.payload_size;
  auto decoded = decode_payload(frame.payload, payload_size, format_version_);
  if (!decoded) return core::fail(corrupt(decoded.error().message));
  if (decoded->sequence != expected_sequence_) {
    return core::fail(core::Error{
        kSequenceGap, "journal " + path_ + " at byte offset " + std::to_string(offset_) +
                          ": sequence " + std::to_string(decoded->sequence) + " where " +
                          std::to_string(expected_sequence_) + " was expected"});
  }
  out = std::move(*decoded);
  if (frame.link != nullptr) std::memcpy(out.link.data(), frame.link, out.link.size());
  last_payload_ = frame.payload;
  last_payload_size_ = payload_size;
  ++expected_sequence_;
  offset_ += frame.size;
  return true;
}

core::Result<void> truncate_segment(const std::string& path, std::uint64_t offset) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return core::fail(kIoError, "cannot open " + path + ": " + std::strerror(errno));
  const bool ok = ::ftruncate(fd, static_cast<off_t>(offset)) == 0 && ::fdatasync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return core::fail(kIoError, "cannot cut " + path + ": " + std::strerror(err));
  return {};
}

}  // namespace trading::journal
