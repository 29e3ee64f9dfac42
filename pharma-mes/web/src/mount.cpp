#include "mes/web/assets.hpp"

#include <string>

namespace mes::web {

void mount_web_ui(http::Router& router) {
  for (const Asset& asset : assets()) {
    const auto serve = [&asset](const http::Request&) {
      http::Response r =
          http::Response::text(200, std::string(asset.body), std::string(asset.content_type));
      r.headers.emplace_back("X-Content-Type-Options", "nosniff");
      r.headers.emplace_back("X-Frame-Options", "DENY");
      r.headers.emplace_back("Referrer-Policy", "no-referrer");
      r.headers.emplace_back("Cache-Control", "no-cache");
      r.headers.emplace_back("Content-Security-Policy",
                             "default-src 'self'; img-src 'self' blob: data:; frame-ancestors "
                             "'none'; base-uri 'none'; form-action 'self'");
      return r;
    };
    router.get(std::string(asset.path), serve);
    if (asset.path == "/index.html") router.get("/", serve);
  }
}

}  // namespace mes::web
