// `pharma-mes serve [config flags]`: runs the MES HTTP server until SIGTERM/SIGINT; returns the
// process exit code (2: bad configuration).
#pragma once

namespace mes::app {

int run_server(int argc, char** argv);

}  // namespace mes::app
