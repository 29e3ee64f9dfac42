// W3C Trace Context (https://www.w3.org/TR/trace-context/) for the JSON logs: parse and write a
// `traceparent` header, start a span (the trace of the caller's traceparent, or a new one), and
// a thread-local current span that logging::write() adds to every line as "trace_id" and
// "span_id" (and "parent_span_id"), so a log pipeline joins one request across the balancer, the
// services and their callees. Not an OpenTelemetry exporter: spans are not sent anywhere, the
// ids are in the logs (k8s-manifests/README.md, "Logs and traces").
// Thread-safety: the functions are thread-safe; a ScopedSpan belongs to the thread that made it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace logging {

struct TraceContext {
  std::array<char, 32> trace_id{};   // lower-case hex
  std::array<char, 16> span_id{};    // this span
  std::array<char, 16> parent_id{};  // the caller's span (all '0' when this span is a root)
  bool sampled = true;

  std::string_view trace() const { return {trace_id.data(), trace_id.size()}; }
  std::string_view span() const { return {span_id.data(), span_id.size()}; }
  std::string_view parent() const { return {parent_id.data(), parent_id.size()}; }
  bool has_parent() const;
  // "00-<trace>-<span>-<flags>": what this span sends to its callees.
  std::string traceparent() const;
};

// The caller's context from a traceparent header value (version 00, or a later version read as
// 00 as the specification asks); nullopt for anything malformed: wrong lengths, upper-case or
// non-hex digits, an all-zero trace or span id, version ff. `parent_id` of the result is unset;
// its span_id is the caller's span.
std::optional<TraceContext> parse_traceparent(std::string_view header);

// A new span: a child of `caller` (same trace, caller's span as parent, its sampled flag) or,
// without a caller, the root of a new trace. Ids from the OS's random source.
TraceContext start_span(const std::optional<TraceContext>& caller);

// A trace id derived from `key` (128 bits of a keyed hash, lower-case hex, never all zero): for
// protocols that carry no trace context, such as FIX, every party holding the key (the
// SenderCompID and ClOrdID of an order) computes the same id.
std::array<char, 32> derived_trace_id(std::string_view key);

// The span of this thread now (nullptr: none).
const TraceContext* current_span();

// Makes `span` this thread's current span until destroyed (then the previous one is back).
class ScopedSpan {
 public:
  explicit ScopedSpan(const TraceContext& span);
  ~ScopedSpan();
  ScopedSpan(const ScopedSpan&) = delete;
  ScopedSpan& operator=(const ScopedSpan&) = delete;

 private:
  TraceContext span_;
  const TraceContext* previous_;
};

}  // namespace logging
