// Server: the one HTTP/1.1 server of every binary (Boost.Beast inside, not in this header).
// N io threads; keep-alive; one request at a time per connection, so pipelined requests queue in
// a bounded read buffer and are answered in order; body limit → 413; slow or idle clients are cut
// by header/body/idle timeouts. Graceful stop: draining() turns true (so /readyz can say 503),
// the acceptor closes, idle connections close, in-flight requests finish within the grace period.
// start/stop/wait are for the owning thread; draining() and port() are safe from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "http/router.hpp"

namespace http {

struct ServerOptions {
  std::string address = "0.0.0.0";
  std::uint16_t port = 8080;  // 0 picks a free port (tests)
  int io_threads = 2;
  std::size_t body_limit = 1024 * 1024;
  std::size_t header_limit = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // first byte of a request → end of headers
  std::chrono::milliseconds body_timeout{30'000};    // end of headers → end of body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::size_t max_connections = 4096;                // beyond this, new connections are closed
  std::string server_name = "gv";
  // One JSON log line per request (method, path, status, duration, client, trace and span ids),
  // except the machine-polled paths (/metrics, probes, the guardrail's status).
  bool access_log = true;
  // Once listening, the bound port is written here (a decimal and a newline, renamed into
  // place): how a test learns the port of a server started on port 0. Empty: none.
  std::string port_file;
};

// Writes `port` to `path` atomically (write to path.tmp, rename). False when it cannot.
bool write_port_file(const std::string& path, std::uint16_t port);

class Server {
 public:
  Server(ServerOptions options, Router router);
  ~Server();  // stops (grace 0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds, listens and starts the io threads. Error code 1 = cannot bind (message says why).
  core::Result<void> start();
  std::uint16_t port() const;  // the bound port
  bool draining() const;

  // Graceful stop: drain, then wait up to `grace` for in-flight requests, then force-close.
  void stop(std::chrono::milliseconds grace);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it creates afterwards. Call it
// first in main(), before any thread exists: a signal can then never hit a thread that has no
// handler (default action: die) while the process starts or runs.
void block_shutdown_signals();
// Waits (sigwait) until SIGTERM or SIGINT arrives; returns the signal number. For main().
int wait_for_shutdown_signal();

}  // namespace http
