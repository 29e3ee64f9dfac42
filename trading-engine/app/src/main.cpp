// trading-engine: the FIX 4.4 venue. Recovers from its journal, then serves FIX on 9878 and the
// admin/guardrail HTTP API on 8080 (see the README for both). `trading-engine journal compat DIR`
// says whether this build can read a journal (a deployment's pre-flight).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <new>
#include <string_view>

#include <fmt/format.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <nlohmann/json.hpp>

#include "admin_cli.hpp"
#include "admin_controls.hpp"
#include "admin_routes.hpp"
#include "config/config.hpp"
#include "config/install_paths.hpp"
#include "core/build_info.hpp"
#include "core/huge_pages.hpp"
#include "guardrails/evidence/bundle.hpp"
#include "guardrails/evidence/evidence_log.hpp"
#include "guardrails/export/prometheus_export.hpp"
#include "guardrails/status/routes.hpp"
#include "guardrails/status/settings.hpp"
#include "http/probes.hpp"
#include "http/settings.hpp"
#include "logging/logger.hpp"
#include "sox_report.hpp"
#include "status_page.hpp"
#include "trading/journal/follower.hpp"
#include "trading/journal/verify.hpp"
#include "venue.hpp"

namespace {

using trading::RejectCode;
using trading::VenueAnalytics;
using trading::app::Venue;

constexpr std::string_view kDictionaryFile = "trading-engine/FIX44-venue.xml";

config::Schema make_schema() {
  config::Schema schema("trading-engine", "TRADING_ENGINE",
                        "the FIX 4.4 trading venue (matching, pre-trade risk, halts, journal)");
  http::add_server_settings(schema, 8080);
  guardrails::add_guardrail_settings(schema, "trading-engine",
                                     "data/evidence/trading-engine.jsonl");
  schema.add_string("log.level", "info", "log level", {"debug", "info", "warn", "error", "off"})
      .add_bool("log.orders", false,
                "one log line per order request with its ClOrdID and a trace id derived from "
                "SenderCompID|ClOrdID (joins a FIX order across systems' logs)")
      .add_int("shutdown.grace_ms", 5000, 0, 600'000, "time sessions get to log out on SIGTERM")
      .add_string("venue.role", "primary",
                  "primary: take orders and write the journal; standby: follow the primary's "
                  "journal in journal.directory, apply it, keep FIX closed",
                  {"primary", "standby"})
      .add_string("venue.file", "",
                  "instruments, accounts and sessions (TOML); empty: the demo venue")
      .add_string("engine.threading", "inline",
                  "inline: each FIX connection's thread runs the engine, under one lock, for the "
                  "orders of each socket read together (one journal commit; no hand-off); "
                  "thread: one engine thread fed by a queue (see benchmarks/README.md)",
                  {"inline", "thread"})
      .add_int("engine.spin_us", 150, 0, 10'000,
               "engine.threading=thread: the engine thread's microseconds of busy-waiting before "
               "it sleeps (an order that follows its reply within that time finds it awake)")
      .add_int("engine.expected_orders", 500'000, 0, 100'000'000,
               "orders a trading day is sized for, so no table rehashes and no book copies its "
               "pool mid-session before: the gateway's tables take ~32 bytes per order at "
               "start, each book's indexes ~42 and the ClOrdID index ~32 (made resident before "
               "the first order); each book's pool reserves ~72 as address space, made "
               "resident 2 MB ahead of use")
      .add_string("journal.directory", "data/journal", "journal segments and snapshots")
      .add_string("journal.sync", "write", "when a commit is durable", {"none", "write", "fsync"})
      .add_int("journal.snapshot_every", 1'000'000, 0, 1'000'000'000,
               "commands between snapshots (0: never)")
      .add_int("fix.port", 9878, 0, 65535,
               "FIX acceptor port (0: any free port, logged at start-up)")
      .add_string("fix.port_file", "",
                  "write the bound FIX port to this file once listening (tests; empty: none)")
      .add_string("fix.dictionary", "",
                  "the venue's FIX 4.4 dictionary (" +
                      config::installed_data_file_help(kDictionaryFile) + ")")
      .add_string("fix.store_directory", "data/fix-store",
                  "FIX session store: sequence numbers and sent messages (empty: in memory, "
                  "numbers restart at 1)")
      .add_string("fix.store", "mapped",
                  "session store kind: mapped (memory-mapped files) or file (QuickFIX FileStore);"
                  " both survive a crash of the process, neither fsyncs",
                  {"mapped", "file"})
      .add_string("fix.log_directory", "", "QuickFIX message logs (empty: none)")
      .add_bool("fix.reset_on_logon", false, "reset sequence numbers on every logon")
      .add_int("fix.max_in_flight", 256, 1, 100'000, "requests per session between read and reply")
      .add_int("fix.max_outbound_bytes", 8 << 20, 4096, 1 << 30,
               "replies queued for a client that does not read before it is disconnected")
      .add_int("fix.logon_timeout_ms", 10'000, 100, 600'000,
               "a connection must complete its logon within this time")
      .add_int("fix.max_connections", 64, 1, 10'000, "FIX connections at once, logged on or not")
      .add_int("fix.socket_send_buffer", 0, 0, 1 << 30,
               "SO_SNDBUF of each FIX connection in bytes (0: the kernel's, autotuned)")
      .add_int("fix.spin_us", 150, 0, 10'000,
               "a FIX connection's thread polls its socket this long, yielding the core between "
               "polls, before it sleeps (one connection at a time; 0: never): an order that "
               "follows soon after the last finds the thread awake. Holds a core while orders "
               "flow; with engine.threading=thread (whose engine thread spins) 0 is usual")
      .add_int("engine.stall_ms", 2000, 100, 600'000,
               "work waiting (or a batch running) this long makes /readyz answer 503")
      .add_string("fix.tls_certificate", "",
                  "PEM server certificate: FIX over TLS 1.2 (empty: plain TCP)")
      .add_string("fix.tls_private_key", "", "PEM private key of the certificate")
      .add_string("admin.token", "",
                  "BREAK-GLASS bearer token for /admin/v1/* (every use recorded; empty: off). "
                  "People use named tokens: trading-engine admin user add")
      .add_string("admin.log", "",
                  "the hash-chained admin log: users, proposals, approvals, every change and "
                  "refusal (empty: admin-log.jsonl in journal.directory, shared by both colours)")
      .add_int("admin.proposal_ttl_s", 3600, 1, 7 * 86'400,
               "a proposal not approved within this time expires")
      .add_string("journal.signing_key", "",
                  "Ed25519 seed (hex) that signs the journal's chain checkpoints; keep it outside "
                  "the journal directory (created, mode 0600, when missing; empty: no "
                  "checkpoints, and `journal verify` cannot tell a recomputed chain)")
      .add_int("journal.checkpoint_interval_ms", 10'000, 100, 3'600'000,
               "primary: sign a checkpoint of the journal's hash chain this often (and at "
               "shutdown and handover)")
      .add_string("deploy.evidence_id", "",
                  "the deployment evidence bundle that started this venue (guardctl deploy sets "
                  "it): journaled with the start record, at most 40 characters")
      .add_int("journal.digest_interval_ms", 1000, 0, 3'600'000,
               "primary: journal the engine's state digest this often for standbys to compare, "
               "and no sooner than 1000 times what the last one took, so a deep book's digest "
               "stays under 0.1 % of the engine's time (0: only at a leadership change and a "
               "handover seal)")
      .add_int("standby.digest_min_checks", 3, 1, 1'000'000,
               "a standby's digest SLO holds promotion until this many comparisons agreed")
      .add_bool("fault.matching", false,
                "FAULT INJECTION (drills only): new orders reach this engine one lot larger than "
                "journaled, so it computes another book than a correct build")
      .add_string("fault.crash_at", "",
                  "FAULT INJECTION (crash tests only): end the process like kill -9 at this step "
                  "of a cutover",
                  {"", "handover:held", "handover:logged_out", "handover:sealed", "takeover:leader",
                   "takeover:writer"})
      .add_int("fault.miss_execution", 0, 0, 1'000'000'000,
               "FAULT INJECTION (tests only): the venue's own position keeping misses the Nth "
               "trade, so reconciliation against the journal has a break to name")
      .add_int("fault.reply_delay_ms", 0, 0, 60'000,
               "FAULT INJECTION (drills only): every engine batch waits this long before its "
               "replies go out");
  return schema;
}

// Venue counters as Prometheus families (read at scrape time).
class VenueCollectable final : public prometheus::Collectable {
 public:
  VenueCollectable(const Venue& venue, const trading::app::VenueOptions& options)
      : venue_(venue),
        fault_matching_(options.fault_alter_matching ? 1.0 : 0.0),
        fault_reply_delay_ms_(static_cast<double>(options.fault_reply_delay) / 1e6) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    const auto& c = venue_.counters();
    std::vector<prometheus::MetricFamily> out;
    const auto counter =
        [&](std::string name, std::string help, std::vector<std::pair<std::string, double>> values,
            std::string label = "", prometheus::MetricType type = prometheus::MetricType::Counter) {
          out.push_back(
              guardrails::value_family(std::move(name), std::move(help), type, label, values));
        };
    const auto v = [](const std::atomic<std::uint64_t>& a) {
      return static_cast<double>(a.load(std::memory_order_relaxed));
    };
    counter("trading_orders_total", "New orders by result",
            {{"accepted", v(c.orders_accepted)},
             {"rejected_engine", v(c.orders_rejected)},
             {"rejected_gateway", v(c.gateway_rejects)}},
            "result");
    counter("trading_orders_by_type_total", "New orders passed to the engine, by order type",
            {{"limit", v(c.limit_orders)}, {"market", v(c.market_orders)}}, "type");
    counter("trading_requests_total", "FIX application requests handled", {{"", v(c.requests)}});
    counter("trading_resent_requests_total",
            "Requests a client resent (PossDupFlag=Y, after a reconnect): not in the latency SLO",
            {{"", v(c.resent_requests)}});
    counter("trading_cancels_total", "Cancel requests passed to the engine", {{"", v(c.cancels)}});
    counter("trading_replaces_total", "Replace requests passed to the engine",
            {{"", v(c.replaces)}});
    counter("trading_trades_total", "Trades", {{"", v(c.trades)}});
    const auto standby = venue_.standby_status();
    counter("trading_venue_role", "1 for the role this venue has now",
            {{"primary", standby.standby ? 0.0 : 1.0}, {"standby", standby.standby ? 1.0 : 0.0}},
            "role", prometheus::MetricType::Gauge);
    counter("trading_fault_injection", "Fault injection settings in force (0: off); drills only",
            {{"matching", fault_matching_}, {"reply_delay_ms", fault_reply_delay_ms_}}, "fault",
            prometheus::MetricType::Gauge);
    counter("trading_standby_digest_checks_total",
            "State digests a standby compared with the primary's, by result",
            {{"equal", static_cast<double>(standby.digest_checks - standby.digest_mismatches)},
             {"different", static_cast<double>(standby.digest_mismatches)}},
            "result");
    if (standby.standby) {
      counter("trading_standby_applied_sequence", "The last journaled command a standby applied",
              {{"", static_cast<double>(standby.applied_sequence)}}, "",
              prometheus::MetricType::Gauge);
      const double lag = standby.caught_up || standby.applied_timestamp == 0
                             ? 0.0
                             : static_cast<double>(core::SystemClock::instance().wall_ns() -
                                                   standby.applied_timestamp) /
                                   1e9;
      counter("trading_standby_lag_seconds",
              "How far the standby's applied commands are behind (0 when it has caught up)",
              {{"", lag}}, "", prometheus::MetricType::Gauge);
      counter("trading_standby_following", "1 while the standby follows the journal",
              {{"", standby.error.empty() ? 1.0 : 0.0}}, "", prometheus::MetricType::Gauge);
    }
    counter("trading_halts_total", "Trading halts (manual and limit-up/limit-down)",
            {{"", v(c.halts)}});
    counter("trading_journal_bytes_total", "Journal bytes written", {{"", v(c.journal_bytes)}});
    counter("trading_journal_syncs_total", "fdatasync calls", {{"", v(c.journal_syncs)}});
    counter("trading_journal_sync_seconds_total", "Time spent in fdatasync",
            {{"", v(c.journal_sync_ns) / 1e9}});
    counter("trading_send_failures_total", "Replies that could not be sent (session gone)",
            {{"", v(c.send_failures)}});
    counter("trading_engine_batches_total", "Engine batches (one journal commit each)",
            {{"", v(c.batches)}});
    counter("trading_queue_depth", "Requests waiting for the engine thread",
            {{"", v(c.queue_depth)}}, "", prometheus::MetricType::Gauge);
    std::size_t connected = 0;
    for (const auto& s : venue_.sessions()) connected += s.logged_on ? 1 : 0;
    counter("trading_sessions_connected", "FIX sessions logged on",
            {{"", static_cast<double>(connected)}}, "", prometheus::MetricType::Gauge);
    const auto cc = venue_.connection_counters();
    const auto d = [](std::uint64_t x) { return static_cast<double>(x); };
    counter("trading_fix_connections_total", "FIX connections accepted or refused",
            {{"accepted", d(cc.accepted)}, {"refused", d(cc.refused)}}, "result");
    counter("trading_fix_disconnects_total", "FIX connections the venue closed, by reason",
            {{"logon_timeout", d(cc.logon_timeouts)},
             {"oversize_message", d(cc.oversize)},
             {"outbound_overflow", d(cc.overflow_disconnects)}},
            "reason");
    counter("trading_fix_messages_sent_total", "FIX messages the sessions sent",
            {{"", d(cc.messages_sent)}});
    counter("trading_fix_socket_writes_total",
            "send() calls on FIX connections (a batch's replies to one connection share one)",
            {{"", d(cc.socket_writes)}});
    add_business_figures(out);
    const auto stalled = venue_.stalled_for(core::monotonic_now_ns());
    counter("trading_engine_stalled_seconds",
            "How long the engine has been unable to make progress (0: it is not)",
            {{"", stalled ? static_cast<double>(*stalled) / 1e9 : 0.0}}, "",
            prometheus::MetricType::Gauge);
    return out;
  }

 private:
  // Finance figures: volume, notional, market data, rejects by reason, the order-to-ack
  // histogram, and per account position, P&L, exposure against its limits, VaR, kill switches.
  void add_business_figures(std::vector<prometheus::MetricFamily>& out) const {
    using prometheus::MetricType;
    const auto f = venue_.figures();
    const auto family = [](std::string name, std::string help, MetricType type) {
      prometheus::MetricFamily m;
      m.name = std::move(name);
      m.help = std::move(help);
      m.type = type;
      return m;
    };
    const auto sample = [](prometheus::MetricFamily& m,
                           std::vector<prometheus::ClientMetric::Label> labels, double value) {
      prometheus::ClientMetric c;
      c.label = std::move(labels);
      if (m.type == MetricType::Counter) {
        c.counter.value = value;
      } else {
        c.gauge.value = value;
      }
      m.metric.push_back(std::move(c));
    };
    auto volume = family("trading_traded_volume_shares_total", "Shares traded, by symbol",
                         MetricType::Counter);
    auto notional =
        family("trading_traded_notional_total",
               "Value traded (price x quantity, in the instrument's currency), by symbol",
               MetricType::Counter);
    auto trades = family("trading_symbol_trades_total", "Trades, by symbol", MetricType::Counter);
    auto md =
        family("trading_market_data_updates_total",
               "Top-of-book changes published as market data, by symbol", MetricType::Counter);
    auto last = family("trading_last_price", "Last trade price (0: none yet), by symbol",
                       MetricType::Gauge);
    auto halted = family("trading_symbol_halted", "1 while the symbol is halted (or the venue is)",
                         MetricType::Gauge);
    for (std::size_t i = 0; i < f.symbols.size(); ++i) {
      const auto& s = f.by_symbol[i];
      sample(volume, {{"symbol", f.symbols[i]}}, static_cast<double>(s.traded_qty));
      sample(notional, {{"symbol", f.symbols[i]}}, s.traded_notional);
      sample(trades, {{"symbol", f.symbols[i]}}, static_cast<double>(s.trades));
      sample(md, {{"symbol", f.symbols[i]}}, static_cast<double>(s.market_data_updates));
      sample(last, {{"symbol", f.symbols[i]}}, s.last_price_value);
      sample(halted, {{"symbol", f.symbols[i]}}, s.halted ? 1.0 : 0.0);
    }
    for (auto* m : {&volume, &notional, &trades, &md, &last, &halted}) out.push_back(std::move(*m));
    auto venue_state =
        family("trading_venue_state", "1 while the venue-wide halt or kill switch is engaged",
               MetricType::Gauge);
    sample(venue_state, {{"state", "halted"}}, f.venue_halted ? 1.0 : 0.0);
    sample(venue_state, {{"state", "killed"}}, f.venue_killed ? 1.0 : 0.0);
    out.push_back(std::move(venue_state));

    auto rejects = family("trading_order_rejects_total",
                          "Orders, cancels and replaces rejected, by reason (engine reject codes; "
                          "gateway_validation: refused before the engine)",
                          MetricType::Counter);
    for (std::size_t code = 1; code < f.rejects.size(); ++code) {
      sample(
          rejects,
          {{"reason", std::string(VenueAnalytics::reject_reason(static_cast<RejectCode>(code)))}},
          static_cast<double>(f.rejects[code]));
    }
    sample(rejects, {{"reason", "gateway_validation"}},
           static_cast<double>(venue_.counters().gateway_rejects.load(std::memory_order_relaxed)));
    out.push_back(std::move(rejects));

    const auto& c = venue_.counters();
    auto ack =
        family("trading_order_ack_seconds",
               "Time from a request read to its reply sent (the 50 ms SLA; resends excluded)",
               MetricType::Histogram);
    prometheus::ClientMetric h;
    for (std::size_t i = 0; i < c.ack_buckets.size(); ++i) {
      h.histogram.bucket.push_back(
          {c.acks_at_or_below(i),
           static_cast<double>(trading::app::VenueCounters::kAckBucketsNs[i]) / 1e9});
    }
    const auto count = c.ack_count.load(std::memory_order_relaxed);
    h.histogram.bucket.push_back({count, std::numeric_limits<double>::infinity()});
    h.histogram.sample_count = count;
    h.histogram.sample_sum =
        static_cast<double>(c.ack_sum_ns.load(std::memory_order_relaxed)) / 1e9;
    ack.metric.push_back(std::move(h));
    out.push_back(std::move(ack));

    auto position = family("trading_account_position_shares",
                           "Net position (short < 0), by account and symbol", MetricType::Gauge);
    auto realised = family("trading_account_realised_pnl",
                           "Realised P&L (average cost), by account", MetricType::Gauge);
    auto unrealised = family("trading_account_unrealised_pnl",
                             "Mark-to-market P&L of open positions at the last trade price, by "
                             "account",
                             MetricType::Gauge);
    auto gross =
        family("trading_account_gross_market_value",
               "Sum of |position x last price| over symbols, by account", MetricType::Gauge);
    auto exposure = family("trading_account_open_order_exposure",
                           "Open orders' value (leaves x price) the credit limit applies to",
                           MetricType::Gauge);
    auto credit = family("trading_account_credit_limit",
                         "The account's credit limit on open order exposure (absent: none)",
                         MetricType::Gauge);
    auto largest = family("trading_account_largest_position_shares",
                          "The account's largest |position| over symbols", MetricType::Gauge);
    auto position_limit =
        family("trading_account_position_limit_shares",
               "The account's position limit per symbol (absent: none)", MetricType::Gauge);
    auto var = family("trading_account_value_at_risk",
                      "One-day 99 % parametric VaR of the account's positions (absent until the "
                      "volatility window holds 30 returns)",
                      MetricType::Gauge);
    auto killed = family("trading_account_kill_switch",
                         "1 while the account's kill switch is engaged", MetricType::Gauge);
    for (const auto& a : f.accounts) {
      for (std::size_t i = 0; i < a.positions.size(); ++i) {
        sample(position, {{"account", a.name}, {"symbol", f.symbols[i]}},
               static_cast<double>(a.positions[i].position));
      }
      sample(realised, {{"account", a.name}}, a.realised_pnl);
      sample(unrealised, {{"account", a.name}}, a.unrealised_pnl);
      sample(gross, {{"account", a.name}}, a.gross_market_value);
      sample(exposure, {{"account", a.name}}, a.open_order_exposure);
      if (a.credit_limit > 0) sample(credit, {{"account", a.name}}, a.credit_limit);
      sample(largest, {{"account", a.name}}, static_cast<double>(a.largest_position));
      if (a.position_limit > 0) {
        sample(position_limit, {{"account", a.name}}, static_cast<double>(a.position_limit));
      }
      if (a.value_at_risk) sample(var, {{"account", a.name}}, *a.value_at_risk);
      sample(killed, {{"account", a.name}}, a.killed ? 1.0 : 0.0);
    }
    for (auto* m : {&position, &realised, &unrealised, &gross, &exposure, &credit, &largest,
                    &position_limit, &var, &killed}) {
      out.push_back(std::move(*m));
    }
  }

  const Venue& venue_;
  double fault_matching_ = 0, fault_reply_delay_ms_ = 0;
};

constexpr const char* kJournalUsage =
    "usage: trading-engine journal compat DIR\n"
    "       trading-engine journal verify DIR [--public-key HEX | --signing-key FILE]\n";

// `trading-engine journal verify DIR`: the hash chain, the segments' anchors and the signed
// checkpoints (verify.hpp). One JSON line; exit 0 intact, 1 not (the first problem named, with
// the first record concerned), 2 usage. The key checkpoints must carry: --public-key (hex), or
// the public half of --signing-key (the venue's seed file).
int journal_verify(int argc, char** argv) {
  if (argc < 4) {
    std::fputs(kJournalUsage, stderr);
    return 2;
  }
  const std::string directory = argv[3];
  trading::journal::VerifyOptions options;
  for (int i = 4; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (i + 1 >= argc || (flag != "--public-key" && flag != "--signing-key")) {
      std::fputs(kJournalUsage, stderr);
      return 2;
    }
    const std::string value = argv[++i];
    if (flag == "--public-key") {
      if (!trading::journal::is_public_key_hex(value)) {
        std::fprintf(stderr,
                     "trading-engine: --public-key must be an Ed25519 public key in hex "
                     "(64 hex digits)\n");
        return 2;
      }
      options.trusted_public_key = value;
      continue;
    }
    if (!std::filesystem::exists(value)) {
      std::fprintf(stderr, "trading-engine: --signing-key %s does not exist\n", value.c_str());
      return 2;
    }
    auto seed = guardrails::evidence::load_or_create_seed(value);
    auto key = seed ? guardrails::evidence::public_key_of(*seed) : core::Result<std::string>(seed);
    if (!key) {
      std::fprintf(stderr, "trading-engine: %s\n", key.error().message.c_str());
      return 2;
    }
    options.trusted_public_key = *key;
  }
  if (!std::filesystem::is_directory(directory)) {
    std::fprintf(stderr, "trading-engine: %s is not a directory\n", directory.c_str());
    return 2;
  }
  const auto report = trading::journal::verify_journal(directory, options);
  std::printf("%s\n", trading::journal::to_json(report).c_str());
  return report.ok ? 0 : 1;
}

// `trading-engine journal compat DIR`: can this build read (recover or follow) the journal in
// DIR? One JSON line; exit 0 yes, 1 no (the reason in "problem"), 2 usage. Reads the segment
// headers only: a deployment's pre-flight (guardctl deploy --compat-cmd) runs it with the new
// build against the running venue's journal.
int journal_command(int argc, char** argv) {
  if (argc >= 3 && std::string_view(argv[2]) == "verify") return journal_verify(argc, argv);
  if (argc != 4 || std::string_view(argv[2]) != "compat") {
    std::fputs(kJournalUsage, stderr);
    return 2;
  }
  const std::string directory = argv[3];
  if (!std::filesystem::is_directory(directory)) {
    std::fprintf(stderr, "trading-engine: %s is not a directory\n", directory.c_str());
    return 2;
  }
  const auto compat = trading::journal::check_compatibility(directory);
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& [name, version] : compat.segments) {
    segments.push_back({{"segment", name}, {"format_version", version}});
  }
  std::printf("%s\n", nlohmann::json{{"directory", directory},
                                     {"compatible", compat.problem.empty()},
                                     {"reads_versions",
                                      {trading::journal::kOldestReadableFormatVersion,
                                       trading::journal::kFormatVersion}},
                                     {"segments", segments},
                                     {"problem", compat.problem}}
                          .dump()
                          .c_str());
  return compat.problem.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "journal") return journal_command(argc, argv);
  if (argc >= 2 && std::string_view(argv[1]) == "admin") {
    return trading::app::admin_command(argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "report") {
    return trading::app::report_command(argc, argv);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "archive") {
    return trading::app::archive_command(argc, argv);
  }
  http::block_shutdown_signals();  // before any thread: SIGTERM is only ever taken by sigwait
  const config::Schema schema = make_schema();
  const config::Values values = config::load_or_exit(schema, argc, argv);
  logging::Level level{};
  logging::parse_level(values.get_string("log.level"), level);
  logging::set_level(level);

  auto venue_config = values.get_string("venue.file").empty()
                          ? core::Result<trading::app::VenueConfig>(trading::app::demo_venue())
                          : trading::app::load_venue(values.get_string("venue.file"));
  if (!venue_config) {
    std::fprintf(stderr, "trading-engine: %s\n", venue_config.error().message.c_str());
    return 2;
  }
  venue_config->gateway.expected_orders =
      static_cast<std::size_t>(values.get_int("engine.expected_orders"));
  venue_config->engine.expected_orders = venue_config->gateway.expected_orders;
  auto sync = trading::journal::parse_sync_policy(values.get_string("journal.sync"));
  auto gconfig = guardrails::guardrail_config_from(values);
  if (!gconfig) {
    std::fprintf(stderr, "trading-engine: %s\n", gconfig.error().message.c_str());
    return 2;
  }
  const bool started_standby = values.get_string("venue.role") == "standby";
  if (started_standby) {
    // A standby has no order flow to judge before it takes over: what gates its promotion is
    // whether it computes the primary's book (its digests agree); the order latency is watched
    // after promotion, once it has the traffic.
    for (auto& slo : gconfig->evaluator.slos) slo.gates_promotion = false;
    guardrails::slo::SloSpec digest;
    digest.name = trading::app::kDigestSlo;
    digest.kind = guardrails::slo::SloKind::kRatio;
    digest.metric = trading::app::kDigestMetric;
    digest.min_good_ratio = 0.999;  // one disagreement is a breach
    digest.window_count = 1000;
    digest.min_samples = static_cast<std::uint64_t>(values.get_int("standby.digest_min_checks"));
    digest.gates_promotion = true;
    gconfig->evaluator.slos.push_back(std::move(digest));
  }
  auto created = guardrails::Guardrail::create(std::move(*gconfig));
  if (!created) {
    std::fprintf(stderr, "trading-engine: %s\n", created.error().message.c_str());
    return 2;
  }
  guardrails::Guardrail& guardrail = **created;

  trading::app::VenueOptions options;
  options.threading = values.get_string("engine.threading") == "inline"
                          ? trading::app::Threading::kInline
                          : trading::app::Threading::kEngineThread;
  options.spin_ns = values.get_int("engine.spin_us") * 1000;
  options.journal_directory = values.get_string("journal.directory");
  options.sync = *sync;
  options.snapshot_every = static_cast<std::uint64_t>(values.get_int("journal.snapshot_every"));
  options.fix.port = static_cast<int>(values.get_int("fix.port"));
  options.fix.dictionary_path = values.get_string("fix.dictionary");
  if (options.fix.dictionary_path.empty()) {
    options.fix.dictionary_path = config::installed_data_file(kDictionaryFile);
  }
  options.fix.store_directory = values.get_string("fix.store_directory");
  options.fix.store_kind = values.get_string("fix.store");
  options.fix.log_directory = values.get_string("fix.log_directory");
  options.fix.reset_on_logon = values.get_bool("fix.reset_on_logon");
  options.fix.max_in_flight = static_cast<std::size_t>(values.get_int("fix.max_in_flight"));
  options.fix.tls_certificate = values.get_string("fix.tls_certificate");
  options.fix.tls_private_key = values.get_string("fix.tls_private_key");
  options.fix.max_outbound_bytes =
      static_cast<std::size_t>(values.get_int("fix.max_outbound_bytes"));
  options.fix.logon_timeout_ms = static_cast<int>(values.get_int("fix.logon_timeout_ms"));
  options.fix.max_connections = static_cast<std::size_t>(values.get_int("fix.max_connections"));
  options.fix.socket_send_buffer =
      static_cast<std::size_t>(values.get_int("fix.socket_send_buffer"));
  options.fix.spin_us = static_cast<int>(values.get_int("fix.spin_us"));
  options.fix.on_event = [](const std::string& client, const std::string& what) {
    logging::warn("fix", what, {{"session", client.empty() ? "(not logged on)" : client}});
  };
  options.stall_after = values.get_int("engine.stall_ms") * 1'000'000;
  options.standby = started_standby;
  options.digest_interval = values.get_int("journal.digest_interval_ms") * 1'000'000;
  options.fault_alter_matching = values.get_bool("fault.matching");
  options.fault_reply_delay = values.get_int("fault.reply_delay_ms") * 1'000'000;
  options.fault_crash_at = values.get_string("fault.crash_at");
  options.fault_miss_execution = static_cast<std::uint64_t>(values.get_int("fault.miss_execution"));
  options.log_orders = values.get_bool("log.orders");
  options.checkpoint_interval = values.get_int("journal.checkpoint_interval_ms") * 1'000'000;
  if (const std::string key_path = values.get_string("journal.signing_key"); !key_path.empty()) {
    auto seed = guardrails::evidence::load_or_create_seed(key_path);
    if (!seed) {
      std::fprintf(stderr, "trading-engine: journal.signing_key: %s\n",
                   seed.error().message.c_str());
      return 2;
    }
    options.journal_signing_seed = *seed;
  } else if (!started_standby) {
    logging::warn("trading-engine",
                  "journal.signing_key is not set: the journal's hash chain has no signed "
                  "checkpoints, so a rewrite that recomputes it would pass `journal verify`");
  }
  const std::string evidence_id = values.get_string("deploy.evidence_id");
  if (evidence_id.size() > 40 || evidence_id.find_first_of(";|\n") != std::string::npos) {
    std::fprintf(stderr,
                 "trading-engine: deploy.evidence_id must be at most 40 characters, without "
                 "';', '|' or a line break\n");
    return 2;
  }
  {
    // Which build and configuration write the journal from here (the venue file's bytes are
    // part of the configuration): the start record's annotation.
    std::string configuration = values.canonical_text();
    if (const std::string file = values.get_string("venue.file"); !file.empty()) {
      std::ifstream in(file, std::ios::binary);
      configuration += "venue.file bytes:\n";
      configuration.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    options.start_annotation =
        fmt::format("build={}+{};config={};evidence={}", core::build_info::kVersion,
                    std::string(core::build_info::kGitSha).substr(0, 12),
                    guardrails::evidence::sha256_hex(configuration).substr(0, 32), evidence_id);
  }
  if (options.fault_alter_matching || options.fault_reply_delay > 0 ||
      !options.fault_crash_at.empty() || options.fault_miss_execution > 0) {
    logging::warn("trading-engine", "FAULT INJECTION is on: this venue is broken on purpose",
                  {{"fault.matching", options.fault_alter_matching},
                   {"fault.reply_delay_ms", options.fault_reply_delay / 1'000'000},
                   {"fault.crash_at", options.fault_crash_at}});
  }
  if (options.fix.tls_certificate.empty() != options.fix.tls_private_key.empty()) {
    std::fprintf(stderr,
                 "trading-engine: fix.tls_certificate and fix.tls_private_key go together\n");
    return 2;
  }
  if (!std::filesystem::exists(options.fix.dictionary_path)) {
    std::fprintf(stderr, "trading-engine: fix.dictionary: %s does not exist\n",
                 options.fix.dictionary_path.c_str());
    return 2;
  }
  if (!options.fix.store_directory.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.fix.store_directory, ec);
  }

  const auto expected_orders = values.get_int("engine.expected_orders");
  std::unique_ptr<Venue> built;
  try {
    built = std::make_unique<Venue>(std::move(*venue_config), options, &guardrail);
  } catch (const std::bad_alloc&) {
    // The tables sized for the day are taken here: too many for this machine is a setting to
    // lower, not a crash.
    std::fprintf(stderr,
                 "trading-engine: cannot allocate the tables for engine.expected_orders=%lld "
                 "(the gateway's take ~32 bytes per order, each book reserves ~114): lower it\n",
                 static_cast<long long>(expected_orders));
    return 2;
  }
  Venue& venue = *built;
  logging::info("trading-engine", "recovering from the journal",
                {{"directory", options.journal_directory}});
  auto report = venue.recover([](const trading::journal::RecoveryProgress& p) {
    logging::info(
        "trading-engine", "replaying",
        {{"records", p.records}, {"bytes_read", p.bytes_read}, {"bytes_total", p.bytes_total}});
  });
  if (!report) {
    logging::error("trading-engine", "recovery failed", {{"error", report.error().message}});
    return 1;
  }
  if (report->torn_tail) {
    logging::warn("trading-engine", "torn journal tail cut",
                  {{"segment", report->torn_segment},
                   {"bytes", report->torn_tail->bytes},
                   {"reason", report->torn_tail->reason}});
  }
  logging::info("trading-engine", "recovered",
                {{"records_replayed", report->records_replayed},
                 {"snapshot", report->snapshot_path},
                 {"next_sequence", report->next_sequence},
                 {"elapsed_ms", report->elapsed_ns / 1'000'000}});

  const std::string admin_log =
      values.get_string("admin.log").empty()
          ? options.journal_directory + "/" + trading::app::kAdminLogFileName
          : values.get_string("admin.log");
  if (!values.get_string("admin.token").empty()) {
    logging::warn("trading-engine",
                  "admin.token (break-glass) is set: every use of it is recorded in the admin log "
                  "and reported as an exception; give people named tokens "
                  "(trading-engine admin user add)");
  }

  http::Router router;
  std::atomic<const http::Server*> server_ptr{nullptr};
  http::mount_probe_routes(
      router,
      [&venue, &server_ptr]() -> std::string {
        const auto* s = server_ptr.load();
        if (s != nullptr && s->draining()) return "draining";
        if (const auto standby = venue.standby_status(); standby.standby) {
          if (!standby.error.empty()) return "standby stopped following: " + standby.error;
          return fmt::format(
              "standby: following the journal, applied through sequence {}{}; {} digest checks, "
              "{}",
              standby.applied_sequence, standby.caught_up ? " (caught up)" : " (catching up)",
              standby.digest_checks,
              standby.first_mismatch_sequence == 0
                  ? std::string("all equal")
                  : fmt::format("DIFFERENT from the primary's from sequence {}",
                                standby.first_mismatch_sequence));
        }
        if (!venue.ready()) return "FIX acceptor not running";
        if (const auto stalled = venue.stalled_for(core::monotonic_now_ns())) {
          return fmt::format("engine stalled for {} ms", *stalled / 1'000'000);
        }
        return "";
      },
      {{"journal", [&venue] {
          if (const auto standby = venue.standby_status(); standby.standby) {
            return std::make_pair(standby.error.empty(),
                                  standby.error.empty()
                                      ? "following, applied through sequence " +
                                            std::to_string(standby.applied_sequence)
                                      : standby.error);
          }
          return std::make_pair(venue.ready(),
                                std::string(venue.ready() ? "replayed, appending" : "not running"));
        }}});
  guardrails::mount_guardrail_routes(router, guardrail);
  trading::app::mount_status_page(router, venue, guardrail);
  guardrails::mount_metrics_route(router,
                                  {std::make_shared<guardrails::GuardrailCollectable>(guardrail),
                                   std::make_shared<VenueCollectable>(venue, options)});
  auto admin = trading::app::AdminControls::open(
      admin_log, values.get_string("admin.token"),
      values.get_int("admin.proposal_ttl_s") * core::kNanosPerSecond);
  if (!admin) {
    logging::error("trading-engine", "cannot open the admin log",
                   {{"error", admin.error().message}});
    return 2;
  }
  trading::app::mount_admin_routes(router, venue, **admin, [&values, &venue] {
    if (const auto file = values.get_string("fix.port_file"); !file.empty()) {
      (void)http::write_port_file(file, static_cast<std::uint16_t>(venue.fix_port()));
    }
  });

  http::Server server(http::server_options_from(values), std::move(router));
  server_ptr = &server;
  // The books' and indexes' memory reserved for the day is made resident by a background thread
  // (core/huge_pages.hpp); it is done before the first order, which would otherwise wait for it.
  const auto populating = std::chrono::steady_clock::now();
  core::wait_populated();
  logging::info("trading-engine", "order tables resident",
                {{"waited_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - populating)
                                   .count()}});
  guardrail.start();
  if (auto started = venue.start(); !started) {
    logging::error("trading-engine", "cannot start the FIX acceptor",
                   {{"error", started.error().message}});
    guardrail.stop();
    return 2;
  }
  if (const auto file = values.get_string("fix.port_file");
      !file.empty() && !options.standby &&
      !http::write_port_file(file, static_cast<std::uint16_t>(venue.fix_port()))) {
    std::fprintf(stderr, "trading-engine: cannot write fix.port_file %s\n", file.c_str());
    venue.stop(0);
    guardrail.stop();
    return 2;
  }
  if (auto started = server.start(); !started) {
    std::fprintf(stderr, "trading-engine: %s\n", started.error().message.c_str());
    venue.stop(0);
    guardrail.stop();
    return 2;
  }
  logging::info("trading-engine", "trading",
                {{"fix_port", venue.fix_port()}, {"http_port", server.port()}});

  const int sig = http::wait_for_shutdown_signal();
  logging::info("trading-engine", "shutting down", {{"signal", sig}});
  const auto grace = std::chrono::milliseconds(values.get_int("shutdown.grace_ms"));
  venue.stop(static_cast<int>(std::max<std::int64_t>(1, grace.count() / 1000)));
  server.stop(grace);
  guardrail.stop();
  logging::info("trading-engine", "stopped");
  return 0;
}
