// Helpers shared by the Mes service's translation units: JSON bodies, field-level audit of a
// record change, authorisation. Internal to pharma-mes/domain.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>

#include "mes/domain/records.hpp"
#include "mes/domain/service.hpp"

namespace mes::detail {

using json = nlohmann::json;

inline constexpr Millis kMinute = 60 * 1000;

// The body of a document, or an empty {"data":{},"flow":{}}.
json body_of(const Document& doc);
// sha256 over type, id and the body's "data" part: what a signature on the record covers.
std::string content_hash(const std::string& type, const std::string& id, const json& body);

// One audit entry.
Result<void> audit(Transaction& tx, const std::string& actor, std::string action,
                   std::string object_type, std::string object_id, std::string field,
                   std::string old_value, std::string new_value, std::string reason,
                   std::string record_hash = {});

// Stores doc with `body` and writes one audit entry per changed field (flattened path; password
// hashes never appear in the trail). A record that existed needs a reason (11.10(e)).
Result<void> put_audited(Transaction& tx, const std::string& actor, Document& doc, const json& body,
                         const std::string& action, const std::string& reason);

// Record R `id` as stored: kNotFound (naming `field`) when there is none; kRecordImmutable when
// it is voided, unless `voided_too`.
template <typename R>
Result<R> load(Transaction& tx, const std::string& id, const std::string& field = "id",
               bool voided_too = false) {
  auto doc = tx.get(R::kType, id);
  if (!doc) return refuse(Code::kNotFound, "no " + std::string(R::kType) + " " + id, field);
  if (doc->voided && !voided_too) {
    return refuse(Code::kRecordImmutable,
                  std::string(R::kType) + " " + id + " is voided (" + doc->void_reason + ")",
                  field);
  }
  return decode<R>(*doc);
}

// The records of type R listed by parent and state, decoded; the message of each one that does
// not decode (a stored body not of the type's shape) goes to `unreadable`, so that a caller
// names it rather than passing over it.
template <typename R>
std::vector<R> list_of(Transaction& tx, std::string_view parent, std::string_view state,
                       std::vector<std::string>& unreadable) {
  std::vector<R> out;
  for (const auto& doc : tx.list(R::kType, parent, state)) {
    auto record = decode<R>(doc);
    if (record) {
      out.push_back(std::move(*record));
    } else {
      unreadable.push_back(record.error().message);
    }
  }
  return out;
}

// Stores `record` in its canonical form (new when never stored) with one audit entry per field
// changed against the stored version, as put_audited(); advances record.meta.version.
template <typename R>
Result<void> save(Transaction& tx, const std::string& actor, R& record, const std::string& action,
                  const std::string& reason) {
  Document doc = to_document(record);
  const json body = json::parse(doc.body);
  doc.body.clear();
  if (doc.version > 0) {
    auto stored = tx.get(R::kType, doc.id);
    if (!stored || stored->version != doc.version) {
      return refuse(Code::kConflict, std::string(R::kType) + " " + doc.id + " changed meanwhile");
    }
    doc.body = std::move(stored->body);
  }
  if (auto r = put_audited(tx, actor, doc, body, action, reason); !r) return r;
  record.meta.version = doc.version;
  return {};
}

// What a readings seal entry says (its new_value): a sensor's raw readings stored in
// (after, through], how many and their readings_digest.
struct ReadingsSeal {
  Millis after = 0, through = 0;
  std::int64_t count = 0;
  std::string digest;
};
std::string seal_text(const ReadingsSeal& seal);
std::optional<ReadingsSeal> parse_seal(const std::string& text);
// The sensor's last seal on the trail, if any.
std::optional<ReadingsSeal> last_seal(Transaction& tx, const std::string& sensor_id);

// The actual yield of a batch against its master's theoretical yield (in its control recipe).
BatchYield yield_of(const Batch& batch);

// The acting user: exists, active, password not due for change, and allowed the action.
Result<User> authorize(Transaction& tx, const std::string& actor, Action action,
                       const MesConfig& config);

Result<void> require_reason(const std::string& reason);

// A short statement someone writes on a record (identity evidence, what a training was): not
// blank, one line (no control characters), at most 500 bytes; else kInvalid naming `field`,
// saying `what` it is for.
Result<void> check_one_line(const std::string& text, const std::string& field,
                            const std::string& what);

// `user` holds a current training for master `master_id`'s product or for `phase` (11.10(i));
// else kNotQualified naming both procedures.
Result<void> require_training(Transaction& tx, const std::string& user,
                              const std::string& master_id, const std::string& phase);

std::string number_text(double v);

}  // namespace mes::detail
