#include "mes/api/archive.hpp"

#include <sodium.h>

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "mes/api/api.hpp"
#include "mes/domain/text.hpp"
#include "record_pdf.hpp"

namespace mes::api {
namespace {

using json = nlohmann::json;

// Lossless forms of the stored rows (the archive must let a verifier recompute every hash).
json document_row(const Document& d) {
  return json{{"type", d.type},
              {"id", d.id},
              {"version", d.version},
              {"parent", d.parent},
              {"state", d.state},
              {"body", d.body},
              {"voided", d.voided},
              {"void_reason", d.void_reason},
              {"record_hash", record_hash(d)}};
}

// A row's integer field (0 when absent). A float, string or other type is a malformed row:
// nlohmann's own conversion of, say, 1.8e21 to an int64 would be undefined behaviour.
std::int64_t integer_field(const json& row, const char* name) {
  const auto it = row.find(name);
  if (it == row.end()) return 0;
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() &&
       it->get<std::uint64_t>() > std::uint64_t{std::numeric_limits<std::int64_t>::max()})) {
    throw std::invalid_argument(std::string("a row's ") + name + " is not an integer");
  }
  return it->get<std::int64_t>();
}

Document document_from(const json& j) {
  return Document{j.value("type", ""),      j.value("id", ""),         integer_field(j, "version"),
                  j.value("parent", ""),    j.value("state", ""),      j.value("body", ""),
                  j.value("voided", false), j.value("void_reason", "")};
}

json entry_row(const AuditEntry& e) {
  return json{{"seq", e.seq},
              {"at", e.at},
              {"actor", e.actor},
              {"action", e.action},
              {"object_type", e.object_type},
              {"object_id", e.object_id},
              {"field", e.field},
              {"old_value", e.old_value},
              {"new_value", e.new_value},
              {"reason", e.reason},
              {"prev_hash", e.prev_hash},
              {"hash", e.hash},
              {"record_hash", e.record_hash},
              {"terminal", e.terminal}};
}

AuditEntry entry_from(const json& j) {
  AuditEntry e;
  e.seq = integer_field(j, "seq");
  e.at = integer_field(j, "at");
  e.actor = j.value("actor", "");
  e.action = j.value("action", "");
  e.object_type = j.value("object_type", "");
  e.object_id = j.value("object_id", "");
  e.field = j.value("field", "");
  e.old_value = j.value("old_value", "");
  e.new_value = j.value("new_value", "");
  e.reason = j.value("reason", "");
  e.prev_hash = j.value("prev_hash", "");
  e.hash = j.value("hash", "");
  e.record_hash = j.value("record_hash", "");
  e.terminal = j.value("terminal", "");
  return e;
}

json signature_row(const Signature& s) {
  return json{{"id", s.id},
              {"user_id", s.user_id},
              {"printed_name", s.printed_name},
              {"meaning", to_string(s.meaning)},
              {"signed_at", s.signed_at},
              {"record_type", s.record_type},
              {"record_id", s.record_id},
              {"record_hash", s.record_hash},
              {"seal", s.seal}};
}

std::optional<Signature> signature_from(const json& j) {
  const auto meaning = parse_meaning(j.value("meaning", ""));
  if (!meaning) return std::nullopt;
  Signature s;
  s.id = j.value("id", "");
  s.user_id = j.value("user_id", "");
  s.printed_name = j.value("printed_name", "");
  s.meaning = *meaning;
  s.signed_at = integer_field(j, "signed_at");
  s.record_type = j.value("record_type", "");
  s.record_id = j.value("record_id", "");
  s.record_hash = j.value("record_hash", "");
  s.seal = j.value("seal", "");
  return s;
}

std::string lines_of(const std::vector<json>& rows) {
  std::string out;
  for (const auto& r : rows) out += r.dump() + "\n";
  return out;
}

// Each line of a JSON-lines part, or nothing when a line does not parse.
std::optional<std::vector<json>> rows_of(const std::string& text) {
  std::vector<json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    rows.push_back(std::move(j));
  }
  return rows;
}

std::string to_base64(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> from_base64(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

}  // namespace

Result<std::string> Api::batch_archive(const std::string& actor, const std::string& batch_id,
                                       const crypto::SigningKey& key) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  auto record = batch_record(actor, batch_id);  // also checks the actor may read the trail
  if (!record) return tl::unexpected(record.error());
  std::vector<Document> docs;
  std::vector<json> trail_rows, signature_rows;
  std::set<std::string> sensors;
  Millis run_from = 0, run_to = 0;
  auto read = store_.read([&](Transaction& tx) -> Result<void> {
    const auto batch = tx.get("batch", batch_id);
    if (!batch) return refuse(Code::kNotFound, "no batch " + batch_id, "batch");
    const json data = json::parse(batch->body, nullptr, false).value("data", json::object());
    std::set<std::pair<std::string, std::string>> wanted{{"batch", batch_id}};
    const auto add_all = [&](const char* type, const std::vector<Document>& found) {
      for (const auto& d : found) wanted.emplace(type, d.id);
    };
    const auto steps = tx.list("step", batch_id);
    add_all("step", steps);
    add_all("deviation", tx.list("deviation", batch_id));
    add_all("trail_review", tx.list("trail_review", batch_id));
    for (const auto& charge : tx.list("charge", "", batch_id)) {
      wanted.emplace("charge", charge.id);
      wanted.emplace("lot", charge.parent);
    }
    if (!data.value("master", "").empty()) wanted.emplace("master", data.value("master", ""));
    if (!data.value("output_lot", "").empty()) wanted.emplace("lot", data.value("output_lot", ""));
    std::set<std::string> rooms;
    for (const auto& step : steps) {
      const json sd = json::parse(step.body, nullptr, false).value("data", json::object());
      std::vector<std::string> used{sd.value("equipment", "")};
      for (const auto& w : sd.value("weighings", json::array()))
        used.push_back(w.value("scale", ""));
      for (const auto& id : used) {
        if (id.empty()) continue;
        wanted.emplace("equipment", id);
        if (auto e = tx.get("equipment", id)) {
          const json ed = json::parse(e->body, nullptr, false).value("data", json::object());
          rooms.insert(ed.value("area", ""));
          rooms.insert(ed.value("unit", ""));
        }
      }
    }
    rooms.erase("");
    for (const auto& sensor : tx.list("sensor")) {
      const json sd = json::parse(sensor.body, nullptr, false).value("data", json::object());
      if (rooms.contains(sd.value("room", ""))) {
        wanted.emplace("sensor", sensor.id);
        sensors.insert(sensor.id);
      }
    }
    std::vector<AuditEntry> entries;
    for (const auto& [type, id] : wanted) {
      auto doc = tx.get(type, id);
      if (!doc) continue;
      docs.push_back(*doc);
      auto of = tx.audit_of(type, id);
      entries.insert(entries.end(), of.begin(), of.end());
      for (const auto& s : tx.signatures_of(type, id)) signature_rows.push_back(signature_row(s));
    }
    std::sort(entries.begin(), entries.end(),
              [](const AuditEntry& x, const AuditEntry& y) { return x.seq < y.seq; });
    for (const auto& e : entries) {
      trail_rows.push_back(entry_row(e));
      if (e.object_type == "batch" && e.object_id == batch_id) {
        if (run_from == 0) run_from = e.at;
        run_to = e.at;
      }
    }
    return {};
  });
  if (!read) return tl::unexpected(read.error());
  std::vector<json> record_rows, reading_rows;
  for (const auto& d : docs) record_rows.push_back(document_row(d));
  for (const auto& sensor : sensors) {
    auto readings = store_.readings(sensor, run_from, run_to);
    if (!readings) return tl::unexpected(readings.error());
    for (const auto& r : *readings) {
      reading_rows.push_back(json{{"sensor", r.sensor_id},
                                  {"at", r.at},
                                  {"value", r.value},
                                  {"flags", r.flags},
                                  {"stored_at", r.stored_at}});
    }
  }
  json checkpoint = json::object();
  if (auto cps = store_.checkpoints(); cps && !cps->empty()) {
    checkpoint = json{{"line", checkpoint_line(cps->back())}};
  }
  auto pdf = record_pdf(*record);
  if (!pdf) return refuse(Code::kStorage, "the printable record could not be produced");
  // name -> (bytes, encoding in the file)
  const std::vector<std::pair<std::string, std::pair<std::string, std::string>>> parts{
      {"record.json", {record->dump(1) + "\n", "text"}},
      {"record.pdf", {*pdf, "base64"}},
      {"records.jsonl", {lines_of(record_rows), "text"}},
      {"trail.jsonl", {lines_of(trail_rows), "text"}},
      {"signatures.jsonl", {lines_of(signature_rows), "text"}},
      {"readings.jsonl", {lines_of(reading_rows), "text"}},
      {"checkpoint.json", {checkpoint.dump() + "\n", "text"}}};
  json manifest{{"format", kArchiveFormat},
                {"batch", batch_id},
                {"created_at", format_utc(clock_())},
                {"created_by", actor},
                {"retain_until", format_utc(mes_.retain_until("batch", run_from))},
                {"public_key", key.public_key_hex()},
                {"counts",
                 {{"records", record_rows.size()},
                  {"entries", trail_rows.size()},
                  {"signatures", signature_rows.size()},
                  {"readings", reading_rows.size()}}},
                {"parts", json::array()}};
  json file_parts = json::object();
  for (const auto& [name, part] : parts) {
    const auto& [bytes, encoding] = part;
    manifest["parts"].push_back(
        {{"name", name}, {"sha256", crypto::sha256_hex(bytes)}, {"bytes", bytes.size()}});
    file_parts[name] = {{"encoding", encoding},
                        {"content", encoding == "base64" ? to_base64(bytes) : bytes}};
  }
  const std::string manifest_text = manifest.dump();
  return json{{"format", kArchiveFormat},
              {"manifest", manifest_text},
              {"signature", key.sign_hex(manifest_text)},
              {"parts", file_parts}}
             .dump(1) +
         "\n";
}

namespace {

void check_archive(std::string_view archive_text, std::string_view expected_public_key,
                   ArchiveReport& report);

}  // namespace

ArchiveReport verify_archive(std::string_view archive_text, std::string_view expected_public_key) {
  ArchiveReport report;
  try {
    check_archive(archive_text, expected_public_key, report);
  } catch (const json::exception& e) {  // a field of the wrong type anywhere in the file
    report.problems.push_back(std::string("malformed archive: ") + e.what());
  } catch (const std::invalid_argument& e) {  // an integer field that is not an integer
    report.problems.push_back(std::string("malformed archive: ") + e.what());
  }
  return report;
}

namespace {

void check_archive(std::string_view archive_text, std::string_view expected_public_key,
                   ArchiveReport& report) {
  auto& problems = report.problems;
  const json file = json::parse(archive_text, nullptr, false);
  if (file.is_discarded() || !file.is_object() || !file.contains("manifest") ||
      !file["manifest"].is_string() || !file.contains("parts") || !file["parts"].is_object()) {
    problems.push_back("not a pharma-mes archive (a JSON object with manifest and parts)");
    return;
  }
  if (file.value("format", "") != kArchiveFormat) {
    problems.push_back("unknown archive format '" + file.value("format", "") + "'");
    return;
  }
  const std::string manifest_text = file["manifest"];
  const json manifest = json::parse(manifest_text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() || !manifest.contains("parts") ||
      !manifest["parts"].is_array()) {
    problems.push_back("the manifest does not parse");
    return;
  }
  report.batch = manifest.value("batch", "");
  report.public_key = manifest.value("public_key", "");
  report.created_at = manifest.value("created_at", "");
  report.created_by = manifest.value("created_by", "");
  if (!expected_public_key.empty() && report.public_key != expected_public_key) {
    problems.push_back("sealed with key " + report.public_key + ", not the expected " +
                       std::string(expected_public_key));
  }
  if (!crypto::verify_hex(report.public_key, manifest_text, file.value("signature", ""))) {
    problems.push_back("the manifest's signature does not verify with key " + report.public_key);
  }
  // Each part against the manifest.
  std::map<std::string, std::string> content;
  std::set<std::string> listed;
  for (const auto& p : manifest["parts"]) {
    const std::string name = p.value("name", "");
    listed.insert(name);
    const json& stored = file["parts"].value(name, json());
    if (!stored.is_object() || !stored.contains("content") || !stored["content"].is_string()) {
      problems.push_back("part " + name + " is missing");
      continue;
    }
    std::optional<std::string> bytes = stored["content"].get<std::string>();
    if (stored.value("encoding", "text") == "base64") bytes = from_base64(*bytes);
    if (!bytes || crypto::sha256_hex(*bytes) != p.value("sha256", "")) {
      problems.push_back("part " + name + " differs from its manifest hash");
      continue;
    }
    ++report.parts;
    content[name] = std::move(*bytes);
  }
  for (const auto& [name, value] : file["parts"].items()) {
    if (!listed.contains(name)) problems.push_back("part " + name + " is not in the manifest");
  }
  const auto rows = [&](const std::string& part) {
    auto r = rows_of(content[part]);
    if (!r) problems.push_back("part " + part + " has a line that is not a JSON object");
    return r.value_or(std::vector<json>{});
  };
  // The trail: every entry's own hash, in order; the latest record hash each record got.
  std::map<std::pair<std::string, std::string>, std::string> proven;
  std::set<std::pair<std::string, std::string>> with_trail;
  std::int64_t last_seq = 0;
  for (const auto& row : rows("trail.jsonl")) {
    const AuditEntry e = entry_from(row);
    if (crypto::sha256_hex(canonical(e)) != e.hash) {
      problems.push_back("audit entry " + std::to_string(e.seq) + " does not match its hash");
    }
    if (e.seq <= last_seq)
      problems.push_back("audit entry " + std::to_string(e.seq) + " is out of order");
    last_seq = e.seq;
    if (!e.record_hash.empty()) proven[{e.object_type, e.object_id}] = e.record_hash;
    with_trail.emplace(e.object_type, e.object_id);
    ++report.entries;
  }
  // The records against the trail.
  std::map<std::pair<std::string, std::string>, Document> records;
  std::vector<Document> steps;
  for (const auto& row : rows("records.jsonl")) {
    const Document d = document_from(row);
    const auto proof = proven.find({d.type, d.id});
    if (proof == proven.end()) {
      // Written before record hashes (schema 3): its trail holds no hash to compare with.
      if (!with_trail.contains({d.type, d.id})) {
        problems.push_back("record " + d.type + " " + d.id + " has no audit entry that wrote it");
      }
    } else if (record_hash(d) != proof->second) {
      problems.push_back("record " + d.type + " " + d.id +
                         " differs from the version its audit trail wrote");
    }
    if (d.type == "step") steps.push_back(d);
    records[{d.type, d.id}] = d;
    ++report.records;
  }
  // The signatures against their records.
  for (const auto& row : rows("signatures.jsonl")) {
    const auto sig = signature_from(row);
    if (!sig) {
      problems.push_back("signature " + row.value("id", "") + " has an unknown meaning");
      continue;
    }
    const auto doc = records.find({sig->record_type, sig->record_id});
    std::string hash;
    if (doc != records.end()) {
      std::vector<Document> own_steps;
      for (const auto& s : steps) {
        if (s.parent == sig->record_id) own_steps.push_back(s);
      }
      hash = signed_hash(doc->second, own_steps);
    }
    const SignatureCheck check =
        doc == records.end()
            ? SignatureCheck::kWrongRecord
            : check_signature(*sig, sig->record_type, sig->record_id, hash, report.public_key);
    if (check != SignatureCheck::kValid) {
      problems.push_back("signature " + sig->id + " (" + std::string(to_string(sig->meaning)) +
                         " by " + sig->user_id + " on " + sig->record_type + " " + sig->record_id +
                         "): " + std::string(to_string(check)));
    }
    ++report.signatures;
  }
  report.readings = rows("readings.jsonl").size();
}

}  // namespace

}  // namespace mes::api
