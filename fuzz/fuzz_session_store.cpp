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

  std::string error;
  std::vector<std::string> before;
  {
    auto store = trading::fix::MappedSessionStore::open(dir, "S", 1, &error);
    if (!store) return 0;
    store->get(1, 0x7fffffff, before);
    for (const std::string& m : before) {
      if (m.compare(0, 5, "8=FIX") != 0) std::abort();  // only whole messages survive
    }
    std::string fixed =
        "8=FIX.4.4\x01"
        "9=5\x01"
        "35=0\x01";
    unsigned sum = 0;
    for (const char c : fixed) sum += static_cast<unsigned char>(c);
    char trailer[12];
    std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
    fixed += trailer;
    if (!store->set(0x7ffffff0, fixed.data(), fixed.size(), &error)) std::abort();
    std::vector<std::string> just_written;
    store->get(0x7ffffff0, 0x7ffffff0, just_written);
    if (just_written != std::vector<std::string>{fixed}) std::abort();
    before.clear();  // the store's own view after the write, in sequence order
    store->get(1, 0x7fffffff, before);
  }
  auto again = trading::fix::MappedSessionStore::open(dir, "S", 1, &error);
  if (!again) std::abort();
  std::vector<std::string> after;
  again->get(1, 0x7fffffff, after);
  if (after != before) std::abort();
  return 0;
}
