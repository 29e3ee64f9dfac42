// Backup and restore of a whole MES database (21 CFR 11.10(c), Annex 11 §7.2): a backup is one
// consistent copy of every table (records, audit trail, signatures, checkpoints, readings,
// sessions) taken while the database keeps serving — SQLite through its online backup API,
// PostgreSQL with pg_dump (custom format, one snapshot). A restore goes only into an empty
// database, so it never mixes two histories. The server's signing key is not in the database:
// keep it apart (signatures and checkpoints verify only with its public key).
// Functions, no shared state; each opens its own connections or processes.
#pragma once

#include <string>

#include "mes/domain/errors.hpp"

namespace mes::store {

// Copies the database at `url` to `file` (written beside it as file.partial, then renamed;
// an existing file is refused).
Result<void> backup_database(const std::string& url, const std::string& file);

// Restores a backup_database() file into the database at `url`, which must be empty: a SQLite
// file that does not exist yet (or is empty), or a PostgreSQL database without tables. The file
// is checked first (a SQLite backup's integrity; a PostgreSQL archive's table of contents).
Result<void> restore_database(const std::string& file, const std::string& url);

}  // namespace mes::store
