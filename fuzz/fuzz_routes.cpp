// Fuzzes the guardrail's HTTP handlers through the router (the controller's events and reset
// among them): arbitrary method, path, query, headers and body, and the client address read
// from X-Forwarded-For. Every answer must be a valid status with a JSON body for errors; nothing
// may throw out of route().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "guardrails/status/routes.hpp"
#include "http/client.hpp"
#include "logging/logger.hpp"

namespace {

struct Fixture {
  Fixture() {
    logging::set_level(logging::Level::kOff);
    guardrails::GuardrailConfig c;
    c.reset_token = "token";
    guardrails::slo::SloSpec s;
    s.name = "latency";
    c.evaluator.slos = {s};
    guardrail = std::move(*guardrails::Guardrail::create(c));
    guardrails::mount_guardrail_routes(router, *guardrail);
  }
  std::unique_ptr<guardrails::Guardrail> guardrail;
  http::Router router;
};

// Splits the input at '\n' into method, target, authorization, body.
std::string take_line(std::string_view& in) {
  const auto nl = in.find('\n');
  std::string line(in.substr(0, nl));
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Fixture fixture;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  http::Request req;
  req.method = take_line(in);
  req.target = take_line(in);
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  req.headers.emplace_back("authorization", take_line(in));
  req.headers.emplace_back("x-forwarded-for", req.headers.back().second);
  req.remote_address = "127.0.0.1:4000";
  req.body = std::string(in);
  (void)req.client_address({"127.0.0.0/8", "10.0.0.1"});
  (void)req.query_param("x");
  (void)req.bearer_token();
  (void)http::parse_url(req.target);
  const auto res = fixture.router.route(req);
  if (res.status < 200 || res.status > 599) std::abort();
  if (res.status >= 400) {
    const auto body = nlohmann::json::parse(res.body, nullptr, false);
    if (body.is_discarded() || !body.contains("error") || !body["error"]["code"].is_string())
      std::abort();
  }
  return 0;
}
