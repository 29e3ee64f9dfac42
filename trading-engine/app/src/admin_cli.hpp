// `trading-engine admin user add|revoke|list ...`: the venue's admin identities, kept in the
// admin log (admin_controls.hpp). Who runs it names themselves (--by) and says why (--reason);
// both are recorded with the change. A new user's token is printed once and kept only as a hash.
#pragma once

namespace trading::app {

// argv[1] == "admin". Exit 0 done, 1 refused or failed, 2 usage.
int admin_command(int argc, char** argv);

}  // namespace trading::app
