// libFuzzer: `pharma-mes archive verify` reads files from anywhere, years later. Any bytes as the
// whole archive, and the same bytes as every JSON-lines part of an archive whose manifest hashes
// them (so the rows are parsed too): never a crash, never an archive that verifies.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "mes/api/archive.hpp"
#include "mes/domain/crypto.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  if (mes::api::verify_archive(input).ok()) std::abort();

  nlohmann::json manifest{{"format", mes::api::kArchiveFormat},
                          {"batch", "B-1"},
                          {"public_key", std::string(64, '0')},
                          {"parts", nlohmann::json::array()}};
  nlohmann::json parts = nlohmann::json::object();
  for (const char* name : {"records.jsonl", "trail.jsonl", "signatures.jsonl", "readings.jsonl"}) {
    manifest["parts"].push_back({{"name", name}, {"sha256", mes::crypto::sha256_hex(input)}});
    parts[name] = {{"encoding", "text"}, {"content", input}};
  }
  const std::string archive = nlohmann::json{
      {"format", mes::api::kArchiveFormat},
      {"manifest", manifest.dump()},
      {"signature", std::string(128, '0')},
      {"parts", parts}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (mes::api::verify_archive(archive).ok()) std::abort();  // the seal cannot verify
  return 0;
}
