#include "trading/fix/framer.hpp"

#include <algorithm>

namespace trading {
namespace fix {
namespace {

constexpr char kSoh = '\x01';
constexpr std::size_t kMaxBeginString = 16;  // "8=FIX.4.4" and the like
constexpr std::size_t kMaxLengthDigits = 9;

}  // namespace

void FixFramer::append(const char* data, std::size_t size) {
  // Messages are handed out by moving head_, not by erasing: compact only when the consumed
  // part is at least half of the buffer (a flood delivers hundreds of messages per read).
  if (head_ > 0 && head_ * 2 >= buffer_.size()) {
    buffer_.erase(0, head_);
    head_ = 0;
  }
  buffer_.append(data, size);
}

void FixFramer::discard(std::size_t bytes) {
  head_ += bytes;
  discarded_ += bytes;
  if (head_ == buffer_.size()) {
    buffer_.clear();
    head_ = 0;
  }
}

FixFramer::Status FixFramer::next(std::string& out, std::size_t max_body_length) {
  while (true) {
    // 1. Align on "8=FIX"; keep a tail that may be the start of one.
    const std::size_t start = buffer_.find("8=FIX", head_);
    if (start == std::string::npos) {
      const std::size_t available = buffer_.size() - head_;
      discard(available - std::min<std::size_t>(available, 4));
      return Status::kNeedMore;
    }
    if (start > head_) discard(start - head_);
    const std::size_t available = buffer_.size() - head_;

    // 2. BeginString ends within a few bytes.
    const std::size_t begin_end = buffer_.find(kSoh, head_);
    if (begin_end == std::string::npos || begin_end - head_ > kMaxBeginString) {
      if (begin_end == std::string::npos && available <= kMaxBeginString) return Status::kNeedMore;
      discard(1);  // not a message start: look for the next one
      continue;
    }

    // 3. "9=<digits><SOH>" right after it.
    std::size_t p = begin_end + 1;
    if (buffer_.size() < p + 2) return Status::kNeedMore;
    if (buffer_.compare(p, 2, "9=") != 0) {
      discard(1);
      continue;
    }
    p += 2;
    std::size_t length = 0;
    std::size_t digits = 0;
    while (p < buffer_.size() && buffer_[p] >= '0' && buffer_[p] <= '9' &&
           digits < kMaxLengthDigits) {
      length = length * 10 + static_cast<std::size_t>(buffer_[p] - '0');
      ++p;
      ++digits;
    }
    if (p == buffer_.size()) return Status::kNeedMore;
    if (digits == 0 || buffer_[p] != kSoh) {
      if (digits == kMaxLengthDigits) return Status::kTooLarge;
      discard(1);
      continue;
    }
    if (length > max_body_length) return Status::kTooLarge;
    const std::size_t body_end = p + 1 + length;
    if (buffer_.size() < body_end) return Status::kNeedMore;

    // 4. The trailer "<SOH>10=nnn<SOH>", searched from the last byte of the declared body on.
    const std::size_t trailer = buffer_.find(
        "\x01"
        "10=",
        body_end - 1);
    const std::size_t end =
        trailer == std::string::npos ? std::string::npos : buffer_.find(kSoh, trailer + 4);
    if (end == std::string::npos) {
      if (buffer_.size() - body_end > max_body_length) return Status::kTooLarge;
      return Status::kNeedMore;
    }
    out.assign(buffer_, head_, end + 1 - head_);
    head_ = end + 1;
    if (head_ == buffer_.size()) {
      buffer_.clear();
      head_ = 0;
    }
    return Status::kMessage;
  }
}

}  // namespace fix
}  // namespace trading
