// Opening the MES store by URL: sqlite://<path> (default sqlite://./data/mes.db; WAL,
// synchronous=FULL, foreign keys on) or postgresql://... (libpqxx). Schema migrations are applied
// on open. The returned Store is thread-safe: commands from many threads are committed by one
// writer in groups (see store.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mes/domain/store.hpp"

namespace mes::store {

struct StoreOptions {
  std::function<Millis()> clock;  // server UTC; default: the system clock
  std::size_t max_group = 64;     // commands per group commit
  // PostgreSQL: reader connections opened (and their statements prepared) before open_store
  // returns, so a server's first requests do not each pay a connection set-up (at most 8; the
  // pool still grows on demand). A server sets it to its I/O thread count; tools leave it 0.
  std::size_t warm_readers = 0;
};

Result<std::unique_ptr<Store>> open_store(const std::string& url, StoreOptions options = {});

// The schema version this build migrates to.
int schema_version();

// A database's schema as it is, read without migrating anything (0 for an empty database).
struct SchemaState {
  std::int64_t database_version = 0;
  std::int64_t readable_from = 0;  // the schema_compat floor (0: any build)
};
Result<SchemaState> inspect_schema(const std::string& url);

}  // namespace mes::store
