// The venue's admin API (/admin/v1/*), every call authenticated and judged by AdminControls:
// reads (state, book, limits, sessions, users, proposals) for every role; halts and engaging a
// kill switch (risk down) for operations and risk officers; resuming, releasing a kill switch and
// changing limits only through a proposal another person approves (the break-glass token may
// resume and release directly, recorded); cutovers (handover, takeover) for the deployer. Every
// change carries a reason; changes and refusals go to the admin log. Handlers are thread-safe.
#pragma once

#include <functional>

#include "admin_controls.hpp"
#include "http/router.hpp"
#include "venue.hpp"

namespace trading::app {

// `after_takeover` runs once this venue became the primary (writes the FIX port file).
void mount_admin_routes(http::Router& router, Venue& venue, AdminControls& controls,
                        const std::function<void()>& after_takeover);

}  // namespace trading::app
