#include "http/settings.hpp"

namespace http {

void add_server_settings(config::Schema& schema, std::uint16_t default_port) {
  schema.add_string("http.address", "0.0.0.0", "address the HTTP server listens on")
      .add_int("http.port", default_port, 0, 65535,
               "HTTP port (probes, metrics, guardrail, API); 0: any free port")
      .add_string("http.port_file", "",
                  "write the bound HTTP port to this file once listening (tests; empty: none)")
      .add_int("http.io_threads", 2, 1, 64, "HTTP io threads")
      .add_int("http.body_limit", 1024 * 1024, 1024, 256 * 1024 * 1024,
               "largest accepted request body in bytes")
      .add_int("http.header_timeout_ms", 10'000, 100, 600'000,
               "time allowed to receive a request's headers")
      .add_int("http.body_timeout_ms", 30'000, 100, 600'000,
               "time allowed to receive a request's body")
      .add_int("http.idle_timeout_ms", 60'000, 100, 3'600'000,
               "keep-alive connections idle longer are closed")
      .add_int("http.max_connections", 4096, 1, 1'000'000, "connections beyond this are refused")
      .add_bool("http.access_log", true,
                "log every request (method, path, status, duration, client, W3C trace and span "
                "ids); probes, /metrics and the guardrail's status are never logged");
}

ServerOptions server_options_from(const config::Values& v) {
  ServerOptions o;
  o.address = v.get_string("http.address");
  o.port = static_cast<std::uint16_t>(v.get_int("http.port"));
  o.port_file = v.get_string("http.port_file");
  o.io_threads = static_cast<int>(v.get_int("http.io_threads"));
  o.body_limit = static_cast<std::size_t>(v.get_int("http.body_limit"));
  o.header_timeout = std::chrono::milliseconds(v.get_int("http.header_timeout_ms"));
  o.body_timeout = std::chrono::milliseconds(v.get_int("http.body_timeout_ms"));
  o.idle_timeout = std::chrono::milliseconds(v.get_int("http.idle_timeout_ms"));
  o.max_connections = static_cast<std::size_t>(v.get_int("http.max_connections"));
  o.access_log = v.get_bool("http.access_log");
  return o;
}

}  // namespace http
