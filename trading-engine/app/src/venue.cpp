#include "venue.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "guardrails/status/settings.hpp"
#include "logging/logger.hpp"
#include "logging/trace.hpp"
#include "trading/journal/snapshot.hpp"

namespace trading::app {
namespace {

// What a snapshot holds: the gateway's ClOrdIDs of the trading day (the duplicate check needs
// every one, also those journaled before the snapshot), then the engine's state (last: it
// checks that nothing follows it). Recovery drives it like an engine: commands go to the
// engine, the gateway follows through on_record.
template <typename Engine>
struct SnapshotState {
  Engine& engine;
  gateway::Gateway& gateway;
  Ledger& ledger;
  void apply(const Command& command, EventBuffer& out) { engine.apply(command, out); }
  template <typename Put>
  void save_state(Put&& put) {
    gateway.save_state(put);
    ledger.save_holdings(put);
    engine.save_state(put);
  }
  template <typename Get>
  std::string load_state(Get&& get) {
    std::string problem = gateway.load_state(get);
    if (!problem.empty()) return problem;
    if (!ledger.load_holdings(get)) return "snapshot ledger holdings truncated";
    return engine.load_state(get);
  }
};

core::Nanos wall_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// This start's number, one more than the last one kept in <directory>/incarnation; the new
// number is on disk (fsync, atomic rename) before the venue answers anyone, so ExecIDs made
// from it never repeat across restarts, crashes included.
core::Result<std::uint64_t> next_incarnation(const std::string& directory) {
  const std::string path = directory + "/incarnation";
  std::uint64_t last = 0;
  if (std::ifstream in(path); in) {
    if (!(in >> last)) return core::fail(1, path + ": not a number");
  }
  const std::uint64_t next = last + 1;
  const std::string tmp = path + ".tmp";
  const std::string text = std::to_string(next) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return core::fail(1, tmp + ": " + std::strerror(errno));
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return core::fail(1, path + ": " + std::strerror(errno));
  }
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return next;
}

AnalyticsConfig analytics_config(const VenueConfig& venue) {
  AnalyticsConfig c;
  for (const auto& i : venue.engine.instruments) c.symbols.push_back(i.symbol);
  for (const auto& s : venue.gateway.symbols) c.price_decimals.push_back(s.price_decimals);
  c.accounts = venue.engine.accounts;
  c.position_limits = venue.position_limits;
  return c;
}

}  // namespace

void VenueCounters::observe_ack(core::Nanos took) {
  std::size_t i = 0;
  while (i < kAckBucketsNs.size() && took > kAckBucketsNs[i]) ++i;
  if (i < kAckBucketsNs.size()) ack_buckets[i].fetch_add(1, std::memory_order_relaxed);
  ack_count.fetch_add(1, std::memory_order_relaxed);
  ack_sum_ns.fetch_add(static_cast<std::uint64_t>(std::max<core::Nanos>(took, 0)),
                       std::memory_order_relaxed);
}

std::uint64_t VenueCounters::acks_at_or_below(std::size_t i) const {
  std::uint64_t n = 0;
  for (std::size_t b = 0; b <= i && b < ack_buckets.size(); ++b) {
    n += ack_buckets[b].load(std::memory_order_relaxed);
  }
  return n;
}

Venue::Venue(VenueConfig config, VenueOptions options, guardrails::Guardrail* guardrail)
    : config_(std::move(config)),
      options_(std::move(options)),
      guardrail_(guardrail),
      engine_(config_.engine),
      gateway_(config_.gateway),
      analytics_(analytics_config(config_)) {
  for (const auto& i : config_.engine.instruments) bands_ = bands_ || i.bands.band_bps > 0;
  options_.fix.sessions = config_.sessions;
  for (const auto& session : config_.gateway.sessions) has_drop_copies_ |= session.drop_copy;
  for (const auto& a : config_.engine.accounts) account_names_.emplace_back(a.name, a.id);
  fix_sessions_ = config_.sessions;
  installed_accounts_ = config_.engine.accounts.size();
}

Venue::~Venue() { stop(0); }

core::Result<journal::RecoveryReport> Venue::recover(
    const std::function<void(const journal::RecoveryProgress&)>& progress) {
  journal::RecoveryOptions ro;
  ro.progress = progress;
  ro.progress_every = 500'000;
  ro.on_record = [this](const journal::DecodedRecord& r, const EventBuffer& events) {
    gateway_.on_applied(r.sequence, r.command, r.annotation, events, nullptr);
    record_trades(r.sequence, events);
    last_engine_time_ = std::max(last_engine_time_, r.command.timestamp);
    std::lock_guard lock(analytics_mutex_);
    analytics_.on_events(events);
  };
  // A standby never changes the primary's files (a torn tail is a record not yet written).
  ro.cut_torn_tail = !options_.standby;
  if (!options_.standby) {
    // The leadership first: a second primary on this journal is refused before it reads (its
    // recovery would cut the live primary's record being written as a torn tail).
    auto leadership = journal::Leadership::acquire(options_.journal_directory);
    if (!leadership) return core::fail(leadership.error());
    leadership_ = std::move(*leadership);
  }
  SnapshotState<Engine> state{engine_, gateway_, ledger_};
  auto report = journal::recover(state, options_.journal_directory, ro);
  if (!report) return report;
  gateway_.set_last_order_id(engine_.last_order_id());
  install_added_references();  // from the snapshot or the replayed records
  // Executions are compared from after the snapshot (before it only the holdings are known).
  ledger_.start_executions(report->snapshot_sequence.value_or(0) + 1);
  // Drop copies are compared over what this process sent them.
  for (std::uint32_t i = 0; i < config_.gateway.sessions.size(); ++i) {
    if (config_.gateway.sessions[i].drop_copy) {
      drop_copy_ledgers_[i].start_executions(report->next_sequence);
    }
  }
  {
    std::lock_guard lock(analytics_mutex_);  // limits changed at run time came back with replay
    for (const auto& a : engine_.risk().accounts()) analytics_.set_limits(a.id, a.limits);
  }
  publish_engine_state();
  if (options_.standby) {
    standby_ = true;
    follower_ = std::make_unique<journal::JournalFollower>(
        options_.journal_directory, report->next_sequence, report->chain_head);
    applied_sequence_ = report->next_sequence - 1;
    applied_timestamp_ = last_engine_time_;
    return report;
  }
  if (auto opened = open_writer(report->next_sequence, report->chain_head); !opened) {
    return core::fail(opened.error());
  }
  return report;
}

core::Result<void> Venue::open_writer(std::uint64_t next_sequence,
                                      const journal::ChainLink& chain_head) {
  auto writer = journal::JournalWriter::open(options_.journal_directory, options_.sync,
                                             next_sequence, chain_head);
  if (!writer) return core::fail(writer.error());
  writer_ = std::move(*writer);
  writer_->fence_with(leadership_.get());
  if (!options_.journal_signing_seed.empty()) {
    auto signer =
        journal::CheckpointSigner::open(options_.journal_directory, options_.journal_signing_seed,
                                        options_.sync == journal::SyncPolicy::kFsync);
    if (!signer) return core::fail(signer.error());
    checkpoints_ = std::move(*signer);
  }
  auto incarnation = next_incarnation(options_.journal_directory);
  if (!incarnation) return core::fail(incarnation.error());
  gateway_.set_incarnation(*incarnation);
  // Who appends from here, and the state it starts from (a standby checks it); then which build
  // and configuration write what follows.
  const core::Nanos now = now_for_engine();
  write_marker(MarkerKind::kLeader, now);
  writer_->append(
      Command{now, JournalMarker{MarkerKind::kStart, leadership_ ? leadership_->epoch() : 0,
                                 engine_.digest()}},
      options_.start_annotation);
  if (auto committed = writer_->commit(); !committed) return committed;
  last_checkpoint_ = core::monotonic_now_ns();
  return {};
}

void Venue::write_checkpoint(const char* reason, core::Nanos now) {
  last_checkpoint_ = now;
  if (!checkpoints_ || !writer_) return;
  const std::uint64_t through = writer_->next_sequence() - 1;
  if (through == 0 || through == checkpoints_->last_sequence()) return;  // nothing new
  // The checkpoint must never name a record that is not in the file yet.
  if (writer_->policy() == journal::SyncPolicy::kNone) {
    if (auto flushed = writer_->flush(); !flushed) return;
  }
  auto written =
      checkpoints_->append(through, writer_->chain_head(), leadership_ ? leadership_->epoch() : 0,
                           wall_clock_ns(), reason);
  if (!written) {
    logging::error("venue", "cannot write a journal checkpoint",
                   {{"error", written.error().message}, {"sequence", through}});
  }
}

core::Result<void> Venue::start() {
  if (standby_) {
    if (!follower_) return core::fail(1, "recover() must run before start()");
    running_ = true;
    start_following(follower_->next_sequence(), follower_->chain_head());
    return {};
  }
  if (!writer_) return core::fail(1, "recover() must run before start()");
  running_ = true;
  return start_primary();
}

core::Result<void> Venue::start_primary() {
  std::string error;
  {
    std::lock_guard lock(reference_mutex_);  // with the sessions added at run time
    options_.fix.sessions = fix_sessions_;
  }
  auto acceptor = fix::FixAcceptor::create(options_.fix, *this, &error);
  if (!acceptor) return core::fail(2, error);
  set_acceptor(std::move(acceptor));
  {
    std::lock_guard lock(mutex_);
    engine_stopping_ = false;
  }
  if (options_.threading == Threading::kEngineThread) {
    engine_thread_ = std::thread([this] { run(); });
  } else {
    // The ticker: what the engine thread does on its own once a tick when no work comes (the
    // price bands' time, the state digest and checkpoints on their intervals, the price samples
    // behind value at risk), here with the engine lock, as with any batch.
    engine_thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!engine_stopping_) {
        wake_.wait_for(lock, std::chrono::nanoseconds(options_.tick_interval));
        if (engine_stopping_) break;
        lock.unlock();
        {
          std::lock_guard engine_lock(engine_mutex_);
          std::vector<Work> deferred;
          take_deferred(deferred);
          process(deferred);
        }
        drain_deferred();
        lock.lock();
      }
    });
  }
  if (!acceptor_->start(&error)) {
    ready_ = false;
    acceptor_->stop(0, "venue shutting down");
    stop_engine_thread();
    set_acceptor(nullptr);
    return core::fail(2, error);
  }
  // A port chosen by the system (0) stays this venue's port when it becomes primary again.
  options_.fix.port = acceptor_->port();
  ready_ = true;
  return {};
}

void Venue::start_following(std::uint64_t next_sequence, const journal::ChainLink& chain_head) {
  if (!follower_ || follower_->next_sequence() != next_sequence) {
    follower_ = std::make_unique<journal::JournalFollower>(options_.journal_directory,
                                                           next_sequence, chain_head);
  }
  applied_sequence_.store(next_sequence - 1, std::memory_order_release);
  caught_up_.store(false, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    follow_stopping_ = false;
  }
  follower_thread_ = std::thread([this] { follow(); });
}

void Venue::stop_engine_thread() {
  {
    std::lock_guard lock(mutex_);
    engine_stopping_ = true;
  }
  wake_.notify_all();
  if (engine_thread_.joinable()) engine_thread_.join();  // drains what was queued
}

void Venue::stop_follower_thread() {
  {
    std::lock_guard lock(mutex_);
    follow_stopping_ = true;
  }
  wake_.notify_all();
  if (follower_thread_.joinable()) follower_thread_.join();
}

void Venue::stop(int grace_seconds) {
  std::lock_guard role(role_mutex_);
  ready_ = false;
  if (acceptor_) acceptor_->stop(grace_seconds, "venue shutting down");  // no new requests
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_engine_thread();
  stop_follower_thread();
  if (writer_) {
    std::lock_guard engine_lock(engine_mutex_);
    process_deferred();
    if (auto r = writer_->flush(); !r) {
      logging::error("venue", "journal flush failed at shutdown", {{"error", r.error().message}});
    } else {
      write_checkpoint("shutdown", core::monotonic_now_ns());
    }
  }
  // Everything received was handled: the session stores may keep QuickFIX's numbers.
  if (acceptor_) acceptor_->persist_sequence_numbers();
  set_acceptor(nullptr);
  running_ = false;
}

// The standby's one thread: applies what the primary journaled, runs the admin reads queued for
// it, and waits a follow_interval when it has caught up (or until stop()/take_over()).
void Venue::follow() {
  constexpr std::size_t kBatch = 4096;
  const auto apply = [this](const journal::DecodedRecord& d) { apply_followed(d); };
  bool failed = false;
  while (true) {
    std::vector<AdminTask> tasks;
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || follow_stopping_) break;
      tasks.swap(standby_tasks_);
    }
    for (auto& t : tasks) t();
    std::size_t applied = 0;
    if (!failed) {
      std::lock_guard engine_lock(engine_mutex_);
      auto r = follower_->poll(apply, kBatch);
      if (!r) {
        failed = true;
        {
          std::lock_guard lock(follow_error_mutex_);
          follow_error_ = r.error().message;
        }
        logging::error("venue", "the standby stopped following the journal",
                       {{"error", r.error().message}});
      } else {
        applied = *r;
        applied_sequence_.store(follower_->next_sequence() - 1, std::memory_order_release);
        if (applied > 0) applied_timestamp_.store(last_engine_time_, std::memory_order_release);
        caught_up_.store(applied < kBatch, std::memory_order_release);
        publish_engine_state();
      }
    }
    if (applied < kBatch) {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::nanoseconds(options_.follow_interval),
                     [this] { return stopping_ || follow_stopping_ || !standby_tasks_.empty(); });
    }
  }
  // Reads queued while it stopped run now (on this thread, which still owns the engine).
  std::vector<AdminTask> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks.swap(standby_tasks_);
  }
  for (auto& t : tasks) t();
}

void Venue::apply_to_engine(const Command& command) {
  events_.clear();
  if (options_.fault_alter_matching && std::holds_alternative<NewOrder>(command.body)) {
    Command altered = command;
    auto& o = std::get<NewOrder>(altered.body);
    if (o.symbol.value() < config_.engine.instruments.size()) {
      o.qty = Qty(o.qty.value() + config_.engine.instruments[o.symbol.value()].lot_size.value());
    }
    engine_.apply(altered, events_);
  } else {
    engine_.apply(command, events_);
  }
  std::unique_lock lock(analytics_mutex_);
  analytics_.on_events(events_);
  if (const auto* change = std::get_if<SetAccountLimits>(&command.body)) {
    if (const Account* a = engine_.risk().account(change->account)) {
      analytics_.set_limits(a->id, a->limits);  // primary, standby and replay alike
    }
  }
  if (std::holds_alternative<AddAccount>(command.body) ||
      std::holds_alternative<AddSession>(command.body)) {
    lock.unlock();
    install_added_references();  // primary and standby alike
  }
}

void Venue::log_order(const fix::Request& r, bool rejected) const {
  using Kind = fix::Request::Kind;
  if (r.kind != Kind::kNewOrder && r.kind != Kind::kCancel && r.kind != Kind::kReplace) return;
  const std::string comp_id = client_comp_id(r.session);
  const auto trace = logging::derived_trace_id(comp_id + "|" + r.cl_ord_id);
  const std::string_view kind = r.kind == Kind::kNewOrder ? "new"
                                : r.kind == Kind::kCancel ? "cancel"
                                                          : "replace";
  if (r.orig_cl_ord_id.empty()) {
    logging::info("venue", "order request",
                  {{"kind", kind},
                   {"sender_comp_id", comp_id},
                   {"cl_ord_id", r.cl_ord_id},
                   {"symbol", r.symbol},
                   {"result", rejected ? "rejected" : "accepted"},
                   {"resend", r.poss_dup},
                   {"trace_id", std::string_view(trace.data(), trace.size())}});
    return;
  }
  const auto orig = logging::derived_trace_id(comp_id + "|" + r.orig_cl_ord_id);
  logging::info("venue", "order request",
                {{"kind", kind},
                 {"sender_comp_id", comp_id},
                 {"cl_ord_id", r.cl_ord_id},
                 {"orig_cl_ord_id", r.orig_cl_ord_id},
                 {"symbol", r.symbol},
                 {"result", rejected ? "rejected" : "accepted"},
                 {"resend", r.poss_dup},
                 {"trace_id", std::string_view(trace.data(), trace.size())},
                 {"orig_trace_id", std::string_view(orig.data(), orig.size())}});
}

void Venue::publish_engine_state() {
  // Ten times a second at most: the copy is O(accounts + symbols), the engine's batches are not.
  const core::Nanos now = core::monotonic_now_ns();
  if (last_publish_ != 0 && now - last_publish_ < core::kNanosPerSecond / 10) return;
  last_publish_ = now;
  std::lock_guard lock(analytics_mutex_);
  for (const auto& a : engine_.risk().accounts()) {
    analytics_.set_account_state(a.id, engine_.exposure(a.id), engine_.account_killed(a.id));
  }
  for (std::uint32_t s = 0; s < config_.engine.instruments.size(); ++s) {
    analytics_.set_halted(SymbolId(s), engine_.halted(SymbolId(s)));
  }
  analytics_.set_venue_state(engine_.venue_halted(), engine_.venue_killed());
  if (last_price_sample_ == 0) {
    last_price_sample_ = now;
  } else if (now - last_price_sample_ >= core::kNanosPerSecond) {
    analytics_.sample_prices(static_cast<double>(now - last_price_sample_) / 1e9);
    last_price_sample_ = now;
  }
}

VenueFigures Venue::figures() const {
  VenueFigures f;
  std::lock_guard lock(analytics_mutex_);
  f.symbols = analytics_.config().symbols;
  f.by_symbol = analytics_.symbols();
  f.accounts = analytics_.accounts();
  f.rejects = analytics_.rejects();
  f.venue_halted = analytics_.venue_halted();
  f.venue_killed = analytics_.venue_killed();
  f.var_returns = analytics_.var_returns();
  return f;
}

void Venue::apply_followed(const journal::DecodedRecord& d) {
  if (const auto* marker = std::get_if<JournalMarker>(&d.command.body)) {
    const std::uint64_t mine = engine_.digest();
    const bool agree = mine == marker->digest;
    digest_checks_.fetch_add(1, std::memory_order_relaxed);
    primary_epoch_.store(marker->epoch, std::memory_order_relaxed);
    if (marker->kind == MarkerKind::kSeal) {
      sealed_sequence_.store(d.sequence, std::memory_order_release);
    }
    if (!agree) {
      digest_mismatches_.fetch_add(1, std::memory_order_relaxed);
      std::uint64_t none = 0;
      if (first_mismatch_sequence_.compare_exchange_strong(none, d.sequence)) {
        const std::string detail = fmt::format(
            "first differing sequence {} (primary's digest {:016x}, this standby's {:016x})",
            d.sequence, marker->digest, mine);
        logging::error("venue", "the standby's state differs from the primary's",
                       {{"sequence", d.sequence}, {"detail", detail}});
        if (guardrail_ != nullptr) guardrail_->set_slo_detail(kDigestSlo, detail);
      }
    }
    if (guardrail_ != nullptr) {
      guardrail_->record(kDigestMetric, agree ? 1 : 0, core::monotonic_now_ns());
    }
  } else {
    apply_to_engine(d.command);
    record_trades(d.sequence, events_);
    gateway_.on_applied(d.sequence, d.command, d.annotation, events_, nullptr);
  }
  last_engine_time_ = std::max(last_engine_time_, d.command.timestamp);
}

StandbyStatus Venue::standby_status() const {
  StandbyStatus s;
  s.standby = standby_.load(std::memory_order_acquire);
  s.applied_sequence = applied_sequence_.load(std::memory_order_acquire);
  s.applied_timestamp = applied_timestamp_.load(std::memory_order_acquire);
  s.caught_up = caught_up_.load(std::memory_order_acquire);
  s.digest_checks = digest_checks_.load(std::memory_order_relaxed);
  s.digest_mismatches = digest_mismatches_.load(std::memory_order_relaxed);
  s.first_mismatch_sequence = first_mismatch_sequence_.load(std::memory_order_relaxed);
  s.sealed_sequence = sealed_sequence_.load(std::memory_order_acquire);
  s.primary_epoch = primary_epoch_.load(std::memory_order_relaxed);
  std::lock_guard lock(follow_error_mutex_);
  s.error = follow_error_;
  return s;
}

std::vector<fix::SessionStatus> Venue::sessions() const {
  std::lock_guard lock(acceptor_mutex_);
  return acceptor_ ? acceptor_->sessions() : std::vector<fix::SessionStatus>{};
}

fix::ConnectionCounters Venue::connection_counters() const {
  std::lock_guard lock(acceptor_mutex_);
  return acceptor_ ? acceptor_->connection_counters() : fix::ConnectionCounters{};
}

int Venue::fix_port() const {
  std::lock_guard lock(acceptor_mutex_);
  return acceptor_ ? acceptor_->port() : 0;
}

void Venue::set_acceptor(std::unique_ptr<fix::FixAcceptor> acceptor) {
  std::unique_ptr<fix::FixAcceptor> old;
  {
    std::lock_guard lock(acceptor_mutex_);
    old = std::move(acceptor_);
    acceptor_ = std::move(acceptor);
  }
  // `old` is destroyed here, outside the lock (it joins QuickFIX's threads).
}

namespace {
// glibc grows a thread's malloc arena a page at a time, each step an mprotect, which waits for
// the address-space lock; the background huge-page populating holds that lock (shared) for a
// huge page's zeroing, ~5 ms on this VM: an order whose gateway state took a new page waited
// for it (perf trace: the engine thread's 4 KB mprotect calls of 2.6-7.6 ms, each beside a
// populate). Growing the arena once at start (then giving the memory back; glibc keeps the
// protection) takes those steps off the order path for the first ~60 MB of the engine's state.
void grow_this_threads_malloc_arena() {
  constexpr std::size_t kBlock = 64 * 1024;  // under the mmap threshold: from the arena
  constexpr std::size_t kBlocks = 60 * 16;   // ~60 MB, under glibc's 64 MB per arena heap
  std::vector<void*> blocks;
  blocks.reserve(kBlocks);
  for (std::size_t i = 0; i < kBlocks; ++i) blocks.push_back(std::malloc(kBlock));
  for (void* block : blocks) std::free(block);
}
}  // namespace

void Venue::push(Work work) {
  if (options_.threading == Threading::kInline) {
    // Inline: the caller's thread (a FIX session, the admin API, the ticker) runs the engine
    // under one lock; the engine state still has one writer at a time.
    {
      std::lock_guard lock(engine_mutex_);
      std::vector<Work> batch;
      take_deferred(batch);
      batch.push_back(std::move(work));
      process(batch);
    }
    drain_deferred();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) {
      waiting_since_ns_.store(core::monotonic_now_ns(), std::memory_order_release);
    }
    queue_.push_back(std::move(work));
    pending_.store(true, std::memory_order_release);
    counters_.queue_depth.store(queue_.size(), std::memory_order_relaxed);
  }
  wake_.notify_one();
}

Venue::HeldRequests& Venue::held_on_this_thread() {
  thread_local HeldRequests held;
  return held;
}

void Venue::on_request(fix::Request&& request) {
  if (options_.threading != Threading::kInline) {
    push(std::move(request));
    return;
  }
  // Inline: held until the connection's thread has delivered the rest of its read (the
  // acceptor then calls flush_requests), so that a burst costs one journal commit and one
  // socket write, not one each per order.
  HeldRequests& held = held_on_this_thread();
  if (held.venue != this) {
    // A thread reads for one acceptor, so this is only ever its first request; a venue never
    // leaves work held (see flush_requests' callers), but if one did it is handled first.
    if (held.venue != nullptr && !held.work.empty()) held.venue->flush_requests();
    held.venue = this;
  }
  held.work.emplace_back(std::move(request));
}

void Venue::flush_requests() {
  if (options_.threading != Threading::kInline) return;
  HeldRequests& held = held_on_this_thread();
  if (held.venue != this || held.work.empty()) return;
  // Taken out of `held` first: nothing that happens on this thread while the batch runs (a
  // logout moving held work to the deferred queue) can touch the batch.
  std::vector<Work> batch;
  batch.swap(held.work);
  {
    std::lock_guard lock(engine_mutex_);
    take_deferred(batch);  // queued before these: handled first
    process(batch);
  }
  batch.clear();
  if (held.work.empty()) held.work.swap(batch);  // keeps the capacity for the next read
  drain_deferred();
}

void Venue::on_session(std::uint32_t session, bool logged_on) {
  logging::info("venue", logged_on ? "session logged on" : "session logged out",
                {{"session", client_comp_id(session)}});
  if (options_.threading != Threading::kInline) {
    push(SessionEvent{session, logged_on});
    return;
  }
  // Inline: QuickFIX calls this holding the session's lock (a logout), and whoever holds the
  // engine lock may be sending to that session (engine lock, then session lock): waiting for
  // the engine lock here could deadlock. The event is queued, behind the requests this thread
  // read before it, and handled by whoever gets the engine lock.
  HeldRequests& held = held_on_this_thread();
  if (logged_on && !held.arena_grown) {
    // This thread will run the engine for its session's orders (see run()).
    grow_this_threads_malloc_arena();
    held.arena_grown = true;
  }
  {
    std::lock_guard lock(mutex_);
    if (held.venue == this) {
      for (auto& work : held.work) deferred_.push_back(std::move(work));
      held.work.clear();
    }
    deferred_.emplace_back(SessionEvent{session, logged_on});
    deferred_pending_.store(true, std::memory_order_release);
  }
  drain_deferred();
}

void Venue::take_deferred(std::vector<Work>& batch) {
  if (!deferred_pending_.load(std::memory_order_acquire)) return;
  std::lock_guard lock(mutex_);
  batch.insert(batch.begin(), std::make_move_iterator(deferred_.begin()),
               std::make_move_iterator(deferred_.end()));
  deferred_.clear();
  deferred_pending_.store(false, std::memory_order_release);
}

void Venue::process_deferred() {
  std::vector<Work> deferred;
  take_deferred(deferred);
  if (!deferred.empty()) process(deferred);
}

void Venue::drain_deferred() {
  while (deferred_pending_.load(std::memory_order_acquire)) {
    // Never wait: a holder of the engine lock drains them itself once it lets go.
    std::unique_lock engine_lock(engine_mutex_, std::try_to_lock);
    if (!engine_lock.owns_lock()) return;
    std::vector<Work> batch;
    take_deferred(batch);
    process(batch);
  }
}

void Venue::depth(SymbolId symbol, Side side, std::size_t levels, std::vector<Level>& out) const {
  engine_.book(symbol).depth(side, levels, out);
}

core::Nanos Venue::now_for_engine() {
  // Engine time never goes backwards, even if the wall clock is stepped back.
  last_engine_time_ = std::max(last_engine_time_ + 1, wall_clock_ns());
  return last_engine_time_;
}

void Venue::record_trades(std::uint64_t sequence, const EventBuffer& events) {
  for (const Event& e : events) {
    const auto* t = std::get_if<Trade>(&e);
    if (t == nullptr) continue;
    if (++trades_seen_ == options_.fault_miss_execution) continue;  // fault injection
    ledger_.on_trade(sequence, *t);
  }
}

void Venue::record_drop_copies(std::uint64_t sequence, std::size_t from) {
  const auto& sessions = gateway_.config().sessions;
  for (std::size_t i = from; i < replies_.size(); ++i) {
    const auto& out = replies_[i];
    if (out.session >= sessions.size() || !sessions[out.session].drop_copy) continue;
    const auto* er = std::get_if<fix::ExecutionReport>(&out.reply);
    if (er == nullptr || er->exec_type != 'F') continue;
    // The execution as the copy states it: its trade, account and side; quantity and price
    // from the trade it names.
    for (const Event& e : events_) {
      const auto* t = std::get_if<Trade>(&e);
      if (t == nullptr || std::to_string(t->id.value()) != er->trade_id) continue;
      if (const auto account = account_id(er->account)) {
        drop_copy_ledgers_[out.session].add({sequence, t->id, *account, t->symbol,
                                             er->side == '1' ? Side::kBuy : Side::kSell, t->qty,
                                             t->price});
      }
    }
  }
}

void Venue::execute(const Command& command, const std::string& annotation) {
  const std::uint64_t sequence = writer_->append(command, annotation);
  apply_to_engine(command);
  record_trades(sequence, events_);
  const std::size_t replies_before = replies_.size();
  gateway_.on_applied(sequence, command, annotation, events_, &replies_);
  if (has_drop_copies_) record_drop_copies(sequence, replies_before);
  ++since_snapshot_;
  for (const Event& e : events_) {
    if (std::holds_alternative<Trade>(e)) counters_.trades.fetch_add(1, std::memory_order_relaxed);
    if (std::holds_alternative<Halted>(e)) counters_.halts.fetch_add(1, std::memory_order_relaxed);
    if (std::holds_alternative<Accepted>(e)) {
      counters_.orders_accepted.fetch_add(1, std::memory_order_relaxed);
    }
    if (std::holds_alternative<Rejected>(e)) {
      counters_.orders_rejected.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Venue::send(const gateway::Outbound& out) {
  const bool sent =
      std::visit([&](const auto& m) { return acceptor_->send(out.session, m); }, out.reply);
  if (!sent) counters_.send_failures.fetch_add(1, std::memory_order_relaxed);
}

void Venue::run() {
  grow_this_threads_malloc_arena();
  std::vector<Work> batch;
  while (true) {
    // Spin briefly before sleeping: a condition-variable wake-up costs tens of microseconds,
    // more than everything the engine does for an order.
    // The first kPausePolls (~10 µs) pause and read the clock once (reading it on every poll cost
    // a sixth of the venue's CPU under load); after them each poll yields the core and the clock
    // is read every 16: on a machine with fewer cores than busy threads (the session thread, a
    // client) the spin then costs them little.
    constexpr unsigned kPausePolls = 256;
    const core::Nanos spin_until = core::monotonic_now_ns() + options_.spin_ns;
    for (unsigned polls = 1; !pending_.load(std::memory_order_acquire); ++polls) {
      const bool pausing = polls <= kPausePolls;
      if (pausing) {
        __builtin_ia32_pause();
      } else {
        std::this_thread::yield();
      }
      if (polls % (pausing ? kPausePolls : 16) == 0 && core::monotonic_now_ns() >= spin_until) {
        break;
      }
    }
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::nanoseconds(options_.tick_interval),
                     [this] { return !queue_.empty() || engine_stopping_; });
      if (queue_.empty() && engine_stopping_) break;
      batch.swap(queue_);
      waiting_since_ns_.store(0, std::memory_order_release);
      pending_.store(false, std::memory_order_relaxed);
      counters_.queue_depth.store(0, std::memory_order_relaxed);
    }
    process(batch);
    batch.clear();
  }
}

std::optional<core::Nanos> Venue::stalled_for(core::Nanos now) const {
  const core::Nanos busy = busy_since_ns_.load(std::memory_order_acquire);
  if (busy != 0 && now - busy >= options_.stall_after) return now - busy;
  const core::Nanos waiting = waiting_since_ns_.load(std::memory_order_acquire);
  if (waiting != 0 && now - waiting >= options_.stall_after) return now - waiting;
  return std::nullopt;
}

void Venue::process(std::vector<Work>& batch) {
  busy_since_ns_.store(core::monotonic_now_ns(), std::memory_order_release);
  struct NotBusy {
    std::atomic<core::Nanos>& busy;
    ~NotBusy() { busy.store(0, std::memory_order_release); }
  } not_busy{busy_since_ns_};
  {
    replies_.clear();
    completions_.clear();
    std::vector<AdminTask> admin_after_commit;
    for (auto& work : batch) {
      if (auto* r = std::get_if<fix::Request>(&work)) {
        counters_.requests.fetch_add(1, std::memory_order_relaxed);
        const std::size_t before = replies_.size();
        auto t = gateway_.translate(*r, now_for_engine(), *this, replies_);
        bool rejected = replies_.size() > before &&
                        std::holds_alternative<fix::ExecutionReport>(replies_.back().reply) &&
                        std::get<fix::ExecutionReport>(replies_.back().reply).exec_type == '8';
        if (rejected) counters_.gateway_rejects.fetch_add(1, std::memory_order_relaxed);
        if (t.command) {
          if (const auto* n = std::get_if<NewOrder>(&t.command->body)) {
            (n->type == OrderType::kMarket ? counters_.market_orders : counters_.limit_orders)
                .fetch_add(1, std::memory_order_relaxed);
          } else if (std::holds_alternative<CancelOrder>(t.command->body)) {
            counters_.cancels.fetch_add(1, std::memory_order_relaxed);
          } else if (std::holds_alternative<ReplaceOrder>(t.command->body)) {
            counters_.replaces.fetch_add(1, std::memory_order_relaxed);
          }
          execute(*t.command, t.annotation);
          rejected = rejected || (!events_.empty() && std::holds_alternative<Rejected>(events_[0]));
        }
        completions_.push_back({r->session, r->received_ns, rejected, r->poss_dup});
        if (options_.log_orders) log_order(*r, rejected);
      } else if (auto* s = std::get_if<SessionEvent>(&work)) {
        gateway_.on_session(s->session, s->logged_on);
      } else if (auto* task = std::get_if<AdminTask>(&work)) {
        admin_after_commit.push_back(std::move(*task));
      }
    }
    // Admin tasks run here, journaled with the batch.
    for (auto& task : admin_after_commit) task();
    const core::Nanos now = now_for_engine();
    if (bands_ && now - last_tick_ >= options_.tick_interval) {
      last_tick_ = now;
      execute(Command{now, Tick{}}, {});
    }
    if (options_.digest_interval > 0 &&
        now - last_digest_ >= std::max(options_.digest_interval, digest_spacing_)) {
      // The digest reads every resting order (~50 ns each in a deep book): with one it is the
      // engine's longest pause. The periodic one keeps to a tenth of a percent of the engine's
      // time: the next comes no sooner than 1000 times what this one took.
      const core::Nanos started = core::monotonic_now_ns();
      write_marker(MarkerKind::kStateDigest, now);
      digest_spacing_ = (core::monotonic_now_ns() - started) * kDigestSpacingFactor;
    }
    gateway_.publish_depth(*this, replies_);  // market data deeper than the top of book
    publish_engine_state();
    // One commit for the whole batch, then the replies: nothing is acknowledged unjournaled.
    const core::Nanos sync_start = core::monotonic_now_ns();
    if (auto committed = writer_->commit(); !committed) {
      logging::error("venue",
                     "journal commit failed: stopping (unacknowledged orders are lost "
                     "to the client, never half-applied)",
                     {{"error", committed.error().message}});
      std::fflush(stdout);
      std::_Exit(1);
    }
    if (checkpoints_ &&
        core::monotonic_now_ns() - last_checkpoint_ >= options_.checkpoint_interval) {
      write_checkpoint("interval", core::monotonic_now_ns());
    }
    const auto& st = writer_->stats();
    counters_.journal_bytes.store(st.bytes, std::memory_order_relaxed);
    counters_.journal_syncs.store(st.syncs, std::memory_order_relaxed);
    counters_.journal_sync_ns.store(static_cast<std::uint64_t>(st.total_sync_ns),
                                    std::memory_order_relaxed);
    (void)sync_start;
    counters_.batches.fetch_add(1, std::memory_order_relaxed);
    if (options_.fault_reply_delay > 0 && !batch.empty()) {
      std::this_thread::sleep_for(std::chrono::nanoseconds(options_.fault_reply_delay));
    }
    if (replies_.size() > 1) {
      // One socket write per connection for the batch's replies (the first waits for the
      // others' serialisation, at most 4 KB of them). A single reply goes straight out.
      acceptor_->begin_replies();
      struct EndReplies {
        fix::FixAcceptor& acceptor;
        ~EndReplies() { acceptor.end_replies(); }
      } end_replies{*acceptor_};
      for (const auto& out : replies_) send(out);
    } else if (!replies_.empty()) {
      send(replies_.front());
    }
    const core::Nanos sent = core::monotonic_now_ns();
    for (const auto& c : completions_) {
      acceptor_->complete(c.session);
      if (c.resent) {
        counters_.resent_requests.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters_.observe_ack(sent - c.received_ns);
      }
      if (guardrail_ != nullptr) {
        // A resend's time is the client's reconnect (after a cutover, the backlog of the
        // disconnected seconds arrives at once), not how fast this release answers: it is
        // counted (trading_resent_requests_total), not judged by the latency SLO.
        if (!c.resent) guardrail_->record(guardrails::kLatencyMetric, sent - c.received_ns, sent);
        guardrail_->record(kRejectMetric, c.rejected ? 1 : 0, sent);
      }
    }
    if (options_.snapshot_every > 0 && since_snapshot_ >= options_.snapshot_every) {
      since_snapshot_ = 0;
      const std::uint64_t through = writer_->next_sequence() - 1;
      SnapshotState<Engine> state{engine_, gateway_, ledger_};
      auto written = journal::write_snapshot(state, options_.journal_directory, through);
      if (written && writer_->rotate()) {
        logging::info("venue", "snapshot written", {{"path", *written}, {"sequence", through}});
      } else {
        logging::warn("venue", "snapshot failed; the journal alone still recovers everything");
      }
    }
  }
}

namespace {
template <typename F>
auto run_on_engine(std::function<void(std::function<void()>)> push, F f) -> decltype(f()) {
  std::promise<decltype(f())> promise;
  auto future = promise.get_future();
  push([&promise, &f] { promise.set_value(f()); });
  return future.get();
}
}  // namespace

core::Result<void> Venue::takes_commands() const {
  if (!running_) return core::fail(503, "venue not running");
  if (standby_) {
    return core::fail(409,
                      "this venue is a standby: it takes no commands (send them to the primary)");
  }
  return {};
}

std::optional<AccountId> Venue::account_id(const std::string& name) const {
  std::lock_guard lock(reference_mutex_);
  for (const auto& [known, id] : account_names_) {
    if (known == name) return id;
  }
  return std::nullopt;
}

std::string Venue::account_name(AccountId id) const {
  std::lock_guard lock(reference_mutex_);
  for (const auto& [name, known] : account_names_) {
    if (known == id) return name;
  }
  return std::to_string(id.value());
}

std::string Venue::client_comp_id(std::uint32_t session) const {
  std::lock_guard lock(reference_mutex_);
  return session < fix_sessions_.size() ? fix_sessions_[session].client_comp_id : std::string();
}

void Venue::install_added_references() {
  const auto& accounts = engine_.risk().accounts();
  const auto& sessions = engine_.added_sessions();
  const std::size_t configured_sessions = config_.sessions.size();
  if (installed_accounts_ == accounts.size() &&
      installed_sessions_ == configured_sessions + sessions.size()) {
    return;
  }
  if (installed_sessions_ < configured_sessions) installed_sessions_ = configured_sessions;
  for (; installed_accounts_ < accounts.size(); ++installed_accounts_) {
    const Account& a = accounts[installed_accounts_];
    {
      std::lock_guard lock(reference_mutex_);
      account_names_.emplace_back(a.name, a.id);
    }
    std::lock_guard lock(analytics_mutex_);
    analytics_.add_account(a);
    analytics_.set_limits(a.id, a.limits);
  }
  const std::string venue_comp_id =
      config_.sessions.empty() ? std::string("VENUE") : config_.sessions.front().venue_comp_id;
  for (; installed_sessions_ < configured_sessions + sessions.size(); ++installed_sessions_) {
    const AddSession& added = sessions[installed_sessions_ - configured_sessions];
    fix::SessionConfig session;
    session.venue_comp_id = venue_comp_id;
    session.client_comp_id = std::string(added.client_comp_id.view());
    session.account = account_name(added.account);
    gateway_.add_session(gateway::SessionAccount{session.account, added.account, false, {}});
    {
      std::lock_guard lock(reference_mutex_);
      fix_sessions_.push_back(session);
    }
    std::lock_guard lock(acceptor_mutex_);
    if (!acceptor_) continue;  // a standby or before start: the acceptor is built with it
    std::uint32_t index = 0;
    std::string error;
    if (!acceptor_->add_session(session, &index, &error) || index != installed_sessions_) {
      logging::error("venue", "cannot open the added FIX session",
                     {{"session", session.client_comp_id}, {"detail", error}});
    }
  }
}

core::Result<std::string> Venue::halt(const std::string& symbol, bool halt) {
  // Not while the role changes: a command queued before a handover must not reach a venue that
  // has become a standby (it has no journal writer).
  std::lock_guard role(role_mutex_);
  if (auto ready = takes_commands(); !ready) return core::fail(ready.error());
  std::optional<SymbolId> id;
  if (!symbol.empty()) {
    id = gateway_.symbol_id(symbol);
    if (!id) return core::fail(404, "unknown symbol " + symbol);
  }
  return run_on_engine([this](std::function<void()> t) { push(AdminTask(std::move(t))); },
                       [&]() -> core::Result<std::string> {
                         TradingHalt cmd{!id.has_value(), id.value_or(SymbolId{}), halt};
                         execute(Command{now_for_engine(), cmd}, {});
                         return fmt::format(R"({{"data":{{"scope":"{}","halted":{}}}}})",
                                            symbol.empty() ? "venue" : symbol, halt);
                       });
}

core::Result<std::string> Venue::kill_switch(const std::string& account, bool engaged) {
  // Not while the role changes: a command queued before a handover must not reach a venue that
  // has become a standby (it has no journal writer).
  std::lock_guard role(role_mutex_);
  if (auto ready = takes_commands(); !ready) return core::fail(ready.error());
  std::optional<AccountId> id;
  if (!account.empty()) {
    id = account_id(account);
    if (!id) return core::fail(404, "unknown account " + account);
  }
  return run_on_engine([this](std::function<void()> t) { push(AdminTask(std::move(t))); },
                       [&]() -> core::Result<std::string> {
                         KillSwitch cmd{!id.has_value(), id.value_or(AccountId{}), engaged};
                         execute(Command{now_for_engine(), cmd}, {});
                         std::size_t canceled = 0;
                         for (const auto& e : events_) {
                           canceled += std::holds_alternative<Canceled>(e) ? 1u : 0u;
                         }
                         return fmt::format(
                             R"({{"data":{{"scope":"{}","engaged":{},"canceled_orders":{}}}}})",
                             account.empty() ? "venue" : account, engaged, canceled);
                       });
}

namespace {

nlohmann::json limits_object(const Account& a) {
  const auto limit = [](std::int64_t v) -> nlohmann::json {
    return v == RiskLimits::kUnlimited ? nlohmann::json(nullptr) : nlohmann::json(v);
  };
  const RiskLimits& l = a.limits;
  return {{"account", a.name},
          {"max_order_qty", limit(l.max_order_qty.value())},
          {"max_order_notional", limit(l.max_order_notional)},
          {"credit_limit", limit(l.credit_limit)},
          {"price_collar_bps", l.price_collar_bps},
          {"max_messages_per_second", l.max_messages_per_second},
          {"message_burst", l.message_burst}};
}

}  // namespace

core::Result<std::string> Venue::set_limits(const std::string& account, SetAccountLimits change) {
  // Not while the role changes: a command queued before a handover must not reach a venue that
  // has become a standby (it has no journal writer).
  std::lock_guard role(role_mutex_);
  if (auto ready = takes_commands(); !ready) return core::fail(ready.error());
  const std::optional<AccountId> id = account_id(account);
  if (!id) return core::fail(404, "unknown account " + account);
  change.account = *id;
  return run_on_engine([this](std::function<void()> t) { push(AdminTask(std::move(t))); },
                       [&]() -> core::Result<std::string> {
                         execute(Command{now_for_engine(), change}, {});
                         for (const auto& e : events_) {
                           if (const auto* r = std::get_if<Rejected>(&e)) {
                             return core::fail(
                                 422, "limit change refused: " + std::string(reject_text(r->code)));
                           }
                         }
                         const Account* now = engine_.risk().account(*id);
                         return nlohmann::json{{"data", limits_object(*now)}}.dump();
                       });
}

core::Result<std::string> Venue::add_account(const std::string& name, StpMode stp,
                                             SetAccountLimits limits) {
  std::lock_guard role(role_mutex_);  // as set_limits: never reaches a venue turned standby
  if (auto ready = takes_commands(); !ready) return core::fail(ready.error());
  AddAccount add;
  add.stp = stp;
  if (!add.name.assign(name)) {
    return core::fail(400, fmt::format("an account name has 1 to {} letters, digits, '.', '_' "
                                       "or '-'",
                                       kMaxAccountNameLength));
  }
  if (account_id(name)) return core::fail(409, "account " + name + " exists");
  if (!PreTradeRisk::valid(limits)) return core::fail(422, "the new account's limits are invalid");
  return run_on_engine(
      [this](std::function<void()> t) { push(AdminTask(std::move(t))); },
      [&]() -> core::Result<std::string> {
        const auto& accounts = engine_.risk().accounts();
        add.id = AccountId(accounts.empty() ? 1u : accounts.back().id.value() + 1u);
        const core::Nanos now = now_for_engine();
        execute(Command{now, add}, {});
        for (const auto& e : events_) {
          if (const auto* r = std::get_if<Rejected>(&e)) {
            return core::fail(409, "account refused: " + std::string(reject_text(r->code)));
          }
        }
        // Its limits in the same batch: nothing can trade for it before (it has no session).
        limits.account = add.id;
        execute(Command{now, limits}, {});
        for (const auto& e : events_) {
          if (const auto* r = std::get_if<Rejected>(&e)) {
            return core::fail(422, "limits refused: " + std::string(reject_text(r->code)));
          }
        }
        nlohmann::json data = limits_object(*engine_.risk().account(add.id));
        data["id"] = add.id.value();
        data["stp"] = stp == StpMode::kCancelResting ? "cancel_resting" : "cancel_incoming";
        return nlohmann::json{{"data", data}}.dump();
      });
}

core::Result<std::string> Venue::add_session(const std::string& client_comp_id,
                                             const std::string& account) {
  std::lock_guard role(role_mutex_);
  if (auto ready = takes_commands(); !ready) return core::fail(ready.error());
  AddSession add;
  if (!add.client_comp_id.assign(client_comp_id)) {
    return core::fail(400, fmt::format("a client CompID has 1 to {} letters, digits, '.', '_' "
                                       "or '-'",
                                       kMaxCompIdLength));
  }
  const std::optional<AccountId> id = account_id(account);
  if (!id) return core::fail(404, "unknown account " + account);
  add.account = *id;
  {
    std::lock_guard lock(reference_mutex_);
    for (const auto& f : fix_sessions_) {
      if (f.client_comp_id == client_comp_id) {
        return core::fail(409, "a session for " + client_comp_id + " exists");
      }
    }
  }
  return run_on_engine(
      [this](std::function<void()> t) { push(AdminTask(std::move(t))); },
      [&]() -> core::Result<std::string> {
        if (engine_.added_sessions().size() >= kMaxAddedSessions) {
          return core::fail(409, fmt::format("{} sessions were added at run time already: add "
                                             "more to the venue file",
                                             kMaxAddedSessions));
        }
        execute(Command{now_for_engine(), add}, {});
        for (const auto& e : events_) {
          if (const auto* r = std::get_if<Rejected>(&e)) {
            return core::fail(409, "session refused: " + std::string(reject_text(r->code)));
          }
        }
        const auto index = static_cast<std::uint32_t>(gateway_.config().sessions.size() - 1);
        return nlohmann::json{{"data",
                               {{"session", client_comp_id},
                                {"venue_comp_id", fix_sessions_.back().venue_comp_id},
                                {"account", account},
                                {"index", index}}}}
            .dump();
      });
}

core::Result<std::string> Venue::reconcile() {
  if (!running_) return core::fail(503, "venue not running");
  Ledger live;
  std::map<std::uint32_t, Ledger> drop_copies;
  std::uint64_t sequence = 0, live_digest = 0;
  {
    std::lock_guard role(role_mutex_);  // not while the role changes
    auto captured = run_on_engine([this](std::function<void()> t) { submit_read(std::move(t)); },
                                  [&]() -> core::Result<std::string> {
                                    if (standby_) {
                                      sequence = follower_->next_sequence() - 1;
                                    } else {
                                      // Everything appended so far into the file: the replay must
                                      // find record `sequence`.
                                      if (auto flushed = writer_->flush(); !flushed)
                                        return core::fail(flushed.error());
                                      sequence = writer_->next_sequence() - 1;
                                    }
                                    live = ledger_;
                                    drop_copies = drop_copy_ledgers_;
                                    live_digest = engine_.digest();
                                    return std::string();
                                  });
    if (!captured) return captured;
  }
  // The record: the journal replayed in a fresh engine through the same sequence.
  const core::Nanos started = core::monotonic_now_ns();
  Engine replay(config_.engine);
  Ledger record;
  journal::RecoveryOptions ro;
  ro.use_snapshots = false;
  ro.cut_torn_tail = false;
  ro.through = sequence;
  ro.on_record = [&record](const journal::DecodedRecord& r, const EventBuffer& events) {
    record.on_events(r.sequence, events);
  };
  auto replayed = journal::recover(replay, options_.journal_directory, ro);
  if (!replayed) return core::fail(500, "cannot replay the journal: " + replayed.error().message);
  if (replayed->next_sequence - 1 != sequence) {
    return core::fail(500, fmt::format("the journal ends at sequence {}, the venue is at {}",
                                       replayed->next_sequence - 1, sequence));
  }
  record.start_executions(live.executions_from());
  const auto breaks = trading::reconcile(record, live);
  const bool digest_equal = replay.digest() == live_digest;
  const auto symbol_name = [this](SymbolId id) {
    return id.value() < config_.engine.instruments.size()
               ? config_.engine.instruments[id.value()].symbol
               : std::to_string(id.value());
  };
  const auto execution_json = [&](const Execution& x) {
    return nlohmann::json{{"sequence", x.sequence},
                          {"trade", x.trade.value()},
                          {"account", account_name(x.account)},
                          {"symbol", symbol_name(x.symbol)},
                          {"side", x.side == Side::kBuy ? "buy" : "sell"},
                          {"qty", x.qty.value()},
                          {"price", x.price.value()}};
  };
  nlohmann::json break_list = nlohmann::json::array();
  for (const auto& b : breaks) {
    nlohmann::json records = nlohmann::json::array();
    for (std::size_t i = 0; i < b.executions.size() && i < 50; ++i) {
      records.push_back(execution_json(b.executions[i]));
    }
    break_list.push_back({{"kind", b.kind},
                          {"account", account_name(b.account)},
                          {"symbol", symbol_name(b.symbol)},
                          {"journal", b.record},
                          {"venue", b.other},
                          {"records", records},
                          {"records_total", b.executions.size()}});
  }
  nlohmann::json holdings = nlohmann::json::array();
  for (const auto& [key, h] : record.holdings()) {
    holdings.push_back({{"account", account_name(AccountId(key.first))},
                        {"symbol", symbol_name(SymbolId(key.second))},
                        {"position", h.position},
                        {"cash", h.cash},
                        {"executions", h.executions}});
  }
  // Each drop copy: every execution of the accounts it covers, since it was first sent copies,
  // exactly once.
  nlohmann::json drop_copy_list = nlohmann::json::array();
  bool drop_copies_ok = true;
  for (const auto& [session, sent] : drop_copies) {
    const auto& covers = config_.gateway.sessions[session].covers;
    Ledger expected;
    expected.start_executions(sent.executions_from());
    for (const auto& x : record.executions()) {
      if (x.sequence < sent.executions_from()) continue;
      const std::string name = account_name(x.account);
      if (covers.empty() || std::find(covers.begin(), covers.end(), name) != covers.end()) {
        expected.add(x);
      }
    }
    const auto copy_breaks = trading::reconcile(expected, sent);
    drop_copies_ok = drop_copies_ok && copy_breaks.empty();
    nlohmann::json list = nlohmann::json::array();
    for (const auto& b : copy_breaks) {
      nlohmann::json records = nlohmann::json::array();
      for (std::size_t i = 0; i < b.executions.size() && i < 50; ++i) {
        records.push_back(execution_json(b.executions[i]));
      }
      list.push_back({{"kind", b.kind},
                      {"account", account_name(b.account)},
                      {"symbol", symbol_name(b.symbol)},
                      {"journal", b.record},
                      {"drop_copy", b.other},
                      {"records", records}});
    }
    drop_copy_list.push_back({{"session", client_comp_id(session)},
                              {"ok", copy_breaks.empty()},
                              {"executions", sent.executions().size()},
                              {"from_sequence", sent.executions_from()},
                              {"breaks", list}});
  }
  const bool ok = breaks.empty() && digest_equal && drop_copies_ok;
  const nlohmann::json data = {
      {"ok", ok},
      {"sequence", sequence},
      {"trades", record.trades()},
      {"executions_compared", record.executions().size()},
      {"executions_from", live.executions_from()},
      {"engine_digest_equal", digest_equal},
      {"breaks", break_list},
      {"drop_copies", drop_copy_list},
      {"holdings", holdings},
      {"replay_ms", static_cast<double>(core::monotonic_now_ns() - started) / 1e6}};
  if (!ok) {
    logging::error(
        "venue", "reconciliation found breaks",
        {{"sequence", sequence}, {"breaks", breaks.size()}, {"engine_digest_equal", digest_equal}});
  }
  return nlohmann::json{{"data", data}}.dump();
}

core::Result<std::string> Venue::end_of_day() {
  std::size_t expired = 0;
  {
    std::lock_guard role(role_mutex_);  // not while the role changes (see halt())
    if (auto ready = takes_commands(); !ready) return core::fail(ready.error());
    auto done = run_on_engine([this](std::function<void()> t) { push(AdminTask(std::move(t))); },
                              [&]() -> core::Result<std::string> {
                                execute(Command{now_for_engine(), EndOfDay{}}, {});
                                for (const auto& e : events_) {
                                  expired += std::holds_alternative<Expired>(e) ? 1u : 0u;
                                }
                                return std::string();
                              });
    if (!done) return done;
  }
  auto reconciled = reconcile();
  if (!reconciled) return reconciled;
  auto data = nlohmann::json::parse(*reconciled, nullptr, false);
  // The new day's executions are compared from here on.
  {
    std::lock_guard role(role_mutex_);
    if (!standby_) {
      (void)run_on_engine([this](std::function<void()> t) { push(AdminTask(std::move(t))); },
                          [&]() -> core::Result<std::string> {
                            const std::uint64_t next = writer_->next_sequence();
                            ledger_.start_executions(next);
                            for (auto& [session, sent] : drop_copy_ledgers_) {
                              sent.start_executions(next);
                            }
                            return std::string();
                          });
    }
  }
  data["data"]["expired_orders"] = expired;
  return data.dump();
}

Venue::ReferenceNames Venue::reference_names() const {
  ReferenceNames names;
  {
    std::lock_guard lock(reference_mutex_);
    for (const auto& a : account_names_) names.accounts.push_back(a.first);
    for (const auto& f : fix_sessions_) names.client_comp_ids.push_back(f.client_comp_id);
  }
  for (const auto& i : config_.engine.instruments) names.symbols.push_back(i.symbol);
  return names;
}

core::Result<std::string> Venue::limits_json() {
  if (!running_) return core::fail(503, "venue not running");
  return run_on_engine([this](std::function<void()> t) { submit_read(std::move(t)); },
                       [&]() -> core::Result<std::string> {
                         nlohmann::json list = nlohmann::json::array();
                         for (const auto& a : engine_.risk().accounts())
                           list.push_back(limits_object(a));
                         return nlohmann::json{{"data", list}}.dump();
                       });
}

core::Result<std::string> Venue::book_json(const std::string& symbol, std::size_t levels) {
  if (!running_) return core::fail(503, "venue not running");
  const auto id = gateway_.symbol_id(symbol);
  if (!id) return core::fail(404, "unknown symbol " + symbol);
  return run_on_engine([this](std::function<void()> t) { submit_read(std::move(t)); },
                       [&]() -> core::Result<std::string> {
                         std::string out = fmt::format(R"({{"data":{{"symbol":"{}",)", symbol);
                         std::vector<Level> side_levels;
                         for (Side side : {Side::kBuy, Side::kSell}) {
                           depth(*id, side, levels, side_levels);
                           out += side == Side::kBuy ? R"("bids":[)" : R"(,"asks":[)";
                           for (std::size_t i = 0; i < side_levels.size(); ++i) {
                             const Level& l = side_levels[i];
                             out += fmt::format(
                                 R"({}{{"price":"{}","qty":{},"orders":{}}})", i == 0 ? "" : ",",
                                 gateway_.price_text(*id, l.price), l.qty.value(), l.orders);
                           }
                           out += "]";
                         }
                         out += fmt::format(R"(,"halted":{}}}}})", engine_.halted(*id));
                         return out;
                       });
}

void Venue::submit_read(std::function<void()> task) {
  if (!standby_) {
    push(AdminTask(std::move(task)));
    return;
  }
  {
    std::lock_guard lock(mutex_);
    standby_tasks_.push_back(std::move(task));
  }
  wake_.notify_all();
}

core::Result<std::string> Venue::state_json() {
  if (!running_) return core::fail(503, "venue not running");
  std::lock_guard role(role_mutex_);  // not while the role changes
  return run_on_engine(
      [this](std::function<void()> t) { submit_read(std::move(t)); },
      [&]() -> core::Result<std::string> {
        const bool standby = standby_.load();
        const std::uint64_t sequence =
            standby ? follower_->next_sequence() - 1 : writer_->next_sequence() - 1;
        return fmt::format(
            R"({{"data":{{"role":"{}","sequence":{},"digest":"{:016x}","epoch":{}}}}})",
            standby ? "standby" : "primary", sequence, engine_.digest(),
            standby ? primary_epoch_.load() : leadership_->epoch());
      });
}

}  // namespace trading::app

namespace trading::app {

void Venue::crash_point(const char* step) const {
  if (options_.fault_crash_at != step) return;
  logging::error("venue", "FAULT INJECTION: crashing on purpose", {{"step", step}});
  std::fflush(stdout);
  std::_Exit(137);  // no destructor, no flush: what kill -9 leaves behind
}

void Venue::write_marker(MarkerKind kind, core::Nanos now) {
  last_digest_ = now;
  const JournalMarker marker{kind, leadership_ ? leadership_->epoch() : 0, engine_.digest()};
  writer_->append(Command{now, marker}, {});
}

core::Result<std::string> Venue::hand_over(int grace_seconds) {
  std::lock_guard role(role_mutex_);
  if (!running_) return core::fail(503, "venue not running");
  if (standby_) return core::fail(409, "this venue is a standby: only the primary hands over");
  const core::Nanos started = core::monotonic_now_ns();
  logging::info("venue", "handing over: no new requests, finishing those in flight");
  ready_ = false;
  // 1. Requests from now on are left for the clients to resend to the successor; those taken
  //    are journaled and answered while their sessions are still logged on.
  acceptor_->hold_requests();
  const core::Nanos drain_until = core::monotonic_now_ns() + 5 * core::kNanosPerSecond;
  while (acceptor_->in_flight() > 0 && core::monotonic_now_ns() < drain_until) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const core::Nanos drained = core::monotonic_now_ns();
  crash_point("handover:held");
  // 2. Sessions out (the Text says why and what to do), the engine thread finishes.
  acceptor_->stop(grace_seconds,
                  "venue handing over to its standby: log on again, sequence numbers continue");
  const core::Nanos logged_out = core::monotonic_now_ns();
  crash_point("handover:logged_out");
  stop_engine_thread();
  std::lock_guard engine_lock(engine_mutex_);
  process_deferred();
  // 3. The session stores closed with the numbers of what was handled: the successor opens them.
  acceptor_->persist_sequence_numbers();
  set_acceptor(nullptr);
  // 4. The seal: the last record of this leadership, with the state digest it ends with.
  const std::uint64_t epoch = leadership_->epoch();
  write_marker(MarkerKind::kSeal, now_for_engine());
  const std::uint64_t sealed = writer_->next_sequence() - 1;
  if (auto flushed = writer_->flush(); !flushed) {
    logging::error("venue", "journal flush failed while sealing: stopping",
                   {{"error", flushed.error().message}});
    std::fflush(stdout);
    std::_Exit(1);  // nothing unacknowledged is lost: the successor recovers the journal
  }
  write_checkpoint("handover", core::monotonic_now_ns());
  const std::uint64_t digest = engine_.digest();
  const journal::ChainLink chain_head = writer_->chain_head();
  crash_point("handover:sealed");
  writer_.reset();
  checkpoints_.reset();
  leadership_.reset();  // the successor may take over now
  // 5. Follow the successor from the seal on: a rollback is the same handover the other way.
  standby_ = true;
  sealed_sequence_.store(sealed, std::memory_order_release);
  primary_epoch_.store(epoch, std::memory_order_relaxed);
  start_following(sealed + 1, chain_head);
  {
    std::lock_guard lock(mutex_);  // reads queued for the engine thread after it ended
    for (auto& w : queue_) {
      if (auto* task = std::get_if<AdminTask>(&w)) standby_tasks_.push_back(std::move(*task));
    }
    queue_.clear();
  }
  wake_.notify_all();
  const core::Nanos now = core::monotonic_now_ns();
  const auto ms = [](core::Nanos d) { return static_cast<double>(d) / 1e6; };
  logging::info("venue", "handed over: now a standby",
                {{"sealed_sequence", sealed},
                 {"epoch", epoch},
                 {"took_ms", ms(now - started)},
                 {"drain_ms", ms(drained - started)},
                 {"logout_ms", ms(logged_out - drained)},
                 {"seal_ms", ms(now - logged_out)}});
  return fmt::format(
      R"({{"data":{{"role":"standby","sealed_sequence":{},"epoch":{},"digest":"{:016x}","took_ms":{:.1f},"drain_ms":{:.1f},"logout_ms":{:.1f},"seal_ms":{:.1f}}}}})",
      sealed, epoch, digest, ms(now - started), ms(drained - started), ms(logged_out - drained),
      ms(now - logged_out));
}

core::Result<std::string> Venue::take_over(bool force, core::Nanos wait) {
  std::lock_guard role(role_mutex_);
  if (!running_) return core::fail(503, "venue not running");
  if (!standby_) return core::fail(409, "this venue is already the primary");
  if (const auto first = first_mismatch_sequence_.load(); first != 0) {
    return core::fail(409, fmt::format("this standby's state differed from the primary's at "
                                       "sequence {}: it must not take over",
                                       first));
  }
  {
    std::lock_guard lock(follow_error_mutex_);
    if (!follow_error_.empty()) {
      return core::fail(409, "this standby stopped following the journal: " + follow_error_);
    }
  }
  const core::Nanos started = core::monotonic_now_ns();
  auto leadership = force ? journal::Leadership::take_over(options_.journal_directory)
                          : journal::Leadership::acquire(options_.journal_directory, wait);
  if (!leadership) {
    return core::fail(leadership.error().code == journal::kNotLeader ? 409 : 500,
                      leadership.error().message + (force ? "" : " (no handover sealed yet)"));
  }
  crash_point("takeover:leader");
  stop_follower_thread();
  std::lock_guard engine_lock(engine_mutex_);
  // Everything the previous primary wrote is final now: apply it to the end.
  const auto apply = [this](const journal::DecodedRecord& d) { apply_followed(d); };
  for (;;) {
    auto r = follower_->poll(apply, 65536);
    if (!r) {
      leadership_.reset();
      start_following(follower_->next_sequence(), follower_->chain_head());
      return core::fail(500, "cannot read the journal to its end: " + r.error().message);
    }
    if (*r == 0) break;
  }
  if (const auto first = first_mismatch_sequence_.load(); first != 0) {
    leadership_.reset();
    start_following(follower_->next_sequence(), follower_->chain_head());
    return core::fail(409, fmt::format("this standby's state differs from the primary's at "
                                       "sequence {}: it must not take over",
                                       first));
  }
  const std::uint64_t next = follower_->next_sequence();
  const bool sealed = sealed_sequence_.load() == next - 1;
  applied_sequence_.store(next - 1, std::memory_order_release);
  leadership_ = std::move(*leadership);
  if (auto opened = open_writer(next, follower_->chain_head()); !opened) {
    logging::error("venue", "cannot take over the journal", {{"error", opened.error().message}});
    writer_.reset();
    checkpoints_.reset();
    leadership_.reset();
    start_following(next, follower_->chain_head());
    return core::fail(500, "cannot take over the journal: " + opened.error().message);
  }
  crash_point("takeover:writer");
  follower_.reset();
  standby_ = false;
  if (auto started_primary = start_primary(); !started_primary) {
    logging::error("venue", "took the leadership but cannot open FIX: stopping",
                   {{"error", started_primary.error().message}});
    std::fflush(stdout);
    std::_Exit(1);  // the leadership goes with the process; nothing was acknowledged
  }
  {
    std::lock_guard lock(mutex_);  // reads queued for the follower after it ended
    for (auto& t : standby_tasks_) queue_.emplace_back(AdminTask(std::move(t)));
    standby_tasks_.clear();
    if (!queue_.empty()) pending_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  const double took_ms = static_cast<double>(core::monotonic_now_ns() - started) / 1e6;
  logging::info("venue", "took over: now the primary",
                {{"sequence", next - 1},
                 {"epoch", leadership_->epoch()},
                 {"sealed", sealed},
                 {"took_ms", took_ms}});
  return fmt::format(
      R"({{"data":{{"role":"primary","sequence":{},"epoch":{},"sealed":{},"took_ms":{:.1f}}}}})",
      next - 1, leadership_->epoch(), sealed, took_ms);
}

}  // namespace trading::app
