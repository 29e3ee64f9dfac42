#include "trading/journal/follower.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "trading/journal/crc32c.hpp"
#include "trading/journal/snapshot.hpp"

namespace trading::journal {

namespace {
constexpr std::size_t kReadChunk = 1 << 20;
}

JournalFollower::JournalFollower(std::string directory, std::uint64_t next_sequence,
                                 const ChainLink& chain_head)
    : directory_(std::move(directory)), next_sequence_(next_sequence), chain_head_(chain_head) {}

JournalFollower::~JournalFollower() { close_segment(); }

void JournalFollower::close_segment() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
  consumed_ = 0;
  header_read_ = false;
}

// Reads what the writer added since the last look (pread: a file the primary's recovery cuts
// shorter meanwhile is never touched beyond its end, as a mapping would be).
core::Result<void> JournalFollower::read_more() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return core::fail(kIoError, "cannot stat journal " + path_ + ": " + std::strerror(errno));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t buffered_end = offset_ + (buffer_.size() - consumed_);
  if (size < buffered_end) {
    // Cut by the primary's recovery: what lay beyond was a torn record never handed over.
    buffer_.resize(consumed_ + (size > offset_ ? size - offset_ : 0));
  }
  std::uint64_t at = offset_ + (buffer_.size() - consumed_);
  while (at < size) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(size - at, kReadChunk));
    const std::size_t old = buffer_.size();
    buffer_.resize(old + want);
    const ssize_t got = ::pread(fd_, buffer_.data() + old, want, static_cast<off_t>(at));
    if (got < 0) {
      buffer_.resize(old);
      if (errno == EINTR) continue;
      return core::fail(kIoError, "cannot read journal " + path_ + ": " + std::strerror(errno));
    }
    buffer_.resize(old + static_cast<std::size_t>(got));
    if (got == 0) break;
    at += static_cast<std::uint64_t>(got);
  }
  return {};
}

// Opens the segment that holds `sequence` (the last one starting at or before it); false when
// there is none yet, or its header is not completely written yet.
core::Result<bool> JournalFollower::open_segment_for(std::uint64_t sequence) {
  std::string found;
  for (const auto& [first, path] : list_segments(directory_)) {
    if (first <= sequence) found = path;
  }
  if (found.empty()) return false;
  if (found != path_ || fd_ < 0) {
    close_segment();
    path_ = found;
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return core::fail(kIoError, "cannot open journal " + path_ + ": " + std::strerror(errno));
    }
    offset_ = 0;
  }
  if (header_read_) return true;
  if (auto r = read_more(); !r) return core::fail(r.error());
  auto header = decode_file_header(buffer_.data(), buffer_.size());
  if (!header && header.error().code == kShortHeader) return false;  // being written
  if (!header) {
    return core::fail(kBadHeader, path_ + ": " + header.error().message +
                                      " (the standby cannot follow this journal)");
  }
  format_version_ = header->format_version;
  if (header->first_sequence == next_sequence_) chain_head_ = header->anchor;
  consumed_ = header->size;
  offset_ = header->size;
  header_read_ = true;
  return true;
}

core::Error JournalFollower::corrupt(const std::string& what) const {
  return core::Error{kCorruptRecord, "corrupt journal record in " + path_ + " at byte offset " +
                                         std::to_string(offset_) + ": " + what};
}

core::Result<std::size_t> JournalFollower::poll(
    const std::function<void(const DecodedRecord&)>& on_record, std::size_t max_records) {
  if (!header_read_) {
    auto opened = open_segment_for(next_sequence_);
    if (!opened) return core::fail(opened.error());
    if (!*opened) return std::size_t{0};
  } else if (auto r = read_more(); !r) {
    return core::fail(r.error());
  }
  std::size_t handed = 0;
  while (handed < max_records) {
    const std::size_t left = buffer_.size() - consumed_;
    const unsigned char* p = buffer_.data() + consumed_;
    bool at_end = false;
    const Frame frame = parse_frame(p, left, format_version_);
    if (frame.status == FrameStatus::kBadSize) {
      return core::fail(corrupt("impossible record size " + std::to_string(frame.payload_size)));
    } else if (frame.status == FrameStatus::kIncomplete || frame.status == FrameStatus::kZeroFill) {
      at_end = true;  // not completely written yet
    } else if (frame.status == FrameStatus::kBadCrc) {
      if (frame.size < left) return core::fail(corrupt("checksum mismatch"));
      at_end = true;  // the last bytes: still being written
    } else {
      auto decoded = decode_payload(frame.payload, frame.payload_size, format_version_);
      if (!decoded) return core::fail(corrupt(decoded.error().message));
      if (frame.link != nullptr) {
        std::memcpy(decoded->link.data(), frame.link, kChainLinkSize);
      } else {
        decoded->link = ChainLink{};  // an unchained record: a successor starts a new chain
      }
      if (decoded->sequence > next_sequence_) {
        return core::fail(kSequenceGap, "journal " + path_ + " at byte offset " +
                                            std::to_string(offset_) + ": sequence " +
                                            std::to_string(decoded->sequence) + " where " +
                                            std::to_string(next_sequence_) + " was expected");
      }
      consumed_ += frame.size;
      offset_ += frame.size;
      chain_head_ = decoded->link;
      if (decoded->sequence < next_sequence_) continue;  // before where this follower starts
      last_timestamp_ = decoded->command.timestamp;
      on_record(*decoded);
      ++next_sequence_;
      ++handed;
      continue;
    }
    if (!at_end) continue;
    // The end of what is written here. Has the writer moved on to a segment that starts
    // exactly at the next record? Then this one is finished (its tail, if any, was cut).
    bool moved = false;
    for (const auto& [first, path] : list_segments(directory_)) {
      if (first == next_sequence_ && path != path_) {
        close_segment();
        auto opened = open_segment_for(next_sequence_);
        if (!opened) return core::fail(opened.error());
        moved = *opened;
        break;
      }
    }
    if (!moved) {
      // Read the unfinished record again next time, from the file (not from what was caught
      // half-written now).
      buffer_.resize(consumed_);
      break;
    }
  }
  // Keep the buffer small: drop what was handed over.
  if (consumed_ > kReadChunk) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  return handed;
}

JournalCompatibility check_compatibility(const std::string& directory) {
  JournalCompatibility out;
  for (const auto& [first, path] : list_segments(directory)) {
    unsigned char header[kFileHeaderSize] = {};
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    const ssize_t got = fd < 0 ? -1 : ::pread(fd, header, sizeof header, 0);
    if (fd >= 0) ::close(fd);
    const std::string name = path.substr(path.find_last_of('/') + 1);
    if (got < 0) {
      out.problem = name + ": cannot read: " + std::strerror(errno);
      break;
    }
    if (static_cast<std::size_t>(got) < kFileHeaderSizeV3) continue;  // being created
    out.segments.emplace_back(name, load_u32(header + 8));
    if (auto decoded = decode_file_header(header, static_cast<std::size_t>(got)); !decoded) {
      if (decoded.error().code == kShortHeader) continue;  // being created
      out.problem = name + ": " + decoded.error().message;
      break;
    }
  }
  return out;
}

}  // namespace trading::journal
