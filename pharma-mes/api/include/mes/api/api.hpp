// Api: the MES's JSON API under /api/v1 (a thin adapter: it authenticates, decodes, calls Mes and
// encodes). Sessions are bearer tokens of 256 random bits with an idle timeout; every route but
// login is refused without one (401), and a route's action is checked against the caller's roles
// before Mes checks it again (403). Errors are {"error":{"code","message","field"?}} with the
// status of their code. Signing routes take the password in the body; it is never stored or
// logged. Thread-safe: sessions and the login limiter are behind a mutex; Mes is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/router.hpp"
#include "mes/domain/service.hpp"

namespace mes::api {

struct ApiOptions {
  Millis session_idle_timeout = 15 * 60 * 1000;
  int login_attempts_per_minute = 10;  // per remote address and per user id
  // Remote addresses and user ids tracked at once by the login limit. When full, keys whose
  // minute has passed are dropped; if it is still full, an attempt under a new key is refused
  // (429) rather than any key forgotten: flooding the table never resets anyone's count.
  std::size_t max_login_keys = 100'000;
  // Called after every API request with its route pattern, status and duration (metrics, the
  // guardrail). Must be thread-safe and cheap.
  std::function<void(const std::string& pattern, int status, std::int64_t nanos)> on_request;
  // Fault injection for deployment drills (the fault.* settings; off by default): a delay added
  // to every API request, and a fraction of API requests answered 503 before anything is done
  // (so nothing is half-written), spread evenly (every 1/ratio-th request). A bad release on
  // purpose, never by accident: the binary warns at start-up and exports them as gauges.
  Millis fault_added_latency_ms = 0;
  double fault_error_ratio = 0;
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
};

class Api {
 public:
  Api(Mes& mes, Store& store, std::function<Millis()> clock, std::function<std::string()> new_token,
      ApiOptions options = {});

  void add_routes(http::Router& router);
  const std::vector<RouteInfo>& route_table() const { return routes_; }
  std::size_t session_count() const;
  // The HTTP status of a refusal code.
  static int status_of(Code code);
  const ApiCounters& counters() const { return counters_; }

 private:
  struct Session {
    std::string user_id;
    Millis last_activity = 0;
    SigningSession signing;
    // The route pre-check's last look at the account (roles, active, password valid). Reused for
    // kVettedForMillis; the service checks the account again inside every command and read.
    RoleSet vetted_roles = 0;
    Millis vetted_at = -1;
  };
  static constexpr Millis kVettedForMillis = 1000;
  struct Call;
  using Body = std::function<http::Response(Call&)>;
  void route(http::Router& router, const std::string& method, const std::string& pattern,
             RouteInfo::Access access, Action action, Body body);
  http::Response handle(const http::Request& request, RouteInfo::Access access, Action action,
                        const Body& body);
  void add_plant_routes(http::Router& router);
  void add_batch_routes(http::Router& router);
  void add_export_routes(http::Router& router);
  std::optional<Session> session_of(const http::Request& request);
  void save_signing(const std::string& token, const SigningSession& signing);
  void save_vetting(const std::string& token, RoleSet roles, Millis at);
  bool login_allowed(const std::string& key);

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
  mutable std::mutex mutex_;
  std::map<std::string, Session> sessions_;
  std::map<std::string, std::vector<Millis>> login_attempts_;
};

// A 256-bit random token, hex (libsodium).
std::string random_token();

}  // namespace mes::api
