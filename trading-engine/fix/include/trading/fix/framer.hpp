// FixFramer: cuts a TCP byte stream into whole FIX messages before QuickFIX sees them, so the
// venue decides how much an unauthenticated or misbehaving peer can make it hold.
// It finds "8=FIX", reads BodyLength (9), and hands out the bytes through the next
// "<SOH>10=nnn<SOH>" found from the end of the declared body on (as QuickFIX's own parser does:
// QuickFIX's Session then checks BodyLength and CheckSum and drops a garbled message). A BodyLength
// above the caller's bound, or a trailer missing for longer than that bound, is kTooLarge: the
// caller disconnects. Bytes before a "8=FIX" are discarded and counted. Pure (no sockets, no
// QuickFIX), C++14. Thread-safety: none; one connection's reader owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace trading {
namespace fix {

class FixFramer {
 public:
  enum class Status : std::uint8_t { kMessage, kNeedMore, kTooLarge };

  void append(const char* data, std::size_t size);

  // The next whole message into `out` (kMessage), or kNeedMore, or kTooLarge when the declared
  // BodyLength exceeds `max_body_length` or no trailer follows within that many bytes.
  Status next(std::string& out, std::size_t max_body_length);

  std::size_t buffered() const { return buffer_.size() - head_; }
  std::uint64_t discarded_bytes() const { return discarded_; }

 private:
  void discard(std::size_t bytes);

  std::string buffer_;
  std::size_t head_ = 0;  // bytes of buffer_ already handed out or discarded
  std::uint64_t discarded_ = 0;
};

}  // namespace fix
}  // namespace trading
