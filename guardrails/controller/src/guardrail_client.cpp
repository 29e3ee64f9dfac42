#include "guardrails/controller/guardrail_client.hpp"

#include "guardrails/deploy/status_document.hpp"
#include "http/client.hpp"

#include <nlohmann/json.hpp>

namespace guardrails::controller {
namespace {
constexpr std::chrono::milliseconds kDeadline{2000};
}

core::Result<GuardrailClient> GuardrailClient::make(deploy::Colour colour,
                                                    const std::string& base_url, std::string app) {
  auto url = http::parse_url(base_url);
  if (!url) return core::fail(url.error());
  return GuardrailClient(colour, base_url, std::move(app),
                         std::make_unique<http::Client>(url->host, url->port));
}

GuardrailClient::GuardrailClient(deploy::Colour colour, std::string base_url, std::string app,
                                 std::unique_ptr<http::Client> client)
    : colour_(colour),
      base_url_(std::move(base_url)),
      app_(std::move(app)),
      client_(std::move(client)) {}
GuardrailClient::GuardrailClient(GuardrailClient&&) noexcept = default;
GuardrailClient& GuardrailClient::operator=(GuardrailClient&&) noexcept = default;
GuardrailClient::~GuardrailClient() = default;

deploy::ReadyProbed GuardrailClient::ready(bool standby_counts) {
  auto res = client_->request("GET", "/readyz", {}, {}, kDeadline);
  if (!res) return deploy::ReadyProbed{false, res.error().message};
  if (standby_counts && res->status == 503 &&
      res->body.find("standby: following the journal") != std::string::npos &&
      res->body.find("(caught up)") != std::string::npos) {
    return deploy::ReadyProbed{true, "a standby that has caught up with the primary"};
  }
  return deploy::ReadyProbed{res->status == 200, "HTTP " + std::to_string(res->status)};
}

deploy::VerdictRead GuardrailClient::verdict() {
  auto res = client_->request("GET", "/guardrail/v1/status", {}, {}, kDeadline);
  if (!res) {
    last_body_.clear();
    deploy::VerdictRead r;
    r.colour = colour_;
    r.detail = base_url_ + " unreachable: " + res.error().message;
    return r;
  }
  last_body_ = res->body;
  return deploy::read_status_document(colour_, res->status, res->body, app_);
}

std::string GuardrailClient::report(const std::string& token, const std::string& deployment,
                                    const std::string& event, const std::string& detail,
                                    const std::string& who) {
  const std::string body = nlohmann::json{
      {"deployment", deployment},
      {"event", event},
      {"detail", detail},
      {"who", who}}.dump();
  auto res = call("POST", "/guardrail/v1/events", token, body, std::chrono::milliseconds(1000));
  return res ? std::string() : res.error().message;
}

core::Result<std::string> GuardrailClient::call(const std::string& method, const std::string& path,
                                                const std::string& token, const std::string& body,
                                                std::chrono::milliseconds timeout) {
  auto res = client_->request(
      method, path, body,
      {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, timeout);
  if (!res) return core::fail(1, base_url_ + path + " unreachable: " + res.error().message);
  if (res->status != 200) {
    const auto doc = nlohmann::json::parse(res->body, nullptr, false);
    std::string message;
    if (!doc.is_discarded() && doc.is_object() && doc.contains("error") &&
        doc["error"].is_object()) {
      message = doc["error"].value("message", "");
    }
    return core::fail(res->status, base_url_ + path + ": HTTP " + std::to_string(res->status) +
                                       (message.empty() ? "" : ": " + message));
  }
  return res->body;
}

}  // namespace guardrails::controller
