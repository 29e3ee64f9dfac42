#include "postgres_server.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <pqxx/pqxx>

#include "test_support.hpp"

namespace mes_test {
namespace {
std::mutex mutex;
}

PostgresServer& PostgresServer::instance() {
  static PostgresServer server;
  return server;
}

PostgresServer::PostgresServer() {
  const char* env = std::getenv("MES_TEST_POSTGRES");
  std::string base;
  if (env != nullptr && *env != '\0') {
    base = env;
  } else {
    own_dir_ = "/tmp/mes-test-pg-" + std::to_string(getpid());
    // Unix socket only (scripts/postgres.sh): the number just names the socket file.
    const int port = test_support::free_port();
    const auto [code, out] =
        test_support::run_command({"/bin/bash", GV_SOURCE_DIR "/scripts/postgres.sh", "start",
                                   own_dir_, std::to_string(port)},
                                  120'000);
    if (code != 0) {
      error_ = "could not start PostgreSQL: " + out;
      return;
    }
    base = out.substr(0, out.find('\n'));
  }
  const auto q = base.find('?');
  if (q == std::string::npos) {
    error_ = "MES_TEST_POSTGRES must look like postgresql:///?host=<dir>&port=<port>&user=postgres";
    return;
  }
  query_ = base.substr(q + 1);
}

PostgresServer::~PostgresServer() {
  if (!own_dir_.empty()) {
    test_support::run_command({"/bin/bash", GV_SOURCE_DIR "/scripts/postgres.sh", "stop", own_dir_},
                              60'000);
    std::error_code ec;
    std::filesystem::remove_all(own_dir_, ec);
  }
}

std::string PostgresServer::fresh_database() {
  std::lock_guard lock(mutex);
  if (query_.empty()) return {};
  const std::string name = "mes_t" + std::to_string(getpid()) + "_" + std::to_string(++next_);
  const auto [ok, message] = run_sql("postgresql:///postgres?" + query_, "CREATE DATABASE " + name);
  if (!ok) {
    error_ = "CREATE DATABASE failed: " + message;
    return {};
  }
  return "postgresql:///" + name + "?" + query_;
}

std::pair<bool, std::string> PostgresServer::run_sql(const std::string& url,
                                                     const std::string& sql) {
  try {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    n.exec(sql);
    return {true, {}};
  } catch (const std::exception& e) {
    return {false, e.what()};
  }
}

std::pair<bool, std::string> PostgresServer::run_store_sql(const std::string& store_url,
                                                           const std::string& sql) {
  if (store_url.rfind("sqlite://", 0) != 0) return run_sql(store_url, sql);
  sqlite3* db = nullptr;
  if (sqlite3_open(store_url.substr(9).c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return {false, "cannot open " + store_url};
  }
  char* message = nullptr;
  const bool ok = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) == SQLITE_OK;
  std::string text = message != nullptr ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  return {ok, text};
}

}  // namespace mes_test
