// libFuzzer: MappedSessionStore opening a message file with arbitrary contents after a valid
// header (what a damaged disk could hold). It must either refuse with an error or keep only
// whole FIX messages, accept a new message (stored under its number, whatever numbers the file
// held), and reopen to exactly the messages it held before closing.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "trading/fix/session_store.hpp"

namespace {

const std::string& directory() {
  static const std::string dir = [] {
    char templ[] = "/tmp/fuzz-session-store-XXXXXX";
    const char* made = mkdtemp(templ);
    if (made == nullptr) std::abort();
    return std::string(made);
  }();
  return dir;
}

void write_file(const std::string& path, const std::vector<char>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& dir = directory();
  std::remove((dir + "/S.state").c_str());
  std::vector<char> file(64, 0);
  std::memcpy(file.data(), "GVFIXMS1", 8);
  file[8] = 1;  // version 1, little endian
  file.insert(file.end(), data, data + size);
  write_file(dir + "/S.messages", file);

  constexpr int kNew = 0x7ffffff0;  // the number the new message is stored under
  const auto range = [](const trading::fix::MappedSessionStore& store, int begin, int end) {
    std::vector<std::string> out;
    store.get(begin, end, out);
    return out;
  };
  std::string error;
  std::vector<std::string> before;
  {
    auto store = trading::fix::MappedSessionStore::open(dir, "S", 1, &error);
    if (!store) return 0;
    for (const std::string& m : range(*store, 1, 0x7fffffff)) {
      if (m.compare(0, 5, "8=FIX") != 0) std::abort();  // only whole messages survive
    }
    const auto below = range(*store, 1, kNew - 1);
    const auto above = range(*store, kNew + 1, 0x7fffffff);
    std::string fixed =
        "8=FIX.4.4\x01"
        "9=5\x01"
        "35=0\x01";
    unsigned sum = 0;
    for (const char c : fixed) sum += static_cast<unsigned char>(c);
    char trailer[12];
    std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
    fixed += trailer;
    if (!store->set(kNew, fixed.data(), fixed.size(), &error)) std::abort();
    // The write stores (or replaces) its own number and leaves every other message alone.
    if (range(*store, kNew, kNew) != std::vector<std::string>{fixed}) std::abort();
    if (range(*store, 1, kNew - 1) != below || range(*store, kNew + 1, 0x7fffffff) != above) {
      std::abort();
    }
    before = range(*store, 1, 0x7fffffff);
  }
  auto again = trading::fix::MappedSessionStore::open(dir, "S", 1, &error);
  if (!again) std::abort();
  const std::vector<std::string> after = range(*again, 1, 0x7fffffff);
  if (after != before) std::abort();
  return 0;
}
