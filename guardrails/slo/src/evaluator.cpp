#include "guardrails/slo/evaluator.hpp"

#include <algorithm>
#include <charconv>
#include <deque>
#include <limits>
#include <stdexcept>

#include "time_slots.hpp"

namespace guardrails::slo {

namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  return ec == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string seconds_text(double s) {
  if (s >= 1 && s == static_cast<double>(static_cast<std::int64_t>(s))) return fixed(s, 0) + " s";
  if (s >= 1) return fixed(s, 2) + " s";
  return fixed(s * 1000, s * 1000 >= 10 ? 1 : 3) + " ms";
}

// Good/total counters per time slot, for ratio values and burn rates.
class CountRing {
 public:
  CountRing(core::Nanos width, std::size_t slots) : slots_(width, slots) {}

  // False when the sample is older than the ring: it is ignored.
  bool add(core::Nanos ts, bool good) {
    Counts* c = slots_.slot_for(ts, reset);
    if (c == nullptr) return false;
    c->total += 1;
    c->good += good ? 1 : 0;
    return true;
  }
  void advance_to(core::Nanos now) { slots_.advance_to(now, reset); }

  struct Counts {
    std::uint64_t good = 0, total = 0;
  };
  // Sums the slots covering the last `window` (the current, partial slot included).
  Counts sum(core::Nanos window) const {
    Counts t;
    slots_.for_window(window, [&t](const Counts& c) {
      t.good += c.good;
      t.total += c.total;
    });
    return t;
  }
  void clear() { slots_.clear(reset); }

 private:
  static void reset(Counts& c) { c = {}; }
  detail::TimeSlots<Counts> slots_;
};

// A latency window as `slots` sub-histograms plus their running sum, so a quantile query reads
// one histogram instead of merging many.
class HistogramRing {
 public:
  HistogramRing(core::Nanos window, std::size_t slots)
      : slots_(std::max<core::Nanos>(1, window / static_cast<core::Nanos>(slots)), slots) {}

  bool add(core::Nanos ts, std::uint64_t value) {
    LogLinearHistogram* h = slots_.slot_for(ts, Expire{&window_});
    if (h == nullptr) return false;
    h->record(value);
    window_.record(value);
    return true;
  }
  void advance_to(core::Nanos now) { slots_.advance_to(now, Expire{&window_}); }
  const LogLinearHistogram& window() const { return window_; }
  void clear() {
    slots_.clear([](LogLinearHistogram& h) { h.clear(); });
    window_.clear();
  }

 private:
  // A slot leaving the window takes its counts out of the running sum.
  struct Expire {
    LogLinearHistogram* window;
    void operator()(LogLinearHistogram& h) const {
      window->subtract(h);
      h.clear();
    }
  };
  detail::TimeSlots<LogLinearHistogram> slots_;
  LogLinearHistogram window_;
};

core::Nanos longest_window(const SloSpec& spec) {
  core::Nanos w = spec.window;
  for (const auto& a : spec.burn_rate_alerts) w = std::max(w, a.long_window);
  return w;
}

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPromote:
      return "promote";
    case Verdict::kHold:
      return "hold";
    case Verdict::kRollback:
      return "rollback";
  }
  return "hold";
}

core::Result<void> validate(const EvaluatorConfig& config) {
  if (config.slos.empty()) return core::fail(1, "no SLO configured");
  if (config.resolution <= 0) return core::fail(1, "resolution must be > 0");
  if (config.histogram_slots < 2 || config.histogram_slots > 600)
    return core::fail(1, "histogram_slots must be 2..600");
  if (config.breach_evaluations < 1) return core::fail(1, "breach_evaluations must be ≥ 1");
  for (std::size_t i = 0; i < config.slos.size(); ++i) {
    const auto& s = config.slos[i];
    const std::string who = "slo '" + s.name + "'";
    if (s.name.empty()) return core::fail(1, "slo #" + std::to_string(i) + " has no name");
    for (std::size_t j = 0; j < i; ++j) {
      if (config.slos[j].name == s.name) return core::fail(1, who + " is defined twice");
    }
    if (s.metric > 4095) return core::fail(1, who + ": metric id must be < 4096");
    if (s.window < config.resolution)
      return core::fail(1, who + ": window shorter than the resolution");
    if (s.kind == SloKind::kLatency) {
      if (!(s.quantile > 0 && s.quantile < 1))
        return core::fail(1, who + ": quantile must be in (0, 1)");
      if (s.threshold_ns <= 0) return core::fail(1, who + ": threshold must be > 0");
    } else if (!(s.min_good_ratio > 0 && s.min_good_ratio < 1)) {
      return core::fail(1, who + ": objective must be in (0, 1)");
    }
    if (s.window_count > 0) {
      if (s.kind != SloKind::kRatio) return core::fail(1, who + ": a count window needs a ratio");
      if (s.window_count > 1'000'000) return core::fail(1, who + ": count window > 1e6 samples");
      if (!s.burn_rate_alerts.empty()) {
        return core::fail(1, who + ": burn-rate alerts need a time window, not a count window");
      }
    }
    for (const auto& a : s.burn_rate_alerts) {
      if (a.short_window <= 0 || a.short_window >= a.long_window) {
        return core::fail(1, who + ": burn-rate short window must be > 0 and < the long window");
      }
      if (!(a.factor > 0)) return core::fail(1, who + ": burn-rate factor must be > 0");
      if (a.long_window / config.resolution > 1'000'000) {
        return core::fail(1, who + ": burn-rate window too long for the resolution (> 1e6 slots)");
      }
    }
  }
  return {};
}

struct Evaluator::State {
  struct Slo {
    SloSpec spec;
    CountRing counts;
    std::unique_ptr<HistogramRing> window_hist;      // latency only
    std::unique_ptr<LogLinearHistogram> cumulative;  // latency only
    std::uint64_t total_samples = 0;
    int streak = 0;
    std::deque<bool> last_events;  // count window: the last window_count samples, good or not
    std::uint64_t last_good = 0;
    std::string detail;  // set_detail(): appended to the breach reason

    Slo(SloSpec s, const EvaluatorConfig& c)
        : spec(std::move(s)),
          counts(c.resolution, static_cast<std::size_t>((longest_window(spec) + c.resolution - 1) /
                                                        c.resolution) +
                                   1) {
      if (spec.kind == SloKind::kLatency) {
        window_hist = std::make_unique<HistogramRing>(spec.window,
                                                      static_cast<std::size_t>(c.histogram_slots));
        cumulative = std::make_unique<LogLinearHistogram>();
      }
    }
  };

  EvaluatorConfig config;
  std::vector<Slo> slos;
  std::vector<std::vector<std::size_t>> by_metric;  // metric id → SLO indices
  Verdict last = Verdict::kHold;
  bool latched = false;
  std::vector<std::string> latched_reasons;
  std::uint64_t late = 0;
  std::uint64_t unknown = 0;
};

Evaluator::Evaluator(EvaluatorConfig config) : state_(std::make_unique<State>()) {
  if (auto ok = validate(config); !ok) throw std::invalid_argument(ok.error().message);
  state_->config = std::move(config);
  for (const auto& spec : state_->config.slos) {
    state_->slos.emplace_back(spec, state_->config);
    if (state_->by_metric.size() <= spec.metric) state_->by_metric.resize(spec.metric + 1);
    state_->by_metric[spec.metric].push_back(state_->slos.size() - 1);
  }
}

Evaluator::~Evaluator() = default;
Evaluator::Evaluator(Evaluator&&) noexcept = default;
Evaluator& Evaluator::operator=(Evaluator&&) noexcept = default;

const EvaluatorConfig& Evaluator::config() const { return state_->config; }
Verdict Evaluator::last_verdict() const { return state_->last; }

const LogLinearHistogram* Evaluator::cumulative_latency(std::size_t index) const {
  return index < state_->slos.size() ? state_->slos[index].cumulative.get() : nullptr;
}

void Evaluator::add(const Sample& sample) {
  auto& st = *state_;
  if (sample.metric >= st.by_metric.size() || st.by_metric[sample.metric].empty()) {
    ++st.unknown;
    return;
  }
  for (const std::size_t i : st.by_metric[sample.metric]) {
    auto& slo = st.slos[i];
    bool accepted = false;
    if (slo.spec.kind == SloKind::kLatency) {
      const auto v = static_cast<std::uint64_t>(std::max<std::int64_t>(0, sample.value));
      accepted = slo.counts.add(sample.timestamp, sample.value <= slo.spec.threshold_ns);
      slo.window_hist->add(sample.timestamp, v);
      slo.cumulative->record(v);
    } else if (slo.spec.window_count > 0) {
      accepted = true;
      slo.last_events.push_back(sample.value != 0);
      slo.last_good += sample.value != 0 ? 1 : 0;
      if (slo.last_events.size() > slo.spec.window_count) {
        slo.last_good -= slo.last_events.front() ? 1U : 0U;
        slo.last_events.pop_front();
      }
    } else {
      accepted = slo.counts.add(sample.timestamp, sample.value != 0);
    }
    if (accepted) {
      ++slo.total_samples;
    } else {
      ++st.late;
    }
  }
}

Evaluation Evaluator::evaluate(core::Nanos now) {
  auto& st = *state_;
  Evaluation ev;
  ev.evaluated_at = now;
  ev.late_samples = st.late;
  ev.unknown_metric_samples = st.unknown;

  std::vector<std::string> breaches, pending, collecting, watching;
  std::vector<std::string> gating;
  bool confirmed_breach = false;
  double least_progress = std::numeric_limits<double>::infinity();

  for (auto& slo : st.slos) {
    const auto& spec = slo.spec;
    slo.counts.advance_to(now);
    SloStatus s;
    s.name = spec.name;
    s.kind = spec.kind;
    s.window_s = static_cast<double>(spec.window) / 1e9;
    s.total_samples = slo.total_samples;
    s.min_samples = spec.min_samples;
    s.gates_promotion = spec.gates_promotion;
    if (spec.gates_promotion) gating.push_back(spec.name);
    auto totals = slo.counts.sum(spec.window);
    if (spec.window_count > 0) {
      totals = {slo.last_good, static_cast<std::uint64_t>(slo.last_events.size())};
      s.window_s = 0;
      s.window_count = spec.window_count;
    }
    s.window_samples = totals.total;
    std::string breach_text;
    if (spec.kind == SloKind::kLatency) {
      slo.window_hist->advance_to(now);
      const auto& h = slo.window_hist->window();
      s.objective = static_cast<double>(spec.threshold_ns) / 1e9;
      s.window_samples = h.count();
      if (h.count() > 0) {
        s.has_value = true;
        const auto q = h.quantile(spec.quantile);
        s.value = static_cast<double>(q) / 1e9;
        const auto threshold = static_cast<std::uint64_t>(spec.threshold_ns);
        const std::uint64_t slow = h.count() - h.count_at_or_below(threshold);
        s.ok = q <= threshold || slow < spec.min_slow_samples;
      }
      if (!s.ok) {
        breach_text = spec.name + " p" +
                      fixed(spec.quantile * 100,
                            spec.quantile * 100 == static_cast<int>(spec.quantile * 100) ? 0 : 1) +
                      " = " + seconds_text(s.value) + " > " + seconds_text(s.objective) + " over " +
                      seconds_text(s.window_s);
      }
    } else {
      s.objective = spec.min_good_ratio;
      if (totals.total > 0) {
        s.has_value = true;
        s.value = static_cast<double>(totals.good) / static_cast<double>(totals.total);
        s.ok = s.value >= spec.min_good_ratio;
      }
      if (!s.ok) {
        breach_text =
            spec.name + " = " + fixed(s.value * 100, 2) + " % < " +
            fixed(spec.min_good_ratio * 100, 2) + " % over " +
            (spec.window_count > 0 ? "the last " + std::to_string(totals.total) + " samples"
                                   : seconds_text(s.window_s)) +
            " (" + std::to_string(totals.total - totals.good) + " bad of " +
            std::to_string(totals.total) + ")";
        if (!slo.detail.empty()) breach_text += ": " + slo.detail;
      }
    }

    bool any_firing = false;
    for (const auto& a : spec.burn_rate_alerts) {
      BurnRateStatus b;
      b.slo = spec.name;
      b.long_window_s = static_cast<double>(a.long_window) / 1e9;
      b.short_window_s = static_cast<double>(a.short_window) / 1e9;
      b.factor = a.factor;
      const auto rate = [&](core::Nanos w) {
        const auto t = slo.counts.sum(w);
        if (t.total == 0) return 0.0;
        return (static_cast<double>(t.total - t.good) / static_cast<double>(t.total)) /
               spec.error_budget();
      };
      b.long_rate = rate(a.long_window);
      b.short_rate = rate(a.short_window);
      b.firing = b.long_rate >= a.factor && b.short_rate >= a.factor;
      if (b.firing) {
        any_firing = true;
        if (!breach_text.empty()) breach_text += "; ";
        breach_text += spec.name + " burns its error budget at " + fixed(b.long_rate, 1) +
                       "x over " + seconds_text(b.long_window_s) + " and " +
                       fixed(b.short_rate, 1) + "x over " + seconds_text(b.short_window_s) +
                       " (alert at " + fixed(a.factor, 1) + "x)";
      }
      ev.burn_rates.push_back(std::move(b));
    }

    const bool breached = !s.ok || any_firing;
    slo.streak = breached ? slo.streak + 1 : 0;
    s.breach_streak = slo.streak;
    const bool enough = slo.total_samples >= spec.min_samples;
    if (breached) {
      const std::string count =
          " [" + std::to_string(std::min(slo.streak, st.config.breach_evaluations)) + "/" +
          std::to_string(st.config.breach_evaluations) + " evaluations]";
      if (enough && slo.streak >= st.config.breach_evaluations) {
        confirmed_breach = true;
        breaches.push_back(breach_text + count);
      } else if (enough || spec.gates_promotion) {
        pending.push_back("unconfirmed: " + breach_text + count);
      } else {
        watching.push_back("watched after promotion, too few samples to judge: " + breach_text);
      }
    }
    if (!enough) {
      (spec.gates_promotion ? collecting : watching)
          .push_back((spec.gates_promotion ? "collecting samples: " : "watched after promotion: ") +
                     spec.name + " has " + std::to_string(slo.total_samples) + " of " +
                     std::to_string(spec.min_samples));
    }
    if (!spec.gates_promotion) {
      ev.slos.push_back(std::move(s));
      continue;  // its sample count does not hold the verdict
    }
    const double progress = spec.min_samples == 0 ? 1e300
                                                  : static_cast<double>(slo.total_samples) /
                                                        static_cast<double>(spec.min_samples);
    if (progress < least_progress) {
      least_progress = progress;
      ev.samples = slo.total_samples;
      ev.min_samples = spec.min_samples;
    }
    ev.slos.push_back(std::move(s));
  }

  if (st.latched) {
    ev.verdict = Verdict::kRollback;
    ev.reasons = st.latched_reasons;
    ev.reasons.push_back("rollback latched until reset");
  } else if (confirmed_breach) {
    ev.verdict = Verdict::kRollback;
    ev.reasons = breaches;
    st.latched = true;
    st.latched_reasons = breaches;
  } else if (!collecting.empty() || !pending.empty()) {
    ev.verdict = Verdict::kHold;
    ev.reasons = collecting;
    ev.reasons.insert(ev.reasons.end(), pending.begin(), pending.end());
    ev.reasons.insert(ev.reasons.end(), watching.begin(), watching.end());
  } else {
    ev.verdict = Verdict::kPromote;
    if (gating.size() == st.slos.size()) {
      ev.reasons.push_back("all " + std::to_string(st.slos.size()) + " SLOs met");
    } else {
      std::string names;
      for (const auto& n : gating) names += (names.empty() ? "" : ", ") + n;
      ev.reasons.push_back("all " + std::to_string(gating.size()) +
                           " SLOs that gate promotion met (" + names + ")");
    }
    ev.reasons.insert(ev.reasons.end(), watching.begin(), watching.end());
  }
  ev.latched = st.latched;
  ev.changed = ev.verdict != st.last;
  st.last = ev.verdict;
  return ev;
}

void Evaluator::set_detail(std::string_view slo_name, std::string detail) {
  for (auto& slo : state_->slos) {
    if (slo.spec.name == slo_name) slo.detail = std::move(detail);
  }
}

void Evaluator::reset(core::Nanos now) {
  auto& st = *state_;
  for (auto& slo : st.slos) {
    slo.counts.clear();
    if (slo.window_hist) slo.window_hist->clear();
    slo.total_samples = 0;
    slo.streak = 0;
    slo.last_events.clear();
    slo.last_good = 0;
    slo.detail.clear();
    slo.counts.advance_to(now);
  }
  st.latched = false;
  st.latched_reasons.clear();
}

}  // namespace guardrails::slo
