// Fuzzes the journal reader: arbitrary bytes after a valid segment header (so the records, not
// just the header, are exercised) are read and replayed into an engine. It must never crash;
// every stop is either a clean end, a torn tail, or an error that names the byte offset.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "trading/domain/matching_engine.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/journal/reader.hpp"
#include "trading/journal/record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/fuzz_journal_" + std::to_string(::getpid()) + ".gvj";
  {
    unsigned char header[trading::journal::kFileHeaderSize];
    trading::journal::encode_file_header(1, header);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  using namespace trading;
  EngineConfig config;
  config.instruments = {Instrument{"A", Price{5}, Qty{10}, Price{1000}, true, {}},
                        Instrument{"B", Price{1}, Qty{1}, Price{50}, true, {}}};
  config.instruments[0].bands.band_bps = 500;
  config.accounts = {Account{AccountId(1), "a", StpMode::kCancelResting, {}},
                     Account{AccountId(2), "b", StpMode::kCancelIncoming, {}}};
  MatchingEngine<OrderBook> engine(config);
  auto reader = journal::SegmentReader::open(path);
  if (!reader) std::abort();  // the header is valid
  journal::DecodedRecord record;
  EventBuffer events;
  while (true) {
    auto more = reader->next(record);
    if (!more) {
      if (more.error().message.find("byte offset") == std::string::npos) std::abort();
      break;
    }
    if (!*more) break;
    events.clear();
    engine.apply(record.command, events);
  }
  (void)engine.digest();
  return 0;
}
