#include "mes/store/backup.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <vector>

extern char** environ;

namespace mes::store {
namespace {

constexpr std::string_view kSqlite = "sqlite://";

bool is_sqlite(const std::string& url) { return url.rfind(kSqlite, 0) == 0; }
bool is_postgres(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Error unsupported(const std::string& url) {
  return Error{Code::kInvalid,
               "unsupported store URL '" + url.substr(0, url.find('?')) +
                   "' (sqlite://<path> or postgresql://...)",
               "url"};
}

// Runs argv (searched on PATH) and waits; stderr goes to a scratch file returned on failure.
Result<void> run_tool(const std::vector<std::string>& argv) {
  char scratch[] = "/tmp/pharma-mes-tool-XXXXXX";
  const int err_fd = mkstemp(scratch);
  if (err_fd < 0) return refuse(Code::kStorage, "cannot create a scratch file for " + argv[0]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(err_fd);
  int status = 0;
  if (spawned == 0) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  std::ifstream in(scratch);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(scratch);
  if (spawned != 0) return refuse(Code::kStorage, argv[0] + " could not be started (installed?)");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string why = text.str();
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return refuse(Code::kStorage, argv[0] + " failed: " + (why.empty() ? "no message" : why));
  }
  return {};
}

// Copies database `from` into `to` with SQLite's online backup API (readers and the writer of
// `from` go on; a write during the copy restarts it from that page).
Result<void> sqlite_copy(const std::string& from, const std::string& to, bool from_read_only) {
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  auto fail = [&](const std::string& what, sqlite3* db) -> Result<void> {
    const std::string message = what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    if (src) sqlite3_close(src);
    if (dst) sqlite3_close(dst);
    return refuse(Code::kStorage, "SQLite: " + message);
  };
  const int flags = from_read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (sqlite3_open_v2(from.c_str(), &src, flags, nullptr) != SQLITE_OK) {
    return fail("cannot open " + from, src);
  }
  sqlite3_busy_timeout(src, 5000);
  if (sqlite3_open_v2(to.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    return fail("cannot create " + to, dst);
  }
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) return fail("cannot start the copy", dst);
  int rc = SQLITE_OK;
  while ((rc = sqlite3_backup_step(b, 256)) == SQLITE_OK || rc == SQLITE_BUSY ||
         rc == SQLITE_LOCKED) {
    if (rc != SQLITE_OK) sqlite3_sleep(20);
  }
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return fail("the copy stopped", dst);
  sqlite3_close(src);
  src = nullptr;
  if (sqlite3_close(dst) != SQLITE_OK) return fail("cannot close " + to, dst);
  return {};
}

// A SQLite file that is a sound MES database: integrity_check ok and a schema_migrations table.
Result<void> check_sqlite_backup(const std::string& file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return refuse(Code::kInvalid, file + " is not a SQLite database", "file");
  }
  std::string verdict, migrations;
  auto scalar = [&](const char* sql, std::string& out) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(s, 0);
      out = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(s);
  };
  scalar("PRAGMA integrity_check", verdict);
  scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
         migrations);
  sqlite3_close(db);
  if (verdict != "ok") {
    return refuse(Code::kInvalid,
                  file + " is damaged (" + (verdict.empty() ? "not a database" : verdict) + ")",
                  "file");
  }
  if (migrations.empty()) return refuse(Code::kInvalid, file + " is not an MES backup", "file");
  return {};
}

}  // namespace

Result<void> backup_database(const std::string& url, const std::string& file) {
  if (file.empty()) return refuse(Code::kInvalid, "a backup needs a file", "file");
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    return refuse(Code::kConflict, file + " exists: a backup never overwrites one", "file");
  }
  const std::string partial = file + ".partial";
  std::filesystem::remove(partial, ec);
  Result<void> copied;
  if (is_sqlite(url)) {
    const std::string path = url.substr(kSqlite.size());
    if (!std::filesystem::exists(path, ec)) {
      return refuse(Code::kNotFound, "no database at " + path, "db");
    }
    copied = sqlite_copy(path, partial, /*from_read_only=*/true);
  } else if (is_postgres(url)) {
    copied = run_tool({"pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                       "--file=" + partial, "--dbname=" + url});
  } else {
    return tl::unexpected(unsupported(url));
  }
  if (!copied) {
    std::filesystem::remove(partial, ec);
    return copied;
  }
  std::filesystem::rename(partial, file, ec);
  if (ec) return refuse(Code::kStorage, "cannot rename " + partial + ": " + ec.message());
  return {};
}

Result<void> restore_database(const std::string& file, const std::string& url) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    return refuse(Code::kNotFound, "no backup file " + file, "file");
  }
  if (is_sqlite(url)) {
    const std::string path = url.substr(kSqlite.size());
    if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0) {
      return refuse(Code::kConflict, path + " exists: a restore goes only into a new database",
                    "db");
    }
    if (auto checked = check_sqlite_backup(file); !checked) return checked;
    if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
      std::filesystem::create_directories(parent, ec);
    }
    const std::string partial = path + ".partial";
    std::filesystem::remove(partial, ec);
    if (auto copied = sqlite_copy(file, partial, /*from_read_only=*/true); !copied) {
      std::filesystem::remove(partial, ec);
      return copied;
    }
    std::filesystem::rename(partial, path, ec);
    if (ec) return refuse(Code::kStorage, "cannot rename " + partial + ": " + ec.message());
    return {};
  }
  if (!is_postgres(url)) return tl::unexpected(unsupported(url));
  try {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    const auto tables = n.exec(
                             "SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                             "current_schema()")[0][0]
                            .as<long>();
    if (tables != 0) {
      return refuse(Code::kConflict,
                    "the database has " + std::to_string(tables) +
                        " tables: a restore goes only into an empty database",
                    "db");
    }
  } catch (const std::exception& e) {
    return refuse(Code::kStorage, std::string("PostgreSQL: ") + e.what());
  }
  // The archive's table of contents first: a file that is not a pg_dump archive is named as such.
  if (auto listed = run_tool({"pg_restore", "--list", file}); !listed) {
    return refuse(Code::kInvalid,
                  file + " is not a PostgreSQL backup (" + listed.error().message + ")", "file");
  }
  return run_tool({"pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                   "--single-transaction", "--dbname=" + url, file});
}

}  // namespace mes::store
