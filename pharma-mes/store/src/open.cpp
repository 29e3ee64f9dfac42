#include "mes/store/open.hpp"

#include <chrono>

#include "postgres_store.hpp"
#include "sqlite_store.hpp"

namespace mes::store {

Result<std::unique_ptr<Store>> open_store(const std::string& url, StoreOptions options) {
  if (!options.clock) {
    options.clock = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.rfind(kSqlite, 0) == 0) {
    const std::string path = url.substr(kSqlite.size());
    if (path.empty()) return refuse(Code::kInvalid, "sqlite:// needs a file path", "url");
    return open_sqlite_store(path, std::move(options));
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return open_postgres_store(url, std::move(options));
  }
  return refuse(Code::kInvalid,
                "unsupported store URL '" + url + "' (sqlite://<path> or postgresql://...)", "url");
}

int schema_version() { return sqlite_schema_version(); }

Result<SchemaState> inspect_schema(const std::string& url) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url.rfind(kSqlite, 0) == 0) return inspect_sqlite_schema(url.substr(kSqlite.size()));
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return inspect_postgres_schema(url);
  }
  return refuse(Code::kInvalid,
                "unsupported store URL '" + url + "' (sqlite://<path> or postgresql://...)", "url");
}

}  // namespace mes::store
