// The PostgreSQL server the MES tests run against: the one named by MES_TEST_POSTGRES (a base URL
// such as postgresql:///?host=/tmp/pg&port=55432&user=postgres, started by scripts/test.sh), or
// else one this process starts itself with scripts/postgres.sh and stops at exit. Each test gets a
// fresh database. Thread-safe.
#pragma once

#include <string>
#include <utility>

namespace mes_test {

class PostgresServer {
 public:
  static PostgresServer& instance();
  // postgresql:///<new database>?host=...; empty on failure (see error()).
  std::string fresh_database();
  const std::string& error() const { return error_; }
  // Runs one statement outside any store: {succeeded, error message}.
  static std::pair<bool, std::string> run_sql(const std::string& url, const std::string& sql);
  // The same for any store URL: sqlite://<file> or postgresql://...
  static std::pair<bool, std::string> run_store_sql(const std::string& store_url,
                                                    const std::string& sql);

 private:
  PostgresServer();
  ~PostgresServer();
  std::string query_;  // "host=...&port=...&user=..."
  std::string own_dir_;
  std::string error_;
  int next_ = 0;
};

}  // namespace mes_test
