// Router: maps method + path pattern ("/admin/v1/book/{symbol}") to a handler. Unknown path → 404,
// known path with another method → 405 with an Allow header, a handler that throws → 500; every
// error is a JSON body. Build it before the server starts; route() is then safe from any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/message.hpp"

namespace http {

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // pattern: "/a/b" or with captures "/a/{id}/b"; captures match one non-empty segment.
  Router& add(std::string method, std::string pattern, Handler handler);
  Router& get(std::string pattern, Handler h) {
    return add("GET", std::move(pattern), std::move(h));
  }
  Router& post(std::string pattern, Handler h) {
    return add("POST", std::move(pattern), std::move(h));
  }

  // Fills request.path_params and runs the matching handler. Never throws.
  Response route(Request& request) const;

  // Every route as {method, pattern}, in the order added (for tests that must cover them all,
  // and for checking an API description against the code).
  std::vector<std::pair<std::string, std::string>> routes() const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" marks a capture
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace http
