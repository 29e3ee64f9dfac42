// The SQLite store: one write connection owned by the group-commit writer, a small pool of read
// connections (WAL lets them read while the writer writes). Append-only audit, signature and
// checkpoint tables and undeletable records are enforced by triggers inside the database.
#include "sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "group_commit.hpp"
#include "mes/store/migrations.hpp"
#include "pipelined_feed.hpp"

namespace mes::store {
namespace {

Error db_error(sqlite3* db, const std::string& what) {
  return Error{Code::kStorage, what + ": " + (db ? sqlite3_errmsg(db) : "no database"), {}};
}

// A prepared statement, reset on every use. Not thread-safe (one connection).
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      error_ = sqlite3_errmsg(db);
      stmt_ = nullptr;
    }
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return stmt_ != nullptr; }
  const std::string& error() const { return error_; }
  Stmt& reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    next_ = 1;
    return *this;
  }
  Stmt& bind(std::string_view text) {
    // An empty view may have no data pointer, which SQLite would bind as NULL, not ''.
    sqlite3_bind_text(stmt_, next_++, text.data() ? text.data() : "", static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(std::int64_t v) {
    sqlite3_bind_int64(stmt_, next_++, v);
    return *this;
  }
  Stmt& bind(double v) {
    sqlite3_bind_double(stmt_, next_++, v);
    return *this;
  }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  void text_into(int col, std::string& out) const {
    const auto* p = sqlite3_column_text(stmt_, col);
    out.assign(p ? reinterpret_cast<const char*>(p) : "",
               p ? static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)) : 0);
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int next_ = 1;
  std::string error_;
};

Result<void> exec(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return refuse(Code::kStorage, "SQLite: " + text);
  }
  return {};
}

// Schema migrations, applied in order; each runs in its own transaction with its version row.
const std::vector<std::string>& migration_list() {
  static const std::vector<std::string> list = {
      // 1: records, audit trail, signatures, checkpoints, readings.
      R"sql(
CREATE TABLE records (
  type TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL CHECK (version >= 1),
  parent TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,
  voided INTEGER NOT NULL DEFAULT 0, void_reason TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (type, id)) WITHOUT ROWID;
CREATE INDEX records_by_parent ON records (type, parent, state);
CREATE INDEX records_by_state ON records (type, state);
CREATE TRIGGER records_never_deleted BEFORE DELETE ON records
  BEGIN SELECT RAISE(ABORT, 'GMP records are never deleted: void them with a reason'); END;
CREATE TABLE audit_entries (
  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  object_type TEXT NOT NULL, object_id TEXT NOT NULL, field TEXT NOT NULL,
  old_value TEXT NOT NULL, new_value TEXT NOT NULL, reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_by_object ON audit_entries (object_type, object_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_entries
  BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE signatures (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, printed_name TEXT NOT NULL, meaning TEXT NOT NULL,
  signed_at INTEGER NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
  record_hash TEXT NOT NULL, seal TEXT NOT NULL);
CREATE INDEX signatures_by_record ON signatures (record_type, record_id);
CREATE TRIGGER signatures_no_update BEFORE UPDATE ON signatures
  BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TRIGGER signatures_no_delete BEFORE DELETE ON signatures
  BEGIN SELECT RAISE(ABORT, 'signatures are append-only'); END;
CREATE TABLE checkpoints (
  seq INTEGER PRIMARY KEY, root_hash TEXT NOT NULL, at INTEGER NOT NULL,
  public_key TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TABLE readings (
  sensor_id TEXT NOT NULL, at INTEGER NOT NULL, value REAL NOT NULL,
  flags TEXT NOT NULL DEFAULT '');
CREATE INDEX readings_by_sensor ON readings (sensor_id, at);
)sql",
      // 2: login sessions and the login limit in the database, shared by blue and green.
      R"sql(
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  last_activity INTEGER NOT NULL, has_signed INTEGER NOT NULL DEFAULT 0,
  signing_activity INTEGER NOT NULL DEFAULT 0);
CREATE INDEX sessions_by_activity ON sessions (last_activity);
CREATE TABLE login_windows (
  key TEXT PRIMARY KEY, window_start INTEGER NOT NULL, attempts INTEGER NOT NULL);
CREATE INDEX login_windows_by_start ON login_windows (window_start);
-- The oldest build schema that may use this database (empty: any); a contracting release
-- records it so that the build before it refuses instead of misreading.
CREATE TABLE schema_compat (readable_from INTEGER NOT NULL);
)sql",
      // 3: each audited write carries the hash of the record version it produced (whole-record
      // tamper evidence); raw readings become append-only like the trail and carry the server
      // time they were stored at (readings seals cover ranges of it).
      R"sql(
ALTER TABLE audit_entries ADD COLUMN record_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE readings ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX readings_by_stored ON readings (sensor_id, stored_at);
CREATE TRIGGER readings_no_update BEFORE UPDATE ON readings
  BEGIN SELECT RAISE(ABORT, 'readings are append-only'); END;
CREATE TRIGGER readings_no_delete BEFORE DELETE ON readings
  BEGIN SELECT RAISE(ABORT, 'readings are append-only'); END;
)sql",
      // 4: the terminal (workstation) each entry was made from.
      R"sql(
ALTER TABLE audit_entries ADD COLUMN terminal TEXT NOT NULL DEFAULT '';
)sql",
  };
  return list;
}

constexpr const char* kAuditColumns =
    "seq, at, actor, action, object_type, object_id, field, old_value, new_value, reason, "
    "prev_hash, hash, record_hash, terminal";

// Fills e from the row, reusing its strings' capacity (no allocation per row once warm).
void read_audit_row(const Stmt& s, AuditEntry& e) {
  e.seq = s.integer(0);
  e.at = s.integer(1);
  s.text_into(2, e.actor);
  s.text_into(3, e.action);
  s.text_into(4, e.object_type);
  s.text_into(5, e.object_id);
  s.text_into(6, e.field);
  s.text_into(7, e.old_value);
  s.text_into(8, e.new_value);
  s.text_into(9, e.reason);
  s.text_into(10, e.prev_hash);
  s.text_into(11, e.hash);
  s.text_into(12, e.record_hash);
  s.text_into(13, e.terminal);
}

AuditEntry audit_row(const Stmt& s) {
  AuditEntry e;
  e.seq = s.integer(0);
  e.at = s.integer(1);
  e.actor = s.text(2);
  e.action = s.text(3);
  e.object_type = s.text(4);
  e.object_id = s.text(5);
  e.field = s.text(6);
  e.old_value = s.text(7);
  e.new_value = s.text(8);
  e.reason = s.text(9);
  e.prev_hash = s.text(10);
  e.hash = s.text(11);
  e.record_hash = s.text(12);
  e.terminal = s.text(13);
  return e;
}

Signature signature_row(const Stmt& s) {
  Signature g;
  g.id = s.text(0);
  g.user_id = s.text(1);
  g.printed_name = s.text(2);
  g.meaning = parse_meaning(s.text(3)).value_or(Meaning::kAuthored);
  g.signed_at = s.integer(4);
  g.record_type = s.text(5);
  g.record_id = s.text(6);
  g.record_hash = s.text(7);
  g.seal = s.text(8);
  return g;
}

constexpr const char* kSignatureColumns =
    "id, user_id, printed_name, meaning, signed_at, record_type, record_id, record_hash, seal";

// One connection and its statements.
class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const std::string& path, bool writer) {
    std::unique_ptr<Connection> c(new Connection);
    const int flags = (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY) |
                      SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &c->db, flags, nullptr) != SQLITE_OK) {
      return tl::unexpected(db_error(c->db, "cannot open " + path));
    }
    sqlite3_busy_timeout(c->db, 10'000);
    for (const char* pragma : {"PRAGMA foreign_keys=ON", "PRAGMA synchronous=FULL"}) {
      if (auto r = exec(c->db, pragma); !r) return tl::unexpected(r.error());
    }
    if (writer) {
      if (auto r = exec(c->db, "PRAGMA journal_mode=WAL"); !r) return tl::unexpected(r.error());
    }
    return c;
  }
  ~Connection() {
    statements.clear();
    sqlite3_close_v2(db);
  }
  Stmt& stmt(const char* sql) {
    for (auto& [key, s] : statements) {
      if (key == sql) return *s;
    }
    statements.emplace_back(sql, std::make_unique<Stmt>(db, sql));
    return *statements.back().second;
  }
  sqlite3* db = nullptr;
  std::vector<std::pair<const char*, std::unique_ptr<Stmt>>> statements;
};

#define MES_CHECK_STMT(s) \
  if (!(s).ok()) return refuse(Code::kStorage, "SQLite: " + (s).error())

// The Transaction view over one connection.
class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection& c, bool writable, Millis now, std::int64_t* last_seq,
                    std::string* last_hash)
      : c_(c), writable_(writable), now_(now), last_seq_(last_seq), last_hash_(last_hash) {}

  void set_now(Millis now) { now_ = now; }
  Millis now() const override { return now_; }

  std::optional<Document> get(std::string_view type, std::string_view id) override {
    Stmt& s = c_.stmt(
        "SELECT version, parent, state, body, voided, void_reason FROM records "
        "WHERE type = ? AND id = ?");
    if (!s.ok()) return std::nullopt;
    s.reset().bind(type).bind(id);
    if (s.step() != SQLITE_ROW) {
      s.reset();
      return std::nullopt;
    }
    Document d{std::string(type), std::string(id), s.integer(0),      s.text(1),
               s.text(2),         s.text(3),       s.integer(4) != 0, s.text(5)};
    s.reset();  // a statement left mid-way would keep its read snapshot open
    return d;
  }

  std::vector<Document> list(std::string_view type, std::string_view parent,
                             std::string_view state) override {
    Stmt& s = c_.stmt(
        "SELECT id, version, parent, state, body, voided, void_reason FROM records "
        "WHERE type = ?1 AND voided = 0 AND (?2 = '' OR parent = ?2) AND (?3 = '' OR state = ?3) "
        "ORDER BY id");
    std::vector<Document> out;
    if (!s.ok()) return out;
    s.reset().bind(type).bind(parent).bind(state);
    while (s.step() == SQLITE_ROW) {
      out.push_back(Document{std::string(type), s.text(0), s.integer(1), s.text(2), s.text(3),
                             s.text(4), s.integer(5) != 0, s.text(6)});
    }
    return out;
  }

  Result<void> put(Document& doc) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot change records");
    if (doc.type.empty() || doc.id.empty())
      return refuse(Code::kInvalid, "a record needs a type and an id");
    if (doc.version == 0) {
      Stmt& s = c_.stmt(
          "INSERT INTO records (type, id, version, parent, state, body, voided, void_reason, "
          "updated_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?, ?)");
      MES_CHECK_STMT(s);
      s.reset()
          .bind(doc.type)
          .bind(doc.id)
          .bind(doc.parent)
          .bind(doc.state)
          .bind(doc.body)
          .bind(std::int64_t{doc.voided})
          .bind(doc.void_reason)
          .bind(now_);
      const int rc = s.step();
      if (rc == SQLITE_CONSTRAINT) {
        return refuse(Code::kConflict, doc.type + " " + doc.id + " already exists", "id");
      }
      if (rc != SQLITE_DONE) return tl::unexpected(db_error(c_.db, "insert " + doc.type));
      doc.version = 1;
      return {};
    }
    Stmt& s = c_.stmt(
        "UPDATE records SET version = version + 1, parent = ?, state = ?, body = ?, voided = ?, "
        "void_reason = ?, updated_at = ? WHERE type = ? AND id = ? AND version = ?");
    MES_CHECK_STMT(s);
    s.reset()
        .bind(doc.parent)
        .bind(doc.state)
        .bind(doc.body)
        .bind(std::int64_t{doc.voided})
        .bind(doc.void_reason)
        .bind(now_)
        .bind(doc.type)
        .bind(doc.id)
        .bind(doc.version);
    if (s.step() != SQLITE_DONE) return tl::unexpected(db_error(c_.db, "update " + doc.type));
    if (sqlite3_changes(c_.db) != 1) {
      return refuse(Code::kConflict, doc.type + " " + doc.id +
                                         " was changed by someone else (version " +
                                         std::to_string(doc.version) + " is not current)");
    }
    ++doc.version;
    return {};
  }

  Result<void> append_audit(AuditEntry& e) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot write the audit trail");
    e.seq = *last_seq_ + 1;
    if (e.at == 0) e.at = now_;
    link(e, *last_hash_);
    Stmt& s = c_.stmt(
        "INSERT INTO audit_entries (seq, at, actor, action, object_type, object_id, field, "
        "old_value, new_value, reason, prev_hash, hash, record_hash, terminal) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    MES_CHECK_STMT(s);
    s.reset()
        .bind(e.seq)
        .bind(e.at)
        .bind(e.actor)
        .bind(e.action)
        .bind(e.object_type)
        .bind(e.object_id)
        .bind(e.field)
        .bind(e.old_value)
        .bind(e.new_value)
        .bind(e.reason)
        .bind(e.prev_hash)
        .bind(e.hash)
        .bind(e.record_hash)
        .bind(e.terminal);
    if (s.step() != SQLITE_DONE) return tl::unexpected(db_error(c_.db, "append audit entry"));
    *last_seq_ = e.seq;
    *last_hash_ = e.hash;
    return {};
  }

  Result<void> add_signature(const Signature& g) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot add signatures");
    Stmt& s = c_.stmt(
        "INSERT INTO signatures (id, user_id, printed_name, meaning, signed_at, record_type, "
        "record_id, record_hash, seal) VALUES (?,?,?,?,?,?,?,?,?)");
    MES_CHECK_STMT(s);
    s.reset()
        .bind(g.id)
        .bind(g.user_id)
        .bind(g.printed_name)
        .bind(to_string(g.meaning))
        .bind(g.signed_at)
        .bind(g.record_type)
        .bind(g.record_id)
        .bind(g.record_hash)
        .bind(g.seal);
    const int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return refuse(Code::kConflict, "signature " + g.id + " exists");
    if (rc != SQLITE_DONE) return tl::unexpected(db_error(c_.db, "add signature"));
    return {};
  }

  std::vector<Signature> signatures_of(std::string_view type, std::string_view id) override {
    static const std::string sql = std::string("SELECT ") + kSignatureColumns +
                                   " FROM signatures WHERE record_type = ? AND record_id = ? "
                                   "ORDER BY signed_at, id";
    Stmt& s = c_.stmt(sql.c_str());
    std::vector<Signature> out;
    if (!s.ok()) return out;
    s.reset().bind(type).bind(id);
    while (s.step() == SQLITE_ROW) out.push_back(signature_row(s));
    return out;
  }

  Result<void> add_readings(const std::vector<Reading>& readings) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot store readings");
    Stmt& s =
        c_.stmt("INSERT INTO readings (sensor_id, at, value, flags, stored_at) VALUES (?,?,?,?,?)");
    MES_CHECK_STMT(s);
    for (const Reading& r : readings) {
      s.reset().bind(r.sensor_id).bind(r.at).bind(r.value).bind(r.flags).bind(now_);
      if (s.step() != SQLITE_DONE) return tl::unexpected(db_error(c_.db, "store reading"));
    }
    return {};
  }

  std::vector<Reading> readings_stored(std::string_view sensor_id, Millis after,
                                       Millis through) override {
    Stmt& s = c_.stmt(
        "SELECT at, value, flags, stored_at FROM readings WHERE sensor_id = ? AND stored_at > ? "
        "AND stored_at <= ? ORDER BY at, stored_at, value, flags");
    std::vector<Reading> out;
    if (!s.ok()) return out;
    s.reset().bind(sensor_id).bind(after).bind(through);
    while (s.step() == SQLITE_ROW) {
      out.push_back(
          Reading{std::string(sensor_id), s.integer(0), s.real(1), s.text(2), s.integer(3)});
    }
    s.reset();
    return out;
  }

  std::vector<AuditEntry> audit_of(std::string_view type, std::string_view id) override {
    static const std::string sql = std::string("SELECT ") + kAuditColumns +
                                   " FROM audit_entries WHERE object_type = ? AND object_id = ? "
                                   "ORDER BY seq";
    Stmt& s = c_.stmt(sql.c_str());
    std::vector<AuditEntry> out;
    if (!s.ok()) return out;
    s.reset().bind(type).bind(id);
    while (s.step() == SQLITE_ROW) out.push_back(audit_row(s));
    return out;
  }

  std::optional<StoredSession> session(std::string_view token_hash) override {
    Stmt& s = c_.stmt(
        "SELECT user_id, created_at, last_activity, has_signed, signing_activity FROM sessions "
        "WHERE token_hash = ?");
    if (!s.ok()) return std::nullopt;
    s.reset().bind(token_hash);
    if (s.step() != SQLITE_ROW) {
      s.reset();
      return std::nullopt;
    }
    StoredSession out{std::string(token_hash), s.text(0),   s.integer(1), s.integer(2),
                      s.integer(3) != 0,       s.integer(4)};
    s.reset();
    return out;
  }

  Result<void> add_session(const StoredSession& x) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot add sessions");
    Stmt& s = c_.stmt(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_activity, has_signed, "
        "signing_activity) VALUES (?,?,?,?,?,?)");
    MES_CHECK_STMT(s);
    s.reset()
        .bind(x.token_hash)
        .bind(x.user_id)
        .bind(x.created_at)
        .bind(x.last_activity)
        .bind(std::int64_t{x.has_signed})
        .bind(x.signing_activity);
    const int rc = s.step();
    if (rc == SQLITE_CONSTRAINT) return refuse(Code::kConflict, "the session exists");
    if (rc != SQLITE_DONE) return tl::unexpected(db_error(c_.db, "add session"));
    return {};
  }

  Result<void> touch_session(std::string_view token_hash, Millis at) override {
    return change("UPDATE sessions SET last_activity = MAX(last_activity, ?) WHERE token_hash = ?",
                  "touch session", at, token_hash);
  }

  Result<void> save_session_signing(std::string_view token_hash, bool has_signed,
                                    Millis signing_activity) override {
    return change("UPDATE sessions SET has_signed = ?, signing_activity = ? WHERE token_hash = ?",
                  "save session signing", std::int64_t{has_signed}, signing_activity, token_hash);
  }

  Result<void> delete_session(std::string_view token_hash) override {
    return change("DELETE FROM sessions WHERE token_hash = ?", "delete session", token_hash);
  }

  Result<std::int64_t> delete_sessions_of(std::string_view user_id) override {
    if (auto r = change("DELETE FROM sessions WHERE user_id = ?", "end sessions", user_id); !r) {
      return tl::unexpected(r.error());
    }
    return static_cast<std::int64_t>(sqlite3_changes(c_.db));
  }

  std::int64_t count_sessions(Millis active_since) override {
    return count("SELECT COUNT(*) FROM sessions WHERE last_activity >= ?", active_since);
  }

  std::optional<LoginWindow> login_window(std::string_view key) override {
    Stmt& s = c_.stmt("SELECT window_start, attempts FROM login_windows WHERE key = ?");
    if (!s.ok()) return std::nullopt;
    s.reset().bind(key);
    if (s.step() != SQLITE_ROW) {
      s.reset();
      return std::nullopt;
    }
    LoginWindow w{s.integer(0), s.integer(1)};
    s.reset();
    return w;
  }

  Result<void> save_login_window(std::string_view key, const LoginWindow& w) override {
    return change(
        "INSERT INTO login_windows (key, window_start, attempts) VALUES (?,?,?) "
        "ON CONFLICT (key) DO UPDATE SET window_start = excluded.window_start, "
        "attempts = excluded.attempts",
        "save login window", key, w.window_start, w.attempts);
  }

  std::int64_t count_login_windows(Millis since) override {
    return count("SELECT COUNT(*) FROM login_windows WHERE window_start >= ?", since);
  }

  Result<void> forget_login_windows(Millis before) override {
    return change("DELETE FROM login_windows WHERE window_start < ?", "forget login windows",
                  before);
  }

 private:
  // One write statement with these parameters, run to completion.
  template <typename... Args>
  Result<void> change(const char* sql, const char* what, Args... args) {
    if (!writable_) return refuse(Code::kStorage, std::string("a read-only view cannot ") + what);
    Stmt& s = c_.stmt(sql);
    MES_CHECK_STMT(s);
    s.reset();
    (s.bind(args), ...);
    if (s.step() != SQLITE_DONE) return tl::unexpected(db_error(c_.db, what));
    return {};
  }
  std::int64_t count(const char* sql, std::int64_t parameter) {
    Stmt& s = c_.stmt(sql);
    if (!s.ok()) return 0;
    s.reset().bind(parameter);
    const std::int64_t n = s.step() == SQLITE_ROW ? s.integer(0) : 0;
    s.reset();
    return n;
  }

  Connection& c_;
  bool writable_;
  Millis now_;
  std::int64_t* last_seq_;
  std::string* last_hash_;
};

class SqliteWriteBackend final : public WriteBackend {
 public:
  SqliteWriteBackend(Connection& c, std::function<Millis()> clock)
      : c_(c), clock_(std::move(clock)) {}

  Result<void> load_chain_head() {
    Stmt& s = c_.stmt("SELECT seq, hash, at FROM audit_entries ORDER BY seq DESC LIMIT 1");
    MES_CHECK_STMT(s);
    s.reset();
    if (s.step() == SQLITE_ROW) {
      last_seq_ = s.integer(0);
      last_hash_ = s.text(1);
      head_at_ = s.integer(2);
    } else {
      last_seq_ = 0;
      last_hash_ = kGenesisHash;
      head_at_ = 0;
    }
    s.reset();
    return {};
  }

  // BEGIN IMMEDIATE (the database's one write lock), then the chain head as it is now: another
  // process on the same file may have appended since this one's last transaction.
  Result<void> begin() override {
    if (auto r = exec(c_.db, "BEGIN IMMEDIATE"); !r) return r;
    if (auto r = load_chain_head(); !r) {
      (void)exec(c_.db, "ROLLBACK");
      return r;
    }
    begin_seq_ = last_seq_;
    begin_hash_ = last_hash_;
    return {};
  }
  Result<void> savepoint() override {
    sp_seq_ = last_seq_;
    sp_hash_ = last_hash_;
    return exec(c_.db, "SAVEPOINT command");
  }
  Result<void> release_savepoint() override { return exec(c_.db, "RELEASE command"); }
  void command_failed() override {
    (void)exec(c_.db, "ROLLBACK TO command");
    (void)exec(c_.db, "RELEASE command");
    last_seq_ = sp_seq_;
    last_hash_ = sp_hash_;
  }
  Result<void> commit() override { return exec(c_.db, "COMMIT"); }
  void rollback() override {
    (void)exec(c_.db, "ROLLBACK");
    last_seq_ = begin_seq_;
    last_hash_ = begin_hash_;
  }
  Transaction& begin_command() override {
    // Server time never goes backwards between commands, nor behind the chain's last entry
    // (another process's clock may run ahead): the chain's times stay ordered.
    last_now_ = std::max({last_now_, clock_(), head_at_});
    tx_.emplace(c_, true, last_now_, &last_seq_, &last_hash_);
    return *tx_;
  }

 private:
  Connection& c_;
  std::function<Millis()> clock_;
  std::optional<SqliteTransaction> tx_;
  Millis last_now_ = 0;
  Millis head_at_ = 0;  // time of the chain head read at begin()
  std::int64_t last_seq_ = 0, begin_seq_ = 0, sp_seq_ = 0;
  std::string last_hash_ = kGenesisHash, begin_hash_, sp_hash_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, StoreOptions options)
      : path_(std::move(path)), options_(std::move(options)) {}
  ~SqliteStore() override {
    committer_.reset();  // drains the queue
    backend_.reset();
    writer_.reset();
  }

  Result<void> open() {
    auto w = Connection::open(path_, true);
    if (!w) return tl::unexpected(w.error());
    writer_ = std::move(*w);
    if (auto r = migrate(); !r) return r;
    backend_ = std::make_unique<SqliteWriteBackend>(*writer_, options_.clock);
    if (auto r = backend_->load_chain_head(); !r) return r;
    committer_ = std::make_unique<GroupCommitter>(*backend_, options_.max_group);
    return {};
  }

  Result<void> transact(const std::function<Result<void>(Transaction&)>& command) override {
    return committer_->run(command);
  }

  Result<void> read(const std::function<Result<void>(Transaction&)>& query) override {
    auto c = take_reader();
    if (!c) return tl::unexpected(c.error());
    Result<void> r = exec((*c)->db, "BEGIN");
    if (r) {
      std::int64_t seq = 0;
      std::string hash;
      SqliteTransaction tx(**c, false, options_.clock(), &seq, &hash);
      r = query(tx);
      if (auto ended = exec((*c)->db, "COMMIT"); !ended && r) r = ended;
    }
    give_reader(std::move(*c));
    return r;
  }

  Result<void> walk_audit(std::int64_t from_seq,
                          const std::function<bool(const AuditEntry&)>& visit) override {
    auto c = take_reader();
    if (!c) return tl::unexpected(c.error());
    static const std::string sql =
        std::string("SELECT ") + kAuditColumns + " FROM audit_entries WHERE seq >= ? ORDER BY seq";
    Stmt& s = (*c)->stmt(sql.c_str());
    Result<void> r;
    if (!s.ok()) {
      r = refuse(Code::kStorage, "SQLite: " + s.error());
    } else {
      s.reset().bind(from_seq);
      AuditEntry entry;
      int rc = 0;
      while ((rc = s.step()) == SQLITE_ROW) {
        read_audit_row(s, entry);
        if (!visit(entry)) break;
      }
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        r = tl::unexpected(db_error((*c)->db, "walk audit"));
      s.reset();
    }
    give_reader(std::move(*c));
    return r;
  }

  Result<void> feed_audit(std::int64_t from_seq, ChainVerifier& verifier) override {
    return pipelined_feed(
        [&](const std::function<bool(const AuditEntry&)>& visit) {
          return walk_audit(from_seq, visit);
        },
        verifier);
  }

  Result<void> add_checkpoint(const Checkpoint& cp) override {
    return committer_->run([&](Transaction&) -> Result<void> {
      Stmt& s = writer_->stmt(
          "INSERT INTO checkpoints (seq, root_hash, at, public_key, signature) VALUES (?,?,?,?,?)");
      MES_CHECK_STMT(s);
      s.reset().bind(cp.seq).bind(cp.root_hash).bind(cp.at).bind(cp.public_key).bind(cp.signature);
      const int rc = s.step();
      if (rc == SQLITE_CONSTRAINT) {
        return refuse(Code::kConflict,
                      "a checkpoint at entry " + std::to_string(cp.seq) + " exists");
      }
      if (rc != SQLITE_DONE) return tl::unexpected(db_error(writer_->db, "add checkpoint"));
      return {};
    });
  }

  Result<std::vector<Checkpoint>> checkpoints() override {
    std::vector<Checkpoint> out;
    auto r = with_reader([&](Connection& c) -> Result<void> {
      Stmt& s =
          c.stmt("SELECT seq, root_hash, at, public_key, signature FROM checkpoints ORDER BY seq");
      MES_CHECK_STMT(s);
      s.reset();
      while (s.step() == SQLITE_ROW) {
        out.push_back(Checkpoint{s.integer(0), s.text(1), s.integer(2), s.text(3), s.text(4)});
      }
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    return out;
  }

  Result<void> walk_records(const std::function<bool(const Document&)>& visit) override {
    return with_reader([&](Connection& c) -> Result<void> {
      Stmt& s = c.stmt(
          "SELECT type, id, version, parent, state, body, voided, void_reason FROM records "
          "ORDER BY type, id");
      MES_CHECK_STMT(s);
      s.reset();
      int rc = 0;
      while ((rc = s.step()) == SQLITE_ROW) {
        const Document d{s.text(0), s.text(1), s.integer(2),      s.text(3),
                         s.text(4), s.text(5), s.integer(6) != 0, s.text(7)};
        if (!visit(d)) break;
      }
      const bool failed = rc != SQLITE_ROW && rc != SQLITE_DONE;
      s.reset();
      if (failed) return tl::unexpected(db_error(c.db, "walk records"));
      return {};
    });
  }

  Result<std::vector<Signature>> all_signatures() override {
    std::vector<Signature> out;
    auto r = with_reader([&](Connection& c) -> Result<void> {
      static const std::string sql =
          std::string("SELECT ") + kSignatureColumns + " FROM signatures ORDER BY signed_at, id";
      Stmt& s = c.stmt(sql.c_str());
      MES_CHECK_STMT(s);
      s.reset();
      while (s.step() == SQLITE_ROW) out.push_back(signature_row(s));
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    return out;
  }

  Result<std::vector<Reading>> readings(std::string_view sensor_id, Millis from,
                                        Millis to) override {
    std::vector<Reading> out;
    auto r = with_reader([&](Connection& c) -> Result<void> {
      Stmt& s = c.stmt(
          "SELECT at, value, flags, stored_at FROM readings WHERE sensor_id = ? AND at >= ? AND "
          "at < ? ORDER BY at");
      MES_CHECK_STMT(s);
      s.reset().bind(sensor_id).bind(from).bind(to);
      while (s.step() == SQLITE_ROW) {
        out.push_back(
            Reading{std::string(sensor_id), s.integer(0), s.real(1), s.text(2), s.integer(3)});
      }
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    return out;
  }

 private:
  Result<void> migrate() {
    if (auto r = exec(writer_->db,
                      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                      "applied_at INTEGER NOT NULL)");
        !r) {
      return r;
    }
    Stmt& current = writer_->stmt("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    MES_CHECK_STMT(current);
    current.reset();
    const std::int64_t have = current.step() == SQLITE_ROW ? current.integer(0) : 0;
    current.reset();
    const auto& list = migration_list();
    const auto build = static_cast<std::int64_t>(list.size());
    if (have > build) {
      Stmt& floor_of = writer_->stmt("SELECT COALESCE(MAX(readable_from), 0) FROM schema_compat");
      MES_CHECK_STMT(floor_of);
      floor_of.reset();
      const std::int64_t floor = floor_of.step() == SQLITE_ROW ? floor_of.integer(0) : 0;
      floor_of.reset();
      if (auto problem = schema_compatibility_problem(have, floor, build); !problem.empty()) {
        return refuse(Code::kStorage, problem);
      }
      return {};  // expanded by a newer build: use it as it is
    }
    for (std::size_t v = static_cast<std::size_t>(have) + 1; v <= list.size(); ++v) {
      if (auto r = exec(writer_->db, "BEGIN IMMEDIATE"); !r) return r;
      Result<void> r = exec(writer_->db, list[v - 1]);
      if (r) {
        r = exec(writer_->db, "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                                  std::to_string(v) + ", " + std::to_string(options_.clock()) +
                                  ")");
      }
      if (!r) {
        (void)exec(writer_->db, "ROLLBACK");
        return refuse(Code::kStorage,
                      "migration " + std::to_string(v) + " failed: " + r.error().message);
      }
      if (auto c = exec(writer_->db, "COMMIT"); !c) return c;
    }
    return {};
  }

  Result<std::unique_ptr<Connection>> take_reader() {
    {
      std::lock_guard lock(readers_mutex_);
      if (!readers_.empty()) {
        auto c = std::move(readers_.back());
        readers_.pop_back();
        return c;
      }
    }
    return Connection::open(path_, false);
  }
  void give_reader(std::unique_ptr<Connection> c) {
    std::lock_guard lock(readers_mutex_);
    if (readers_.size() < 8) readers_.push_back(std::move(c));
  }
  Result<void> with_reader(const std::function<Result<void>(Connection&)>& fn) {
    auto c = take_reader();
    if (!c) return tl::unexpected(c.error());
    Result<void> r = fn(**c);
    give_reader(std::move(*c));
    return r;
  }

  std::string path_;
  StoreOptions options_;
  std::unique_ptr<Connection> writer_;
  std::unique_ptr<SqliteWriteBackend> backend_;
  std::unique_ptr<GroupCommitter> committer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> readers_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, StoreOptions options) {
  auto store = std::make_unique<SqliteStore>(path, std::move(options));
  if (auto r = store->open(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Store>(std::move(store));
}

int sqlite_schema_version() { return static_cast<int>(migration_list().size()); }

Result<SchemaState> inspect_sqlite_schema(const std::string& path) {
  if (path.empty()) return refuse(Code::kInvalid, "sqlite:// needs a file path", "url");
  if (!std::filesystem::exists(path)) return SchemaState{};  // created at the first start
  auto c = Connection::open(path, false);
  if (!c) return tl::unexpected(c.error());
  SchemaState state;
  const auto scalar = [&](const char* sql) -> std::int64_t {
    Stmt& s = (*c)->stmt(sql);
    if (!s.ok()) return 0;  // the table does not exist (yet)
    s.reset();
    const std::int64_t v = s.step() == SQLITE_ROW ? s.integer(0) : 0;
    s.reset();
    return v;
  };
  state.database_version = scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  state.readable_from = scalar("SELECT COALESCE(MAX(readable_from), 0) FROM schema_compat");
  return state;
}

const std::vector<std::string>& sqlite_migrations() { return migration_list(); }

}  // namespace mes::store
