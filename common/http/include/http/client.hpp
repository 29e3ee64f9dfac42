// Client: a small blocking HTTP/1.1 client with keep-alive and a deadline per request, for
// guardctl, tests and benchmarks. One connection per Client; not thread-safe (one per thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "http/message.hpp"

namespace http {

struct Url {
  std::string host;
  std::uint16_t port = 80;
  std::string target = "/";  // path + query
};

// "http://host[:port][/path]"; https is not supported (error).
core::Result<Url> parse_url(std::string_view url);

struct ClientResponse {
  int status = 0;
  std::vector<Header> headers;  // names lower-cased
  std::string body;
  std::string_view header(std::string_view name) const;
};

class Client {
 public:
  Client(std::string host, std::uint16_t port);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request on the kept-alive connection (reconnecting when needed).
  // Error code 1 = connect failed, 2 = timeout, 3 = I/O or protocol error.
  core::Result<ClientResponse> request(std::string_view method, std::string_view target,
                                       std::string_view body = {},
                                       const std::vector<Header>& headers = {},
                                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Writes raw bytes and reads whatever comes back until the peer closes or the timeout passes.
  // For tests of malformed requests.
  core::Result<std::string> raw_exchange(std::string_view bytes, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace http
