#include "mes/api/api.hpp"
#include "mes/api/secret_spool.hpp"

#include "record_pdf.hpp"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "mes/domain/text.hpp"

namespace mes::api {

using json = nlohmann::json;
using Access = RouteInfo::Access;

namespace {

// A request field that is missing or of the wrong type: 400 naming the field.
struct BadField : std::runtime_error {
  BadField(std::string f, const std::string& message)
      : std::runtime_error(message), field(std::move(f)) {}
  std::string field;
};

http::Response error(int status, std::string_view code, const std::string& message,
                     const std::string& field = {}) {
  json e{{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return http::Response::json(status, json{{"error", e}}.dump());
}

http::Response refusal(const Error& e) {
  return error(Api::status_of(e.code), to_string(e.code), e.message, e.field);
}

http::Response ok(const json& data, int status = 200) {
  return http::Response::json(status, json{{"data", data}}.dump());
}

std::string text(const json& body, const char* name, bool required = true) {
  if (!body.contains(name)) {
    if (required) throw BadField(name, std::string(name) + " is required");
    return {};
  }
  if (!body[name].is_string()) throw BadField(name, std::string(name) + " must be a string");
  return body[name].get<std::string>();
}

double number(const json& body, const char* name) {
  if (!body.contains(name)) throw BadField(name, std::string(name) + " is required");
  if (!body[name].is_number()) throw BadField(name, std::string(name) + " must be a number");
  const double v = body[name].get<double>();
  if (!std::isfinite(v)) throw BadField(name, std::string(name) + " must be finite");
  return v;
}

// A whole number within [low, high].
int whole_number(const json& body, const char* name, int low, int high) {
  const double v = number(body, name);
  if (v != std::floor(v) || v < low || v > high) {
    throw BadField(name, std::string(name) + " is a whole number from " + std::to_string(low) +
                             " to " + std::to_string(high));
  }
  return static_cast<int>(v);
}

// An exact decimal quantity: a JSON number of at most six decimals, within 1e9.
Quantity quantity(const json& body, const char* name) {
  auto q = Quantity::exactly(number(body, name));
  if (!q) {
    throw BadField(name, std::string(name) + " has at most six decimals and is within 1e9");
  }
  return *q;
}

bool flag(const json& body, const char* name, bool fallback) {
  if (!body.contains(name)) return fallback;
  if (!body[name].is_boolean()) throw BadField(name, std::string(name) + " must be true or false");
  return body[name].get<bool>();
}

SignatureInput signature_of(const json& body) {
  if (!body.contains("signature") || !body["signature"].is_object()) {
    throw BadField("signature", "signature {user_id?, password, attest?} is required");
  }
  const json& s = body["signature"];
  return SignatureInput{text(s, "user_id", false), text(s, "password"), flag(s, "attest", false)};
}

json document_json(const Document& d) {
  json body = json::parse(d.body, nullptr, false);
  if (body.is_discarded()) body = json::object();
  json out{{"type", d.type},
           {"id", d.id},
           {"version", d.version},
           {"state", d.state},
           {"parent", d.parent},
           {"data", body.value("data", json::object())},
           {"flow", body.value("flow", json::object())}};
  if (d.voided) {
    out["voided"] = true;
    out["void_reason"] = d.void_reason;
  }
  return out;
}

json documents_json(const std::vector<Document>& docs) {
  json out = json::array();
  for (const auto& d : docs) out.push_back(document_json(d));
  return out;
}

json signature_json(const Signature& s) {
  return json{{"id", s.id},
              {"user_id", s.user_id},
              {"printed_name", s.printed_name},
              {"meaning", to_string(s.meaning)},
              {"signed_at", format_utc(s.signed_at)},
              {"record_type", s.record_type},
              {"record_id", s.record_id}};
}

json audit_json(const AuditEntry& e) {
  return json{{"seq", e.seq},       {"at", format_utc(e.at)},       {"actor", e.actor},
              {"action", e.action}, {"object_type", e.object_type}, {"object_id", e.object_id},
              {"field", e.field},   {"old_value", e.old_value},     {"new_value", e.new_value},
              {"reason", e.reason}, {"terminal", e.terminal},       {"hash", e.hash}};
}

int step_number(const std::string& text_value) {
  int n = 0;
  for (const char c : text_value) {
    if (c < '0' || c > '9' || n > 9999) throw BadField("step", "step must be a number");
    n = n * 10 + (c - '0');
  }
  if (text_value.empty()) throw BadField("step", "step must be a number");
  return n;
}

void security_headers(http::Response& r) { http::add_browser_security_headers(r, "no-store"); }

}  // namespace

std::string random_token() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return crypto::to_hex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string token_hash(std::string_view token) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  unsigned char digest[crypto_generichash_BYTES];
  crypto_generichash(digest, sizeof digest, reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return crypto::to_hex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

int Api::status_of(Code code) {
  switch (code) {
    case Code::kInvalid:
      return 400;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kForbidden:
      return 403;
    case Code::kUnauthenticated:
      return 401;
    case Code::kAccountLocked:
      return 401;
    case Code::kAccountInactive:
      return 401;
    case Code::kPasswordExpired:
      return 403;
    case Code::kPasswordRejected:
      return 422;
    case Code::kSignatureRequired:
      return 422;
    case Code::kBadSignature:
      return 403;
    case Code::kIllegalTransition:
      return 409;
    case Code::kOutOfSequence:
      return 409;
    case Code::kReasonRequired:
      return 422;
    case Code::kOutOfLimits:
      return 422;
    case Code::kEquipmentUnavailable:
      return 409;
    case Code::kLotNotReleased:
      return 409;
    case Code::kSameUser:
      return 403;
    case Code::kUnknownDevice:
      return 422;
    case Code::kNotReleasable:
      return 409;
    case Code::kRecordImmutable:
      return 409;
    case Code::kAttestationRequired:
      return 422;
    case Code::kNotQualified:
      return 403;
    case Code::kStorage:
      return 503;
  }
  return 500;
}

struct Api::Call {
  const http::Request& request;
  Session session;
  json body;
  std::string param(const char* name) const { return std::string(request.path_param(name)); }
};

Api::Api(Mes& mes, Store& store, std::function<Millis()> clock,
         std::function<std::string()> new_token, ApiOptions options)
    : mes_(mes),
      store_(store),
      clock_(std::move(clock)),
      new_token_(std::move(new_token)),
      options_(options) {}

std::size_t Api::session_count() const {
  std::int64_t n = 0;
  const Millis since = clock_() - options_.session_idle_timeout;
  (void)store_.read([&](Transaction& tx) -> Result<void> {
    n = tx.count_sessions(since);
    return {};
  });
  return static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
}

Millis Api::touch_interval() const {
  return std::clamp<Millis>(options_.session_idle_timeout / 60, 1, 15'000);
}

Result<std::optional<Api::Session>> Api::session_of(const http::Request& request) {
  const std::string_view token = request.bearer_token();
  if (token.empty()) return std::optional<Session>{};
  const std::string hash = token_hash(token);
  std::optional<StoredSession> stored;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    stored = tx.session(hash);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  if (!stored) return std::optional<Session>{};
  const Millis now = clock_();
  if (now - stored->last_activity >= options_.session_idle_timeout) {
    // Idle: logged out (11.200: both components again).
    r = store_.transact([&](Transaction& tx) { return tx.delete_session(hash); });
    if (!r) return tl::unexpected(r.error());
    return std::optional<Session>{};
  }
  if (now - stored->last_activity >= touch_interval()) {
    r = store_.transact([&](Transaction& tx) { return tx.touch_session(hash, now); });
    if (!r) return tl::unexpected(r.error());
  }
  Session session{hash, stored->user_id,
                  SigningSession{stored->user_id, stored->signing_activity, stored->has_signed}};
  std::lock_guard lock(vetting_mutex_);
  if (auto it = vetting_.find(hash); it != vetting_.end()) {
    session.vetted_roles = it->second.first;
    session.vetted_at = it->second.second;
  }
  return std::optional<Session>{std::move(session)};
}

Result<void> Api::save_signing(const Session& loaded, const SigningSession& signing) {
  if (signing.has_signed == loaded.signing.has_signed &&
      signing.last_activity == loaded.signing.last_activity) {
    return {};
  }
  return store_.transact([&](Transaction& tx) {
    return tx.save_session_signing(loaded.token_hash, signing.has_signed, signing.last_activity);
  });
}

void Api::save_vetting(const std::string& hash, RoleSet roles, Millis at) {
  std::lock_guard lock(vetting_mutex_);
  if (vetting_.size() >= 100'000) vetting_.clear();  // bounded: a cache, start again
  vetting_[hash] = {roles, at};
}

Result<bool> Api::login_allowed(const std::vector<std::string>& keys) {
  bool allowed = true;
  const Millis now = clock_();
  const Millis window_open_since = now - 60'000 + 1;  // a window is open for 60 000 ms
  auto r = store_.transact([&](Transaction& tx) -> Result<void> {
    allowed = true;
    for (const std::string& key : keys) {
      auto window = tx.login_window(key);
      if (window && window->window_start >= window_open_since) {
        if (window->attempts >= options_.login_attempts_per_minute) {
          allowed = false;
          return {};
        }
        ++window->attempts;
        if (auto saved = tx.save_login_window(key, *window); !saved) return saved;
        continue;
      }
      if (!window) {
        if (auto forgot = tx.forget_login_windows(window_open_since); !forgot) return forgot;
        if (tx.count_login_windows(window_open_since) >=
            static_cast<std::int64_t>(options_.max_login_keys)) {
          allowed = false;  // full of live keys: refuse the new one, forget nobody
          return {};
        }
      }
      if (auto saved = tx.save_login_window(key, LoginWindow{now, 1}); !saved) return saved;
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return allowed;
}

std::string Api::terminal_of(const http::Request& request) const {
  const std::string_view named = request.header("x-terminal-id");
  if (named.empty()) return "ip:" + request.client_address(options_.trusted_proxies);
  return valid_terminal_id(named) ? std::string(named) : std::string();
}

void Api::route(http::Router& router, const std::string& method, const std::string& pattern,
                Access access, Action action, Body body) {
  routes_.push_back(RouteInfo{method, pattern, access, action});
  router.add(method, pattern, [this, access, action, body, pattern](const http::Request& request) {
    const auto started = std::chrono::steady_clock::now();
    const std::uint64_t n = counters_.requests.fetch_add(1, std::memory_order_relaxed);
    if (options_.fault_added_latency_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.fault_added_latency_ms));
    }
    // Every 1/ratio-th request: the integer part of n x ratio steps up.
    const double r = options_.fault_error_ratio;
    const bool fail = r > 0 && static_cast<std::uint64_t>(static_cast<double>(n + 1) * r) >
                                   static_cast<std::uint64_t>(static_cast<double>(n) * r);
    http::Response response;
    if (fail) {
      counters_.faults_injected.fetch_add(1, std::memory_order_relaxed);
      response = error(503, "fault_injected",
                       "fault injection (fault.api_error_ratio) refused this request; nothing "
                       "was done");
      security_headers(response);
    } else if (const std::string terminal = terminal_of(request); terminal.empty()) {
      response = error(400, "invalid",
                       "X-Terminal-Id is 1 to 64 of A-Z a-z 0-9 . _ : - (the workstation's name)",
                       "X-Terminal-Id");
      security_headers(response);
    } else {
      // Every entry this request writes names the terminal it came from (11.10(e)).
      const TerminalScope scope(terminal);
      std::string actor;
      response = handle(request, access, action, body, actor);
      if (access != Access::kPublic && (response.status == 401 || response.status == 403)) {
        note_refusal(request, pattern, response, actor);
      }
    }
    if (options_.on_request) {
      const bool checks_password = pattern == "/api/v1/login" || pattern == "/api/v1/password" ||
                                   pattern.rfind("/api/v1/users", 0) == 0 ||
                                   request.body.find("\"signature\"") != std::string::npos;
      options_.on_request(pattern, response.status,
                          std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count(),
                          checks_password);
    }
    return response;
  });
}

void Api::note_refusal(const http::Request& request, const std::string& pattern,
                       const http::Response& response, const std::string& actor) {
  counters_.access_refused.fetch_add(1, std::memory_order_relaxed);
  const std::string address = request.client_address(options_.trusted_proxies);
  const Millis now = clock_();
  int count = 0;
  {
    std::lock_guard lock(refusal_mutex_);
    auto it = refusals_.find(address);
    if (it == refusals_.end()) {
      if (refusals_.size() >= options_.max_login_keys) {
        std::erase_if(refusals_, [&](const auto& kv) { return now - kv.second.start >= 60'000; });
      }
      if (refusals_.size() >= options_.max_login_keys) return;  // full of live addresses
      it = refusals_.emplace(address, RefusalWindow{now, 0}).first;
    }
    if (now - it->second.start >= 60'000) it->second = RefusalWindow{now, 0};
    count = ++it->second.count;
  }
  if (count <= kRefusalsRecordedPerMinute) {
    const json parsed = json::parse(response.body, nullptr, false);
    const std::string code = parsed.is_object() && parsed.contains("error")
                                 ? parsed["error"].value("code", "")
                                 : std::string();
    if (mes_.record_access_refused(actor, address, request.method + " " + pattern, response.status,
                                   code)) {
      counters_.access_refused_recorded.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (count == kRefusalAlertPerMinute) {
    (void)mes_.record_security_alert(
        address, std::to_string(count) + " refused requests within a minute (the last " +
                     request.method + " " + pattern + " as " +
                     (actor.empty() ? std::string("anonymous") : actor) + ")");
  }
}

http::Response Api::handle(const http::Request& request, Access access, Action action,
                           const Body& body, std::string& actor) {
  {
    http::Response response;
    try {
      Call call{request, {}, json::object()};
      if (access != Access::kPublic) {
        auto found = session_of(request);
        if (!found) {
          response = refusal(found.error());
          security_headers(response);
          return response;
        }
        auto& session = *found;
        if (!session) {
          response = error(401, "unauthenticated", "log in first: no valid session token");
          response.headers.emplace_back("WWW-Authenticate", "Bearer");
          security_headers(response);
          return response;
        }
        call.session = *session;
        actor = call.session.user_id;
      }
      if (!request.body.empty()) {
        call.body = json::parse(request.body, nullptr, false);
        if (call.body.is_discarded() || !(call.body.is_object() || call.body.is_array())) {
          response = error(400, "invalid_json", "the body is not a JSON object");
          security_headers(response);
          return response;
        }
      }
      if (access == Access::kAction) {
        const Millis now = clock_();
        const bool fresh = call.session.vetted_at >= 0 &&
                           now - call.session.vetted_at < kVettedForMillis &&
                           allowed(call.session.vetted_roles, action);
        if (!fresh) {
          auto a = mes_.authorized(call.session.user_id, action);
          if (!a) {
            response = refusal(a.error());
            security_headers(response);
            return response;
          }
          save_vetting(call.session.token_hash, a->roles, now);
        }
      }
      const Session loaded = call.session;
      call.session.signing.user_id = call.session.user_id;
      response = body(call);
      if (access != Access::kPublic) {
        if (auto saved = save_signing(loaded, call.session.signing); !saved) {
          // The command itself committed; only the session's signing state could not be kept,
          // so the next signing asks for both components again (the safe side).
          std::fprintf(stderr, "pharma-mes: could not save a session's signing state: %s\n",
                       saved.error().message.c_str());
        }
      }
    } catch (const BadField& e) {
      response = error(400, "invalid", e.what(), e.field);
    } catch (const json::exception& e) {
      response = error(400, "invalid", std::string("bad request body: ") + e.what());
    }
    security_headers(response);
    return response;
  }
}

std::string Api::rendered(const char* kind, const Document& doc,
                          const std::function<std::string(const Document&)>& render) {
  const std::string key = std::string(kind) + '\n' + doc.type + '\n' + doc.id;
  {
    std::lock_guard lock(render_mutex_);
    if (auto it = render_cache_.find(key);
        it != render_cache_.end() && it->second.first == doc.version) {
      return it->second.second;
    }
  }
  std::string text = render(doc);
  std::lock_guard lock(render_mutex_);
  if (render_cache_.size() >= 20'000) render_cache_.clear();  // bounded: start again
  render_cache_[key] = {doc.version, text};
  return text;
}

void Api::add_routes(http::Router& router) {
  const auto check = [](const auto& result) -> std::optional<http::Response> {
    if (!result) return refusal(result.error());
    return std::nullopt;
  };

  // ---- sessions ----
  route(router, "POST", "/api/v1/login", Access::kPublic, Action::kViewRecords, [this](Call& c) {
    const std::string user = text(c.body, "user_id");
    const std::string password = text(c.body, "password");
    const std::string address = c.request.client_address(options_.trusted_proxies);
    auto allowed = login_allowed({"ip:" + address, "user:" + user});
    if (!allowed) return refusal(allowed.error());
    if (!*allowed) {
      counters_.logins_throttled.fetch_add(1, std::memory_order_relaxed);
      return error(429, "too_many_requests", "too many login attempts: wait a minute");
    }
    auto r = mes_.login(user, password);
    if (!r) return refusal(r.error());
    const bool accepted =
        r->outcome == LoginOutcome::kOk || r->outcome == LoginOutcome::kMustChangePassword;
    (accepted ? counters_.logins_ok : counters_.logins_failed)
        .fetch_add(1, std::memory_order_relaxed);
    if (r->outcome == LoginOutcome::kLockedNow) {
      counters_.lockouts.fetch_add(1, std::memory_order_relaxed);
    }
    switch (r->outcome) {
      case LoginOutcome::kOk:
      case LoginOutcome::kMustChangePassword: {
        const std::string token = new_token_();
        const Millis now = clock_();
        auto added = store_.transact([&](Transaction& tx) {
          return tx.add_session(StoredSession{token_hash(token), user, now, now, false, now});
        });
        if (!added) return refusal(added.error());
        return ok(
            {{"token", token},
             {"user",
              {{"id", r->user_id}, {"full_name", r->full_name}, {"roles", roles_text(r->roles)}}},
             {"must_change_password", r->outcome == LoginOutcome::kMustChangePassword},
             {"idle_timeout_s", options_.session_idle_timeout / 1000}});
      }
      case LoginOutcome::kLocked:
      case LoginOutcome::kLockedNow:
        return error(401, "account_locked", "the account is locked: ask an administrator");
      case LoginOutcome::kDeactivated:
        return error(401, "account_inactive", "the account is deactivated");
      case LoginOutcome::kBadCredentials:
        break;
    }
    return error(401, "unauthenticated", "user id or password is wrong");
  });
  route(router, "POST", "/api/v1/logout", Access::kAnySession, Action::kViewRecords,
        [this](Call& c) {
          auto r = store_.transact(
              [&](Transaction& tx) { return tx.delete_session(c.session.token_hash); });
          if (!r) return refusal(r.error());
          {
            std::lock_guard lock(vetting_mutex_);
            vetting_.erase(c.session.token_hash);
          }
          return http::Response::json(200, R"({"data":{"logged_out":true}})");
        });
  route(router, "GET", "/api/v1/me", Access::kAnySession, Action::kViewRecords, [this](Call& c) {
    auto u = mes_.user(c.session.user_id);
    if (!u) return refusal(u.error());
    return ok({{"id", u->id},
               {"full_name", u->full_name},
               {"roles", roles_text(u->roles)},
               {"must_change_password", u->must_change_password},
               {"identity_verified", u->identity_verified()},
               {"signature_attested", u->signature_attested()},
               {"signature_attestation", std::string(kSignatureAttestation)}});
  });
  route(router, "POST", "/api/v1/password", Access::kAnySession, Action::kViewRecords,
        [this](Call& c) {
          auto r = mes_.change_password(c.session.user_id, text(c.body, "old_password"),
                                        text(c.body, "new_password"));
          if (!r) return refusal(r.error());
          return ok({{"changed", true}});
        });

  // ---- users ----
  route(router, "GET", "/api/v1/users", Access::kAction, Action::kManageUsers, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "user");
    if (!r) return refusal(r.error());
    return ok(documents_json(*r));
  });
  // 11.300(c),(d), Annex 11 §12: an administrator never chooses or learns a user's password.
  // The server draws the one-time secret and sends it down the user's channel; the response
  // says only that it went.
  const auto refuse_chosen_password = [](const json& body) {
    for (const char* field : {"initial_password", "one_time_password", "password"}) {
      if (body.contains(field)) {
        throw BadField(field,
                       "an administrator does not choose a user's password: the server sends a "
                       "one-time secret to the user's channel");
      }
    }
  };
  const auto secret_channel = [this]() -> Result<void> {
    if (options_.deliver_secret) return {};
    return refuse(Code::kConflict,
                  "this server has no channel for one-time secrets (accounts.secret_spool): "
                  "create or reset the account with `pharma-mes user add|reset` at its console");
  };
  // After the account changed: a secret that could not be sent leaves it waiting for a reset.
  const auto send_secret = [this](const std::string& id, const std::string& secret,
                                  const std::string& why) -> Result<void> {
    if (auto sent = options_.deliver_secret(id, secret, why); !sent) {
      return refuse(Code::kStorage, "the " + why + " of " + id +
                                        " is done but its one-time secret could not be sent (" +
                                        sent.error().message + "): reset the password");
    }
    return {};
  };
  route(router, "POST", "/api/v1/users", Access::kAction, Action::kManageUsers,
        [this, refuse_chosen_password, secret_channel, send_secret](Call& c) {
          refuse_chosen_password(c.body);
          const auto roles = parse_roles(text(c.body, "roles"));
          if (!roles) {
            throw BadField("roles", "roles is a comma list of operator, supervisor, qa, admin");
          }
          if (auto channel = secret_channel(); !channel) return refusal(channel.error());
          const std::string id = text(c.body, "id"), secret = one_time_password();
          auto r = mes_.create_user(c.session.user_id,
                                    NewUser{id, text(c.body, "full_name"), *roles, secret,
                                            text(c.body, "identity_evidence")});
          if (!r) return refusal(r.error());
          if (auto sent = send_secret(id, secret, "new account"); !sent) {
            return refusal(sent.error());
          }
          return ok({{"id", id}, {"secret_sent_to_user", true}}, 201);
        });
  route(router, "POST", "/api/v1/users/{id}/roles", Access::kAction, Action::kManageUsers,
        [this](Call& c) {
          const auto roles = parse_roles(text(c.body, "roles"));
          if (!roles) {
            throw BadField("roles", "roles is a comma list of operator, supervisor, qa, admin");
          }
          auto r = mes_.set_roles(c.session.user_id, c.param("id"), *roles, text(c.body, "reason"));
          if (!r) return refusal(r.error());
          return ok({{"id", c.param("id")}, {"roles", roles_text(*roles)}});
        });
  route(router, "POST", "/api/v1/users/{id}/identity", Access::kAction, Action::kManageUsers,
        [this](Call& c) {
          auto r = mes_.verify_identity(c.session.user_id, c.param("id"),
                                        text(c.body, "identity_evidence"));
          if (!r) return refusal(r.error());
          return ok({{"id", c.param("id")}, {"identity_verified", true}});
        });
  route(router, "GET", "/api/v1/access-review", Access::kAction, Action::kManageUsers,
        [this](Call& c) {
          auto r = mes_.access_review(c.session.user_id);
          if (!r) return refusal(r.error());
          json rows = json::array();
          for (const auto& u : *r) {
            rows.push_back({{"id", u.id},
                            {"full_name", u.full_name},
                            {"roles", u.roles},
                            {"status", u.status},
                            {"created_at", u.created_at},
                            {"password_set_at", u.password_set_at},
                            {"roles_changed_at", u.roles_changed_at},
                            {"roles_changed_by", u.roles_changed_by},
                            {"last_login", u.last_login},
                            {"identity_verified_at", u.identity_verified_at},
                            {"identity_verified_by", u.identity_verified_by},
                            {"signature_attested_at", u.signature_attested_at}});
          }
          return ok(rows);
        });
  for (const char* verb : {"lock", "unlock", "deactivate", "reset"}) {
    const std::string pattern = std::string("/api/v1/users/{id}/") + verb;
    const std::string v = verb;
    route(router, "POST", pattern, Access::kAction, Action::kManageUsers,
          [this, v, refuse_chosen_password, secret_channel, send_secret](Call& c) {
            const std::string id = c.param("id"), reason = text(c.body, "reason");
            Result<void> r;
            if (v == "lock" || v == "unlock") {
              r = mes_.set_locked(c.session.user_id, id, v == "lock", reason);
            } else if (v == "deactivate") {
              r = mes_.deactivate_user(c.session.user_id, id, reason);
            } else {
              refuse_chosen_password(c.body);
              if (auto channel = secret_channel(); !channel) return refusal(channel.error());
              const std::string secret = one_time_password();
              r = mes_.reset_password(c.session.user_id, id, secret, reason);
              if (r) {
                if (auto sent = send_secret(id, secret, "password reset"); !sent) {
                  return refusal(sent.error());
                }
                return ok({{"id", id}, {"done", v}, {"secret_sent_to_user", true}});
              }
            }
            if (!r) return refusal(r.error());
            return ok({{"id", id}, {"done", v}});
          });
  }
  (void)check;
  add_plant_routes(router);
  add_batch_routes(router);
  add_export_routes(router);
}

namespace {

MasterRecipe master_of(const json& body) {
  MasterRecipe m;
  m.product = text(body, "product");
  m.base_size = number(body, "base_size");
  if (body.contains("size_unit")) m.size_unit = text(body, "size_unit");
  if (body.contains("theoretical_yield")) {
    m.theoretical_yield = number(body, "theoretical_yield");
    m.yield_low_pct = number(body, "yield_low_pct");
    m.yield_high_pct = number(body, "yield_high_pct");
  }
  if (!body.contains("phases") || !body["phases"].is_array()) {
    throw BadField("phases", "phases must be an array");
  }
  for (const auto& p : body["phases"]) {
    if (!p.is_object()) throw BadField("phases", "each phase is an object");
    PhaseSpec ph;
    ph.unit_procedure = text(p, "unit_procedure");
    ph.operation = text(p, "operation");
    ph.phase = text(p, "phase");
    ph.instructions = text(p, "instructions", false);
    ph.equipment_class = text(p, "equipment_class", false);
    ph.standard_minutes =
        p.contains("standard_minutes") ? whole_number(p, "standard_minutes", 0, 1'000'000) : 0;
    ph.second_person_verification = flag(p, "second_person_verification", false);
    for (const auto& x : p.value("parameters", json::array())) {
      ph.parameters.push_back(ParameterSpec{text(x, "name"), text(x, "unit", false),
                                            number(x, "target"), number(x, "low"),
                                            number(x, "high")});
    }
    for (const auto& c : p.value("charges", json::array())) {
      ChargeSpec cs{text(c, "material"), number(c, "quantity"), number(c, "tolerance_pct"), "kg"};
      if (c.contains("unit")) cs.unit = text(c, "unit");
      ph.charges.push_back(cs);
    }
    m.phases.push_back(std::move(ph));
  }
  return m;
}

Millis time_of(const json& body, const char* name) {
  if (!body.contains(name)) return 0;
  if (body[name].is_number_integer()) return body[name].get<Millis>();
  if (body[name].is_string()) {
    if (auto t = parse_utc(body[name].get<std::string>())) return *t;
  }
  throw BadField(name,
                 std::string(name) + " is a UTC time (2026-01-01T00:00:00.000Z) or ms since 1970");
}

}  // namespace

void Api::add_plant_routes(http::Router& router) {
  // ---- equipment, sensors, lots ----
  route(router, "GET", "/api/v1/equipment", Access::kAction, Action::kViewRecords, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "equipment");
    return r ? ok(documents_json(*r)) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/equipment", Access::kAction, Action::kManagePlant,
        [this](Call& c) {
          Equipment e{text(c.body, "id"),
                      text(c.body, "name", false),
                      text(c.body, "class"),
                      text(c.body, "site", false),
                      text(c.body, "area", false),
                      text(c.body, "cell", false),
                      text(c.body, "unit", false),
                      EquipmentStatus::kClean,
                      time_of(c.body, "calibration_due"),
                      {},
                      {}};
          auto r = mes_.add_equipment(c.session.user_id, e);
          return r ? ok({{"id", e.id}}, 201) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/equipment/{id}/status", Access::kAction, Action::kManagePlant,
        [this](Call& c) {
          const auto status = parse_equipment_status(text(c.body, "status"));
          if (!status) throw BadField("status", "status is clean, dirty or out_of_service");
          auto r = mes_.set_equipment_status(c.session.user_id, c.param("id"), *status,
                                             text(c.body, "reason"));
          return r ? ok({{"id", c.param("id")}}) : refusal(r.error());
        });
  route(router, "GET", "/api/v1/sensors", Access::kAction, Action::kViewRecords, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "sensor");
    return r ? ok(documents_json(*r)) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/sensors", Access::kAction, Action::kManagePlant, [this](Call& c) {
    Sensor s{text(c.body, "id"),
             text(c.body, "room"),
             text(c.body, "kind", false),
             text(c.body, "unit"),
             number(c.body, "alert_low"),
             number(c.body, "alert_high"),
             number(c.body, "action_low"),
             number(c.body, "action_high"),
             whole_number(c.body, "interval_seconds", 1, 7 * 24 * 3600),
             time_of(c.body, "calibration_due"),
             0,
             {}};
    auto r = mes_.add_sensor(c.session.user_id, s);
    return r ? ok({{"id", s.id}}, 201) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/readings", Access::kAction, Action::kManagePlant, [this](Call& c) {
    const json& list = c.body.is_array() ? c.body : c.body.value("readings", json::array());
    if (!list.is_array() || list.empty())
      throw BadField("readings", "readings is a non-empty array");
    if (list.size() > 10'000) throw BadField("readings", "at most 10 000 readings per request");
    std::vector<Mes::SensorReading> readings;
    for (const auto& x : list) {
      if (!x.is_object()) throw BadField("readings", "each reading is an object");
      readings.push_back(
          {text(x, "sensor"), text(x, "unit"), time_of(x, "ts"), number(x, "value")});
    }
    auto r = mes_.record_readings(readings);
    if (!r) return refusal(r.error());
    counters_.readings_stored.fetch_add(r->stored, std::memory_order_relaxed);
    counters_.readings_rejected.fetch_add(r->rejected.size(), std::memory_order_relaxed);
    json rejected = json::array();
    for (const auto& x : r->rejected) {
      rejected.push_back({{"index", x.index}, {"code", to_string(x.code)}, {"message", x.message}});
    }
    return ok({{"stored", r->stored}, {"alarms", r->alarms}, {"rejected", rejected}});
  });
  route(router, "GET", "/api/v1/lots", Access::kAction, Action::kViewRecords, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "lot", c.request.query_param("material"),
                          c.request.query_param("status"));
    return r ? ok(documents_json(*r)) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/lots", Access::kAction, Action::kManageMaterials, [this](Call& c) {
    Lot lot;
    lot.id = text(c.body, "id");
    lot.material = text(c.body, "material");
    lot.quantity = quantity(c.body, "quantity");
    lot.unit = text(c.body, "unit", false);
    lot.expires_at = time_of(c.body, "expires_at");
    auto r = mes_.receive_lot(c.session.user_id, lot);
    return r ? ok({{"id", lot.id}}, 201) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/lots/{id}/status", Access::kAction, Action::kSetLotStatus,
        [this](Call& c) {
          const auto status = parse_lot_status(text(c.body, "status"));
          if (!status) throw BadField("status", "status is released, rejected or expired");
          auto r = mes_.set_lot_status(c.session.user_id, c.session.signing, c.param("id"), *status,
                                       text(c.body, "reason"), signature_of(c.body));
          return r ? ok({{"id", c.param("id")}}) : refusal(r.error());
        });
  route(router, "GET", "/api/v1/lots/{id}/trace", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          const std::string direction = c.request.query_param("direction");
          if (direction != "forward" && direction != "backward") {
            throw BadField("direction", "direction is forward (recall impact) or backward");
          }
          auto r = mes_.trace_lot(c.session.user_id, c.param("id"),
                                  direction == "forward" ? Mes::TraceDirection::kForward
                                                         : Mes::TraceDirection::kBackward);
          if (!r) return refusal(r.error());
          json nodes = json::array();
          for (const auto& n : *r) {
            nodes.push_back({{"kind", n.kind},
                             {"id", n.id},
                             {"depth", n.depth},
                             {"via", n.via},
                             {"status", n.status},
                             {"detail", n.detail}});
          }
          return ok(nodes);
        });
  route(router, "GET", "/api/v1/lots/{id}/batches", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          auto r = mes_.batches_of_lot(c.param("id"));
          return r ? ok(*r) : refusal(r.error());
        });

  // ---- master recipes ----
  route(router, "GET", "/api/v1/masters", Access::kAction, Action::kViewRecords, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "master", c.request.query_param("product"),
                          c.request.query_param("status"));
    return r ? ok(documents_json(*r)) : refusal(r.error());
  });
  route(router, "GET", "/api/v1/masters/{id}", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          auto r = mes_.record(c.session.user_id, "master", c.param("id"));
          return r ? ok(document_json(*r)) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/masters", Access::kAction, Action::kEditMaster, [this](Call& c) {
    auto r = mes_.create_master_draft(c.session.user_id, master_of(c.body),
                                      text(c.body, "reason", false));
    return r ? ok({{"id", *r}}, 201) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/masters/{id}", Access::kAction, Action::kEditMaster,
        [this](Call& c) {
          auto r = mes_.edit_master_draft(c.session.user_id, c.param("id"), master_of(c.body),
                                          text(c.body, "reason"));
          return r ? ok({{"id", c.param("id")}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/masters/{id}/approve", Access::kAction, Action::kApproveMaster,
        [this](Call& c) {
          auto r = mes_.approve_master(c.session.user_id, c.session.signing, c.param("id"),
                                       signature_of(c.body));
          return r ? ok({{"id", c.param("id")}, {"status", "approved"}}) : refusal(r.error());
        });

  // ---- alarms, deviations, audit, KPIs ----
  route(router, "GET", "/api/v1/alarms", Access::kAction, Action::kViewRecords, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "alarm", "",
                          c.request.query_param("active") == "1" ? "active" : "");
    return r ? ok(documents_json(*r)) : refusal(r.error());
  });
  route(router, "POST", "/api/v1/alarms/{id}/acknowledge", Access::kAction,
        Action::kAcknowledgeAlarm, [this](Call& c) {
          auto r = mes_.acknowledge_alarm(c.session.user_id, c.session.signing, c.param("id"),
                                          text(c.body, "comment"), signature_of(c.body));
          return r ? ok({{"id", c.param("id")}}) : refusal(r.error());
        });
  route(router, "GET", "/api/v1/deviations", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          auto r = mes_.records(c.session.user_id, "deviation", c.request.query_param("batch"),
                                c.request.query_param("status"));
          return r ? ok(documents_json(*r)) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/deviations/{id}/close", Access::kAction,
        Action::kDispositionDeviation, [this](Call& c) {
          auto r = mes_.close_deviation(c.session.user_id, c.param("id"),
                                        text(c.body, "disposition"), text(c.body, "capa", false));
          return r ? ok({{"id", c.param("id")}}) : refusal(r.error());
        });
  // ---- CAPA ----
  const auto texts_of = [](const json& body, const char* name) {
    std::vector<std::string> out;
    if (!body.contains(name)) return out;
    if (!body[name].is_array()) throw BadField(name, std::string(name) + " is a list of ids");
    for (const auto& v : body[name]) {
      if (!v.is_string()) throw BadField(name, std::string(name) + " is a list of ids");
      out.push_back(v.get<std::string>());
    }
    return out;
  };
  const auto capa_json = [](const Capa& k) {
    json actions = json::array();
    for (const auto& a : k.actions) {
      actions.push_back({{"text", a.text}, {"by", a.by}, {"at", format_utc(a.at)}});
    }
    return json{{"id", k.id},
                {"title", k.title},
                {"owner", k.owner},
                {"due_at", format_utc(k.due_at)},
                {"deviations", k.deviations},
                {"alarms", k.alarms},
                {"status", to_string(k.status)},
                {"actions", actions},
                {"effectiveness", k.effectiveness},
                {"closed_by", k.closed_by},
                {"closed_at", k.closed_at == 0 ? "" : format_utc(k.closed_at)}};
  };
  route(router, "GET", "/api/v1/capas", Access::kAction, Action::kViewRecords,
        [this, capa_json](Call& c) {
          auto r = mes_.capas(c.session.user_id, c.request.query_param("overdue") == "true");
          if (!r) return refusal(r.error());
          json out = json::array();
          for (const auto& k : *r) out.push_back(capa_json(k));
          return ok(out);
        });
  route(router, "POST", "/api/v1/capas", Access::kAction, Action::kDispositionDeviation,
        [this, texts_of](Call& c) {
          Capa k;
          k.id = text(c.body, "id");
          k.title = text(c.body, "title");
          k.owner = text(c.body, "owner");
          k.due_at = time_of(c.body, "due_at");
          k.deviations = texts_of(c.body, "deviations");
          k.alarms = texts_of(c.body, "alarms");
          auto r = mes_.open_capa(c.session.user_id, k, text(c.body, "reason"));
          return r ? ok({{"id", k.id}}, 201) : refusal(r.error());
        });
  // The owner records the work (any role); Mes lets only the owner or QA do it.
  route(router, "POST", "/api/v1/capas/{id}/actions", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          auto r = mes_.record_capa_action(c.session.user_id, c.param("id"), text(c.body, "text"));
          return r ? ok({{"id", c.param("id")}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/capas/{id}/close", Access::kAction, Action::kDispositionDeviation,
        [this](Call& c) {
          auto r = mes_.close_capa(c.session.user_id, c.session.signing, c.param("id"),
                                   text(c.body, "effectiveness"), signature_of(c.body));
          return r ? ok({{"id", c.param("id")}, {"status", "closed"}}) : refusal(r.error());
        });
  // Training (11.10(i), 211.25(a)): recorded and signed by the trainer; a step is executed and
  // verified only by people with a current training for its master or its step type.
  const auto training_json = [](const Training& t) {
    return json{{"id", t.id},
                {"trainee", t.trainee},
                {"procedure", t.procedure},
                {"trainer", t.trainer},
                {"content", t.content},
                {"trained_at", format_utc(t.trained_at)},
                {"valid_until", t.valid_until == 0 ? json() : json(format_utc(t.valid_until))}};
  };
  route(router, "GET", "/api/v1/trainings", Access::kAction, Action::kViewRecords,
        [this, training_json](Call& c) {
          auto r = mes_.trainings(c.session.user_id, c.request.query_param("trainee"));
          if (!r) return refusal(r.error());
          json out = json::array();
          for (const auto& t : *r) out.push_back(training_json(t));
          return ok(out);
        });
  route(router, "POST", "/api/v1/trainings", Access::kAction, Action::kRecordTraining,
        [this](Call& c) {
          Training t;
          t.trainee = text(c.body, "trainee");
          t.procedure = text(c.body, "procedure");
          t.content = text(c.body, "content");
          if (c.body.contains("valid_until")) t.valid_until = time_of(c.body, "valid_until");
          auto r =
              mes_.record_training(c.session.user_id, c.session.signing, t, signature_of(c.body));
          return r ? ok({{"id", *r}}, 201) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/trainings/{id}/withdraw", Access::kAction, Action::kRecordTraining,
        [this](Call& c) {
          auto r = mes_.void_record(c.session.user_id, std::string(Training::kType), c.param("id"),
                                    text(c.body, "reason"));
          return r ? ok({{"id", c.param("id")}, {"withdrawn", true}}) : refusal(r.error());
        });
  // Retention (211.180, Annex 11 §17): what leaves retention before a date (default: now).
  route(router, "GET", "/api/v1/retention", Access::kAction, Action::kViewAuditTrail,
        [this](Call& c) {
          const std::string before_text = c.request.query_param("before");
          Millis before = clock_();
          if (!before_text.empty()) {
            const auto t = parse_utc(before_text);
            if (!t) throw BadField("before", "before is a UTC time (2036-01-01T00:00:00.000Z)");
            before = *t;
          }
          auto r = mes_.retention_report(c.session.user_id, before);
          if (!r) return refusal(r.error());
          json out = json::array();
          for (const auto& item : *r) {
            out.push_back({{"type", item.type},
                           {"id", item.id},
                           {"created_at", format_utc(item.created_at)},
                           {"retain_until", format_utc(item.retain_until)},
                           {"audit_entries", item.entries}});
          }
          return ok(out);
        });
  route(router, "GET", "/api/v1/audit", Access::kAction, Action::kViewAuditTrail, [this](Call& c) {
    const std::string type = c.request.query_param("object_type");
    const std::string id = c.request.query_param("object_id");
    if (type.empty() || id.empty()) {
      throw BadField("object_type", "object_type and object_id are required");
    }
    auto r = mes_.audit_trail(c.session.user_id, type, id);
    if (!r) return refusal(r.error());
    json out = json::array();
    for (const auto& e : *r) out.push_back(audit_json(e));
    return ok(out);
  });
  route(router, "GET", "/api/v1/kpis", Access::kAction, Action::kViewRecords, [this](Call&) {
    auto k = mes_.kpis();
    if (!k) return refusal(k.error());
    return ok({{"terminal_batches", k->terminal},
               {"intact_batches", k->intact},
               {"batch_integrity", k->integrity},
               {"right_first_time", k->right_first_time_ratio},
               {"yield", k->yield},
               {"cycle_time_efficiency", k->cycle_time_efficiency},
               {"not_intact", k->not_intact}});
  });
}

void Api::add_batch_routes(http::Router& router) {
  route(router, "GET", "/api/v1/batches", Access::kAction, Action::kViewRecords, [this](Call& c) {
    auto r = mes_.records(c.session.user_id, "batch", c.request.query_param("master"),
                          c.request.query_param("state"));
    if (!r) return refusal(r.error());
    std::string out = "{\"data\":[";
    for (const auto& d : *r) {  // the list view: no control recipe, no events
      if (out.back() != '[') out += ',';
      out += rendered("summary", d, [](const Document& doc) {
        const json b = document_json(doc);
        return json{{"id", b["id"]},
                    {"state", b["state"]},
                    {"master", b["parent"]},
                    {"product", b["data"].value("product", "")},
                    {"size", b["data"].value("size", 0.0)},
                    {"current_step", b["flow"].value("current_step", 1)},
                    {"steps", b["data"].value("phases", json::array()).size()},
                    {"disposition", b["flow"].value("disposition", "")}}
            .dump();
      });
    }
    return http::Response::json(200, out + "]}");
  });
  route(router, "POST", "/api/v1/batches", Access::kAction, Action::kCreateBatch, [this](Call& c) {
    const std::string id = text(c.body, "id");
    auto r =
        mes_.create_batch(c.session.user_id, id, text(c.body, "master"), number(c.body, "size"));
    return r ? ok({{"id", id}}, 201) : refusal(r.error());
  });
  route(router, "GET", "/api/v1/batches/{id}", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          auto b = mes_.record(c.session.user_id, "batch", c.param("id"));
          if (!b) return refusal(b.error());
          auto steps = mes_.records(c.session.user_id, "step", c.param("id"));
          if (!steps) return refusal(steps.error());
          auto sigs = mes_.signatures(c.session.user_id, "batch", c.param("id"));
          if (!sigs) return refusal(sigs.error());
          // Assembled from each record version's cached JSON: {...record, "steps": [{...step,
          // "signatures": [...]}], "signatures": [...]}.
          const auto render_doc = [](const Document& d) { return document_json(d).dump(); };
          const auto signatures_text = [](const std::vector<Signature>& list) {
            json out = json::array();
            for (const auto& s : list) out.push_back(signature_json(s));
            return out.dump();
          };
          std::string doc = rendered("doc", *b, render_doc);
          doc.pop_back();  // the record's closing brace
          std::string out = "{\"data\":" + doc + ",\"steps\":[";
          for (const auto& step : *steps) {
            if (out.back() != '[') out += ',';
            std::string text = rendered("doc", step, render_doc);
            text.pop_back();
            auto ss = mes_.signatures(c.session.user_id, "step", step.id);
            if (!ss) return refusal(ss.error());
            out += text + ",\"signatures\":" + signatures_text(*ss) + "}";
          }
          out += "],\"signatures\":" + signatures_text(*sigs) + "}}";
          return http::Response::json(200, std::move(out));
        });
  route(router, "POST", "/api/v1/batches/{id}/commands", Access::kAction, Action::kRunBatch,
        [this](Call& c) {
          const auto cmd = isa88::parse_command(text(c.body, "command"));
          if (!cmd)
            throw BadField("command",
                           "command is Start, Pause, Resume, Hold, Restart, Stop, Abort or Reset");
          auto r = mes_.command_batch(c.session.user_id, c.param("id"), *cmd,
                                      text(c.body, "reason", false));
          return r ? ok({{"id", c.param("id")}, {"state", isa88::to_string(*r)}})
                   : refusal(r.error());
        });
  route(router, "POST", "/api/v1/batches/{id}/steps/{step}/start", Access::kAction,
        Action::kExecuteStep, [this](Call& c) {
          auto r = mes_.start_step(c.session.user_id, c.param("id"), step_number(c.param("step")),
                                   text(c.body, "equipment", false));
          return r ? ok({{"started", true}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/batches/{id}/steps/{step}/parameters", Access::kAction,
        Action::kExecuteStep, [this](Call& c) {
          auto r = mes_.enter_parameter(c.session.user_id, c.param("id"),
                                        step_number(c.param("step")), text(c.body, "name"),
                                        number(c.body, "value"), text(c.body, "reason", false));
          return r ? ok({{"in_limits", *r}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/batches/{id}/steps/{step}/weighings", Access::kAction,
        Action::kExecuteStep, [this](Call& c) {
          auto r = mes_.weigh(c.session.user_id, c.param("id"), step_number(c.param("step")),
                              text(c.body, "material"), text(c.body, "scale"), text(c.body, "lot"),
                              number(c.body, "gross"), number(c.body, "tare"));
          if (!r) return refusal(r.error());
          json out{{"accepted", r->accepted},
                   {"net", r->net.to_double()},
                   {"low", r->low.to_double()},
                   {"high", r->high.to_double()}};
          if (!r->accepted) {
            // Recorded (for review by exception), but the charge still needs a good weighing.
            return error(422, r->reason_code,
                         "net " + r->net.text() + " is outside [" + r->low.text() + ", " +
                             r->high.text() + "]: weighing recorded as failed",
                         "gross");
          }
          return ok(out);
        });
  route(router, "POST", "/api/v1/batches/{id}/steps/{step}/verify", Access::kAction,
        Action::kExecuteStep, [this](Call& c) {
          // The verifier signs in the operator's session: both components, their own.
          auto r = mes_.verify_step(c.session.user_id, c.session.signing, c.param("id"),
                                    step_number(c.param("step")), signature_of(c.body));
          return r ? ok({{"verified", true}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/batches/{id}/steps/{step}/complete", Access::kAction,
        Action::kExecuteStep, [this](Call& c) {
          auto r =
              mes_.complete_step(c.session.user_id, c.param("id"), step_number(c.param("step")));
          return r ? ok({{"completed", true}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/batches/{id}/output", Access::kAction, Action::kExecuteStep,
        [this](Call& c) {
          const std::string lot = text(c.body, "lot", false);
          const std::string unit = text(c.body, "unit", false);
          auto r = mes_.record_output(c.session.user_id, c.param("id"), number(c.body, "quantity"),
                                      lot, unit.empty() ? "kg" : unit);
          if (!r) return refusal(r.error());
          return lot.empty() ? ok({{"id", c.param("id")}})
                             : ok({{"id", c.param("id")}, {"lot", lot}});
        });
  route(router, "POST", "/api/v1/batches/{id}/deviations", Access::kAction, Action::kOpenDeviation,
        [this](Call& c) {
          auto r = mes_.open_deviation(c.session.user_id, c.param("id"), text(c.body, "cause"),
                                       text(c.body, "description"));
          return r ? ok({{"id", *r}}, 201) : refusal(r.error());
        });
  route(
      router, "GET", "/api/v1/batches/{id}/exceptions", Access::kAction, Action::kReviewBatch,
      [this](Call& c) {
        auto r = mes_.review_by_exception(c.session.user_id, c.param("id"));
        if (!r) return refusal(r.error());
        json out = json::array();
        for (const auto& e : *r) {
          out.push_back(
              {{"kind", e.kind}, {"step", e.step}, {"detail", e.detail}, {"at", format_utc(e.at)}});
        }
        return ok(out);
      });
  route(router, "POST", "/api/v1/batches/{id}/review", Access::kAction, Action::kReviewBatch,
        [this](Call& c) {
          auto r = mes_.mark_reviewed(c.session.user_id, c.session.signing, c.param("id"),
                                      signature_of(c.body));
          return r ? ok({{"reviewed", true}}) : refusal(r.error());
        });
  route(router, "POST", "/api/v1/batches/{id}/release", Access::kAction, Action::kReleaseBatch,
        [this](Call& c) {
          const bool release = text(c.body, "decision") == "release";
          if (!release && text(c.body, "decision") != "reject") {
            throw BadField("decision", "decision is release or reject");
          }
          auto r = mes_.release_batch(c.session.user_id, c.session.signing, c.param("id"), release,
                                      text(c.body, "reason"), signature_of(c.body));
          return r ? ok({{"id", c.param("id")}, {"disposition", release ? "released" : "rejected"}})
                   : refusal(r.error());
        });
  route(router, "GET", "/api/v1/batches/{id}/genealogy", Access::kAction, Action::kViewRecords,
        [this](Call& c) {
          auto r = mes_.lots_of_batch(c.param("id"));
          return r ? ok({{"lots", *r}}) : refusal(r.error());
        });
}

namespace {

// Actual yield and % of theoretical (211.103), null parts when not recorded / no theoretical.
json yield_json(const BatchYield& y) {
  json out{{"output", y.recorded ? json(y.output) : json(nullptr)},
           {"theoretical", y.theoretical > 0 ? json(y.theoretical) : json(nullptr)},
           {"percent_of_theoretical",
            y.recorded && y.theoretical > 0 ? json(y.percent) : json(nullptr)}};
  if (y.theoretical > 0) {
    out["limits_pct"] = {y.low_pct, y.high_pct};
    out["within_limits"] = y.recorded && y.within_limits();
  }
  return out;
}

std::string cell(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_null()) return "";
  return j.dump();
}

}  // namespace

// The whole batch record as one JSON document (Part 11 §11.10(b), Annex 11 §8).
Result<nlohmann::json> Api::batch_record(const std::string& actor, const std::string& id) {
  auto b = mes_.record(actor, "batch", id);
  if (!b) return tl::unexpected(b.error());
  auto steps = mes_.records(actor, "step", id);
  if (!steps) return tl::unexpected(steps.error());
  auto deviations = mes_.records(actor, "deviation", id);
  if (!deviations) return tl::unexpected(deviations.error());
  auto alarms = mes_.records(actor, "alarm");
  if (!alarms) return tl::unexpected(alarms.error());
  json out{{"format", "pharma-mes batch record 1"},
           {"generated_by", actor},
           {"generated_at", format_utc(clock_())},
           {"batch", document_json(*b)},
           {"yield", yield_json(batch_yield(*b))},
           {"steps", documents_json(*steps)},
           {"deviations", documents_json(*deviations)},
           {"alarms", json::array()},
           {"signatures", json::array()},
           {"audit_trail", json::array()}};
  for (const auto& a : *alarms) {
    const json d = document_json(a);
    for (const auto& batch : d["data"].value("batches", json::array())) {
      if (batch == id) out["alarms"].push_back(d);
    }
  }
  std::vector<std::pair<std::string, std::string>> objects{{"batch", id}};
  for (const auto& s : *steps) objects.emplace_back("step", s.id);
  for (const auto& d : *deviations) objects.emplace_back("deviation", d.id);
  std::vector<AuditEntry> trail;
  for (const auto& [type, oid] : objects) {
    auto sigs = mes_.signatures(actor, type, oid);
    if (!sigs) return tl::unexpected(sigs.error());
    for (const auto& s : *sigs) out["signatures"].push_back(signature_json(s));
    auto entries = mes_.audit_trail(actor, type, oid);
    if (!entries) return tl::unexpected(entries.error());
    trail.insert(trail.end(), entries->begin(), entries->end());
  }
  std::sort(trail.begin(), trail.end(),
            [](const AuditEntry& a, const AuditEntry& c) { return a.seq < c.seq; });
  for (const auto& e : trail) out["audit_trail"].push_back(audit_json(e));
  // Verification: where the chain stood, and the latest signed checkpoint.
  json verification{{"public_key", mes_.public_key()}};
  if (auto cps = store_.checkpoints(); cps && !cps->empty()) {
    verification["checkpoint"] = checkpoint_line(cps->back());
  }
  if (!trail.empty()) verification["last_entry_hash"] = trail.back().hash;
  out["verification"] = verification;
  return out;
}

void Api::add_export_routes(http::Router& router) {
  const auto record = [this](const std::string& actor, const std::string& id) {
    return batch_record(actor, id);
  };

  route(router, "GET", "/api/v1/batches/{id}/record.json", Access::kAction, Action::kViewAuditTrail,
        [this, record](Call& c) {
          auto r = record(c.session.user_id, c.param("id"));
          if (!r) return refusal(r.error());
          http::Response resp = http::Response::json(200, r->dump(1));
          resp.headers.emplace_back("Content-Disposition",
                                    "attachment; filename=\"" + c.param("id") + "-record.json\"");
          return resp;
        });

  route(router, "GET", "/api/v1/batches/{id}/audit.csv", Access::kAction, Action::kViewAuditTrail,
        [record](Call& c) {
          auto r = record(c.session.user_id, c.param("id"));
          if (!r) return refusal(r.error());
          std::string csv =
              csv_line({"seq", "at", "actor", "action", "object_type", "object_id", "field",
                        "old_value", "new_value", "reason", "terminal", "hash"});
          for (const auto& e : (*r)["audit_trail"]) {
            csv += csv_line({cell(e["seq"]), cell(e["at"]), cell(e["actor"]), cell(e["action"]),
                             cell(e["object_type"]), cell(e["object_id"]), cell(e["field"]),
                             cell(e["old_value"]), cell(e["new_value"]), cell(e["reason"]),
                             cell(e["terminal"]), cell(e["hash"])});
          }
          http::Response resp = http::Response::text(200, csv, "text/csv; charset=utf-8");
          resp.headers.emplace_back("Content-Disposition",
                                    "attachment; filename=\"" + c.param("id") + "-audit.csv\"");
          return resp;
        });

  route(
      router, "GET", "/api/v1/batches/{id}/record.html", Access::kAction, Action::kViewAuditTrail,
      [this, record](Call& c) {
        auto r = record(c.session.user_id, c.param("id"));
        if (!r) return refusal(r.error());
        const json& rec = *r;
        const json& b = rec["batch"];
        std::string h = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Batch record " +
                        http::html_escape(b.value("id", "")) +
                        "</title><style>body{font:12px sans-serif}table{border-collapse:collapse;"
                        "width:100%}td,th{border:1px solid #999;padding:2px 4px;text-align:left}"
                        ".changed{background:#fff3b0}@media print{h2{page-break-before:auto}}"
                        "</style></head><body>";
        h += "<h1>Batch record " + http::html_escape(b.value("id", "")) + "</h1><table>";
        const auto row = [&](const std::string& k, const std::string& v) {
          h +=
              "<tr><th>" + http::html_escape(k) + "</th><td>" + http::html_escape(v) + "</td></tr>";
        };
        row("Site", b["data"].value("site", std::string("Site 1")));
        row("Product", b["data"].value("product", ""));
        row("Master recipe", b["data"].value("master", "") + " (" +
                                 b["data"].value("master_hash", "").substr(0, 16) + "…)");
        row("Size", cell(b["data"]["size"]) + " " + b["data"].value("size_unit", ""));
        row("State", b.value("state", ""));
        row("Yield",
            yield_line(rec.value("yield", json::object()), b["data"].value("size_unit", "")));
        row("Disposition", b["flow"].value("disposition", "—"));
        row("Generated by", rec.value("generated_by", ""));
        row("Generated at (UTC)", rec.value("generated_at", ""));
        h += "</table><h2>Steps</h2>";
        for (const auto& s : rec["steps"]) {
          h += "<h3>" + http::html_escape(s.value("id", "")) + " " +
               http::html_escape(s["data"].value("phase", "")) + " — " +
               http::html_escape(s.value("state", "")) +
               "</h3><table><tr><th>what</th><th>value</th>"
               "<th>limits</th><th>by</th><th>at (UTC)</th></tr>";
          const json parameters = s["data"].value("parameters", json::object());
          for (const auto& [name, p] : parameters.items()) {
            const bool changed = p.value("changed", false);
            h += std::string("<tr") + (changed ? " class=\"changed\"" : "") + "><td>" +
                 http::html_escape(name) + (changed ? " (changed after first entry)" : "") +
                 "</td><td>" + http::html_escape(cell(p["value"])) + " " +
                 http::html_escape(p.value("unit", "")) +
                 (p.value("in_limits", true) ? "" : " OUT OF LIMITS") + "</td><td>" +
                 http::html_escape(cell(p["low"]) + " – " + cell(p["high"])) + "</td><td>" +
                 http::html_escape(p.value("by", "")) + "</td><td>" +
                 http::html_escape(format_utc(p.value("at", Millis{0}))) + "</td></tr>";
          }
          for (const auto& w : s["data"].value("weighings", json::array())) {
            h += "<tr><td>weighing " + http::html_escape(w.value("material", "")) + " lot " +
                 http::html_escape(w.value("lot", "")) + " on " +
                 http::html_escape(w.value("scale", "")) + "</td><td>gross " +
                 http::html_escape(cell(w["gross"])) + " tare " +
                 http::html_escape(cell(w["tare"])) + " net " + http::html_escape(cell(w["net"])) +
                 (w.value("accepted", false) ? "" : " REJECTED") + "</td><td>" +
                 http::html_escape(cell(w["low"]) + " – " + cell(w["high"])) + "</td><td>" +
                 http::html_escape(w.value("by", "")) + "</td><td>" +
                 http::html_escape(format_utc(w.value("at", Millis{0}))) + "</td></tr>";
          }
          h += "</table>";
        }
        h += "<h2>Deviations</h2><ul>";
        for (const auto& d : rec["deviations"]) {
          h += "<li>" + http::html_escape(d.value("id", "")) + " (" +
               http::html_escape(d.value("state", "")) +
               "): " + http::html_escape(d["data"].value("description", "")) +
               " — disposition: " + http::html_escape(d["flow"].value("disposition", "")) + "</li>";
        }
        h += "</ul><h2>Alarms</h2><ul>";
        for (const auto& a : rec["alarms"]) {
          h += "<li>" + http::html_escape(a.value("id", "")) + " " +
               http::html_escape(a["data"].value("level", "")) + " " +
               http::html_escape(cell(a["data"]["value"])) + " " +
               http::html_escape(a["data"].value("unit", "")) + " (" +
               http::html_escape(a.value("state", "")) + ")</li>";
        }
        h += "</ul><h2>Electronic signatures</h2><table><tr><th>printed "
             "name</th><th>user</th><th>meaning</th>"
             "<th>UTC</th><th>record</th></tr>";
        for (const auto& s : rec["signatures"]) {
          h += "<tr><td>" + http::html_escape(s.value("printed_name", "")) + "</td><td>" +
               http::html_escape(s.value("user_id", "")) + "</td><td>" +
               http::html_escape(s.value("meaning", "")) + "</td><td>" +
               http::html_escape(s.value("signed_at", "")) + "</td><td>" +
               http::html_escape(s.value("record_type", "") + " " + s.value("record_id", "")) +
               "</td></tr>";
        }
        h += "</table><h2>Verification</h2><table>";
        row("Server public key (Ed25519)", rec["verification"].value("public_key", ""));
        row("Last audit entry hash", rec["verification"].value("last_entry_hash", ""));
        row("Latest signed checkpoint", rec["verification"].value("checkpoint", "none yet"));
        h += "</table><p>" + std::to_string(rec["audit_trail"].size()) +
             " audit entries belong to this record (export them as CSV).</p></body></html>";
        return http::Response::text(200, h, "text/html; charset=utf-8");
      });
  route(router, "GET", "/api/v1/batches/{id}/record.pdf", Access::kAction, Action::kViewAuditTrail,
        [this, record](Call& c) {
          auto r = record(c.session.user_id, c.param("id"));
          if (!r) return refusal(r.error());
          auto pdf = record_pdf(*r);
          if (!pdf) return error(503, "storage", "the PDF could not be produced");
          http::Response response = http::Response::text(200, std::move(*pdf), "application/pdf");
          response.headers.emplace_back(
              "Content-Disposition", "attachment; filename=\"" + c.param("id") + "-record.pdf\"");
          return response;
        });
}

}  // namespace mes::api
