// Mes: authorised reads of records, the audit trail and signatures.
#include "service_support.hpp"

namespace mes {

using detail::json;

namespace {

Action view_action(const std::string& type) {
  return type == "user" ? Action::kManageUsers : Action::kViewRecords;
}

Document without_secrets(Document doc) {
  if (doc.type == "user") {
    json body = detail::body_of(doc);
    body["flow"].erase("password_hash");
    doc.body = body.dump();
  }
  return doc;
}

bool readable_type(const std::string& type) {
  static const char* kTypes[] = {"user", "equipment", "sensor", "lot",    "master",  "batch",
                                 "step", "deviation", "alarm",  "charge", "training"};
  for (const char* t : kTypes) {
    if (type == t) return true;
  }
  return false;
}

}  // namespace

Result<User> Mes::authorized(const std::string& actor, Action action) {
  std::optional<User> u;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    auto a = detail::authorize(tx, actor, action, config_);
    if (!a) return tl::unexpected(a.error());
    u = *a;
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return *u;
}

Result<Document> Mes::record(const std::string& actor, const std::string& type,
                             const std::string& id) {
  if (!readable_type(type)) return refuse(Code::kNotFound, "no record type " + type, "type");
  std::optional<Document> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, view_action(type), config_); !a) {
      return tl::unexpected(a.error());
    }
    auto doc = tx.get(type, id);
    if (!doc) return refuse(Code::kNotFound, "no " + type + " " + id, "id");
    out = without_secrets(*doc);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return *out;
}

Result<std::vector<Document>> Mes::records(const std::string& actor, const std::string& type,
                                           const std::string& parent, const std::string& state) {
  if (!readable_type(type)) return refuse(Code::kNotFound, "no record type " + type, "type");
  std::vector<Document> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, view_action(type), config_); !a) {
      return tl::unexpected(a.error());
    }
    for (auto& doc : tx.list(type, parent, state)) out.push_back(without_secrets(std::move(doc)));
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

Result<std::vector<AuditEntry>> Mes::audit_trail(const std::string& actor, const std::string& type,
                                                 const std::string& id) {
  std::vector<AuditEntry> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kViewAuditTrail, config_); !a) {
      return tl::unexpected(a.error());
    }
    out = tx.audit_of(type, id);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

Result<std::vector<Signature>> Mes::signatures(const std::string& actor, const std::string& type,
                                               const std::string& id) {
  std::vector<Signature> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kViewRecords, config_); !a) {
      return tl::unexpected(a.error());
    }
    out = tx.signatures_of(type, id);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return out;
}

}  // namespace mes
