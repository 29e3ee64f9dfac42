// W3C Trace Context: traceparent parsing (the specification's rules and its failure cases),
// spans continuing a caller's trace or starting one, ids derived from a FIX key, and the log
// lines of a thread carrying its current span.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "logging/logger.hpp"
#include "logging/trace.hpp"

namespace {

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesTheSpecificationsExample) {
  const auto c = logging::parse_traceparent(kValid);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span(), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled);
  EXPECT_EQ(c->traceparent(), kValid);
  const auto unsampled =
      logging::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled);
}

TEST(Traceparent, RefusesWhatTheSpecificationRefuses) {
  for (const char* bad : {
           "",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",       // no flags
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // all-zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // all-zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 has no more fields
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // separator
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",    // not hex
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // later version, no '-'
       }) {
    EXPECT_FALSE(logging::parse_traceparent(bad)) << bad;
  }
  // A later version is read as version 00, with its extra fields ignored.
  EXPECT_TRUE(
      logging::parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future"));
}

TEST(Traceparent, ASpanContinuesItsCallersTraceOrStartsOne) {
  const auto caller = logging::parse_traceparent(kValid);
  const auto child = logging::start_span(caller);
  EXPECT_EQ(child.trace(), caller->trace());
  EXPECT_EQ(child.parent(), caller->span());
  EXPECT_NE(child.span(), caller->span());
  EXPECT_TRUE(child.has_parent());
  const auto root = logging::start_span(std::nullopt);
  const auto other = logging::start_span(std::nullopt);
  EXPECT_FALSE(root.has_parent());
  EXPECT_NE(root.trace(), other.trace());
  EXPECT_TRUE(logging::parse_traceparent(root.traceparent())) << root.traceparent();
}

TEST(Traceparent, DerivedIdsAreStableAndDistinct) {
  const auto a = logging::derived_trace_id("CLIENT1|ORD-1");
  EXPECT_EQ(a, logging::derived_trace_id("CLIENT1|ORD-1"));
  EXPECT_NE(a, logging::derived_trace_id("CLIENT1|ORD-2"));
  EXPECT_NE(a, logging::derived_trace_id("CLIENT2|ORD-1"));
  const std::string text(a.data(), a.size());
  EXPECT_TRUE(logging::parse_traceparent("00-" + text + "-00f067aa0ba902b7-01")) << text;
}

TEST(Traceparent, LogLinesCarryTheThreadsCurrentSpan) {
  std::vector<std::string> lines;
  logging::set_sink([&](std::string_view line) { lines.emplace_back(line); });
  logging::set_level(logging::Level::kInfo);
  const auto span = logging::start_span(logging::parse_traceparent(kValid));
  {
    const logging::ScopedSpan scope(span);
    EXPECT_EQ(logging::current_span()->span(), span.span());
    logging::info("test", "inside");
    logging::info("test", "own trace", {{"trace_id", "abc"}});
  }
  EXPECT_EQ(logging::current_span(), nullptr);
  logging::info("test", "outside");
  logging::set_sink({});
  ASSERT_EQ(lines.size(), 3u);
  const auto inside = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(inside["trace_id"], std::string(span.trace()));
  EXPECT_EQ(inside["span_id"], std::string(span.span()));
  EXPECT_EQ(inside["parent_span_id"], "00f067aa0ba902b7");
  const auto own = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(own["trace_id"], "abc") << "a line naming its own trace keeps it";
  EXPECT_FALSE(own.contains("span_id"));
  EXPECT_FALSE(nlohmann::json::parse(lines[2]).contains("trace_id"));
}

}  // namespace
