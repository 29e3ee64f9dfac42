#include "mes/web/assets.hpp"

#include <string>

namespace mes::web {

void mount_web_ui(http::Router& router) {
  for (const Asset& asset : assets()) {
    const auto serve = [&asset](const http::Request&) {
      http::Response r =
          http::Response::text(200, std::string(asset.body), std::string(asset.content_type));
      http::add_browser_security_headers(r, "no-cache");
      return r;
    };
    router.get(std::string(asset.path), serve);
    if (asset.path == "/index.html") router.get("/", serve);
  }
}

}  // namespace mes::web
