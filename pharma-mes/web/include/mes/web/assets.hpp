// The operator UI's static files (pharma-mes/web/static), compiled into the binary so the
// server needs no file path at run time. mount_web_ui() serves them: "/" is index.html.
// Immutable after start; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "http/router.hpp"

namespace mes::web {

struct Asset {
  std::string_view path, content_type, body;
};
const std::vector<Asset>& assets();

// GET / and GET /<file> for every asset, with the UI's security headers (CSP without inline
// script or style, frame denial, nosniff). No session is needed: the files hold no data.
void mount_web_ui(http::Router& router);

}  // namespace mes::web
