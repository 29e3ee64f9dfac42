#include "venue_config.hpp"

#include <filesystem>

#include <toml++/toml.h>

#include <set>

#include "core/fixed_point.hpp"

namespace trading::app {
namespace {

struct InstrumentSpec {
  std::string symbol;
  int decimals;
  std::string tick, reference;
  std::int64_t lot;
  std::int32_t band_bps;
  std::string description;
};

core::Result<void> add_instrument(VenueConfig& v, const InstrumentSpec& s, bool trading) {
  auto tick = core::parse_decimal(s.tick, s.decimals);
  auto reference = core::parse_decimal(s.reference, s.decimals);
  if (!tick || *tick <= 0) {
    return core::fail(2, "instrument " + s.symbol + ": tick '" + s.tick +
                             "' is not a positive "
                             "price with " +
                             std::to_string(s.decimals) + " decimals");
  }
  if (!reference || *reference < 0) {
    return core::fail(2, "instrument " + s.symbol + ": reference '" + s.reference +
                             "' is not a price with " + std::to_string(s.decimals) + " decimals");
  }
  if (s.lot <= 0) return core::fail(2, "instrument " + s.symbol + ": lot must be > 0");
  Instrument inst{s.symbol, Price{*tick}, Qty{s.lot}, Price{*reference}, trading, {}};
  inst.bands.band_bps = s.band_bps;
  v.engine.instruments.push_back(inst);
  v.gateway.instruments.push_back(inst);
  v.gateway.symbols.push_back(gateway::VenueSymbol{s.decimals, s.description});
  return {};
}

Account account(std::uint32_t id, const std::string& name) {
  Account a{AccountId(id), name, StpMode::kCancelResting, {}};
  a.limits.max_order_qty = Qty{1'000'000};
  a.limits.price_collar_bps = 1000;            // 10 % around the last trade
  a.limits.max_messages_per_second = 200'000;  // far above one session's capacity
  a.limits.message_burst = 200'000;
  return a;
}

void add_session(VenueConfig& v, std::string venue, std::string client, const Account& a) {
  fix::SessionConfig session;
  session.venue_comp_id = std::move(venue);
  session.client_comp_id = std::move(client);
  session.account = a.name;
  v.sessions.push_back(std::move(session));
  v.gateway.sessions.push_back(gateway::SessionAccount{a.name, a.id, false, {}});
}

}  // namespace

VenueConfig demo_venue() {
  VenueConfig v;
  (void)add_instrument(v, {"ACME", 2, "0.01", "100.00", 1, 500, "Acme Corp"}, true);
  (void)add_instrument(v, {"BETA", 2, "0.05", "50.00", 10, 500, "Beta Industries"}, true);
  (void)add_instrument(v, {"GAMMA", 2, "0.01", "25.00", 100, 1000, "Gamma Holdings"}, true);
  const Account alice = account(1, "ALICE");
  const Account bob = account(2, "BOB");
  const Account carol = account(3, "CAROL");  // the demo order flow's second side (scripts/run.sh)
  v.engine.accounts = {alice, bob, carol};
  add_session(v, "VENUE", "CLIENT1", alice);
  add_session(v, "VENUE", "CLIENT2", bob);
  add_session(v, "VENUE", "DEMOFLOW", carol);
  return v;
}

core::Result<VenueConfig> load_venue(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return core::fail(2, "venue file " + path + ": " + std::string(e.description()));
  }
  VenueConfig v;
  std::set<std::string> symbols;
  if (const auto* list = table["instrument"].as_array()) {
    for (const auto& node : *list) {
      const auto* t = node.as_table();
      if (t == nullptr) return core::fail(2, "venue file: [[instrument]] must be a table");
      InstrumentSpec s{(*t)["symbol"].value_or(std::string()),
                       static_cast<int>((*t)["decimals"].value_or(std::int64_t{2})),
                       (*t)["tick"].value_or(std::string("0.01")),
                       (*t)["reference"].value_or(std::string("0")),
                       (*t)["lot"].value_or(std::int64_t{1}),
                       static_cast<std::int32_t>((*t)["band_bps"].value_or(std::int64_t{0})),
                       (*t)["description"].value_or(std::string())};
      if (s.symbol.empty() || !symbols.insert(s.symbol).second) {
        return core::fail(2, "venue file: every instrument needs a unique symbol");
      }
      if (s.decimals < 0 || s.decimals > 8) {
        return core::fail(2, "instrument " + s.symbol + ": decimals must be 0..8");
      }
      if (auto r = add_instrument(v, s, (*t)["trading"].value_or(true)); !r) {
        return core::fail(r.error());
      }
    }
  }
  if (const auto* list = table["account"].as_array()) {
    for (const auto& node : *list) {
      const auto* t = node.as_table();
      if (t == nullptr) return core::fail(2, "venue file: [[account]] must be a table");
      const auto id = (*t)["id"].value_or(std::int64_t{0});
      const std::string name = (*t)["name"].value_or(std::string());
      if (id <= 0 || id > 1'000'000 || name.empty()) {
        return core::fail(2, "venue file: every account needs a name and an id in 1..1000000");
      }
      Account a = account(static_cast<std::uint32_t>(id), name);
      const std::string stp = (*t)["stp"].value_or(std::string("cancel_resting"));
      if (stp != "cancel_resting" && stp != "cancel_incoming") {
        return core::fail(2, "account " + name + ": stp must be cancel_resting or cancel_incoming");
      }
      a.stp = stp == "cancel_incoming" ? StpMode::kCancelIncoming : StpMode::kCancelResting;
      a.limits.max_order_qty = Qty{(*t)["max_order_qty"].value_or(a.limits.max_order_qty.value())};
      a.limits.max_order_notional =
          (*t)["max_order_notional"].value_or(a.limits.max_order_notional);
      a.limits.price_collar_bps = static_cast<std::int32_t>(
          (*t)["price_collar_bps"].value_or(std::int64_t{a.limits.price_collar_bps}));
      a.limits.credit_limit = (*t)["credit_limit"].value_or(a.limits.credit_limit);
      a.limits.max_messages_per_second = static_cast<std::uint32_t>(
          (*t)["messages_per_second"].value_or(std::int64_t{a.limits.max_messages_per_second}));
      a.limits.message_burst = static_cast<std::uint32_t>(
          (*t)["message_burst"].value_or(std::int64_t{a.limits.message_burst}));
      std::int64_t position_limit = 0;  // none
      if (const auto limit = (*t)["position_limit"]) {
        const auto shares = limit.value<std::int64_t>();
        if (!shares || *shares < 0 || !limit.is_integer()) {
          return core::fail(
              2, "account " + name + ": position_limit must be a whole number of shares >= 0");
        }
        position_limit = *shares;
      }
      v.engine.accounts.push_back(a);
      v.position_limits.push_back(position_limit);
    }
  }
  if (const auto* list = table["session"].as_array()) {
    for (const auto& node : *list) {
      const auto* t = node.as_table();
      if (t == nullptr) return core::fail(2, "venue file: [[session]] must be a table");
      const std::string venue = (*t)["venue_comp_id"].value_or(std::string("VENUE"));
      const std::string client = (*t)["client_comp_id"].value_or(std::string());
      const std::string name = (*t)["account"].value_or(std::string());
      const auto drop_copy = (*t)["drop_copy"];
      if (drop_copy && !drop_copy.is_boolean()) {
        return core::fail(2, "venue file: session " + client + ": drop_copy must be true or false");
      }
      if (drop_copy.value_or(false)) {
        // A drop copy: no account of its own; `accounts` names those it covers (absent: all).
        if (client.empty() || !name.empty()) {
          return core::fail(2,
                            "venue file: a drop copy session needs a client_comp_id and no "
                            "account (it trades nothing; `accounts` lists what it covers)");
        }
        std::vector<std::string> covers;
        if (const auto accounts = (*t)["accounts"]; accounts) {
          const auto* list_of = accounts.as_array();
          if (list_of == nullptr) {
            return core::fail(2, "venue file: session " + client + ": accounts must be a list");
          }
          for (const auto& item : *list_of) {
            const auto* text = item.as_string();
            const bool known =
                text != nullptr &&
                std::any_of(v.engine.accounts.begin(), v.engine.accounts.end(),
                            [&](const Account& acct) { return acct.name == text->get(); });
            if (!known) {
              return core::fail(2, "venue file: drop copy " + client +
                                       ": accounts must name configured accounts");
            }
            covers.push_back(text->get());
          }
        }
        fix::SessionConfig session;
        session.venue_comp_id = venue;
        session.client_comp_id = client;
        v.sessions.push_back(std::move(session));
        gateway::SessionAccount copy;
        copy.drop_copy = true;
        copy.covers = std::move(covers);
        v.gateway.sessions.push_back(std::move(copy));
        continue;
      }
      const Account* a = nullptr;
      for (const auto& acct : v.engine.accounts) {
        if (acct.name == name) a = &acct;
      }
      if (client.empty() || a == nullptr) {
        return core::fail(2,
                          "venue file: every session needs a client_comp_id and a configured "
                          "account");
      }
      add_session(v, venue, client, *a);
      // Per-session FIX settings; absent: the venue-wide flags.
      if (const auto reset = (*t)["reset_on_logon"]; reset) {
        if (!reset.is_boolean()) {
          return core::fail(2, "venue file: session " + client +
                                   ": reset_on_logon must be true "
                                   "or false");
        }
        v.sessions.back().reset_on_logon = reset.value_or(false) ? 1 : 0;
      }
      if (const auto dictionary = (*t)["dictionary"]; dictionary) {
        const auto* text = dictionary.as_string();
        if (text == nullptr || !std::filesystem::exists(text->get())) {
          return core::fail(2, "venue file: session " + client +
                                   ": dictionary must name an existing FIX dictionary file");
        }
        v.sessions.back().dictionary_path = text->get();
      }
    }
  }
  if (v.engine.instruments.empty() || v.engine.accounts.empty() || v.sessions.empty()) {
    return core::fail(2, "venue file " + path +
                             ": needs at least one instrument, account and "
                             "session");
  }
  return v;
}

}  // namespace trading::app
