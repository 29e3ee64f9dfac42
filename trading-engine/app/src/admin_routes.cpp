#include "admin_routes.hpp"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <nlohmann/json.hpp>

#include "logging/logger.hpp"

namespace trading::app {
namespace {

using controls::Action;
using controls::Change;
using controls::Role;

http::Response from_result(const core::Result<std::string>& r) {
  if (r) return http::Response::json(200, *r);
  const int status = r.error().code >= 400 && r.error().code < 600 ? r.error().code : 500;
  return http::error_response(status, http::default_error_code(status), r.error().message);
}

std::optional<nlohmann::json> json_body(const http::Request& req) {
  if (req.body.empty()) return nlohmann::json::object();
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  return body;
}

// A limit change's parameters as the engine's command, or what is wrong with them. Every field
// is optional; at least one must be there; the throttle's rate and burst go together.
std::variant<SetAccountLimits, std::string> limits_change(const nlohmann::json& params) {
  SetAccountLimits c;
  const auto integer = [&](const char* key, auto& out, std::uint8_t field) -> std::string {
    const auto it = params.find(key);
    if (it == params.end()) return {};
    if (!it->is_number_integer()) return std::string(key) + " must be an integer";
    out = static_cast<std::decay_t<decltype(out)>>(it->get<std::int64_t>());
    c.fields = static_cast<std::uint8_t>(c.fields | field);
    return {};
  };
  std::int64_t qty = 0;
  for (const auto& error :
       {integer("max_order_qty", qty, SetAccountLimits::kMaxOrderQty),
        integer("max_order_notional", c.max_order_notional, SetAccountLimits::kMaxOrderNotional),
        integer("credit_limit", c.credit_limit, SetAccountLimits::kCreditLimit),
        integer("price_collar_bps", c.price_collar_bps, SetAccountLimits::kPriceCollar)}) {
    if (!error.empty()) return error;
  }
  c.max_order_qty = Qty{qty};
  const bool rate = params.contains("max_messages_per_second");
  const bool burst = params.contains("message_burst");
  if (rate != burst) return "max_messages_per_second and message_burst go together";
  if (rate) {
    const auto& r = params["max_messages_per_second"];
    const auto& b = params["message_burst"];
    if (!r.is_number_unsigned() || !b.is_number_unsigned() ||
        r.get<std::uint64_t>() > 1'000'000'000 || b.get<std::uint64_t>() > 1'000'000'000) {
      return "max_messages_per_second and message_burst must be integers from 0 to 1e9";
    }
    c.max_messages_per_second = r.get<std::uint32_t>();
    c.message_burst = b.get<std::uint32_t>();
    c.fields = static_cast<std::uint8_t>(c.fields | SetAccountLimits::kThrottle);
  }
  for (const auto& [key, value] : params.items()) {
    static const char* kKnown[] = {"account",      "max_order_qty",    "max_order_notional",
                                   "credit_limit", "price_collar_bps", "max_messages_per_second",
                                   "message_burst"};
    if (std::find_if(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return key == k; }) == std::end(kKnown)) {
      return "unknown limit \"" + key + "\"";
    }
    (void)value;
  }
  if (c.fields == 0) return "name at least one limit to change";
  if (!PreTradeRisk::valid(c)) {
    return "a size, notional or credit limit must be > 0, a collar 0 to 10000 bps, a rate "
           "needs a burst";
  }
  return c;
}

// A new account's parameters: its name, optional self-trade prevention ("cancel_resting", the
// default, or "cancel_incoming") and its limits, of which the order size, notional and credit
// limits are required (a new account never starts unlimited).
struct NewAccount {
  std::string name;
  StpMode stp = StpMode::kCancelResting;
  SetAccountLimits limits;
};
std::variant<NewAccount, std::string> new_account(const nlohmann::json& params) {
  NewAccount a;
  if (!params.contains("account") || !params["account"].is_string()) {
    return "a new account names its \"account\"";
  }
  a.name = params["account"].get<std::string>();
  if (!FixedName<kMaxAccountNameLength>::valid(a.name)) {
    return "an account name has 1 to " + std::to_string(kMaxAccountNameLength) +
           " letters, digits, '.', '_' or '-'";
  }
  nlohmann::json limits = params;
  if (params.contains("stp")) {
    const auto& stp = params["stp"];
    if (stp == "cancel_incoming") {
      a.stp = StpMode::kCancelIncoming;
    } else if (stp != "cancel_resting") {
      return "stp must be cancel_resting or cancel_incoming";
    }
    limits.erase("stp");
  }
  auto parsed = limits_change(limits);
  if (auto* error = std::get_if<std::string>(&parsed)) return *error;
  a.limits = std::get<SetAccountLimits>(parsed);
  constexpr std::uint8_t kRequired = SetAccountLimits::kMaxOrderQty |
                                     SetAccountLimits::kMaxOrderNotional |
                                     SetAccountLimits::kCreditLimit;
  if ((a.limits.fields & kRequired) != kRequired) {
    return "a new account needs max_order_qty, max_order_notional and credit_limit";
  }
  return a;
}

// A new session's parameters: exactly the client's CompID and the account it trades for.
std::optional<std::string> new_session_error(const nlohmann::json& params) {
  if (params.size() != 2 || !params.contains("client_comp_id") || !params.contains("account") ||
      !params["client_comp_id"].is_string() || !params["account"].is_string()) {
    return R"(params must be {"client_comp_id":"CLIENT3","account":"CAROL"})";
  }
  if (!FixedName<kMaxCompIdLength>::valid(params["client_comp_id"].get<std::string>())) {
    return "a client CompID has 1 to " + std::to_string(kMaxCompIdLength) +
           " letters, digits, '.', '_' or '-'";
  }
  return std::nullopt;
}

}  // namespace

void mount_admin_routes(http::Router& router, Venue& venue, AdminControls& controls,
                        const std::function<void()>& after_takeover) {
  // Authenticated, allowed to do `action`, or the refusal (recorded).
  const auto caller_of = [&controls](const http::Request& req, Action action,
                                     const std::string& what) {
    return controls.authenticate(req, action, what);
  };
  // A change: the caller, the parsed body and its reason; or the refusal (recorded).
  struct Change_ {
    AdminCaller caller;
    nlohmann::json body;
    std::string reason;
  };
  const auto change_of = [&controls](
                             const http::Request& req, Action action, const std::string& what,
                             const char* body_hint) -> std::variant<Change_, http::Response> {
    auto caller = controls.authenticate(req, action, what);
    if (auto* refused = std::get_if<http::Response>(&caller)) return std::move(*refused);
    const AdminCaller& who = std::get<AdminCaller>(caller);
    auto body = json_body(req);
    if (!body) {
      return controls.refuse(who, req, what,
                             {400, "bad_json", std::string("body must be ") + body_hint});
    }
    auto reason = controls.require_reason(who, req, *body, what);
    if (auto* refused = std::get_if<http::Response>(&reason)) return std::move(*refused);
    return Change_{who, std::move(*body), std::get<std::string>(reason)};
  };
  // Runs a change and records its outcome.
  const auto run = [&controls](const Change_& c, const http::Request& req, const std::string& what,
                               const core::Result<std::string>& result) {
    const http::Response response = from_result(result);
    controls.record_change(c.caller, req, what, c.reason, response.status,
                           result ? std::string("done") : result.error().message);
    return response;
  };
  // A change named users make only through a proposal; the break-glass token directly.
  const auto needs_second_person =
      [&controls](const Change_& c, const http::Request& req, const std::string& what,
                  Change change, const nlohmann::json& params) -> std::optional<http::Response> {
    if (c.caller.role == Role::kBreakGlass) return std::nullopt;
    return controls.refuse(
        c.caller, req, what,
        {403, "needs_approval",
         "a " + std::string(controls::to_string(change)) +
             " needs a second person: POST /admin/v1/proposals " +
             nlohmann::json{
                 {"change", controls::to_string(change)}, {"params", params}, {"reason", "..."}}
                 .dump() +
             ", then another person approves it"});
  };

  router.post("/admin/v1/halt", [=, &venue, &controls](const http::Request& req) {
    auto c = change_of(req, Action::kReduceRisk, "halt", R"({"symbol":"ACME","reason":"..."})");
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    if (change.body.contains("symbol") && !change.body["symbol"].is_string()) {
      return controls.refuse(change.caller, req, "halt",
                             {400, "bad_json", R"(body must be {"symbol":"ACME","reason":"..."})"});
    }
    const std::string symbol = change.body.value("symbol", std::string());
    return run(change, req, "halt " + (symbol.empty() ? "venue" : symbol),
               venue.halt(symbol, true));
  });
  router.post("/admin/v1/resume", [=, &venue, &controls](const http::Request& req) {
    auto c = change_of(req, Action::kPropose, "resume", R"({"symbol":"ACME","reason":"..."})");
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    if (change.body.contains("symbol") && !change.body["symbol"].is_string()) {
      return controls.refuse(change.caller, req, "resume",
                             {400, "bad_json", R"(body must be {"symbol":"ACME","reason":"..."})"});
    }
    const std::string symbol = change.body.value("symbol", std::string());
    const std::string what = "resume " + (symbol.empty() ? "venue" : symbol);
    if (auto refused =
            needs_second_person(change, req, what, Change::kResume, {{"symbol", symbol}})) {
      return *refused;
    }
    return run(change, req, what, venue.halt(symbol, false));
  });
  router.post("/admin/v1/kill-switch", [=, &venue, &controls](const http::Request& req) {
    const char* hint = R"({"account":"ALICE","engaged":true,"reason":"..."})";
    auto c = change_of(req, Action::kReduceRisk, "kill-switch", hint);
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    if ((change.body.contains("account") && !change.body["account"].is_string()) ||
        (change.body.contains("engaged") && !change.body["engaged"].is_boolean())) {
      return controls.refuse(change.caller, req, "kill-switch",
                             {400, "bad_json", std::string("body must be ") + hint});
    }
    const std::string account = change.body.value("account", std::string());
    const bool engaged = change.body.value("engaged", true);
    const std::string what = std::string(engaged ? "engage" : "release") + " kill switch " +
                             (account.empty() ? "venue" : account);
    if (!engaged) {
      if (auto refused = needs_second_person(change, req, what, Change::kReleaseKillSwitch,
                                             {{"account", account}})) {
        return *refused;
      }
    }
    return run(change, req, what, venue.kill_switch(account, engaged));
  });
  router.get("/admin/v1/book/{symbol}", [=, &venue, &controls](const http::Request& req) {
    const std::string symbol(req.path_param("symbol"));
    auto caller = caller_of(req, Action::kRead, "read book " + symbol);
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    std::size_t levels = 10;
    if (const auto d = req.query_param("depth"); !d.empty()) {
      levels = static_cast<std::size_t>(std::clamp(std::atoi(d.c_str()), 1, 1000));
    }
    return from_result(venue.book_json(symbol, levels));
  });
  router.get("/admin/v1/state", [=, &venue, &controls](const http::Request& req) {
    auto caller = caller_of(req, Action::kRead, "read state");
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    return from_result(venue.state_json());
  });
  router.get("/admin/v1/limits", [=, &venue, &controls](const http::Request& req) {
    auto caller = caller_of(req, Action::kRead, "read limits");
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    return from_result(venue.limits_json());
  });
  router.get("/admin/v1/users", [=, &venue, &controls](const http::Request& req) {
    auto caller = caller_of(req, Action::kRead, "read users");
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    return http::Response::json(200, nlohmann::json{{"data", controls.users_json()}}.dump());
  });
  // The deployment controller's cutover (guardctl deploy): the primary hands over, then the
  // standby takes over; the same two calls the other way are the rollback.
  router.post("/admin/v1/handover", [=, &venue, &controls](const http::Request& req) {
    auto c = change_of(req, Action::kCutover, "handover", R"({"grace_ms":1000,"reason":"..."})");
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    if (change.body.contains("grace_ms") && !change.body["grace_ms"].is_number_unsigned()) {
      return controls.refuse(change.caller, req, "handover",
                             {400, "bad_json", R"(body must be {"grace_ms":1000,"reason":"..."})"});
    }
    const auto grace_ms = std::clamp<std::int64_t>(change.body.value("grace_ms", 1000), 1, 60'000);
    logging::info("trading-engine", "handover requested",
                  {{"remote", req.remote_address}, {"by", change.caller.name}});
    return run(change, req, "handover", venue.hand_over(static_cast<int>((grace_ms + 999) / 1000)));
  });
  router.post("/admin/v1/takeover", [=, &venue, &controls](const http::Request& req) {
    const char* hint = R"({"wait_ms":10000,"force":false,"reason":"..."})";
    auto c = change_of(req, Action::kCutover, "takeover", hint);
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    if ((change.body.contains("force") && !change.body["force"].is_boolean()) ||
        (change.body.contains("wait_ms") && !change.body["wait_ms"].is_number_unsigned())) {
      return controls.refuse(change.caller, req, "takeover",
                             {400, "bad_json", std::string("body must be ") + hint});
    }
    const auto wait_ms = std::clamp<std::int64_t>(change.body.value("wait_ms", 10'000), 0, 120'000);
    const bool force = change.body.value("force", false);
    logging::info("trading-engine", "takeover requested",
                  {{"remote", req.remote_address}, {"force", force}, {"by", change.caller.name}});
    auto r = venue.take_over(force, wait_ms * 1'000'000);
    if (r && after_takeover) after_takeover();
    return run(change, req, force ? "takeover (forced)" : "takeover", r);
  });
  router.get("/admin/v1/sessions", [=, &venue, &controls](const http::Request& req) {
    auto caller = caller_of(req, Action::kRead, "read sessions");
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& s : venue.sessions()) {
      list.push_back({{"venue_comp_id", s.venue_comp_id},
                      {"client_comp_id", s.client_comp_id},
                      {"logged_on", s.logged_on},
                      {"next_sender_seq", s.next_sender_seq},
                      {"next_target_seq", s.next_target_seq},
                      {"requests", s.requests},
                      {"in_flight", s.in_flight},
                      {"max_in_flight_seen", s.max_in_flight_seen},
                      {"outbound_bytes", s.outbound_bytes}});
    }
    return http::Response::json(200, nlohmann::json{{"data", list}}.dump());
  });

  // Reconciliation: on demand (any role) and at the end of the day (operations); each result is
  // recorded in the admin log with who asked (the SOX report counts them).
  const auto record_reconciliation = [&controls](const AdminCaller& who, const std::string& when,
                                                 const core::Result<std::string>& r) {
    nlohmann::json summary = {{"by", who.name}, {"when", when}, {"ok", false}};
    if (r) {
      const auto parsed = nlohmann::json::parse(*r, nullptr, false);
      const auto& d = parsed.contains("data") ? parsed["data"] : parsed;
      summary["ok"] = d.value("ok", false);
      summary["sequence"] = d.value("sequence", 0);
      summary["trades"] = d.value("trades", 0);
      summary["breaks"] = d.contains("breaks") ? d["breaks"].size() : 0;
      summary["engine_digest_equal"] = d.value("engine_digest_equal", false);
    } else {
      summary["error"] = r.error().message;
    }
    controls.record_event("reconciliation", summary);
  };
  router.get("/admin/v1/reconciliation", [=, &venue, &controls](const http::Request& req) {
    auto caller = caller_of(req, Action::kRead, "reconcile");
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    auto r = venue.reconcile();
    record_reconciliation(std::get<AdminCaller>(caller), "on_demand", r);
    return from_result(r);
  });
  router.post("/admin/v1/end-of-day", [=, &venue, &controls](const http::Request& req) {
    auto c = change_of(req, Action::kReduceRisk, "end of day", R"({"reason":"..."})");
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    auto r = venue.end_of_day();
    record_reconciliation(change.caller, "end_of_day", r);
    return run(change, req, "end of day", r);
  });

  // Maker-checker.
  router.get("/admin/v1/proposals", [=, &venue, &controls](const http::Request& req) {
    auto caller = caller_of(req, Action::kRead, "read proposals");
    if (auto* refused = std::get_if<http::Response>(&caller)) return *refused;
    return http::Response::json(200, nlohmann::json{{"data", controls.proposals_json()}}.dump());
  });
  router.post("/admin/v1/proposals", [=, &venue, &controls](const http::Request& req) {
    const char* hint =
        R"({"change":"set_limits","params":{"account":"ALICE","credit_limit":1000000},"reason":"..."})";
    auto c = change_of(req, Action::kPropose, "propose", hint);
    if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
    const auto& change = std::get<Change_>(c);
    const auto bad = [&](const std::string& message) {
      return controls.refuse(change.caller, req, "propose", {400, "bad_proposal", message});
    };
    const auto kind = change.body.contains("change") && change.body["change"].is_string()
                          ? controls::parse_change(change.body["change"].get<std::string>())
                          : std::nullopt;
    if (!kind) {
      return bad(
          "\"change\" must be set_limits, release_kill_switch, resume, add_account or "
          "add_session");
    }
    const nlohmann::json params = change.body.value("params", nlohmann::json::object());
    if (!params.is_object()) return bad("\"params\" must be an object");
    const auto names = venue.reference_names();
    const auto known = [](const std::vector<std::string>& list, const std::string& name) {
      return std::find(list.begin(), list.end(), name) != list.end();
    };
    if (*kind == Change::kSetLimits) {
      if (!params.contains("account") || !params["account"].is_string()) {
        return bad("a limit change names its \"account\"");
      }
      if (!known(names.accounts, params["account"].get<std::string>())) {
        return controls.refuse(
            change.caller, req, "propose",
            {404, "unknown_account", "unknown account " + params["account"].get<std::string>()});
      }
      auto parsed = limits_change(params);
      if (auto* error = std::get_if<std::string>(&parsed)) return bad(*error);
    } else if (*kind == Change::kAddAccount) {
      auto parsed = new_account(params);
      if (auto* error = std::get_if<std::string>(&parsed)) return bad(*error);
      const std::string& name = std::get<NewAccount>(parsed).name;
      if (known(names.accounts, name)) {
        return controls.refuse(change.caller, req, "propose",
                               {409, "account_exists", "account " + name + " exists"});
      }
    } else if (*kind == Change::kAddSession) {
      if (auto error = new_session_error(params)) return bad(*error);
      const std::string account = params["account"].get<std::string>();
      const std::string comp_id = params["client_comp_id"].get<std::string>();
      if (!known(names.accounts, account)) {
        return controls.refuse(change.caller, req, "propose",
                               {404, "unknown_account", "unknown account " + account});
      }
      if (known(names.client_comp_ids, comp_id)) {
        return controls.refuse(change.caller, req, "propose",
                               {409, "session_exists", "a session for " + comp_id + " exists"});
      }
    } else if (*kind == Change::kReleaseKillSwitch) {
      const std::string account = params.value("account", std::string());
      if (params.size() > 1 || (params.contains("account") && !params["account"].is_string())) {
        return bad(R"(params must be {"account":"ALICE"} or {} (the venue-wide switch))");
      }
      if (!account.empty() && !known(names.accounts, account)) {
        return controls.refuse(change.caller, req, "propose",
                               {404, "unknown_account", "unknown account " + account});
      }
    } else {
      const std::string symbol = params.value("symbol", std::string());
      if (params.size() > 1 || (params.contains("symbol") && !params["symbol"].is_string())) {
        return bad(R"(params must be {"symbol":"ACME"} or {} (the whole venue))");
      }
      if (!symbol.empty() && !known(names.symbols, symbol)) {
        return controls.refuse(change.caller, req, "propose",
                               {404, "unknown_symbol", "unknown symbol " + symbol});
      }
    }
    return controls.propose(change.caller, req, *kind, params, change.reason);
  });
  const auto decide = [=, &venue, &controls](bool approve) {
    return [=, &venue, &controls](const http::Request& req) {
      const std::string id(req.path_param("id"));
      const std::string what = std::string(approve ? "approve " : "reject ") + id;
      auto c = change_of(req, Action::kRead, what, R"({"reason":"..."})");
      if (auto* refused = std::get_if<http::Response>(&c)) return *refused;
      const auto& change = std::get<Change_>(c);
      if (approve && venue.standby_status().standby) {
        return controls.refuse(change.caller, req, what,
                               {409, "standby",
                                "this venue is a standby: approve on the primary, which runs the "
                                "change"});
      }
      return controls.decide(
          change.caller, req, id, approve, change.reason,
          [&venue](const controls::Proposal& p) -> core::Result<std::string> {
            switch (p.change) {
              case Change::kSetLimits: {
                auto parsed = limits_change(p.params);
                if (auto* error = std::get_if<std::string>(&parsed)) return core::fail(400, *error);
                return venue.set_limits(p.params.value("account", std::string()),
                                        std::get<SetAccountLimits>(parsed));
              }
              case Change::kReleaseKillSwitch:
                return venue.kill_switch(p.params.value("account", std::string()), false);
              case Change::kResume:
                return venue.halt(p.params.value("symbol", std::string()), false);
              case Change::kAddAccount: {
                auto parsed = new_account(p.params);
                if (auto* error = std::get_if<std::string>(&parsed)) return core::fail(400, *error);
                const auto& account = std::get<NewAccount>(parsed);
                return venue.add_account(account.name, account.stp, account.limits);
              }
              case Change::kAddSession:
                if (auto error = new_session_error(p.params)) return core::fail(400, *error);
                return venue.add_session(p.params["client_comp_id"].get<std::string>(),
                                         p.params["account"].get<std::string>());
            }
            return core::fail(400, "unknown change");
          });
    };
  };
  router.post("/admin/v1/proposals/{id}/approve", decide(true));
  router.post("/admin/v1/proposals/{id}/reject", decide(false));
}

}  // namespace trading::app
