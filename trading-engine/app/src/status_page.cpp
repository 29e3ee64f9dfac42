#include "status_page.hpp"

#include <nlohmann/json.hpp>

#include "guardrails/slo/evaluator.hpp"

namespace trading::app {

std::string status_json(const Venue& venue, const guardrails::Guardrail& guardrail) {
  using nlohmann::json;
  const auto f = venue.figures();
  const auto& c = venue.counters();
  const auto n = [](const std::atomic<std::uint64_t>& a) {
    return a.load(std::memory_order_relaxed);
  };
  json doc;
  const auto standby = venue.standby_status();
  doc["role"] = standby.standby ? "standby" : "primary";
  doc["venue"] = {{"halted", f.venue_halted}, {"killed", f.venue_killed}};
  if (const auto snap = guardrail.snapshot()) {
    json slos = json::array();
    for (const auto& s : snap->evaluation.slos) {
      slos.push_back({{"name", s.name},
                      {"kind", s.kind == guardrails::slo::SloKind::kLatency ? "latency" : "ratio"},
                      {"objective", s.objective},
                      {"value", s.has_value ? json(s.value) : json(nullptr)},
                      {"ok", s.ok}});
    }
    doc["guardrail"] = {
        {"verdict", std::string(guardrails::slo::to_string(snap->evaluation.verdict))},
        {"reasons", snap->evaluation.reasons},
        {"version", snap->version},
        {"colour", snap->colour},
        {"slos", slos}};
  }
  std::size_t connected = 0;
  const auto sessions = venue.sessions();
  for (const auto& s : sessions) connected += s.logged_on ? 1 : 0;
  doc["sessions"] = {{"connected", connected}, {"configured", sessions.size()}};
  const std::uint64_t acks = n(c.ack_count);
  std::uint64_t within = 0;
  for (std::size_t i = 0; i < VenueCounters::kAckBucketsNs.size(); ++i) {
    if (VenueCounters::kAckBucketsNs[i] == 50'000'000) within = c.acks_at_or_below(i);
  }
  doc["orders"] = {
      {"accepted", n(c.orders_accepted)},
      {"rejected", n(c.orders_rejected) + n(c.gateway_rejects)},
      {"trades", n(c.trades)},
      {"acknowledged", acks},
      {"acknowledged_within_50ms",
       acks == 0 ? json(nullptr) : json(static_cast<double>(within) / static_cast<double>(acks))}};
  json rejects = json::object();
  for (std::size_t code = 1; code < f.rejects.size(); ++code) {
    if (f.rejects[code] > 0) {
      rejects[std::string(VenueAnalytics::reject_reason(static_cast<RejectCode>(code)))] =
          f.rejects[code];
    }
  }
  if (n(c.gateway_rejects) > 0) rejects["gateway_validation"] = n(c.gateway_rejects);
  doc["rejects"] = rejects;
  json symbols = json::array();
  for (std::size_t i = 0; i < f.symbols.size(); ++i) {
    const auto& s = f.by_symbol[i];
    symbols.push_back({{"symbol", f.symbols[i]},
                       {"last_price", s.last_price == 0 ? json(nullptr) : json(s.last_price_value)},
                       {"volume", s.traded_qty},
                       {"notional", s.traded_notional},
                       {"trades", s.trades},
                       {"market_data_updates", s.market_data_updates},
                       {"halted", s.halted}});
  }
  doc["symbols"] = symbols;
  json accounts = json::array();
  for (const auto& a : f.accounts) {
    json positions = json::object();
    for (std::size_t i = 0; i < a.positions.size(); ++i) {
      if (a.positions[i].position != 0) positions[f.symbols[i]] = a.positions[i].position;
    }
    accounts.push_back(
        {{"account", a.name},
         {"positions", positions},
         {"realised_pnl", a.realised_pnl},
         {"unrealised_pnl", a.unrealised_pnl},
         {"open_order_exposure", a.open_order_exposure},
         {"credit_limit", a.credit_limit > 0 ? json(a.credit_limit) : json(nullptr)},
         {"largest_position", a.largest_position},
         {"position_limit", a.position_limit > 0 ? json(a.position_limit) : json(nullptr)},
         {"value_at_risk", a.value_at_risk ? json(*a.value_at_risk) : json(nullptr)},
         {"kill_switch", a.killed}});
  }
  doc["accounts"] = accounts;
  doc["var_returns"] = f.var_returns;
  return json{{"data", doc}}.dump();
}

void mount_status_page(http::Router& router, const Venue& venue,
                       const guardrails::Guardrail& guardrail) {
  for (const status::Asset& asset : status::assets()) {
    const auto serve = [&asset](const http::Request&) {
      http::Response r =
          http::Response::text(200, std::string(asset.body), std::string(asset.content_type));
      http::add_browser_security_headers(r, "no-cache");
      return r;
    };
    router.get(std::string(asset.path) == "/status.html" ? "/status" : std::string(asset.path),
               serve);
  }
  router.get("/status.json", [&venue, &guardrail](const http::Request&) {
    http::Response r = http::Response::json(200, status_json(venue, guardrail));
    http::add_browser_security_headers(r, "no-store");
    return r;
  });
}

}  // namespace trading::app
