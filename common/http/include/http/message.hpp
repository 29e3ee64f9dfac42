// Request and Response: the plain values a handler sees and returns. No Beast types here, so
// handlers are ordinary functions `Response(const Request&)` that tests call without sockets.
// Value types; not shared between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

using Header = std::pair<std::string, std::string>;  // name lower-cased on requests

struct Request {
  std::string method;  // "GET", "POST", ... (upper case)
  std::string target;  // as sent: "/x/y?a=1"
  std::string path;    // target without the query
  std::string query;   // after '?', not decoded
  std::vector<Header> headers;
  std::string body;
  std::string remote_address;                                    // "ip:port" of the peer
  std::vector<std::pair<std::string, std::string>> path_params;  // filled by the Router

  // The first header with this name (case-insensitive), or "" if absent.
  std::string_view header(std::string_view name) const;
  // A path parameter captured by "{name}" in the route pattern, or "" if absent.
  std::string_view path_param(std::string_view name) const;
  // The (percent-decoded) value of a query parameter, or "" if absent.
  std::string query_param(std::string_view name) const;
  // The token of an "Authorization: Bearer <token>" header, or "" if absent.
  std::string_view bearer_token() const;
  // The client's address without the port: the peer's, or, when the peer is one of
  // `trusted_proxies` (the balancer's addresses: "10.1.2.3" or IPv4 prefixes "10.0.0.0/8"), the
  // nearest X-Forwarded-For address that is not a trusted proxy. The header of any other peer is
  // ignored: a client could write anything there.
  std::string client_address(const std::vector<std::string>& trusted_proxies) const;
};

// Whether `address` (IPv4 or IPv6 text, no port) is one of `trusted` (exact, or an IPv4 prefix
// "a.b.c.d/n").
bool address_trusted(std::string_view address, const std::vector<std::string>& trusted);
// Why `entry` cannot be a trusted proxy (not an address, or a malformed IPv4 prefix); "" when it
// can. Checked at start-up so that a typo does not silently trust nobody.
std::string trusted_proxy_problem(std::string_view entry);

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;  // extra headers (e.g. Allow, WWW-Authenticate)

  static Response json(int status, std::string body);
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
};

// {"error":{"code":"<code>","message":"<message>"}} with the given status (DESIGN.md §4).
Response error_response(int status, std::string_view code, std::string_view message);

// The headers a response gets when a browser may load it: no MIME sniffing, no framing, no
// referrer, `cache_control`, and a Content-Security-Policy allowing only this origin (no inline
// script or style; images also from blob: and data:).
void add_browser_security_headers(Response& response, std::string_view cache_control);

// The stable error codes of the common statuses.
std::string_view default_error_code(int status);

// Constant-time comparison for secrets (bearer tokens).
bool secure_equals(std::string_view a, std::string_view b);
// Text safe inside HTML element content and quoted attributes (& < > " ').
std::string html_escape(std::string_view in);

}  // namespace http
