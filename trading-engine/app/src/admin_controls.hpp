// AdminControls: the venue's admin identities, maker-checker and admin log (SOX access controls;
// the rules are trading/controls/access.hpp). Owns the admin log — a hash-chained JSON-lines file
// (guardrails' EvidenceLog, opened shared: both colours of the venue append to the one file in the
// journal directory) — and the AdminRegistry folded from it, brought up to date before every
// decision. Authenticates a request's bearer token (a user's, or the break-glass admin.token,
// recorded at every use), records every call — reads, changes with their reason and outcome,
// refusals — with the identity,
// and runs proposals and their approval or rejection. The `trading-engine admin user` CLI uses
// the static functions. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "guardrails/evidence/evidence_log.hpp"
#include "http/message.hpp"
#include "trading/controls/admin_registry.hpp"

namespace trading::app {

inline constexpr const char* kAdminLogFileName = "admin-log.jsonl";

struct AdminCaller {
  std::string name;  // "break-glass" for the admin.token
  controls::Role role = controls::Role::kAuditor;
};

class AdminControls {
 public:
  static core::Result<std::unique_ptr<AdminControls>> open(const std::string& log_path,
                                                           std::string break_glass_token,
                                                           core::Nanos proposal_ttl);

  // Who sent `req`, allowed to do `action`; or the HTTP refusal (already recorded in the log).
  // `what` names the call for the record ("halt ACME").
  std::variant<AdminCaller, http::Response> authenticate(const http::Request& req,
                                                         controls::Action action,
                                                         const std::string& what);
  // The reason of a change: the body's "reason" (3 to 500 characters), or the refusal
  // (recorded).
  std::variant<std::string, http::Response> require_reason(const AdminCaller& caller,
                                                           const http::Request& req,
                                                           const nlohmann::json& body,
                                                           const std::string& what);
  // Records a change and its outcome (status < 400: "ok", else "failed").
  void record_change(const AdminCaller& caller, const http::Request& req, const std::string& what,
                     const std::string& reason, int status, const std::string& detail);
  // Records a refusal of a named caller (a rule, not authentication: 403/409/410/...).
  http::Response refuse(const AdminCaller& caller, const http::Request& req,
                        const std::string& what, const controls::Refusal& refusal);

  // Maker: a proposal of `change` with `params`, valid for the proposal TTL. The params are the
  // caller's, checked by `validate` first (an error text refuses it with 400).
  http::Response propose(const AdminCaller& caller, const http::Request& req,
                         controls::Change change, const nlohmann::json& params,
                         const std::string& reason);
  // Checker: approves (runs `execute(proposal)`, whose answer is recorded) or rejects.
  using Executor = std::function<core::Result<std::string>(const controls::Proposal&)>;
  http::Response decide(const AdminCaller& caller, const http::Request& req,
                        const std::string& proposal_id, bool approve, const std::string& reason,
                        const Executor& execute);

  // Appends a control's own record (a reconciliation's result) to the admin log.
  void record_event(const std::string& type, nlohmann::json data);

  nlohmann::json proposals_json();
  nlohmann::json users_json();
  // The registry, brought up to date (for reports).
  controls::AdminRegistry snapshot();
  const std::string& log_path() const { return log_path_; }

  // The CLI's: creates a user with `role` and returns their token (shown once, kept as a hash),
  // or revokes one. `by` and `reason` are recorded.
  static core::Result<std::string> create_user(const std::string& log_path, const std::string& name,
                                               controls::Role role, const std::string& by,
                                               const std::string& reason);
  static core::Result<void> revoke_user(const std::string& log_path, const std::string& name,
                                        const std::string& by, const std::string& reason);
  // The registry folded from a log file read once (the CLI's listing, reports).
  static core::Result<controls::AdminRegistry> read(const std::string& log_path);

 private:
  AdminControls() = default;
  core::Result<void> catch_up_locked();  // folds what was appended since the last call
  void append_locked(const std::string& type, nlohmann::json data);
  void record_call_locked(const std::string& actor, const std::string& role,
                          const http::Request& req, const std::string& what,
                          const std::string& reason, int status, const std::string& outcome,
                          const std::string& detail);

  std::mutex mutex_;
  std::string log_path_;
  std::unique_ptr<guardrails::evidence::EvidenceLog> log_;
  std::string break_glass_token_;
  core::Nanos proposal_ttl_ = 0;
  controls::AdminRegistry registry_;
  std::uint64_t read_offset_ = 0;
  std::uint64_t read_entries_ = 0;
  std::string read_hash_ = guardrails::evidence::kGenesisHash;
};

}  // namespace trading::app
