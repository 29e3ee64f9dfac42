// The PostgreSQL implementation of the MES store (see open.hpp).
#pragma once

#include "mes/store/open.hpp"

namespace mes::store {

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url, StoreOptions options);
Result<SchemaState> inspect_postgres_schema(const std::string& url);

}  // namespace mes::store
