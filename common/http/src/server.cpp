// Beast implementation of http::Server. Idea taken from Beast's advanced server example: the
// handler never touches the socket; each connection runs on its own strand; signal_set stops it.
#include "http/server.hpp"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>

#include "logging/logger.hpp"
#include "logging/trace.hpp"

namespace http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Session;

struct Server::Impl {
  ServerOptions options;
  Router router;
  asio::io_context io;
  // On a strand of its own: its accepts complete on any io thread, and stop() closes it from
  // another; the strand keeps do_accept/on_accept and the close from touching it at once (TSan
  // caught a close racing an accept being re-armed).
  tcp::acceptor acceptor{asio::make_strand(io)};
  std::vector<std::thread> threads;
  std::atomic<bool> draining{false};
  std::atomic<bool> running{false};
  std::atomic<std::uint16_t> bound_port{0};

  std::mutex sessions_mutex;
  std::unordered_set<Session*> sessions;  // guarded by sessions_mutex
  std::condition_variable sessions_cv;

  Impl(ServerOptions o, Router r)
      : options(std::move(o)), router(std::move(r)), io(std::max(1, options.io_threads)) {}

  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket socket);
  void add(Session* s);
  void remove(Session* s);
  void drain_sessions();
};

// Paths polled by machines (probes, scrapes, the controller's verdict reads): not access-logged.
bool quiet_path(std::string_view path) {
  return path == "/metrics" || path == "/livez" || path == "/readyz" || path == "/health" ||
         path == "/guardrail/v1/status" || path == "/status.json";
}

// One connection. Lives on its own strand; owned by the shared_ptrs its pending handlers hold.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, Server::Impl& server)
      : stream_(std::move(socket)),
        buffer_(server.options.header_limit + 64 * 1024),
        server_(server) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    server_.add(this);
  }
  ~Session() { server_.remove(this); }

  void start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read_next, shared_from_this()));
  }

  // Called from any thread when the server starts draining: an idle connection closes now, a busy
  // one after its current response.
  void drain() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->close();
    });
  }

 private:
  void read_next() {
    if (server_.draining.load()) return close();
    parser_.emplace();
    parser_->body_limit(server_.options.body_limit);
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.header_limit));
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already buffered
    // Wait for the first bytes of the next request under the idle timeout.
    idle_ = true;
    stream_.expires_after(server_.options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
  }

  void on_first_bytes(beast::error_code ec, std::size_t n) {
    idle_ = false;
    if (ec) return close();  // idle timeout, peer closed, or drained
    buffer_.commit(n);
    read_header();
  }

  void read_header() {
    // Header and body each have a deadline: a client trickling bytes cannot hold the connection.
    stream_.expires_after(server_.options.header_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    // A client that sent "Expect: 100-continue" waits for our go-ahead before the body (curl
    // waits a whole second otherwise). An oversized Content-Length never gets here: the parser
    // already failed with body_limit, answered with 413.
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      auto go_ahead = std::make_shared<bhttp::response<bhttp::empty_body>>(
          bhttp::status::continue_, parser_->get().version());
      stream_.expires_after(server_.options.body_timeout);
      bhttp::async_write(stream_, *go_ahead,
                         [self = shared_from_this(), go_ahead](beast::error_code e, std::size_t) {
                           if (e) return self->close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(server_.options.body_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read_error(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof) {
      return close();
    }
    Response r;
    if (ec == bhttp::error::body_limit) {
      r = error_response(
          413, "payload_too_large",
          "request body exceeds " + std::to_string(server_.options.body_limit) + " bytes");
    } else if (ec == bhttp::error::header_limit) {
      r = error_response(
          431, "header_too_large",
          "request headers exceed " + std::to_string(server_.options.header_limit) + " bytes");
    } else if (ec == bhttp::error::buffer_overflow) {
      r = error_response(431, "header_too_large", "request line or headers too large");
    } else {
      r = error_response(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
    // After a framing error the stream position is unknown: answer and close.
    send(std::move(r), false, 11);
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    req.headers.reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      req.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req.body = std::move(msg.body());
    req.remote_address = remote_;
    const bool keep_alive = msg.keep_alive();
    const unsigned version = msg.version();
    // W3C Trace Context: this request's span continues the caller's trace (or starts one); the
    // handler's log lines carry it, the response names it (traceresponse).
    const logging::TraceContext span =
        logging::start_span(logging::parse_traceparent(req.header("traceparent")));
    const auto started = std::chrono::steady_clock::now();
    Response r;
    {
      const logging::ScopedSpan scope(span);
      if (req.target.empty() || req.target.front() != '/') {
        r = error_response(400, "bad_request", "request target must be an absolute path");
      } else {
        r = server_.router.route(req);  // never throws
      }
      if (server_.options.access_log && !quiet_path(req.path)) {
        logging::info("http", "request",
                      {{"method", req.method},
                       {"path", req.path},
                       {"status", r.status},
                       {"duration_ms", std::chrono::duration<double, std::milli>(
                                           std::chrono::steady_clock::now() - started)
                                           .count()},
                       {"client", remote_}});
      }
    }
    r.headers.emplace_back("traceresponse", span.traceparent());
    send(std::move(r), keep_alive && !server_.draining.load(), version);
  }

  void send(Response r, bool keep_alive, unsigned version) {
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(r.status), version);
    res->set(bhttp::field::server, server_.options.server_name);
    res->set(bhttp::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    stream_.expires_after(server_.options.body_timeout);
    bhttp::async_write(
        stream_, *res,
        [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive) return self->close();
          self->read_next();
        });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Server::Impl& server_;
  std::string remote_;
  bool idle_ = false;  // touched only on the strand
};

void Server::Impl::add(Session* s) {
  std::lock_guard lock(sessions_mutex);
  sessions.insert(s);
}

void Server::Impl::remove(Session* s) {
  std::lock_guard lock(sessions_mutex);
  sessions.erase(s);
  sessions_cv.notify_all();
}

void Server::Impl::drain_sessions() {
  // Take strong references under the lock, drain outside it: releasing the last reference runs
  // ~Session, which takes sessions_mutex itself.
  std::vector<std::shared_ptr<Session>> alive;
  {
    std::lock_guard lock(sessions_mutex);
    for (Session* s : sessions) {
      // The session may be mid-destruction on another thread; only live ones are drained.
      if (auto p = s->weak_from_this().lock()) alive.push_back(std::move(p));
    }
  }
  for (auto& s : alive) s->drain();
}

void Server::Impl::do_accept() {
  acceptor.async_accept(asio::make_strand(io), beast::bind_front_handler(&Impl::on_accept, this));
}

void Server::Impl::on_accept(beast::error_code ec, tcp::socket socket) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    logging::warn("http", "accept failed", {{"error", ec.message()}});
  } else {
    std::size_t live = 0;
    {
      std::lock_guard lock(sessions_mutex);
      live = sessions.size();
    }
    if (live >= options.max_connections) {
      beast::error_code ignore;
      socket.close(ignore);  // over the connection cap: refuse rather than degrade everyone
    } else {
      std::make_shared<Session>(std::move(socket), *this)->start();
    }
  }
  if (!draining.load()) do_accept();
}

bool write_port_file(const std::string& path, std::uint16_t port) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return false;
  const bool written = std::fprintf(f, "%u\n", static_cast<unsigned>(port)) > 0;
  if (std::fclose(f) != 0 || !written) return false;
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

Server::Server(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

core::Result<void> Server::start() {
  auto& d = *impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(d.options.address, ec);
  if (ec) return core::fail(1, "bad listen address '" + d.options.address + "': " + ec.message());
  tcp::endpoint endpoint(address, d.options.port);
  d.acceptor.open(endpoint.protocol(), ec);
  if (!ec) d.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) d.acceptor.bind(endpoint, ec);
  if (!ec) d.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::fail(1, "cannot listen on " + d.options.address + ":" +
                             std::to_string(d.options.port) + ": " + ec.message());
  }
  d.bound_port = d.acceptor.local_endpoint().port();
  if (!d.options.port_file.empty() && !write_port_file(d.options.port_file, d.bound_port)) {
    d.acceptor.close(ec);
    return core::fail(1, "cannot write the port file " + d.options.port_file);
  }
  d.running = true;
  d.do_accept();
  for (int i = 0; i < std::max(1, d.options.io_threads); ++i) {
    d.threads.emplace_back([&d] { d.io.run(); });
  }
  logging::info("http", "listening",
                {{"address", d.options.address},
                 {"port", d.bound_port.load()},
                 {"io_threads", d.options.io_threads}});
  return {};
}

std::uint16_t Server::port() const { return impl_->bound_port.load(); }
bool Server::draining() const { return impl_->draining.load(); }

void Server::stop(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  if (!d.running.exchange(false)) return;
  d.draining = true;
  asio::post(d.acceptor.get_executor(), [&d] {
    beast::error_code ec;
    d.acceptor.close(ec);
  });
  d.drain_sessions();
  {
    std::unique_lock lock(d.sessions_mutex);
    d.sessions_cv.wait_for(lock, grace, [&d] { return d.sessions.empty(); });
    if (!d.sessions.empty()) {
      logging::warn("http", "grace period over; closing connections",
                    {{"open", d.sessions.size()}});
    }
  }
  d.io.stop();
  for (auto& t : d.threads) t.join();
  d.threads.clear();
  logging::info("http", "stopped", {{"port", d.bound_port.load()}});
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_shutdown_signal() {
  block_shutdown_signals();  // for callers that did not block them up front
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

}  // namespace http
