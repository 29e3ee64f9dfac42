// Api: the MES's JSON API under /api/v1 (a thin adapter: it authenticates, decodes, calls Mes and
// encodes). Sessions are bearer tokens of 256 random bits with an idle timeout, kept in the
// database as token hashes (with the login limit) so that every MES process on one database
// (blue and green in a deployment) knows them: a switch or a rollback logs nobody out. Every
// route but login is refused without a session (401), and a route's action is checked against
// the caller's roles before Mes checks it again (403). Errors are
// {"error":{"code","message","field"?}} with the status of their code. Signing routes take the
// password in the body; it is never stored or logged. Thread-safe: the store is; the short-lived
// role cache is behind a mutex; Mes is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/router.hpp"
#include "mes/domain/service.hpp"

namespace mes::api {

struct ApiOptions {
  Millis session_idle_timeout = 15 * 60 * 1000;
  // Per remote address and per user id, in a fixed one-minute window from the key's first
  // attempt; counted in the database, so blue and green share it.
  int login_attempts_per_minute = 10;
  // Remote addresses and user ids tracked at once by the login limit. Keys whose minute has
  // passed are dropped; when the live ones fill it, an attempt under a new key is refused (429)
  // rather than any key forgotten: flooding the table never resets anyone's count.
  std::size_t max_login_keys = 100'000;
  // The balancer's addresses (http.trusted_proxies): the login limit counts per client address,
  // taken from their X-Forwarded-For; without it every login behind HAProxy or an ALB would
  // share the balancer's one address (and its limit).
  std::vector<std::string> trusted_proxies;
  // Called after every API request with its route pattern, status, duration and whether it
  // checked a password (login, password change, an e-signature: Argon2id makes those slow on
  // purpose, so the latency SLO leaves them out). For metrics and the guardrail; must be
  // thread-safe and cheap.
  std::function<void(const std::string& pattern, int status, std::int64_t nanos,
                     bool checks_password)>
      on_request;
  // Fault injection for deployment drills (the fault.* settings; off by default): a delay added
  // to every API request, and a fraction of API requests answered 503 before anything is done
  // (so nothing is half-written), spread evenly (every 1/ratio-th request). A bad release on
  // purpose, never by accident: the binary warns at start-up and exports them as gauges.
  // Where a new account's or a reset's one-time password goes (SecretSpool::deliver): to the
  // user's channel, never into the administrator's response. Empty: the API refuses to create or
  // reset accounts (the console's `pharma-mes user add|reset` prints the secret once instead).
  std::function<Result<void>(const std::string& user_id, const std::string& secret,
                             const std::string& why)>
      deliver_secret;
  Millis fault_added_latency_ms = 0;
  double fault_error_ratio = 0;
  bool fault_batch_integrity = false;  // for the gauge only: MesConfig carries it
};

// One route and what it needs: no session (login), any logged-in user (even one who must change
// the password), or an action of the role matrix.
struct RouteInfo {
  std::string method, pattern;
  enum class Access { kPublic, kAnySession, kAction } access = Access::kAction;
  Action action = Action::kViewRecords;
};

// What the API counted since start (for /metrics). Relaxed atomics.
struct ApiCounters {
  std::atomic<std::uint64_t> logins_ok{0}, logins_failed{0}, lockouts{0}, logins_throttled{0};
  std::atomic<std::uint64_t> readings_stored{0}, readings_rejected{0};
  std::atomic<std::uint64_t> requests{0}, faults_injected{0};
  // Requests refused for want of a session (401) or a role (403): all, and those written to the
  // trail (the first kRefusalsRecordedPerMinute per address and minute).
  std::atomic<std::uint64_t> access_refused{0}, access_refused_recorded{0};
};

class Api {
 public:
  Api(Mes& mes, Store& store, std::function<Millis()> clock, std::function<std::string()> new_token,
      ApiOptions options = {});

  void add_routes(http::Router& router);
  const std::vector<RouteInfo>& route_table() const { return routes_; }
  // Sessions not yet idle (all processes on the database); 0 when the database cannot answer.
  std::size_t session_count() const;
  // The HTTP status of a refusal code.
  static int status_of(Code code);
  const ApiCounters& counters() const { return counters_; }

 private:
  struct Session {
    std::string token_hash, user_id;
    SigningSession signing;  // as stored; written back when a request changed it
    // The route pre-check's last look at the account (roles, active, password valid), cached in
    // this process for kVettedForMillis; the service checks the account again inside every
    // command and read.
    RoleSet vetted_roles = 0;
    Millis vetted_at = -1;
  };
  static constexpr Millis kVettedForMillis = 1000;
  // Refused requests (401/403) per client address in fixed one-minute windows: the first few
  // go on the trail one by one, the rest are counted; at kRefusalAlertPerMinute one security
  // alert. Bounded (max_login_keys addresses). Thread-safe (refusal_mutex_).
  static constexpr int kRefusalsRecordedPerMinute = 5;
  static constexpr int kRefusalAlertPerMinute = 20;
  struct RefusalWindow {
    Millis start = 0;
    int count = 0;
  };
  void note_refusal(const http::Request& request, const std::string& pattern,
                    const http::Response& response, const std::string& actor);
  // The terminal a request comes from: its X-Terminal-Id header (the workstation's name), else
  // "ip:<client address>"; empty when the header is not a valid terminal id.
  std::string terminal_of(const http::Request& request) const;
  struct Call;
  using Body = std::function<http::Response(Call&)>;
  void route(http::Router& router, const std::string& method, const std::string& pattern,
             RouteInfo::Access access, Action action, Body body);
  // `actor` gets the session's user when there is one.
  http::Response handle(const http::Request& request, RouteInfo::Access access, Action action,
                        const Body& body, std::string& actor);
  void add_plant_routes(http::Router& router);
  void add_batch_routes(http::Router& router);
  void add_export_routes(http::Router& router);

 public:
  // The batch record as record.json serves it (records, signatures, trail, verification), read
  // as `actor` (who needs the view-audit-trail action).
  Result<nlohmann::json> batch_record(const std::string& actor, const std::string& batch_id);
  // The batch's sealed archive (mes/api/archive.hpp), built as `actor`, sealed with `key`.
  Result<std::string> batch_archive(const std::string& actor, const std::string& batch_id,
                                    const crypto::SigningKey& key);

 private:
  // The live session of the request's bearer token (renewing its activity), nothing when there
  // is none or it is idle (then it is deleted), or the database's error.
  Result<std::optional<Session>> session_of(const http::Request& request);
  Result<void> save_signing(const Session& loaded, const SigningSession& signing);
  void save_vetting(const std::string& token_hash, RoleSet roles, Millis at);
  // Counts an attempt under each key in turn; false at the first key over its limit.
  Result<bool> login_allowed(const std::vector<std::string>& keys);
  // How far a session's stored last activity may lag behind: a request renews it in the
  // database only when it is older than this (1/60 of the idle timeout, at most 15 s).
  Millis touch_interval() const;

  // The JSON of a record version, rendered once: records never change under a version, so the
  // list and record views serve the cached text until the version moves. Bounded.
  std::string rendered(const char* kind, const Document& doc,
                       const std::function<std::string(const Document&)>& render);

  Mes& mes_;
  Store& store_;
  std::mutex render_mutex_;
  std::unordered_map<std::string, std::pair<std::int64_t, std::string>> render_cache_;
  std::function<Millis()> clock_;
  std::function<std::string()> new_token_;
  ApiOptions options_;
  std::vector<RouteInfo> routes_;
  ApiCounters counters_;
  mutable std::mutex vetting_mutex_;
  std::unordered_map<std::string, std::pair<RoleSet, Millis>> vetting_;  // by token hash
  std::mutex refusal_mutex_;
  std::unordered_map<std::string, RefusalWindow> refusals_;  // by client address
};

// A 256-bit random token, hex (libsodium).
std::string random_token();
// What the database keeps of a token: its BLAKE2b-256 hash, hex. (A token is 256 random bits,
// so a fast hash is enough: there is nothing to guess.)
std::string token_hash(std::string_view token);

}  // namespace mes::api
