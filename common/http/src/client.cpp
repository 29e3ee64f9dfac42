#include "http/client.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "logging/trace.hpp"

namespace http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

core::Result<Url> parse_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) {
    return core::fail(1, "URL must start with http:// (got '" + std::string(url) + "')");
  }
  url.remove_prefix(kScheme.size());
  Url out;
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    unsigned port = 0;
    const auto p = authority.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
      return core::fail(1, "bad port in URL: '" + std::string(p) + "'");
    }
    out.port = static_cast<std::uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return core::fail(1, "URL has no host");
  out.host = std::string(authority);
  return out;
}

std::string_view ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

struct Client::Impl {
  std::string host;
  std::uint16_t port;
  asio::io_context io;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  // Runs the queued async work until done or the deadline; false on timeout.
  bool run_for(std::chrono::milliseconds timeout) {
    io.restart();
    io.run_for(timeout);
    if (!io.stopped()) {
      stream->cancel();
      io.restart();
      io.run();
      return false;
    }
    return true;
  }

  core::Result<void> ensure_connected(std::chrono::milliseconds timeout) {
    if (stream && stream->socket().is_open()) return {};
    stream.emplace(io);
    buffer.clear();
    beast::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return core::fail(1, "cannot resolve " + host + ": " + ec.message());
    stream->expires_after(timeout);
    beast::error_code connect_ec = asio::error::would_block;
    stream->async_connect(results,
                          [&](beast::error_code e, const tcp::endpoint&) { connect_ec = e; });
    run_for(timeout + std::chrono::milliseconds(100));
    if (connect_ec) {
      stream.reset();
      return core::fail(1, "cannot connect to " + host + ":" + std::to_string(port) + ": " +
                               connect_ec.message());
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    return {};
  }
};

Client::Client(std::string host, std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

Client::~Client() = default;

core::Result<ClientResponse> Client::request(std::string_view method, std::string_view target,
                                             std::string_view body,
                                             const std::vector<Header>& headers,
                                             std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = d.stream && d.stream->socket().is_open();
    if (auto c = d.ensure_connected(timeout); !c) return tl::unexpected(c.error());
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    if (req.method() == bhttp::verb::unknown) req.method_string(method);
    req.set(bhttp::field::host, d.host);
    req.set(bhttp::field::user_agent, "gv-client");
    // W3C Trace Context: the callee continues this thread's trace (logging/trace.hpp).
    if (const logging::TraceContext* span = logging::current_span()) {
      req.set("traceparent", span->traceparent());
    }
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() && req.find(bhttp::field::content_type) == req.end()) {
      req.set(bhttp::field::content_type, "application/json");
    }
    req.body() = std::string(body);
    req.prepare_payload();

    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::error_code ec = asio::error::would_block;
    d.stream->expires_after(timeout);
    bhttp::async_write(*d.stream, req, [&](beast::error_code e, std::size_t) {
      if (e) {
        ec = e;
        return;
      }
      bhttp::async_read(*d.stream, d.buffer, parser,
                        [&](beast::error_code e2, std::size_t) { ec = e2; });
    });
    const bool finished = d.run_for(timeout + std::chrono::milliseconds(100));
    if (!finished || ec == beast::error::timeout) {
      d.stream.reset();
      return core::fail(2, "timed out after " + std::to_string(timeout.count()) + " ms");
    }
    if (ec) {
      d.stream.reset();
      // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
      if (reused && attempt == 0) continue;
      return core::fail(3, "request failed: " + ec.message());
    }
    auto& msg = parser.get();
    ClientResponse out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    out.body = std::move(msg.body());
    if (!msg.keep_alive()) d.stream.reset();
    return out;
  }
  return core::fail(3, "request failed");
}

core::Result<std::string> Client::raw_exchange(std::string_view bytes,
                                               std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  d.stream.reset();
  if (auto c = d.ensure_connected(timeout); !c) return tl::unexpected(c.error());
  std::string received;
  std::array<char, 4096> chunk{};
  beast::error_code ec;
  d.stream->expires_after(timeout);
  std::function<void(beast::error_code, std::size_t)> on_read = [&](beast::error_code e,
                                                                    std::size_t n) {
    received.append(chunk.data(), n);
    if (e) {
      ec = e;
      return;
    }
    d.stream->async_read_some(asio::buffer(chunk), on_read);
  };
  asio::async_write(*d.stream, asio::buffer(bytes.data(), bytes.size()),
                    [&](beast::error_code e, std::size_t) {
                      if (e) {
                        ec = e;
                        return;
                      }
                      d.stream->async_read_some(asio::buffer(chunk), on_read);
                    });
  d.run_for(timeout + std::chrono::milliseconds(100));
  d.stream.reset();
  if (received.empty() && ec && ec != asio::error::eof && ec != beast::error::timeout) {
    return core::fail(3, "exchange failed: " + ec.message());
  }
  return received;
}

}  // namespace http
