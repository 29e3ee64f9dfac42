// The stores' schema migrations, and the rule they follow for blue/green: within a release a
// migration only expands the schema, so the previous version (blue) keeps working on the schema
// the new one (green) migrated — nothing it uses is dropped, renamed or tightened. A later
// release may contract what no running version uses any more. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mes::store {

const std::vector<std::string>& sqlite_migrations();
const std::vector<std::string>& postgres_migrations();

// What in `sql` is not expand-only, one line each ("drops a table: DROP TABLE readings"); empty
// when the migration only adds. Comments are ignored; the check is on statements, so it errs on
// the side of refusing (a contraction must then be its own, later release).
std::vector<std::string> expand_only_problems(std::string_view sql);

}  // namespace mes::store
