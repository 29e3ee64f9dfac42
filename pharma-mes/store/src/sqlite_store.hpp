// The SQLite implementation of the MES store (see open.hpp).
#pragma once

#include "mes/store/open.hpp"

namespace mes::store {

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, StoreOptions options);
int sqlite_schema_version();
Result<SchemaState> inspect_sqlite_schema(const std::string& path);

}  // namespace mes::store
