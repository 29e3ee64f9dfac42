// The HTTP server over real loopback sockets: keep-alive, limits, timeouts, malformed input,
// pipelining and graceful stop.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "http/client.hpp"
#include "http/probes.hpp"
#include "http/server.hpp"
#include "logging/logger.hpp"
#include "logging/trace.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;

class HttpServerTest : public ::testing::Test {
 protected:
  void start(http::ServerOptions options = {}) {
    logging::set_level(logging::Level::kError);
    options.address = "127.0.0.1";
    options.port = 0;
    http::Router router;
    router.get("/echo", [](const http::Request& r) {
      return http::Response::json(200, "\"" + r.remote_address + "\"");
    });
    router.post("/echo", [](const http::Request& r) { return http::Response::text(200, r.body); });
    router.get("/n/{n}", [](const http::Request& r) {
      return http::Response::text(200, std::string(r.path_param("n")));
    });
    router.get("/slow", [this](const http::Request&) {
      slow_started = true;
      std::this_thread::sleep_for(400ms);
      return http::Response::text(200, "done");
    });
    router.get("/boom",
               [](const http::Request&) -> http::Response { throw std::runtime_error("x"); });
    router.post("/json", [](const http::Request& r) {
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      if (j.is_discarded()) return http::error_response(400, "bad_json", "body is not JSON");
      return http::Response::json(200, j.dump());
    });
    server = std::make_unique<http::Server>(options, std::move(router));
    ASSERT_TRUE(server->start());
    port = server->port();
  }
  void TearDown() override {
    if (server) server->stop(1s);
  }

  // The server still answers normally.
  void expect_alive() {
    http::Client c("127.0.0.1", port);
    auto r = c.request("GET", "/n/7");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "7");
  }

  static std::string error_code(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) return "<not json: " + body + ">";
    return j["error"]["code"].get<std::string>();
  }

  std::unique_ptr<http::Server> server;
  std::uint16_t port = 0;
  std::atomic<bool> slow_started{false};
};

// W3C Trace Context: a request's span continues the caller's trace; the handler's log lines and
// the access log line carry it, the response names it (traceresponse), and a call the handler
// makes with http::Client passes it on (traceparent).
TEST_F(HttpServerTest, TraceparentIsContinuedLoggedAnsweredAndPropagated) {
  std::mutex m;
  std::vector<std::string> lines;
  std::string seen_downstream;
  http::Router downstream_router;
  downstream_router.get("/downstream", [&](const http::Request& r) {
    std::lock_guard lock(m);
    seen_downstream = std::string(r.header("traceparent"));
    return http::Response::text(200, "ok");
  });
  http::ServerOptions o;
  o.address = "127.0.0.1";
  o.port = 0;
  http::Server downstream(o, std::move(downstream_router));
  ASSERT_TRUE(downstream.start());
  http::Router router;
  const std::uint16_t downstream_port = downstream.port();
  router.get("/traced", [downstream_port](const http::Request&) {
    logging::info("handler", "working");
    http::Client c("127.0.0.1", downstream_port);
    auto r = c.request("GET", "/downstream");
    return http::Response::text(r && r->status == 200 ? 200 : 502, "done");
  });
  router.get("/plain", [](const http::Request&) { return http::Response::text(200, "plain"); });
  logging::set_level(logging::Level::kInfo);
  logging::set_sink([&](std::string_view line) {
    std::lock_guard lock(m);
    lines.emplace_back(line);
  });
  http::Server traced(o, std::move(router));
  ASSERT_TRUE(traced.start());
  const std::string caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  http::Client c("127.0.0.1", traced.port());
  auto r = c.request("GET", "/traced", {}, {{"traceparent", caller}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  const auto answered = logging::parse_traceparent(r->header("traceresponse"));
  ASSERT_TRUE(answered) << r->header("traceresponse");
  EXPECT_EQ(answered->trace(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(answered->span(), "00f067aa0ba902b7");
  // A malformed traceparent starts a new trace instead of failing the request.
  auto fresh = c.request("GET", "/plain", {}, {{"traceparent", "00-garbage"}});
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->status, 200);
  const auto fresh_span = logging::parse_traceparent(fresh->header("traceresponse"));
  ASSERT_TRUE(fresh_span);
  EXPECT_NE(fresh_span->trace(), "4bf92f3577b34da6a3ce929d0e0e4736");
  traced.stop(1s);
  downstream.stop(1s);
  logging::set_sink({});
  logging::set_level(logging::Level::kError);
  std::lock_guard lock(m);
  // The downstream call carried our server span as its parent.
  const auto passed = logging::parse_traceparent(seen_downstream);
  ASSERT_TRUE(passed) << seen_downstream;
  EXPECT_EQ(passed->trace(), answered->trace());
  EXPECT_EQ(passed->span(), answered->span());
  bool handler_line = false, access_line = false;
  for (const auto& line : lines) {
    const auto j = nlohmann::json::parse(line);
    if (j["msg"] == "working") {
      handler_line = true;
      EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
      EXPECT_EQ(j["span_id"], std::string(answered->span()));
      EXPECT_EQ(j["parent_span_id"], "00f067aa0ba902b7");
    }
    if (j["msg"] == "request" && j["path"] == "/traced") {
      access_line = true;
      EXPECT_EQ(j["status"], 200);
      EXPECT_EQ(j["method"], "GET");
      EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
      EXPECT_TRUE(j.contains("duration_ms"));
    }
  }
  EXPECT_TRUE(handler_line);
  EXPECT_TRUE(access_line);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  http::Client c("127.0.0.1", port);
  auto first = c.request("GET", "/echo");
  ASSERT_TRUE(first);
  for (int i = 0; i < 50; ++i) {
    auto r = c.request("GET", "/echo");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, first->body) << "same peer port: the connection was kept alive";
  }
}

TEST_F(HttpServerTest, OversizedBodyIs413JsonAndServerKeepsServing) {
  http::ServerOptions o;
  o.body_limit = 1024;
  start(o);
  http::Client c("127.0.0.1", port);
  auto ok = c.request("POST", "/echo", std::string(1024, 'a'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto big = c.request("POST", "/echo", std::string(4096, 'a'));
  ASSERT_TRUE(big) << big.error().message;
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(error_code(big->body), "payload_too_large");
  expect_alive();
}

TEST_F(HttpServerTest, MalformedRequestIs400JsonAndServerKeepsServing) {
  start();
  http::Client c("127.0.0.1", port);
  for (const char* garbage :
       {"GARBAGE\r\n\r\n", "GET / HTTP/9.9\r\n\r\n",
        "GET /x HTTP/1.1\r\nContent-Length: zz\r\n\r\n", "\x01\x02\x03\x04\r\n\r\n",
        "GET /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
    auto r = c.raw_exchange(garbage, 3s);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NE(r->find("HTTP/1.1 400"), std::string::npos) << garbage << " -> " << *r;
    EXPECT_NE(r->find(R"("code":"bad_request")"), std::string::npos) << *r;
  }
  expect_alive();
}

TEST_F(HttpServerTest, AbsoluteFormTargetIsRejected) {
  start();
  http::Client c("127.0.0.1", port);
  auto r = c.raw_exchange("GET http://x/n/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 3s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("HTTP/1.1 400"), std::string::npos) << *r;
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
  http::ServerOptions o;
  o.header_limit = 2048;
  start(o);
  http::Client c("127.0.0.1", port);
  auto r = c.request("GET", "/n/1", {}, {{"X-Big", std::string(8192, 'h')}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(error_code(r->body), "header_too_large");
  expect_alive();
}

TEST_F(HttpServerTest, UnknownPathAndWrongMethodOverTheWire) {
  start();
  http::Client c("127.0.0.1", port);
  auto missing = c.request("GET", "/nope");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(error_code(missing->body), "not_found");
  auto wrong = c.request("DELETE", "/echo");
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->header("allow"), "GET, POST");
  auto odd = c.request("BREW", "/echo");  // unknown verb
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->status == 405 || odd->status == 400) << odd->status;
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndServerKeepsServing) {
  start();
  http::Client c("127.0.0.1", port);
  auto r = c.request("GET", "/boom");
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(error_code(r->body), "internal");
  expect_alive();
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterim100ThenTheAnswer) {
  start();
  test_support::TempDir dir;
  test_support::write_file(dir.file("body.txt"), std::string(4096, 'b'));
  // curl -v prints the interim response; --expect100-timeout makes a missing one slow, not silent.
  const auto [code, out] = test_support::run_command(
      {"/usr/bin/curl", "-sv", "-H", "Expect: 100-continue", "--expect100-timeout", "10",
       "--data-binary", "@" + dir.file("body.txt"),
       "http://127.0.0.1:" + std::to_string(port) + "/echo"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("< HTTP/1.1 100 Continue"), std::string::npos) << out;
  EXPECT_NE(out.find("< HTTP/1.1 200 OK"), std::string::npos) << out;
  EXPECT_NE(out.find(std::string(4096, 'b')), std::string::npos);
}

TEST_F(HttpServerTest, BadJsonGetsTheHandlersSpecific400) {
  start();
  http::Client c("127.0.0.1", port);
  auto r = c.request("POST", "/json", "{not json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_code(r->body), "bad_json");
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  http::Client c("127.0.0.1", port);
  auto r = c.raw_exchange(
      "GET /n/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /n/2 HTTP/1.1\r\nHost: x\r\n\r\nGET /n/3 "
      "HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n",
      3s);
  ASSERT_TRUE(r);
  const auto p1 = r->find("\r\n\r\n1");
  const auto p2 = r->find("\r\n\r\n2");
  const auto p3 = r->find("\r\n\r\n3");
  ASSERT_NE(p1, std::string::npos) << *r;
  ASSERT_NE(p2, std::string::npos) << *r;
  ASSERT_NE(p3, std::string::npos) << *r;
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
}

TEST_F(HttpServerTest, SlowHeaderClientIsCutOffByHeaderTimeout) {
  http::ServerOptions o;
  o.header_timeout = 300ms;
  start(o);
  http::Client c("127.0.0.1", port);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.raw_exchange("GET /n/1 HTTP/1.1\r\nHost: x\r\n", 10s);  // headers never finish
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_LT(elapsed, 8s) << "the server closed the connection, the client did not time out";
  expect_alive();
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  http::ServerOptions o;
  o.idle_timeout = 300ms;
  start(o);
  http::Client c("127.0.0.1", port);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.raw_exchange("", 10s);  // connect and say nothing
  ASSERT_TRUE(r);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
  EXPECT_TRUE(r->empty());
}

TEST_F(HttpServerTest, GracefulStopFinishesInFlightRequests) {
  start();
  std::optional<core::Result<http::ClientResponse>> result;
  std::thread t([&] {
    http::Client c("127.0.0.1", port);
    result = c.request("GET", "/slow", {}, {}, 5s);
  });
  while (!slow_started) std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(server->draining());
  server->stop(5s);
  EXPECT_TRUE(server->draining());
  t.join();
  ASSERT_TRUE(result && *result) << (result && !*result ? result->error().message : "");
  EXPECT_EQ((*result)->status, 200);
  EXPECT_EQ((*result)->body, "done");
  EXPECT_EQ((*result)->header("connection"), "close");
  http::Client late("127.0.0.1", port);
  EXPECT_FALSE(late.request("GET", "/n/1", {}, {}, 1s)) << "no new connections after stop";
  server.reset();
}

TEST(Probes, ReadyzFollowsReadinessAndHealthListsChecks) {
  std::string why;
  http::Router router;
  bool db_ok = true;
  http::mount_probe_routes(
      router, [&] { return why; },
      {{"db", [&] { return std::make_pair(db_ok, std::string(db_ok ? "open" : "closed")); }}});
  const auto call = [&](const char* path) {
    http::Request r;
    r.method = "GET";
    r.path = path;
    return router.route(r);
  };
  EXPECT_EQ(call("/livez").status, 200);
  EXPECT_EQ(call("/readyz").status, 200);
  EXPECT_EQ(call("/health").status, 200);
  why = "draining";
  const auto not_ready = call("/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(nlohmann::json::parse(not_ready.body)["reason"], "draining");
  EXPECT_EQ(call("/livez").status, 200) << "draining is still alive";
  why.clear();
  db_ok = false;
  const auto health = call("/health");
  EXPECT_EQ(health.status, 503);
  const auto j = nlohmann::json::parse(health.body);
  EXPECT_EQ(j["status"], "failing");
  EXPECT_EQ(j["checks"][1]["name"], "db");
  EXPECT_EQ(j["checks"][1]["detail"], "closed");
}

TEST(Url, ParsesHostPortAndTarget) {
  auto u = http::parse_url("http://localhost:8080/guardrail/v1/status?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->target, "/guardrail/v1/status?x=1");
  EXPECT_EQ(http::parse_url("http://h")->target, "/");
  EXPECT_EQ(http::parse_url("http://h")->port, 80);
  EXPECT_FALSE(http::parse_url("https://h"));
  EXPECT_FALSE(http::parse_url("http://h:0/"));
  EXPECT_FALSE(http::parse_url("http://h:99999/"));
  EXPECT_FALSE(http::parse_url("http://:80/"));
}

}  // namespace
