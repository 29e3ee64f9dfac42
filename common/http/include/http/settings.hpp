// The HTTP server's settings in a binary's config Schema (section "http"), and their translation
// into ServerOptions.
#pragma once

#include <cstdint>

#include "config/config.hpp"
#include "http/server.hpp"

namespace http {

void add_server_settings(config::Schema& schema, std::uint16_t default_port);
ServerOptions server_options_from(const config::Values& values);

}  // namespace http
