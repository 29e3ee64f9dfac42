// GuardrailClient: one colour's HTTP endpoints as the workflow needs them: /readyz (is it ready?),
// /guardrail/v1/status (its verdict, through read_status_document) and /guardrail/v1/events (the
// controller's reports of switches and rollbacks). Every call has a
// deadline; an unreachable colour is an answer (not ready, no verdict), never an exception. One
// connection per client; not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "guardrails/deploy/workflow.hpp"

namespace http {
class Client;
}

namespace guardrails::controller {

class GuardrailClient {
 public:
  // `base_url` "http://host:port"; `app` the guardrail's app name the status must carry.
  static core::Result<GuardrailClient> make(deploy::Colour colour, const std::string& base_url,
                                            std::string app);
  GuardrailClient(GuardrailClient&&) noexcept;
  GuardrailClient& operator=(GuardrailClient&&) noexcept;
  ~GuardrailClient();

  // `standby_counts`: a venue standby that has caught up with its primary (/readyz 503 "standby:
  // following the journal ... (caught up)") is ready for its analysis, though not for traffic.
  deploy::ReadyProbed ready(bool standby_counts = false);
  deploy::VerdictRead verdict();
  // POST /guardrail/v1/events with the controller's bearer token: "" when recorded, else what
  // went wrong (unreachable, the HTTP status and error). One short deadline: a report never
  // holds up the deployment.
  std::string report(const std::string& token, const std::string& deployment,
                     const std::string& event, const std::string& detail, const std::string& who);
  // `method` `path` with a bearer token and a JSON body (the venue's cutover calls): the body of
  // a 200 answer, else an error with the HTTP status and the answer's error message (code 1:
  // unreachable).
  core::Result<std::string> call(const std::string& method, const std::string& path,
                                 const std::string& token, const std::string& body,
                                 std::chrono::milliseconds timeout);
  // The raw body of the last status read (kept in the evidence).
  const std::string& last_status_body() const { return last_body_; }
  const std::string& base_url() const { return base_url_; }

 private:
  GuardrailClient(deploy::Colour colour, std::string base_url, std::string app,
                  std::unique_ptr<http::Client> client);
  deploy::Colour colour_;
  std::string base_url_;
  std::string app_;
  std::unique_ptr<http::Client> client_;
  std::string last_body_;
};

}  // namespace guardrails::controller
