// The stores' schema migrations, and the rule they follow for blue/green: within a release a
// migration only expands the schema, so the previous version (blue) keeps working on the schema
// the new one (green) migrated — nothing it uses is dropped, renamed or tightened. A later
// release may contract what no running version uses any more. Pure functions; thread-safe.
#pragma once

#include <cstdint>
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

// Whether a build that migrates to schema `build_version` may use a database at
// `database_version`, of which builds from schema `readable_from` on can use (0: any; recorded in
// the schema_compat table by a release that contracts). An older build runs on a newer,
// expanded schema (blue on green's); empty when it may, else why not.
std::string schema_compatibility_problem(std::int64_t database_version, std::int64_t readable_from,
                                         std::int64_t build_version);

}  // namespace mes::store
