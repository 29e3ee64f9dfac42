#include "service_support.hpp"

#include <algorithm>
#include <charconv>

namespace mes::detail {
namespace {

void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
  if (j.is_object()) {
    if (j.empty() && !prefix.empty()) out[prefix] = "{}";
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else if (j.is_array()) {
    if (j.empty()) out[prefix] = "[]";
    for (std::size_t i = 0; i < j.size(); ++i) {
      flatten(j[i], prefix + "[" + std::to_string(i) + "]", out);
    }
  } else {
    out[prefix] = j.is_string() ? j.get<std::string>() : j.dump();
  }
}

bool secret(const std::string& path) {
  return path.size() >= 13 && path.compare(path.size() - 13, 13, "password_hash") == 0;
}

}  // namespace

json body_of(const Document& doc) {
  if (doc.body.empty()) return json{{"data", json::object()}, {"flow", json::object()}};
  json j = json::parse(doc.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return json{{"data", json::object()}, {"flow", json::object()}};
  }
  return j;
}

std::string content_hash(const std::string& type, const std::string& id, const json& body) {
  const json data = body.contains("data") ? body["data"] : json::object();
  return crypto::sha256_hex(type + "|" + id + "|" + data.dump());
}

}  // namespace mes::detail

std::string mes::signed_hash(const Document& record, const std::vector<Document>& steps) {
  if (record.type != "batch") {
    return detail::content_hash(record.type, record.id, detail::body_of(record));
  }
  std::vector<const Document*> ordered;
  for (const auto& step : steps) ordered.push_back(&step);
  std::sort(ordered.begin(), ordered.end(),
            [](const Document* a, const Document* b) { return a->id < b->id; });
  std::string all = detail::content_hash("batch", record.id, detail::body_of(record));
  for (const Document* step : ordered) {
    all += detail::content_hash("step", step->id, detail::body_of(*step));
  }
  return crypto::sha256_hex(all);
}

namespace mes::detail {

Result<void> audit(Transaction& tx, const std::string& actor, std::string action,
                   std::string object_type, std::string object_id, std::string field,
                   std::string old_value, std::string new_value, std::string reason,
                   std::string record_hash) {
  AuditEntry e;
  e.actor = actor;
  e.action = std::move(action);
  e.object_type = std::move(object_type);
  e.object_id = std::move(object_id);
  e.field = std::move(field);
  e.old_value = std::move(old_value);
  e.new_value = std::move(new_value);
  e.reason = std::move(reason);
  e.record_hash = std::move(record_hash);
  e.terminal = TerminalScope::current();
  return tx.append_audit(e);
}

Result<void> put_audited(Transaction& tx, const std::string& actor, Document& doc, const json& body,
                         const std::string& action, const std::string& reason) {
  const bool existed = doc.version > 0;
  if (existed && reason.empty()) {
    return refuse(Code::kReasonRequired, "a change of a GMP record needs a reason", "reason");
  }
  std::map<std::string, std::string> before, after;
  if (existed) flatten(body_of(doc), "", before);
  flatten(body, "", after);
  doc.body = body.dump();
  if (auto r = tx.put(doc); !r) return r;
  const std::string proof = record_hash(doc);  // of the version just stored
  std::vector<std::string> paths;
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    if (it == before.end() || it->second != v) paths.push_back(k);
  }
  for (const auto& [k, v] : before) {
    if (!after.contains(k)) paths.push_back(k);
  }
  if (paths.empty()) {  // still one entry: the command happened
    return audit(tx, actor, action, doc.type, doc.id, "", "", "", reason, proof);
  }
  for (const auto& path : paths) {
    std::string old_value = before.contains(path) ? before[path] : "";
    std::string new_value = after.contains(path) ? after[path] : "";
    if (secret(path)) {
      old_value = old_value.empty() ? "" : "(hash)";
      new_value = new_value.empty() ? "" : "(new hash)";
    }
    if (auto r =
            audit(tx, actor, action, doc.type, doc.id, path, old_value, new_value, reason, proof);
        !r) {
      return r;
    }
  }
  return {};
}

std::string seal_text(const ReadingsSeal& seal) {
  return "stored_after=" + std::to_string(seal.after) +
         " stored_through=" + std::to_string(seal.through) +
         " count=" + std::to_string(seal.count) + " sha256=" + seal.digest;
}

std::optional<ReadingsSeal> parse_seal(const std::string& text) {
  ReadingsSeal seal;
  std::size_t fields = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = std::min(text.find(' ', at), text.size());
    const std::string_view word(text.data() + at, end - at);
    at = end + 1;
    const auto eq = word.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "sha256") {
      if (value.size() != 64) return std::nullopt;
      seal.digest = std::string(value);
      ++fields;
      continue;
    }
    std::int64_t n = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || p != value.data() + value.size()) return std::nullopt;
    if (key == "stored_after") {
      seal.after = n;
    } else if (key == "stored_through") {
      seal.through = n;
    } else if (key == "count") {
      seal.count = n;
    } else {
      return std::nullopt;
    }
    ++fields;
  }
  if (fields != 4 || seal.through <= seal.after) return std::nullopt;
  return seal;
}

std::optional<ReadingsSeal> last_seal(Transaction& tx, const std::string& sensor_id) {
  const auto entries = tx.audit_of("sensor", sensor_id);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->action == "seal" && it->field == "readings") return parse_seal(it->new_value);
  }
  return std::nullopt;
}

BatchYield yield_of(const Batch& batch) {
  BatchYield y;
  y.recorded = batch.output.has_value();
  y.output = batch.output.value_or(0);
  const MasterRecipe& recipe = batch.recipe;
  if (recipe.theoretical_yield > 0 && recipe.base_size > 0 && batch.size > 0) {
    y.theoretical = recipe.theoretical_yield * batch.size / recipe.base_size;
    y.percent = y.output / y.theoretical * 100;
    y.low_pct = recipe.yield_low_pct;
    y.high_pct = recipe.yield_high_pct;
  }
  return y;
}

Result<User> authorize(Transaction& tx, const std::string& actor, Action action,
                       const MesConfig& config) {
  const auto doc = tx.get(User::kType, actor);
  if (!doc) return refuse(Code::kUnauthenticated, "unknown user " + actor, "actor");
  auto read = decode<User>(*doc);
  if (!read) return tl::unexpected(read.error());
  const User& u = *read;
  if (u.status == AccountStatus::kDeactivated) {
    return refuse(Code::kAccountInactive, "user " + actor + " is deactivated");
  }
  if (u.status == AccountStatus::kLocked) {
    return refuse(Code::kAccountLocked, "user " + actor + " is locked");
  }
  if (u.must_change_password || password_expired(u, tx.now(), config.passwords)) {
    return refuse(Code::kPasswordExpired, "user " + actor + " must change the password first");
  }
  if (!allowed(u.roles, action)) {
    return refuse(Code::kForbidden,
                  "role " + roles_text(u.roles) + " may not " + std::string(to_string(action)));
  }
  return u;
}

Result<void> require_reason(const std::string& reason) {
  if (reason.empty()) return refuse(Code::kReasonRequired, "a reason is required", "reason");
  return {};
}

Result<void> check_one_line(const std::string& text, const std::string& field,
                            const std::string& what) {
  if (text.find_first_not_of(" \t") == std::string::npos) {
    return refuse(Code::kInvalid, field + " is required: " + what, field);
  }
  if (text.size() > 500) return refuse(Code::kInvalid, field + " is at most 500 bytes", field);
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return refuse(Code::kInvalid, field + " is one line of text", field);
  }
  return {};
}

std::string number_text(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  return std::string(buf, end);
}

}  // namespace mes::detail
