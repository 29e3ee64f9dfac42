#include "trading/journal/checkpoint.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

namespace trading::journal {
namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  std::string out(n * 2, '0');
  sodium_bin2hex(out.data(), out.size() + 1, data, n);
  return out;
}

std::optional<std::vector<unsigned char>> unhex(const std::string& text, std::size_t bytes) {
  if (text.size() != bytes * 2) return std::nullopt;
  std::vector<unsigned char> out(bytes);
  std::size_t got = 0;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &got, nullptr) !=
          0 ||
      got != bytes) {
    return std::nullopt;
  }
  return out;
}

// A field that must be a JSON integer from 0 to `max`. nlohmann's get<> would convert a float
// (2e30) or a negative number with a cast: undefined or wrapped, never an error.
std::optional<std::uint64_t> counter_field(const nlohmann::json& j, const char* key,
                                           std::uint64_t max) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) return std::nullopt;
  const auto value = it->get<std::uint64_t>();
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace

std::string checkpoint_message(const Checkpoint& c) {
  return "gv-journal-checkpoint/1\n" + std::to_string(c.sequence) + "\n" + to_hex(c.chain) + "\n" +
         std::to_string(c.epoch) + "\n" + std::to_string(c.time_ns) + "\n" + c.reason;
}

bool checkpoint_signature_valid(const Checkpoint& c, const std::string& public_key_hex) {
  if (sodium_init() < 0) return false;
  const auto key =
      unhex(public_key_hex.empty() ? c.public_key : public_key_hex, crypto_sign_PUBLICKEYBYTES);
  const auto signature = unhex(c.signature, crypto_sign_BYTES);
  if (!key || !signature) return false;
  const std::string message = checkpoint_message(c);
  return crypto_sign_verify_detached(signature->data(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), key->data()) == 0;
}

bool is_public_key_hex(std::string_view text) {
  if (text.size() != 2 * crypto_sign_PUBLICKEYBYTES) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

core::Result<std::vector<Checkpoint>> read_checkpoints(const std::string& directory) {
  std::vector<Checkpoint> out;
  const std::string path = directory + "/" + kCheckpointFileName;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::size_t start = 0;
  std::uint64_t line = 0;
  while (true) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // an unfinished last line: being written
    ++line;
    const std::string_view row(text.data() + start, end - start);
    start = end + 1;
    if (row.empty()) continue;
    const auto bad = [&](const std::string& why) {
      return core::fail(kBadPayload, path + " line " + std::to_string(line) + ": " + why);
    };
    const auto j = nlohmann::json::parse(row, nullptr, false);
    if (!j.is_object()) return bad("not a JSON object");
    Checkpoint c;
    c.line = line;
    const auto sequence = counter_field(j, "sequence", UINT64_MAX);
    const auto epoch = counter_field(j, "epoch", UINT64_MAX);
    const auto time_ns = counter_field(j, "time_ns", INT64_MAX);
    if (!sequence || !epoch || !time_ns) {
      return bad("sequence, epoch and time_ns must be non-negative integers");
    }
    c.sequence = *sequence;
    c.epoch = *epoch;
    c.time_ns = static_cast<core::Nanos>(*time_ns);
    try {
      c.reason = j.at("reason").get<std::string>();
      c.public_key = j.at("public_key").get<std::string>();
      c.signature = j.at("signature").get<std::string>();
      const auto chain = unhex(j.at("chain").get<std::string>(), kChainLinkSize);
      if (!chain) return bad("chain is not 32 bytes of hex");
      std::memcpy(c.chain.data(), chain->data(), kChainLinkSize);
    } catch (const nlohmann::json::exception&) {
      return bad("a field is missing or of the wrong type (chain, reason, public_key, signature)");
    }
    out.push_back(std::move(c));
  }
  return out;
}

core::Result<std::unique_ptr<CheckpointSigner>> CheckpointSigner::open(const std::string& directory,
                                                                       const std::string& seed_hex,
                                                                       bool sync) {
  if (sodium_init() < 0) return core::fail(kIoError, "libsodium failed to initialise");
  auto seed = unhex(seed_hex, crypto_sign_SEEDBYTES);
  if (!seed) return core::fail(kIoError, "the journal signing key is not a 32-byte hex seed");
  std::unique_ptr<CheckpointSigner> s(new CheckpointSigner());
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(public_key, s->secret_key_.data(), seed->data());
  sodium_memzero(seed->data(), seed->size());
  s->public_key_hex_ = hex(public_key, sizeof public_key);
  s->sync_ = sync;
  s->path_ = directory + "/" + kCheckpointFileName;
  s->fd_ = ::open(s->path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (s->fd_ < 0) {
    return core::fail(kIoError, "cannot open " + s->path_ + ": " + std::strerror(errno));
  }
  return s;
}

CheckpointSigner::~CheckpointSigner() {
  sodium_memzero(secret_key_.data(), secret_key_.size());
  if (fd_ >= 0) ::close(fd_);
}

core::Result<void> CheckpointSigner::append(std::uint64_t sequence, const ChainLink& chain,
                                            std::uint64_t epoch, core::Nanos time_ns,
                                            const std::string& reason) {
  Checkpoint c{sequence, chain, epoch, time_ns, reason, public_key_hex_, {}, 0};
  const std::string message = checkpoint_message(c);
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_key_.data());
  const nlohmann::json line = {{"sequence", sequence},
                               {"chain", to_hex(chain)},
                               {"epoch", epoch},
                               {"time_ns", time_ns},
                               {"reason", reason},
                               {"public_key", public_key_hex_},
                               {"signature", hex(signature, sizeof signature)}};
  const std::string text = line.dump() + "\n";
  const ssize_t n = ::write(fd_, text.data(), text.size());
  if (n != static_cast<ssize_t>(text.size())) {
    return core::fail(kIoError, "cannot append to " + path_ + ": " + std::strerror(errno));
  }
  if (sync_ && ::fdatasync(fd_) != 0) {
    return core::fail(kIoError, "cannot sync " + path_ + ": " + std::strerror(errno));
  }
  ++written_;
  last_sequence_ = sequence;
  return {};
}

}  // namespace trading::journal
