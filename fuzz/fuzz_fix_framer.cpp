// libFuzzer: FixFramer on an arbitrary byte stream, delivered in arbitrary chunks. Whatever the
// input: every message handed out starts with "8=FIX", declares a BodyLength within the bound
// and ends with SOH; no byte is created or lost (handed out + discarded + still buffered =
// received); and the messages do not depend on how the stream was cut into reads.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "trading/fix/framer.hpp"

namespace {

constexpr std::size_t kBound = 512;

struct Outcome {
  std::vector<std::string> messages;
  bool too_large = false;
};

Outcome run(const std::uint8_t* data, std::size_t size, std::size_t chunk) {
  trading::fix::FixFramer framer;
  Outcome out;
  std::size_t handed_out = 0;
  std::size_t received = 0;
  std::string message;
  for (std::size_t at = 0; at < size && !out.too_large; at += chunk) {
    const std::size_t n = std::min(chunk, size - at);
    framer.append(reinterpret_cast<const char*>(data + at), n);
    received += n;
    while (true) {
      const auto status = framer.next(message, kBound);
      if (status == trading::fix::FixFramer::Status::kNeedMore) break;
      if (status == trading::fix::FixFramer::Status::kTooLarge) {
        out.too_large = true;
        break;
      }
      if (message.compare(0, 5, "8=FIX") != 0 || message.back() != '\x01') std::abort();
      const auto length_at = message.find(
          "\x01"
          "9=");
      if (length_at == std::string::npos) std::abort();
      if (std::strtoull(message.c_str() + length_at + 3, nullptr, 10) > kBound) std::abort();
      handed_out += message.size();
      out.messages.push_back(message);
    }
  }
  if (!out.too_large && handed_out + framer.discarded_bytes() + framer.buffered() != received) {
    std::abort();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const Outcome whole = run(data + 1, size - 1, size);
  const Outcome pieces = run(data + 1, size - 1, chunk);
  // A too-large verdict may come earlier with small reads (the bound on a missing trailer is
  // checked as bytes arrive); the messages before it must agree.
  if (!whole.too_large && !pieces.too_large && whole.messages != pieces.messages) std::abort();
  const std::size_t common = std::min(whole.messages.size(), pieces.messages.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (whole.messages[i] != pieces.messages[i]) std::abort();
  }
  return 0;
}
