#include "admin_controls.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "logging/logger.hpp"

namespace trading::app {
namespace {

using controls::Role;

core::Nanos wall_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string out(bytes * 2, '0');
  sodium_bin2hex(out.data(), out.size() + 1, reinterpret_cast<const unsigned char*>(raw.data()),
                 raw.size());
  sodium_memzero(raw.data(), raw.size());
  return out;
}

bool valid_user_name(const std::string& name) {
  if (name.size() < 2 || name.size() > 40) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return false;
    }
  }
  return name != "break-glass";
}

nlohmann::json proposal_json(const controls::Proposal& p, core::Nanos now) {
  const bool expired = p.status == controls::ProposalStatus::kPending && now >= p.expires_ns;
  nlohmann::json j = {{"id", p.id},
                      {"change", controls::to_string(p.change)},
                      {"params", p.params},
                      {"reason", p.reason},
                      {"proposer", p.proposer},
                      {"proposer_role", controls::to_string(p.proposer_role)},
                      {"created_ns", p.created_ns},
                      {"expires_ns", p.expires_ns},
                      {"status", expired ? "expired" : std::string(to_string(p.status))}};
  if (p.status != controls::ProposalStatus::kPending) {
    j["decided_by"] = p.decided_by;
    j["decided_role"] = controls::to_string(p.decided_role);
    j["decision_reason"] = p.decision_reason;
    j["decided_ns"] = p.decided_ns;
    j["result"] = p.result;
  }
  return j;
}

// Folds the complete lines of `path` from `offset` into `registry`.
core::Result<void> fold_file(const std::string& path, std::uint64_t& offset, std::uint64_t& entries,
                             std::string& last_hash, controls::AdminRegistry& registry) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return {};
    return core::fail(500, "cannot open the admin log " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::string added;
  if (::fstat(fd, &st) == 0 && static_cast<std::uint64_t>(st.st_size) > offset) {
    added.resize(static_cast<std::size_t>(static_cast<std::uint64_t>(st.st_size) - offset));
    std::size_t got = 0;
    while (got < added.size()) {
      const ssize_t n =
          ::pread(fd, added.data() + got, added.size() - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    added.resize(got);
  }
  ::close(fd);
  const auto last_newline = added.rfind('\n');
  if (last_newline == std::string::npos) return {};  // nothing complete yet
  added.resize(last_newline + 1);  // a line being written by another process waits
  std::vector<nlohmann::json> parsed;
  const auto report = guardrails::evidence::verify_content(added, entries, last_hash, &parsed);
  if (!report.ok) {
    return core::fail(500, "the admin log " + path + " is broken at entry " +
                               std::to_string(report.first_bad_entry) + ": " + report.problem);
  }
  for (const auto& e : parsed) registry.apply(e);
  offset += added.size();
  entries = report.entries;
  last_hash = report.last_hash;
  return {};
}

}  // namespace

core::Result<std::unique_ptr<AdminControls>> AdminControls::open(const std::string& log_path,
                                                                 std::string break_glass_token,
                                                                 core::Nanos proposal_ttl) {
  auto log = guardrails::evidence::EvidenceLog::open(log_path, true);
  if (!log) return core::fail(log.error());
  std::unique_ptr<AdminControls> c(new AdminControls());
  c->log_path_ = log_path;
  c->log_ = std::move(*log);
  c->break_glass_token_ = std::move(break_glass_token);
  c->proposal_ttl_ = proposal_ttl;
  std::lock_guard lock(c->mutex_);
  if (auto r = c->catch_up_locked(); !r) return core::fail(r.error());
  return c;
}

core::Result<void> AdminControls::catch_up_locked() {
  return fold_file(log_path_, read_offset_, read_entries_, read_hash_, registry_);
}

void AdminControls::append_locked(const std::string& type, nlohmann::json data) {
  data["time_ns"] = wall_now();
  if (auto r = log_->append(type, data, wall_now()); !r) {
    logging::error("admin", "cannot append to the admin log",
                   {{"error", r.error().message}, {"type", type}});
  }
  (void)catch_up_locked();
}

void AdminControls::record_call_locked(const std::string& actor, const std::string& role,
                                       const http::Request& req, const std::string& what,
                                       const std::string& reason, int status,
                                       const std::string& outcome, const std::string& detail) {
  append_locked("admin_call", {{"actor", actor},
                               {"role", role},
                               {"method", req.method},
                               {"path", req.path},
                               {"what", what},
                               {"reason", reason},
                               {"status", status},
                               {"outcome", outcome},
                               {"detail", detail.substr(0, 500)},
                               {"remote", req.remote_address}});
}

std::variant<AdminCaller, http::Response> AdminControls::authenticate(const http::Request& req,
                                                                      controls::Action action,
                                                                      const std::string& what) {
  std::lock_guard lock(mutex_);
  const auto refuse_anonymous = [&](const std::string& actor, int status, const char* code,
                                    const std::string& message) -> http::Response {
    record_call_locked(actor, "", req, what, "", status, "refused", message);
    return http::error_response(status, code, message);
  };
  if (auto r = catch_up_locked(); !r) {
    return http::error_response(503, "admin_log_broken", r.error().message);
  }
  const std::string token(req.bearer_token());
  if (token.empty()) {
    return refuse_anonymous("", 401, "unauthorized", "missing bearer token");
  }
  AdminCaller caller;
  if (!break_glass_token_.empty() && http::secure_equals(token, break_glass_token_)) {
    caller = {"break-glass", Role::kBreakGlass};
    logging::warn("admin", "break-glass token used",
                  {{"what", what}, {"remote", req.remote_address}});
  } else {
    const std::string hash = guardrails::evidence::sha256_hex(token);
    const controls::AdminUser* user = registry_.user_by_token_hash(hash);
    if (user == nullptr) {
      return refuse_anonymous("token:" + hash.substr(0, 8), 401, "unauthorized",
                              "invalid bearer token");
    }
    if (user->revoked) {
      return refuse_anonymous(user->name, 401, "revoked",
                              "the token of " + user->name + " was revoked by " + user->revoked_by);
    }
    caller = {user->name, user->role};
  }
  if (!controls::allowed(caller.role, action)) {
    const std::string message = "the " + std::string(controls::to_string(caller.role)) +
                                " role may not do this (" + what + ")";
    record_call_locked(caller.name, std::string(controls::to_string(caller.role)), req, what, "",
                       403, "refused", message);
    return http::error_response(403, "forbidden", message);
  }
  if (action == controls::Action::kRead && req.method == "GET") {
    // Reads too carry an identity in the record (who looked at what); changes are recorded
    // with their outcome by the route.
    record_call_locked(caller.name, std::string(controls::to_string(caller.role)), req, what, "",
                       200, "ok", "read");
  }
  return caller;
}

std::variant<std::string, http::Response> AdminControls::require_reason(const AdminCaller& caller,
                                                                        const http::Request& req,
                                                                        const nlohmann::json& body,
                                                                        const std::string& what) {
  const auto it = body.find("reason");
  if (it != body.end() && it->is_string()) {
    std::string reason = it->get<std::string>();
    if (reason.size() >= 3 && reason.size() <= 500) return reason;
  }
  return refuse(caller, req, what,
                controls::Refusal{400, "reason_required",
                                  "a change needs \"reason\": why, in 3 to 500 characters"});
}

void AdminControls::record_change(const AdminCaller& caller, const http::Request& req,
                                  const std::string& what, const std::string& reason, int status,
                                  const std::string& detail) {
  std::lock_guard lock(mutex_);
  record_call_locked(caller.name, std::string(controls::to_string(caller.role)), req, what, reason,
                     status, status < 400 ? "ok" : "failed", detail);
}

http::Response AdminControls::refuse(const AdminCaller& caller, const http::Request& req,
                                     const std::string& what, const controls::Refusal& refusal) {
  std::lock_guard lock(mutex_);
  record_call_locked(caller.name, std::string(controls::to_string(caller.role)), req, what, "",
                     refusal.status, "refused", refusal.message);
  return http::error_response(refusal.status, refusal.code, refusal.message);
}

http::Response AdminControls::propose(const AdminCaller& caller, const http::Request& req,
                                      controls::Change change, const nlohmann::json& params,
                                      const std::string& reason) {
  std::lock_guard lock(mutex_);
  const core::Nanos now = wall_now();
  const std::string id = "P-" + random_hex(6);
  append_locked("proposal", {{"id", id},
                             {"change", controls::to_string(change)},
                             {"params", params},
                             {"reason", reason},
                             {"proposer", caller.name},
                             {"role", controls::to_string(caller.role)},
                             {"remote", req.remote_address},
                             {"expires_ns", now + proposal_ttl_}});
  const controls::Proposal* p = registry_.proposal(id);
  if (p == nullptr) {
    return http::error_response(500, "admin_log", "the proposal could not be recorded");
  }
  return http::Response::json(201, nlohmann::json{{"data", proposal_json(*p, now)}}.dump());
}

http::Response AdminControls::decide(const AdminCaller& caller, const http::Request& req,
                                     const std::string& proposal_id, bool approve,
                                     const std::string& reason, const Executor& execute) {
  std::lock_guard lock(mutex_);
  const std::string what = std::string(approve ? "approve " : "reject ") + proposal_id;
  const auto refused = [&](const controls::Refusal& r) {
    record_call_locked(caller.name, std::string(controls::to_string(caller.role)), req, what,
                       reason, r.status, "refused", r.message);
    return http::error_response(r.status, r.code, r.message);
  };
  if (auto r = catch_up_locked(); !r) {
    return http::error_response(503, "admin_log_broken", r.error().message);
  }
  const controls::Proposal* p = registry_.proposal(proposal_id);
  if (p == nullptr) return refused({404, "not_found", "no proposal " + proposal_id});
  const core::Nanos now = wall_now();
  controls::AdminUser decider;
  decider.name = caller.name;
  decider.role = caller.role;
  if (auto refusal = controls::AdminRegistry::check_decision(*p, decider, now, approve)) {
    return refused(*refusal);
  }
  if (!approve) {
    append_locked("rejection", {{"id", proposal_id},
                                {"by", caller.name},
                                {"role", controls::to_string(caller.role)},
                                {"reason", reason}});
    return http::Response::json(
        200, nlohmann::json{{"data", proposal_json(*registry_.proposal(proposal_id), now)}}.dump());
  }
  const controls::Proposal copy = *p;
  auto result = execute(copy);
  append_locked("approval", {{"id", proposal_id},
                             {"approver", caller.name},
                             {"role", controls::to_string(caller.role)},
                             {"reason", reason},
                             {"outcome", result ? "executed" : "failed"},
                             {"result", result ? *result : result.error().message}});
  const nlohmann::json data = proposal_json(*registry_.proposal(proposal_id), now);
  if (!result) {
    const int status =
        result.error().code >= 400 && result.error().code < 600 ? result.error().code : 500;
    return http::error_response(status, "execution_failed",
                                "approved, but the change failed: " + result.error().message);
  }
  return http::Response::json(200, nlohmann::json{{"data", data}}.dump());
}

void AdminControls::record_event(const std::string& type, nlohmann::json data) {
  std::lock_guard lock(mutex_);
  append_locked(type, std::move(data));
}

nlohmann::json AdminControls::proposals_json() {
  std::lock_guard lock(mutex_);
  (void)catch_up_locked();
  const core::Nanos now = wall_now();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : registry_.proposals()) list.push_back(proposal_json(p, now));
  return list;
}

nlohmann::json AdminControls::users_json() {
  std::lock_guard lock(mutex_);
  (void)catch_up_locked();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, u] : registry_.users()) {
    list.push_back({{"user", name},
                    {"role", controls::to_string(u.role)},
                    {"created_by", u.created_by},
                    {"created_ns", u.created_ns},
                    {"revoked", u.revoked},
                    {"revoked_by", u.revoked_by}});
  }
  return list;
}

controls::AdminRegistry AdminControls::snapshot() {
  std::lock_guard lock(mutex_);
  (void)catch_up_locked();
  return registry_;
}

core::Result<controls::AdminRegistry> AdminControls::read(const std::string& log_path) {
  controls::AdminRegistry registry;
  std::uint64_t offset = 0, entries = 0;
  std::string hash = guardrails::evidence::kGenesisHash;
  if (auto r = fold_file(log_path, offset, entries, hash, registry); !r) {
    return core::fail(r.error());
  }
  return registry;
}

core::Result<std::string> AdminControls::create_user(const std::string& log_path,
                                                     const std::string& name, controls::Role role,
                                                     const std::string& by,
                                                     const std::string& reason) {
  if (sodium_init() < 0) return core::fail(1, "libsodium failed to initialise");
  if (!valid_user_name(name)) {
    return core::fail(2, "a user name is 2 to 40 characters of a-z, 0-9, '.', '_' or '-'");
  }
  if (by.empty() || reason.size() < 3) {
    return core::fail(2, "--by (who creates the user) and --reason (3+ characters) are required");
  }
  auto registry = read(log_path);
  if (!registry) return core::fail(registry.error());
  if (const auto* existing = registry->user(name); existing != nullptr && !existing->revoked) {
    return core::fail(2, "user " + name + " exists: revoke them first to issue a new token");
  }
  auto log = guardrails::evidence::EvidenceLog::open(log_path, true);
  if (!log) return core::fail(log.error());
  const std::string token = "gvt_" + random_hex(32);
  if (auto r = (*log)->append("user_created",
                              {{"user", name},
                               {"role", controls::to_string(role)},
                               {"token_sha256", guardrails::evidence::sha256_hex(token)},
                               {"by", by},
                               {"reason", reason},
                               {"time_ns", wall_now()}},
                              wall_now());
      !r) {
    return core::fail(r.error());
  }
  return token;
}

core::Result<void> AdminControls::revoke_user(const std::string& log_path, const std::string& name,
                                              const std::string& by, const std::string& reason) {
  if (by.empty() || reason.size() < 3) {
    return core::fail(2, "--by (who revokes) and --reason (3+ characters) are required");
  }
  auto registry = read(log_path);
  if (!registry) return core::fail(registry.error());
  const auto* user = registry->user(name);
  if (user == nullptr) return core::fail(2, "no user " + name);
  if (user->revoked) return core::fail(2, "user " + name + " is already revoked");
  auto log = guardrails::evidence::EvidenceLog::open(log_path, true);
  if (!log) return core::fail(log.error());
  if (auto r = (*log)->append(
          "user_revoked", {{"user", name}, {"by", by}, {"reason", reason}, {"time_ns", wall_now()}},
          wall_now());
      !r) {
    return core::fail(r.error());
  }
  return {};
}

}  // namespace trading::app
