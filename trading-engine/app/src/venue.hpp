// Venue: the running trading venue. The matching engine, the gateway and the journal writer have
// one writer at a time, which applies work in batches: it journals and applies a batch, commits
// the journal once for it (group commit), and only then sends the execution reports: nothing is
// acknowledged before it is journaled. Who the writer is (Threading): by default each FIX
// connection's own thread, under the engine lock, for the requests of one socket read (no
// hand-off between threads); or one engine thread that takes everything queued at once from the
// session threads and the admin API.
//
// Roles. A primary holds the journal's leadership (journal::Leadership: a lock and a fencing
// epoch its writer checks) and takes orders. A standby follows the primary's journal with its own
// engine on a follower thread, keeps FIX closed, and compares its state digest with the one the
// primary journals at intervals (JournalMarker). hand_over() turns a primary into a standby of
// its successor (stop taking requests, finish those in flight, log the sessions out, seal the
// journal); take_over() turns a standby into the primary once the leadership is free (reach the
// seal, raise the epoch, open FIX on the shared session stores): a blue/green cutover in both
// directions with no order lost, no fill doubled and no sequence number reset.
// Thread-safety: on_request/on_session (QuickFIX threads), the admin calls, hand_over/take_over
// and the counters may be used from any thread; start/stop from the owner.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "guardrails/status/guardrail.hpp"
#include "trading/domain/matching_engine.hpp"
#include "trading/domain/order_book.hpp"
#include "trading/domain/reconciliation.hpp"
#include "trading/domain/venue_analytics.hpp"
#include "trading/fix/acceptor.hpp"
#include "trading/gateway/gateway.hpp"
#include "trading/journal/checkpoint.hpp"
#include "trading/journal/follower.hpp"
#include "trading/journal/leadership.hpp"
#include "trading/journal/recovery.hpp"
#include "trading/journal/writer.hpp"
#include "venue_config.hpp"

namespace trading::app {

inline constexpr guardrails::MetricId kRejectMetric = 2;  // 1 per rejected order, 0 otherwise
// A standby's digest comparisons: 1 when its state equals the primary's journaled digest, 0 not.
inline constexpr guardrails::MetricId kDigestMetric = 3;
inline constexpr const char* kDigestSlo = "standby_digest";

// How requests reach the engine (chosen by measurement, benchmarks/README.md):
// kEngineThread - one engine thread fed by a queue; a batch is whatever was queued;
// kInline - the FIX session's own thread runs the engine under a lock (no hand-off); a batch is
// the requests of one socket read.
enum class Threading : std::uint8_t { kEngineThread, kInline };

struct VenueOptions {
  Threading threading = Threading::kInline;
  core::Nanos spin_ns = 50'000;  // engine thread: busy-wait this long before sleeping
  std::string journal_directory = "data/journal";
  journal::SyncPolicy sync = journal::SyncPolicy::kWrite;
  std::uint64_t snapshot_every = 1'000'000;  // commands between snapshots (0: never)
  // Work waiting this long, or one batch running this long, makes the venue not ready.
  core::Nanos stall_after = 2 * core::kNanosPerSecond;
  core::Nanos tick_interval = core::kNanosPerSecond;
  fix::AcceptorSettings fix;
  // A standby follows the primary's journal in journal_directory (JournalFollower) and applies
  // every command to its own engine and gateway; it writes nothing and keeps its FIX acceptor
  // closed. Polls the journal every follow_interval when it has caught up.
  bool standby = false;
  core::Nanos follow_interval = core::kNanosPerMilli;
  // Primary: journal a state digest marker this often (0: only at a leadership change and a seal),
  // and no sooner than 1000 times what the last one took (a deep book's digest is spaced out).
  core::Nanos digest_interval = core::kNanosPerSecond;
  // Primary: sign a checkpoint of the journal's hash chain (checkpoint.hpp) this often, at
  // shutdown and at a handover, with this Ed25519 seed (hex; empty: no checkpoints).
  std::string journal_signing_seed;
  core::Nanos checkpoint_interval = 10 * core::kNanosPerSecond;
  // The start marker's annotation (change management): build=..;config=..;evidence=..
  std::string start_annotation;
  // Fault injection for deployment drills (off by default; main logs them as a warning):
  // fault_alter_matching - new orders reach this engine one lot larger than journaled (a build
  //                        that computes another book: its standby digest disagrees);
  // fault_reply_delay    - every batch's replies wait this long (a release that got slow).
  bool fault_alter_matching = false;
  core::Nanos fault_reply_delay = 0;
  // fault_miss_execution - the live ledger skips the Nth trade (1-based; 0: never), so
  //                        reconciliation has a break to name (tests of the control).
  std::uint64_t fault_miss_execution = 0;
  // Crash tests of the cutover: the process ends at once (like kill -9) at this step of a handover
  // ("handover:held", "handover:logged_out", "handover:sealed") or a takeover
  // ("takeover:leader", "takeover:writer"); empty: never.
  std::string fault_crash_at;
  // One JSON log line per order request (new, cancel, replace) with its ClOrdID and a trace id
  // derived from SenderCompID|ClOrdID (logging::derived_trace_id), on the engine thread after
  // the batch's replies: joins a FIX order with the logs of the systems that see it. Off by
  // default (a log line costs microseconds on the order path).
  bool log_orders = false;
};

// Where a standby is (any thread).
struct StandbyStatus {
  bool standby = false;
  std::uint64_t applied_sequence = 0;  // the last command applied
  core::Nanos applied_timestamp = 0;   // its time (the primary's engine time)
  bool caught_up = false;              // the last look found nothing more written
  std::string error;                   // following stopped: why
  // Digest comparisons with the primary's markers (see kDigestMetric).
  std::uint64_t digest_checks = 0, digest_mismatches = 0;
  std::uint64_t first_mismatch_sequence = 0;  // 0: none
  std::uint64_t sealed_sequence = 0;          // the last seal applied, 0: none
  std::uint64_t primary_epoch = 0;            // of the last marker applied
};

// Counters for /metrics (relaxed atomics, written by the engine thread).
struct VenueCounters {
  std::atomic<std::uint64_t> orders_accepted{0}, orders_rejected{0}, cancels{0}, replaces{0};
  std::atomic<std::uint64_t> gateway_rejects{0}, trades{0}, halts{0}, requests{0};
  std::atomic<std::uint64_t> limit_orders{0}, market_orders{0};  // new orders to the engine
  std::atomic<std::uint64_t> journal_bytes{0}, journal_syncs{0}, journal_sync_ns{0};
  std::atomic<std::uint64_t> queue_depth{0}, batches{0}, send_failures{0};
  std::atomic<std::uint64_t> resent_requests{0};  // PossDupFlag=Y (a client's resend)
  // Order-to-ack time (request read to reply sent, resends excluded): one counter per bucket
  // (an observation touches one), cumulated when read.
  static constexpr std::array<core::Nanos, 14> kAckBucketsNs = {
      100'000,    250'000,    500'000,     1'000'000,   2'500'000,   5'000'000,     10'000'000,
      25'000'000, 50'000'000, 100'000'000, 250'000'000, 500'000'000, 1'000'000'000, 2'500'000'000};
  std::array<std::atomic<std::uint64_t>, kAckBucketsNs.size()> ack_buckets{};
  std::atomic<std::uint64_t> ack_count{0}, ack_sum_ns{0};
  void observe_ack(core::Nanos took);
  // Observations at or below bucket i's bound (Prometheus's cumulative "le" count).
  std::uint64_t acks_at_or_below(std::size_t i) const;
};

// The business figures of the venue at one moment (a copy, any thread): see VenueAnalytics.
struct VenueFigures {
  std::vector<std::string> symbols;
  std::vector<VenueAnalytics::SymbolFigures> by_symbol;
  std::vector<VenueAnalytics::AccountFigures> accounts;
  std::array<std::uint64_t, VenueAnalytics::kRejectCodes> rejects{};
  bool venue_halted = false, venue_killed = false;
  std::size_t var_returns = 0;
};

class Venue final : public fix::Handler, public gateway::DepthSource {
 public:
  using Engine = MatchingEngine<OrderBook>;

  Venue(VenueConfig config, VenueOptions options, guardrails::Guardrail* guardrail);
  ~Venue() override;

  // Rebuilds engine and gateway from the journal directory; call once before start().
  core::Result<journal::RecoveryReport> recover(
      const std::function<void(const journal::RecoveryProgress&)>& progress = {});
  // Starts the engine thread and the FIX acceptor (a standby: the follower thread only).
  core::Result<void> start();
  StandbyStatus standby_status() const;
  // {"role","sequence","digest"} of the engine's state now (on the thread that owns it).
  core::Result<std::string> state_json();
  // Stops taking orders, logs every session out, drains the queue, flushes the journal.
  void stop(int grace_seconds);

  // Primary → standby of its successor: stops taking requests (they are left for the clients to
  // resend), finishes those in flight, logs every session out with a Text saying to reconnect,
  // closes the session stores, journals a seal, gives up the leadership and follows the journal
  // from the seal on. JSON {"data":{"role","sealed_sequence","epoch","digest","took_ms"}}.
  core::Result<std::string> hand_over(int grace_seconds);
  // Standby → primary: waits up to `wait` for the leadership (the primary gives it up once
  // sealed), applies the journal to its end, journals its new epoch and opens FIX with the
  // sessions' stored state. `force`: a hung primary still holding the lock is fenced off by the
  // epoch instead. Refused (409) when this standby's digest ever disagreed with the primary's.
  // JSON {"data":{"role","sequence","epoch","sealed","took_ms"}}.
  core::Result<std::string> take_over(bool force, core::Nanos wait);
  bool is_standby() const { return standby_.load(std::memory_order_acquire); }

  bool ready() const { return ready_.load(); }
  // How long the engine has been unable to make progress (a batch running, or work waiting
  // untaken, for at least options.stall_after), as of monotonic `now`; nullopt when it is not.
  std::optional<core::Nanos> stalled_for(core::Nanos now) const;
  fix::ConnectionCounters connection_counters() const;
  int fix_port() const;
  const VenueCounters& counters() const { return counters_; }
  VenueFigures figures() const;
  std::vector<fix::SessionStatus> sessions() const;

  // Admin (run on the engine thread, journaled like any command). symbol/account empty: venue.
  core::Result<std::string> halt(const std::string& symbol, bool halt);
  core::Result<std::string> kill_switch(const std::string& account, bool engaged);
  // Journals a run-time change of `account`'s limits (the fields marked in `change`; its account
  // is filled in here) and answers the limits now in force; 404 unknown account, 422 refused.
  core::Result<std::string> set_limits(const std::string& account, SetAccountLimits change);
  // Reference data added at run time once a second person approved it (maker-checker):
  // add_account journals AddAccount then its limits (SetAccountLimits, the fields in `limits`)
  // and answers the new account; add_session journals AddSession and opens the FIX session for
  // `client_comp_id` (logons taken at once, its store like a configured session's). The
  // standby applies both from the journal; a restart gets them back by replay or snapshot.
  // 400 invalid name, 404 unknown account, 409 name taken or too many added, 422 bad limits.
  core::Result<std::string> add_account(const std::string& name, StpMode stp,
                                        SetAccountLimits limits);
  core::Result<std::string> add_session(const std::string& client_comp_id,
                                        const std::string& account);
  // At most this many sessions added at run time (the FIX acceptor reserves room for them).
  static constexpr std::size_t kMaxAddedSessions = 256;
  // The limits in force of every account, {"data":[{account, max_order_qty, ...}]}.
  core::Result<std::string> limits_json();
  // Replays the journal in a fresh engine up to the sequence the live venue is at and compares
  // positions, cash, executions (each exactly once) and the engine state digest with the live
  // venue's: {"data":{"ok","sequence","breaks":[...],"holdings":[...],...}}. Runs the replay on
  // the calling thread (seconds for a long journal); the engine keeps trading meanwhile.
  core::Result<std::string> reconcile();
  // The end of the trading day: Day orders expire (journaled EndOfDay), then the day is
  // reconciled; the live ledger starts a new day's executions.
  core::Result<std::string> end_of_day();
  // The account (configured and added) and symbol names, and the sessions' client CompIDs
  // (any thread).
  struct ReferenceNames {
    std::vector<std::string> accounts;
    std::vector<std::string> symbols;
    std::vector<std::string> client_comp_ids;
  };
  ReferenceNames reference_names() const;
  core::Result<std::string> book_json(const std::string& symbol, std::size_t levels);

  // fix::Handler
  void on_request(fix::Request&& request) override;
  void on_session(std::uint32_t session, bool logged_on) override;
  // kInline: handles the requests this thread's connection read (held since its on_request
  // calls), together: one journal commit and one socket write per connection for them.
  void flush_requests() override;
  // gateway::DepthSource (engine thread only)
  void depth(SymbolId symbol, Side side, std::size_t levels,
             std::vector<Level>& out) const override;

 private:
  struct SessionEvent {
    std::uint32_t session;
    bool logged_on;
  };
  using AdminTask = std::function<void()>;
  using Work = std::variant<fix::Request, SessionEvent, AdminTask>;

  void push(Work work);
  // kInline: the requests a connection thread took from one socket read, not yet handled.
  struct HeldRequests {
    Venue* venue = nullptr;
    std::vector<Work> work;
    bool arena_grown = false;  // grow_this_threads_malloc_arena() ran on this thread
  };
  static HeldRequests& held_on_this_thread();
  // Runs a read of the engine state on the thread that owns it (engine or follower thread).
  void submit_read(std::function<void()> task);
  // kInline: handles the deferred work if the engine lock is free (never waits for it).
  void drain_deferred();
  // kInline, engine lock held: moves the deferred work to the front of `batch`.
  void take_deferred(std::vector<Work>& batch);
  // Engine lock held, the connections closed (stop, hand_over): handles what is still deferred
  // (a logout queued behind its thread's requests while another thread held the lock), so that
  // it is journaled before the journal's last flush.
  void process_deferred();
  void run();
  void process(std::vector<Work>& batch);
  core::Result<void> start_primary();
  // Opens a journal segment at next_sequence under the leadership held, with a new incarnation
  // and a kLeader marker.
  core::Result<void> open_writer(std::uint64_t next_sequence, const journal::ChainLink& chain_head);
  void start_following(std::uint64_t next_sequence, const journal::ChainLink& chain_head);
  // Signs a checkpoint of everything written so far (a no-op without a signing key).
  void write_checkpoint(const char* reason, core::Nanos now);
  void stop_engine_thread();
  void stop_follower_thread();
  // Engine application with the matching fault applied (fault_alter_matching).
  void apply_to_engine(const Command& command);
  // Journals a marker with the engine's digest now.
  void write_marker(MarkerKind kind, core::Nanos now);
  void record_trades(std::uint64_t sequence, const EventBuffer& events);  // ledger_
  // 503 when not running, 409 on a standby; with role_mutex_ held, it stays true meanwhile.
  core::Result<void> takes_commands() const;
  std::optional<AccountId> account_id(const std::string& name) const;  // any thread
  std::string account_name(AccountId id) const;                        // any thread
  std::string client_comp_id(std::uint32_t session) const;             // any thread
  // Accounts and sessions the engine holds beyond what is known here (added at run time, from
  // the journal or a snapshot): to the name lists, the gateway, the analytics and, on a
  // primary, the FIX acceptor. The thread that owns the engine.
  void install_added_references();
  // The fills copied to drop copy sessions among replies_[from..], into drop_copy_ledgers_.
  void record_drop_copies(std::uint64_t sequence, std::size_t from);
  // A standby applies one record the primary journaled (and compares digests at markers).
  void apply_followed(const journal::DecodedRecord& record);
  void crash_point(const char* step) const;  // fault_crash_at
  // Copies the engine state the analytics show (exposure, kill switches, halts) and samples the
  // prices once a second (engine or follower thread).
  void publish_engine_state();
  void log_order(const fix::Request& request, bool rejected) const;  // options_.log_orders
  core::Nanos now_for_engine();
  // Journals and applies one command, collecting its replies.
  void execute(const Command& command, const std::string& annotation);
  void send(const gateway::Outbound& out);

  VenueConfig config_;
  VenueOptions options_;
  guardrails::Guardrail* guardrail_;
  Engine engine_;
  gateway::Gateway gateway_;
  std::unique_ptr<journal::Leadership> leadership_;  // declared first: outlives writer_
  std::unique_ptr<journal::JournalWriter> writer_;
  std::unique_ptr<journal::CheckpointSigner> checkpoints_;  // with writer_, when a key is given
  core::Nanos last_checkpoint_ = 0;
  // Replaced only under acceptor_mutex_ (role changes, stop), which the readers of other threads
  // (sessions(), fix_port(), /metrics) take; the engine thread uses it without the lock, since
  // it runs only while the acceptor exists.
  std::unique_ptr<fix::FixAcceptor> acceptor_;
  mutable std::mutex acceptor_mutex_;
  void set_acceptor(std::unique_ptr<fix::FixAcceptor> acceptor);

  std::mutex role_mutex_;  // one role change (or stop) at a time
  std::atomic<bool> standby_{false};

  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Work> queue_;
  bool stopping_ = false;         // the venue stops
  bool engine_stopping_ = false;  // the engine thread ends (stop, hand_over)
  bool follow_stopping_ = false;  // the follower thread ends (stop, take_over)
  std::thread engine_thread_;
  std::atomic<bool> pending_{false};
  std::mutex engine_mutex_;  // kInline: the engine's one writer at a time
  // kInline: logons/logouts waiting for the engine lock, each behind the requests its
  // connection's thread had read before it (guarded by mutex_).
  std::vector<Work> deferred_;
  std::atomic<bool> deferred_pending_{false};
  std::atomic<bool> ready_{false};
  std::atomic<core::Nanos> busy_since_ns_{0};     // a batch started (0: none running)
  std::atomic<core::Nanos> waiting_since_ns_{0};  // the queue became non-empty (0: empty)
  std::atomic<bool> running_{false};

  // Standby (options_.standby): the follower thread owns engine and gateway.
  void follow();
  std::unique_ptr<journal::JournalFollower> follower_;
  std::thread follower_thread_;
  std::vector<AdminTask> standby_tasks_;  // guarded by mutex_: run by the follower thread
  std::atomic<std::uint64_t> applied_sequence_{0};
  std::atomic<core::Nanos> applied_timestamp_{0};
  std::atomic<bool> caught_up_{false};
  mutable std::mutex follow_error_mutex_;
  std::string follow_error_;
  std::atomic<std::uint64_t> digest_checks_{0}, digest_mismatches_{0};
  std::atomic<std::uint64_t> first_mismatch_sequence_{0}, sealed_sequence_{0};
  std::atomic<std::uint64_t> primary_epoch_{0};

  // Engine thread only.
  EventBuffer events_;
  std::vector<gateway::Outbound> replies_;
  struct Completion {
    std::uint32_t session;
    core::Nanos received_ns;
    bool rejected;
    bool resent;  // PossDupFlag=Y: a client's resend after a reconnect (not in the latency SLO)
  };
  std::vector<Completion> completions_;
  core::Nanos last_engine_time_ = 0;
  core::Nanos last_tick_ = 0;
  core::Nanos last_digest_ = 0;
  // The periodic digest's least spacing: kDigestSpacingFactor times what the last one took.
  static constexpr core::Nanos kDigestSpacingFactor = 1000;
  core::Nanos digest_spacing_ = 0;
  std::uint64_t since_snapshot_ = 0;
  bool bands_ = false;
  core::Nanos last_price_sample_ = 0, last_publish_ = 0;  // monotonic
  VenueCounters counters_;
  // Fed by the thread that owns the engine; read by /metrics and the status page.
  mutable std::mutex analytics_mutex_;
  // Accounts and FIX sessions by name, configured then added at run time (by index: the FIX
  // session index); appended by the engine's owner, read by any thread.
  mutable std::mutex reference_mutex_;
  std::vector<std::pair<std::string, AccountId>> account_names_;
  std::vector<fix::SessionConfig> fix_sessions_;
  std::size_t installed_accounts_ = 0, installed_sessions_ = 0;  // the engine's owner only
  VenueAnalytics analytics_;
  // Positions, cash and executions as this process saw them (engine thread only), for
  // reconciliation against a replay of the journal. Holdings are in snapshots.
  Ledger ledger_;
  // What each drop copy session was sent (its fills), by session index (engine thread only).
  std::map<std::uint32_t, Ledger> drop_copy_ledgers_;
  bool has_drop_copies_ = false;
  std::uint64_t trades_seen_ = 0;  // fault_miss_execution counts trades here
};

}  // namespace trading::app
