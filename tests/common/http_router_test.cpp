#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "http/message.hpp"
#include "http/router.hpp"

namespace {

http::Request request(std::string method, std::string target) {
  http::Request r;
  r.method = std::move(method);
  r.target = target;
  const auto q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  return r;
}

void expect_error_body(const http::Response& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status);
  EXPECT_EQ(r.content_type, "application/json");
  const auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], code) << r.body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
}

TEST(Router, CapturesPathParameters) {
  http::Router router;
  router.get("/admin/v1/book/{symbol}/depth/{levels}", [](const http::Request& r) {
    return http::Response::json(
        200, std::string(r.path_param("symbol")) + ":" + std::string(r.path_param("levels")));
  });
  auto req = request("GET", "/admin/v1/book/ACME/depth/5");
  EXPECT_EQ(router.route(req).body, "ACME:5");
}

TEST(Router, UnknownPathIs404Json) {
  http::Router router;
  router.get("/a", [](const http::Request&) { return http::Response::json(200, "{}"); });
  auto req = request("GET", "/b");
  expect_error_body(router.route(req), 404, "not_found");
}

TEST(Router, WrongMethodIs405WithAllow) {
  http::Router router;
  router.get("/a", [](const http::Request&) { return http::Response::json(200, "{}"); });
  router.add("PUT", "/a", [](const http::Request&) { return http::Response::json(200, "{}"); });
  auto req = request("DELETE", "/a");
  const auto r = router.route(req);
  expect_error_body(r, 405, "method_not_allowed");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET, PUT");
}

TEST(Router, ThrowingHandlerIs500AndDoesNotPropagate) {
  http::Router router;
  router.get("/boom",
             [](const http::Request&) -> http::Response { throw std::runtime_error("kaput"); });
  router.get("/boom2", [](const http::Request&) -> http::Response { throw 42; });
  auto a = request("GET", "/boom");
  auto b = request("GET", "/boom2");
  expect_error_body(router.route(a), 500, "internal");
  expect_error_body(router.route(b), 500, "internal");
}

TEST(Router, LiteralSegmentsMustMatchExactly) {
  http::Router router;
  router.get("/guardrail/v1/status",
             [](const http::Request&) { return http::Response::json(200, "s"); });
  router.post("/guardrail/v1/flagger",
              [](const http::Request&) { return http::Response::json(200, "f"); });
  router.post("/guardrail/v1/flagger/rollback",
              [](const http::Request&) { return http::Response::json(200, "r"); });
  auto f = request("POST", "/guardrail/v1/flagger");
  auto r = request("POST", "/guardrail/v1/flagger/rollback");
  auto s = request("GET", "/guardrail/v1/status?x=1");
  EXPECT_EQ(router.route(f).body, "f");
  EXPECT_EQ(router.route(r).body, "r");
  EXPECT_EQ(router.route(s).body, "s");
}

TEST(Request, HeadersAreCaseInsensitiveAndBearerIsParsed) {
  http::Request r;
  r.headers = {{"authorization", "Bearer  abc123 "}, {"x-thing", "1"}};
  EXPECT_EQ(r.header("Authorization"), "Bearer  abc123 ");
  EXPECT_EQ(r.bearer_token(), "abc123");
  r.headers = {{"authorization", "Basic Zm9v"}};
  EXPECT_EQ(r.bearer_token(), "");
  r.headers = {};
  EXPECT_EQ(r.bearer_token(), "");
}

// Behind a balancer the client is the nearest X-Forwarded-For hop that is not a trusted proxy;
// the header of an untrusted peer is ignored (it could say anything).
TEST(Request, ClientAddressTrustsForwardedForOnlyFromTrustedProxies) {
  http::Request r;
  r.remote_address = "10.0.0.5:41000";
  EXPECT_EQ(r.client_address({}), "10.0.0.5");
  r.headers.emplace_back("X-Forwarded-For", "203.0.113.9, 10.0.0.7");
  EXPECT_EQ(r.client_address({}), "10.0.0.5") << "no trusted proxies: the header is ignored";
  EXPECT_EQ(r.client_address({"10.0.0.5"}), "10.0.0.7") << "one hop trusted";
  EXPECT_EQ(r.client_address({"10.0.0.0/8"}), "203.0.113.9") << "both hops in the prefix";
  EXPECT_EQ(r.client_address({"192.168.0.0/16"}), "10.0.0.5");
  r.headers.clear();
  r.headers.emplace_back("X-Forwarded-For", " , ");
  EXPECT_EQ(r.client_address({"10.0.0.5"}), "10.0.0.5") << "an empty header: the proxy itself";
  r.remote_address = "[::1]:5000";
  EXPECT_EQ(r.client_address({}), "::1");
  EXPECT_TRUE(http::address_trusted("127.0.0.1", {"127.0.0.0/8"}));
  EXPECT_FALSE(http::address_trusted("128.0.0.1", {"127.0.0.0/8"}));
  EXPECT_FALSE(http::address_trusted("127.0.0.1", {"127.0.0.0/40", "nonsense/8", "1.2.3/8"}));
  EXPECT_TRUE(http::address_trusted("8.8.8.8", {"0.0.0.0/0"}));
  // A configured entry that could never match is refused with its reason, not ignored.
  for (const char* ok : {"127.0.0.1", "10.0.0.0/8", "::1", "0.0.0.0/0"}) {
    EXPECT_EQ(http::trusted_proxy_problem(ok), "") << ok;
  }
  for (const char* bad : {"", "nonsense", "10.0.0/8", "10.0.0.0/40", "10.0.0.0/", "1.2.3.4/x"}) {
    EXPECT_NE(http::trusted_proxy_problem(bad), "") << bad;
  }
}

TEST(Request, QueryParametersArePercentDecoded) {
  auto r = request("GET", "/x?a=1&name=hello%20world&plus=a+b&empty=&bad=%zz");
  EXPECT_EQ(r.query_param("a"), "1");
  EXPECT_EQ(r.query_param("name"), "hello world");
  EXPECT_EQ(r.query_param("plus"), "a b");
  EXPECT_EQ(r.query_param("empty"), "");
  EXPECT_EQ(r.query_param("bad"), "%zz");
  EXPECT_EQ(r.query_param("missing"), "");
}

TEST(ErrorResponse, EscapesMessageAndAsksForBearerOn401) {
  const auto r = http::error_response(401, "unauthorized", "bad \"token\"\n");
  expect_error_body(r, 401, "unauthorized");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["message"], "bad \"token\"\n");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
}

TEST(SecureEquals, ComparesWholeStrings) {
  EXPECT_TRUE(http::secure_equals("abc", "abc"));
  EXPECT_FALSE(http::secure_equals("abc", "abd"));
  EXPECT_FALSE(http::secure_equals("abc", "abcd"));
  EXPECT_FALSE(http::secure_equals("", "a"));
}

}  // namespace
