// Helpers shared by the Mes service's translation units: JSON bodies, field-level audit of a
// record change, authorisation. Internal to pharma-mes/domain.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

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
                   std::string old_value, std::string new_value, std::string reason);

// Stores doc with `body` and writes one audit entry per changed field (flattened path; password
// hashes never appear in the trail). A record that existed needs a reason (11.10(e)).
Result<void> put_audited(Transaction& tx, const std::string& actor, Document& doc, const json& body,
                         const std::string& action, const std::string& reason);

User user_from(const Document& doc);
json user_body(const User& user);

// The acting user: exists, active, password not due for change, and allowed the action.
Result<User> authorize(Transaction& tx, const std::string& actor, Action action,
                       const MesConfig& config);

Result<void> require_reason(const std::string& reason);

std::string number_text(double v);

}  // namespace mes::detail
