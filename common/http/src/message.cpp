#include "http/message.hpp"

#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <optional>

#include "logging/logger.hpp"

namespace http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

std::string_view Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

std::string_view Request::path_param(std::string_view name) const {
  for (const auto& [k, v] : path_params) {
    if (k == name) return v;
  }
  return {};
}

std::string Request::query_param(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
  }
  return {};
}

std::string_view Request::bearer_token() const {
  std::string_view auth = header("authorization");
  constexpr std::string_view kScheme = "Bearer ";
  if (auth.size() <= kScheme.size() || !iequals(auth.substr(0, kScheme.size()), kScheme)) return {};
  auth.remove_prefix(kScheme.size());
  while (!auth.empty() && auth.front() == ' ') auth.remove_prefix(1);
  while (!auth.empty() && auth.back() == ' ') auth.remove_suffix(1);
  return auth;
}

namespace {

std::optional<std::uint32_t> ipv4(std::string_view text) {
  std::uint32_t value = 0;
  int parts = 0;
  while (parts < 4) {
    std::uint32_t part = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9' && digits < 3) {
      part = part * 10 + static_cast<std::uint32_t>(text[digits] - '0');
      ++digits;
    }
    if (digits == 0 || part > 255) return std::nullopt;
    value = (value << 8) | part;
    text.remove_prefix(digits);
    ++parts;
    if (parts < 4) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
  }
  if (!text.empty()) return std::nullopt;
  return value;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool address_trusted(std::string_view address, const std::vector<std::string>& trusted) {
  for (const std::string& entry : trusted) {
    const auto slash = entry.find('/');
    if (slash == std::string::npos) {
      if (address == entry) return true;
      continue;
    }
    const auto net = ipv4(std::string_view(entry).substr(0, slash));
    const auto ip = ipv4(address);
    const std::string bits_text = entry.substr(slash + 1);
    if (!net || !ip || bits_text.empty() || bits_text.size() > 2) continue;
    const int bits = std::atoi(bits_text.c_str());
    if (bits < 0 || bits > 32) continue;
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    if ((*ip & mask) == (*net & mask)) return true;
  }
  return false;
}

std::string trusted_proxy_problem(std::string_view entry) {
  const auto slash = entry.find('/');
  if (slash == std::string_view::npos) {
    const bool looks_like_address =
        !entry.empty() && (ipv4(entry) || entry.find(':') != std::string_view::npos);
    return looks_like_address ? std::string()
                              : "'" + std::string(entry) + "' is not an IPv4 or IPv6 address";
  }
  const std::string bits(entry.substr(slash + 1));
  const bool bits_ok = !bits.empty() && bits.size() <= 2 &&
                       bits.find_first_not_of("0123456789") == std::string::npos &&
                       std::atoi(bits.c_str()) <= 32;
  if (!ipv4(entry.substr(0, slash)) || !bits_ok) {
    return "'" + std::string(entry) + "' is not an IPv4 prefix like 10.0.0.0/8";
  }
  return {};
}

std::string Request::client_address(const std::vector<std::string>& trusted_proxies) const {
  std::string peer = remote_address;
  // "ip:port" or "[v6]:port"
  if (!peer.empty() && peer.front() == '[') {
    peer = peer.substr(1, peer.find(']') == std::string::npos ? 0 : peer.find(']') - 1);
  } else if (peer.find(':') == peer.rfind(':')) {
    peer = peer.substr(0, peer.find(':'));
  }
  if (!address_trusted(peer, trusted_proxies)) return peer;
  // Right to left: each hop appended the address it saw; the first untrusted one is the client.
  std::string_view forwarded = header("x-forwarded-for");
  while (!forwarded.empty()) {
    const auto comma = forwarded.rfind(',');
    const std::string_view hop =
        trimmed(comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1));
    forwarded = comma == std::string_view::npos ? std::string_view() : forwarded.substr(0, comma);
    if (hop.empty()) continue;
    if (!address_trusted(hop, trusted_proxies)) return std::string(hop);
    peer = std::string(hop);
  }
  return peer;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

std::string_view default_error_code(int status) {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not_found";
    case 405:
      return "method_not_allowed";
    case 408:
      return "request_timeout";
    case 409:
      return "conflict";
    case 412:
      return "precondition_failed";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 422:
      return "unprocessable";
    case 429:
      return "too_many_requests";
    case 431:
      return "header_too_large";
    case 500:
      return "internal";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

void add_browser_security_headers(Response& response, std::string_view cache_control) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("Cache-Control", std::string(cache_control));
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' blob: data:; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
}

Response error_response(int status, std::string_view code, std::string_view message) {
  std::string body = R"({"error":{"code":")";
  logging::append_json_escaped(body, code);
  body += R"(","message":")";
  logging::append_json_escaped(body, message);
  body += "\"}}";
  Response r = Response::json(status, std::move(body));
  if (status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

std::string html_escape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (const char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool secure_equals(std::string_view a, std::string_view b) {
  // Length is not secret (tokens have a fixed configured length); contents are compared fully.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < n; ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

}  // namespace http
