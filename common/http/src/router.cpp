#include "http/router.hpp"

#include <exception>

#include "logging/logger.hpp"

namespace http {

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
  }
  return parts;
}

bool is_capture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

Router& Router::add(std::string method, std::string pattern, Handler handler) {
  Route r;
  r.method = std::move(method);
  for (auto s : split_path(pattern)) r.segments.emplace_back(s);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
  return *this;
}

std::vector<std::pair<std::string, std::string>> Router::routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(routes_.size());
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

Response Router::route(Request& request) const {
  const auto parts = split_path(request.path);
  std::string allowed;
  for (const auto& r : routes_) {
    if (r.segments.size() != parts.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < parts.size() && match; ++i) {
      match = is_capture(r.segments[i]) || r.segments[i] == parts[i];
    }
    if (!match) continue;
    if (r.method != request.method) {
      if (allowed.find(r.method) == std::string::npos)
        allowed += (allowed.empty() ? "" : ", ") + r.method;
      continue;
    }
    request.path_params.clear();
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (is_capture(r.segments[i])) {
        request.path_params.emplace_back(r.segments[i].substr(1, r.segments[i].size() - 2),
                                         parts[i]);
      }
    }
    try {
      return r.handler(request);
    } catch (const std::exception& e) {
      logging::error("http", "handler threw", {{"path", request.path}, {"what", e.what()}});
    } catch (...) {
      logging::error("http", "handler threw a non-exception", {{"path", request.path}});
    }
    return error_response(500, "internal", "the handler failed; see the server log");
  }
  if (!allowed.empty()) {
    Response r = error_response(
        405, "method_not_allowed",
        request.method + " is not allowed on " + request.path + "; allowed: " + allowed);
    r.headers.emplace_back("Allow", allowed);
    return r;
  }
  return error_response(404, "not_found", "no route for " + request.path);
}

}  // namespace http
