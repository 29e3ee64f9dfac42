// The PostgreSQL store (libpqxx 6): the same contract as the SQLite one. One writer connection
// owned by the group-commit writer (explicit BEGIN / SAVEPOINT per command / COMMIT), a pool of
// read connections. Append-only audit, signature and checkpoint tables and undeletable records
// are enforced by triggers in the database.
#include "postgres_store.hpp"

#include <algorithm>
#include <mutex>
#include <pqxx/pqxx>

#include "group_commit.hpp"
#include "mes/store/migrations.hpp"
#include "pipelined_feed.hpp"

namespace mes::store {
namespace {

const std::vector<std::string>& migration_list() {
  static const std::vector<std::string> list = {
      R"sql(
CREATE TABLE records (
  type TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL CHECK (version >= 1),
  parent TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '', body TEXT NOT NULL,
  voided BOOLEAN NOT NULL DEFAULT FALSE, void_reason TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (type, id));
CREATE INDEX records_by_parent ON records (type, parent, state);
CREATE INDEX records_by_state ON records (type, state);
CREATE TABLE audit_entries (
  seq BIGINT PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  object_type TEXT NOT NULL, object_id TEXT NOT NULL, field TEXT NOT NULL,
  old_value TEXT NOT NULL, new_value TEXT NOT NULL, reason TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_by_object ON audit_entries (object_type, object_id, seq);
CREATE TABLE signatures (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, printed_name TEXT NOT NULL, meaning TEXT NOT NULL,
  signed_at BIGINT NOT NULL, record_type TEXT NOT NULL, record_id TEXT NOT NULL,
  record_hash TEXT NOT NULL, seal TEXT NOT NULL);
CREATE INDEX signatures_by_record ON signatures (record_type, record_id);
CREATE TABLE checkpoints (
  seq BIGINT PRIMARY KEY, root_hash TEXT NOT NULL, at BIGINT NOT NULL,
  public_key TEXT NOT NULL, signature TEXT NOT NULL);
CREATE TABLE readings (
  sensor_id TEXT NOT NULL, at BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL,
  flags TEXT NOT NULL DEFAULT '');
CREATE INDEX readings_by_sensor ON readings (sensor_id, at);
CREATE FUNCTION mes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE FUNCTION mes_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'GMP records are never deleted: void them with a reason'
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_entries
  FOR EACH ROW EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_entries
  FOR EACH STATEMENT EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER signatures_append_only BEFORE UPDATE OR DELETE ON signatures
  FOR EACH ROW EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER signatures_no_truncate BEFORE TRUNCATE ON signatures
  FOR EACH STATEMENT EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
  FOR EACH ROW EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER records_never_deleted BEFORE DELETE ON records
  FOR EACH ROW EXECUTE FUNCTION mes_never_deleted();
CREATE TRIGGER records_no_truncate BEFORE TRUNCATE ON records
  FOR EACH STATEMENT EXECUTE FUNCTION mes_never_deleted();
)sql",
      // 2: login sessions and the login limit in the database, shared by blue and green.
      R"sql(
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, created_at BIGINT NOT NULL,
  last_activity BIGINT NOT NULL, has_signed BOOLEAN NOT NULL DEFAULT FALSE,
  signing_activity BIGINT NOT NULL DEFAULT 0);
CREATE INDEX sessions_by_activity ON sessions (last_activity);
CREATE TABLE login_windows (
  key TEXT PRIMARY KEY, window_start BIGINT NOT NULL, attempts BIGINT NOT NULL);
CREATE INDEX login_windows_by_start ON login_windows (window_start);
-- The oldest build schema that may use this database (empty: any); a contracting release
-- records it so that the build before it refuses instead of misreading.
CREATE TABLE schema_compat (readable_from BIGINT NOT NULL);
)sql",
      // 3: each audited write carries the hash of the record version it produced (whole-record
      // tamper evidence); raw readings become append-only like the trail and carry the server
      // time they were stored at (readings seals cover ranges of it).
      R"sql(
ALTER TABLE audit_entries ADD COLUMN record_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE readings ADD COLUMN stored_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX readings_by_stored ON readings (sensor_id, stored_at);
CREATE TRIGGER readings_append_only BEFORE UPDATE OR DELETE ON readings
  FOR EACH ROW EXECUTE FUNCTION mes_append_only();
CREATE TRIGGER readings_no_truncate BEFORE TRUNCATE ON readings
  FOR EACH STATEMENT EXECUTE FUNCTION mes_append_only();
)sql",
      // 4: the terminal (workstation) each entry was made from.
      R"sql(
ALTER TABLE audit_entries ADD COLUMN terminal TEXT NOT NULL DEFAULT '';
)sql",
  };
  return list;
}

Error pg_error(const std::string& what, const std::exception& e) {
  return Error{Code::kStorage, "PostgreSQL: " + what + ": " + e.what(), {}};
}

const char* const kStatements[][2] = {
    {"get",
     "SELECT version, parent, state, body, voided, void_reason FROM records "
     "WHERE type = $1 AND id = $2"},
    {"list",
     "SELECT id, version, parent, state, body, voided, void_reason FROM records "
     "WHERE type = $1 AND NOT voided AND ($2 = '' OR parent = $2) "
     "AND ($3 = '' OR state = $3) ORDER BY id"},
    {"insert",
     "INSERT INTO records (type, id, version, parent, state, body, voided, void_reason, "
     "updated_at) VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING"},
    {"update",
     "UPDATE records SET version = version + 1, parent = $1, state = $2, body = $3, "
     "voided = $4, void_reason = $5, updated_at = $6 "
     "WHERE type = $7 AND id = $8 AND version = $9"},
    {"audit",
     "INSERT INTO audit_entries (seq, at, actor, action, object_type, object_id, field, "
     "old_value, new_value, reason, prev_hash, hash, record_hash, terminal) "
     "VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)"},
    {"signature",
     "INSERT INTO signatures (id, user_id, printed_name, meaning, signed_at, "
     "record_type, record_id, record_hash, seal) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) "
     "ON CONFLICT DO NOTHING"},
    {"signatures_of",
     "SELECT id, user_id, printed_name, meaning, signed_at, record_type, "
     "record_id, record_hash, seal FROM signatures WHERE record_type = $1 AND "
     "record_id = $2 ORDER BY signed_at, id"},
    {"reading",
     "INSERT INTO readings (sensor_id, at, value, flags, stored_at) VALUES ($1,$2,$3,$4,$5)"},
    {"readings_stored",
     "SELECT at, value, flags, stored_at FROM readings WHERE sensor_id = $1 AND stored_at > $2 "
     "AND stored_at <= $3 ORDER BY at, stored_at, value, flags"},
    {"audit_of",
     "SELECT seq, at, actor, action, object_type, object_id, field, old_value, "
     "new_value, reason, prev_hash, hash, record_hash, terminal FROM audit_entries WHERE "
     "object_type = $1 "
     "AND object_id = $2 ORDER BY seq"},
    {"chain_head", "SELECT seq, hash, at FROM audit_entries ORDER BY seq DESC LIMIT 1"},
    // Every write transaction of every process on this database takes it first: the audit chain
    // has one writer at a time, also with two colours of the MES on one database.
    {"chain_lock", "SELECT pg_advisory_xact_lock(7406317001)"},
    {"checkpoint",
     "INSERT INTO checkpoints (seq, root_hash, at, public_key, signature) "
     "VALUES ($1,$2,$3,$4,$5) ON CONFLICT DO NOTHING"},
    {"session",
     "SELECT user_id, created_at, last_activity, has_signed, signing_activity FROM sessions "
     "WHERE token_hash = $1"},
    {"add_session",
     "INSERT INTO sessions (token_hash, user_id, created_at, last_activity, has_signed, "
     "signing_activity) VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT DO NOTHING"},
    {"touch_session",
     "UPDATE sessions SET last_activity = GREATEST(last_activity, $1) WHERE token_hash = $2"},
    {"session_signing",
     "UPDATE sessions SET has_signed = $1, signing_activity = $2 WHERE token_hash = $3"},
    {"delete_session", "DELETE FROM sessions WHERE token_hash = $1"},
    {"delete_sessions_of", "DELETE FROM sessions WHERE user_id = $1"},
    {"count_sessions", "SELECT COUNT(*) FROM sessions WHERE last_activity >= $1"},
    {"login_window", "SELECT window_start, attempts FROM login_windows WHERE key = $1"},
    {"save_login_window",
     "INSERT INTO login_windows (key, window_start, attempts) VALUES ($1,$2,$3) "
     "ON CONFLICT (key) DO UPDATE SET window_start = EXCLUDED.window_start, "
     "attempts = EXCLUDED.attempts"},
    {"count_login_windows", "SELECT COUNT(*) FROM login_windows WHERE window_start >= $1"},
    {"forget_login_windows", "DELETE FROM login_windows WHERE window_start < $1"},
};

void prepare_all(pqxx::connection& c) {
  for (const auto& s : kStatements) c.prepare(s[0], s[1]);
}

AuditEntry audit_row(const pqxx::row& r) {
  AuditEntry e;
  e.seq = r[0].as<std::int64_t>();
  e.at = r[1].as<std::int64_t>();
  e.actor = r[2].as<std::string>();
  e.action = r[3].as<std::string>();
  e.object_type = r[4].as<std::string>();
  e.object_id = r[5].as<std::string>();
  e.field = r[6].as<std::string>();
  e.old_value = r[7].as<std::string>();
  e.new_value = r[8].as<std::string>();
  e.reason = r[9].as<std::string>();
  e.prev_hash = r[10].as<std::string>();
  e.hash = r[11].as<std::string>();
  e.record_hash = r[12].as<std::string>();
  e.terminal = r[13].as<std::string>();
  return e;
}

Signature signature_row(const pqxx::row& r) {
  Signature g;
  g.id = r[0].as<std::string>();
  g.user_id = r[1].as<std::string>();
  g.printed_name = r[2].as<std::string>();
  g.meaning = parse_meaning(r[3].as<std::string>()).value_or(Meaning::kAuthored);
  g.signed_at = r[4].as<std::int64_t>();
  g.record_type = r[5].as<std::string>();
  g.record_id = r[6].as<std::string>();
  g.record_hash = r[7].as<std::string>();
  g.seal = r[8].as<std::string>();
  return g;
}

Document document_row(std::string type, std::string id, const pqxx::row& r, int first) {
  return Document{std::move(type),
                  std::move(id),
                  r[first].as<std::int64_t>(),
                  r[first + 1].as<std::string>(),
                  r[first + 2].as<std::string>(),
                  r[first + 3].as<std::string>(),
                  r[first + 4].as<bool>(),
                  r[first + 5].as<std::string>()};
}

class PgTransaction final : public Transaction {
 public:
  PgTransaction(pqxx::transaction_base& t, bool writable, Millis now, std::int64_t* last_seq,
                std::string* last_hash)
      : t_(t), writable_(writable), now_(now), last_seq_(last_seq), last_hash_(last_hash) {}

  Millis now() const override { return now_; }

  std::optional<Document> get(std::string_view type, std::string_view id) override {
    const auto r = t_.exec_prepared("get", std::string(type), std::string(id));
    if (r.empty()) return std::nullopt;
    return document_row(std::string(type), std::string(id), r[0], 0);
  }

  std::vector<Document> list(std::string_view type, std::string_view parent,
                             std::string_view state) override {
    std::vector<Document> out;
    for (const auto& row :
         t_.exec_prepared("list", std::string(type), std::string(parent), std::string(state))) {
      out.push_back(document_row(std::string(type), row[0].as<std::string>(), row, 1));
    }
    return out;
  }

  Result<void> put(Document& doc) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot change records");
    if (doc.type.empty() || doc.id.empty()) {
      return refuse(Code::kInvalid, "a record needs a type and an id");
    }
    if (doc.version == 0) {
      const auto r = t_.exec_prepared("insert", doc.type, doc.id, doc.parent, doc.state, doc.body,
                                      doc.voided, doc.void_reason, now_);
      if (r.affected_rows() != 1) {
        return refuse(Code::kConflict, doc.type + " " + doc.id + " already exists", "id");
      }
      doc.version = 1;
      return {};
    }
    const auto r = t_.exec_prepared("update", doc.parent, doc.state, doc.body, doc.voided,
                                    doc.void_reason, now_, doc.type, doc.id, doc.version);
    if (r.affected_rows() != 1) {
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
    t_.exec_prepared("audit", e.seq, e.at, e.actor, e.action, e.object_type, e.object_id, e.field,
                     e.old_value, e.new_value, e.reason, e.prev_hash, e.hash, e.record_hash,
                     e.terminal);
    *last_seq_ = e.seq;
    *last_hash_ = e.hash;
    return {};
  }

  Result<void> add_signature(const Signature& g) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot add signatures");
    const auto r = t_.exec_prepared("signature", g.id, g.user_id, g.printed_name,
                                    std::string(to_string(g.meaning)), g.signed_at, g.record_type,
                                    g.record_id, g.record_hash, g.seal);
    if (r.affected_rows() != 1) return refuse(Code::kConflict, "signature " + g.id + " exists");
    return {};
  }

  std::vector<Signature> signatures_of(std::string_view type, std::string_view id) override {
    std::vector<Signature> out;
    for (const auto& row : t_.exec_prepared("signatures_of", std::string(type), std::string(id))) {
      out.push_back(signature_row(row));
    }
    return out;
  }

  Result<void> add_readings(const std::vector<Reading>& readings) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot store readings");
    if (readings.size() < 16) {
      for (const Reading& r : readings) {
        t_.exec_prepared("reading", r.sensor_id, r.at, r.value, r.flags, now_);
      }
      return {};
    }
    // COPY for a batch: one round trip instead of one per row.
    pqxx::stream_to copy(
        t_, "readings", std::vector<std::string>{"sensor_id", "at", "value", "flags", "stored_at"});
    for (const Reading& r : readings) {
      copy << std::make_tuple(r.sensor_id, r.at, r.value, r.flags, now_);
    }
    copy.complete();
    return {};
  }

  std::vector<Reading> readings_stored(std::string_view sensor_id, Millis after,
                                       Millis through) override {
    std::vector<Reading> out;
    for (const auto& row :
         t_.exec_prepared("readings_stored", std::string(sensor_id), after, through)) {
      out.push_back(Reading{std::string(sensor_id), row[0].as<std::int64_t>(), row[1].as<double>(),
                            row[2].as<std::string>(), row[3].as<std::int64_t>()});
    }
    return out;
  }

  std::vector<AuditEntry> audit_of(std::string_view type, std::string_view id) override {
    std::vector<AuditEntry> out;
    for (const auto& row : t_.exec_prepared("audit_of", std::string(type), std::string(id))) {
      out.push_back(audit_row(row));
    }
    return out;
  }

  std::optional<StoredSession> session(std::string_view token_hash) override {
    const auto r = t_.exec_prepared("session", std::string(token_hash));
    if (r.empty()) return std::nullopt;
    return StoredSession{std::string(token_hash),    r[0][0].as<std::string>(),
                         r[0][1].as<std::int64_t>(), r[0][2].as<std::int64_t>(),
                         r[0][3].as<bool>(),         r[0][4].as<std::int64_t>()};
  }

  Result<void> add_session(const StoredSession& x) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot add sessions");
    const auto r = t_.exec_prepared("add_session", x.token_hash, x.user_id, x.created_at,
                                    x.last_activity, x.has_signed, x.signing_activity);
    if (r.affected_rows() != 1) return refuse(Code::kConflict, "the session exists");
    return {};
  }

  Result<void> touch_session(std::string_view token_hash, Millis at) override {
    return change("touch_session", at, std::string(token_hash));
  }

  Result<void> save_session_signing(std::string_view token_hash, bool has_signed,
                                    Millis signing_activity) override {
    return change("session_signing", has_signed, signing_activity, std::string(token_hash));
  }

  Result<void> delete_session(std::string_view token_hash) override {
    return change("delete_session", std::string(token_hash));
  }

  Result<std::int64_t> delete_sessions_of(std::string_view user_id) override {
    if (!writable_) return refuse(Code::kStorage, "a read-only view cannot end sessions");
    const auto r = t_.exec_prepared("delete_sessions_of", std::string(user_id));
    return static_cast<std::int64_t>(r.affected_rows());
  }

  std::int64_t count_sessions(Millis active_since) override {
    return t_.exec_prepared("count_sessions", active_since)[0][0].as<std::int64_t>();
  }

  std::optional<LoginWindow> login_window(std::string_view key) override {
    const auto r = t_.exec_prepared("login_window", std::string(key));
    if (r.empty()) return std::nullopt;
    return LoginWindow{r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>()};
  }

  Result<void> save_login_window(std::string_view key, const LoginWindow& w) override {
    return change("save_login_window", std::string(key), w.window_start, w.attempts);
  }

  std::int64_t count_login_windows(Millis since) override {
    return t_.exec_prepared("count_login_windows", since)[0][0].as<std::int64_t>();
  }

  Result<void> forget_login_windows(Millis before) override {
    return change("forget_login_windows", before);
  }

 private:
  template <typename... Args>
  Result<void> change(const char* statement, const Args&... args) {
    if (!writable_) {
      return refuse(Code::kStorage, std::string("a read-only view cannot run ") + statement);
    }
    t_.exec_prepared(statement, args...);
    return {};
  }

  pqxx::transaction_base& t_;
  bool writable_;
  Millis now_;
  std::int64_t* last_seq_;
  std::string* last_hash_;
};

// Runs fn, turning libpqxx exceptions into kStorage errors.
template <typename Fn>
Result<void> guarded(const std::string& what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return tl::unexpected(pg_error(what, e));
  }
}

class PgWriteBackend final : public WriteBackend {
 public:
  PgWriteBackend(pqxx::connection& c, std::function<Millis()> clock)
      : c_(c), clock_(std::move(clock)), work_(c_) {}

  Result<void> load_chain_head() {
    return guarded("read the chain head", [&]() -> Result<void> {
      const auto r = work_.exec_prepared("chain_head");
      if (r.empty()) {
        last_seq_ = 0;
        last_hash_ = kGenesisHash;
        head_at_ = 0;
      } else {
        last_seq_ = r[0][0].as<std::int64_t>();
        last_hash_ = r[0][1].as<std::string>();
        head_at_ = r[0][2].as<Millis>();
      }
      return {};
    });
  }

  // BEGIN, the chain lock, then the chain head as it is now: another process (the other colour
  // in a blue/green deployment) may have appended since this one's last transaction.
  Result<void> begin() override {
    if (auto r = run("BEGIN"); !r) return r;
    auto locked = guarded("take the chain lock", [&]() -> Result<void> {
      work_.exec_prepared("chain_lock");
      return {};
    });
    if (locked) locked = load_chain_head();
    if (!locked) {
      (void)run("ROLLBACK");
      return locked;
    }
    begin_seq_ = last_seq_;
    begin_hash_ = last_hash_;
    return {};
  }
  Result<void> savepoint() override {
    sp_seq_ = last_seq_;
    sp_hash_ = last_hash_;
    return run("SAVEPOINT command");
  }
  Result<void> release_savepoint() override { return run("RELEASE SAVEPOINT command"); }
  void command_failed() override {
    (void)run("ROLLBACK TO SAVEPOINT command");
    (void)run("RELEASE SAVEPOINT command");
    last_seq_ = sp_seq_;
    last_hash_ = sp_hash_;
  }
  Result<void> commit() override { return run("COMMIT"); }
  void rollback() override {
    (void)run("ROLLBACK");
    last_seq_ = begin_seq_;
    last_hash_ = begin_hash_;
  }
  Transaction& begin_command() override {
    // Never behind the chain's last entry (the other colour's clock may run ahead).
    last_now_ = std::max({last_now_, clock_(), head_at_});
    tx_.emplace(work_, true, last_now_, &last_seq_, &last_hash_);
    return *tx_;
  }
  Result<void> add_checkpoint(const Checkpoint& cp) {
    return guarded("add checkpoint", [&]() -> Result<void> {
      const auto r = work_.exec_prepared("checkpoint", cp.seq, cp.root_hash, cp.at, cp.public_key,
                                         cp.signature);
      if (r.affected_rows() != 1) {
        return refuse(Code::kConflict,
                      "a checkpoint at entry " + std::to_string(cp.seq) + " exists");
      }
      return {};
    });
  }

 private:
  Result<void> run(const char* sql) {
    return guarded(sql, [&]() -> Result<void> {
      work_.exec(sql);
      return {};
    });
  }

  pqxx::connection& c_;
  std::function<Millis()> clock_;
  pqxx::nontransaction work_;  // BEGIN/COMMIT are ours
  std::optional<PgTransaction> tx_;
  Millis last_now_ = 0;
  Millis head_at_ = 0;  // time of the chain head read at begin()
  std::int64_t last_seq_ = 0, begin_seq_ = 0, sp_seq_ = 0;
  std::string last_hash_ = kGenesisHash, begin_hash_, sp_hash_;
};

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string url, StoreOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}
  ~PostgresStore() override {
    committer_.reset();
    backend_.reset();
    writer_.reset();
  }

  Result<void> open() {
    auto r = guarded("connect", [&]() -> Result<void> {
      writer_ = std::make_unique<pqxx::connection>(url_);
      return migrate();
    });
    if (!r) return r;
    r = guarded("prepare", [&]() -> Result<void> {
      prepare_all(*writer_);
      backend_ = std::make_unique<PgWriteBackend>(*writer_, options_.clock);
      return backend_->load_chain_head();
    });
    if (!r) return r;
    committer_ = std::make_unique<GroupCommitter>(*backend_, options_.max_group);
    return warm_readers(std::min<std::size_t>(options_.warm_readers, kMaxIdleReaders));
  }

  Result<void> transact(const std::function<Result<void>(Transaction&)>& command) override {
    return committer_->run(
        [&](Transaction& tx) { return guarded("command", [&] { return command(tx); }); });
  }

  Result<void> read(const std::function<Result<void>(Transaction&)>& query) override {
    return with_reader([&](pqxx::connection& c) -> Result<void> {
      pqxx::read_transaction t(c);
      std::int64_t seq = 0;
      std::string hash;
      PgTransaction tx(t, false, options_.clock(), &seq, &hash);
      auto r = query(tx);
      t.commit();
      return r;
    });
  }

  Result<void> walk_audit(std::int64_t from_seq,
                          const std::function<bool(const AuditEntry&)>& visit) override {
    return with_reader([&](pqxx::connection& c) -> Result<void> {
      pqxx::read_transaction t(c);
      // Pages of 20 000 so a long trail never sits in memory at once.
      std::int64_t next = from_seq;
      while (true) {
        const auto rows = t.exec_params(
            "SELECT seq, at, actor, action, object_type, object_id, field, old_value, new_value, "
            "reason, prev_hash, hash, record_hash, terminal FROM audit_entries WHERE seq >= $1 "
            "ORDER BY seq "
            "LIMIT 20000",
            next);
        for (const auto& row : rows) {
          const AuditEntry e = audit_row(row);
          if (!visit(e)) return {};
          next = e.seq + 1;
        }
        if (rows.size() < 20000) break;
      }
      t.commit();
      return {};
    });
  }

  Result<void> feed_audit(std::int64_t from_seq, ChainVerifier& verifier) override {
    return pipelined_feed(
        [&](const std::function<bool(const AuditEntry&)>& visit) {
          return walk_audit(from_seq, visit);
        },
        verifier);
  }

  Result<void> add_checkpoint(const Checkpoint& cp) override {
    return committer_->run([&](Transaction&) { return backend_->add_checkpoint(cp); });
  }

  Result<std::vector<Checkpoint>> checkpoints() override {
    std::vector<Checkpoint> out;
    auto r = with_reader([&](pqxx::connection& c) -> Result<void> {
      pqxx::read_transaction t(c);
      for (const auto& row : t.exec(
               "SELECT seq, root_hash, at, public_key, signature FROM checkpoints ORDER BY seq")) {
        out.push_back(Checkpoint{row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                 row[2].as<std::int64_t>(), row[3].as<std::string>(),
                                 row[4].as<std::string>()});
      }
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    return out;
  }

  Result<void> walk_records(const std::function<bool(const Document&)>& visit) override {
    return with_reader([&](pqxx::connection& c) -> Result<void> {
      pqxx::read_transaction t(c);
      // Pages by key so a large plant's records never sit in memory at once.
      std::string type, id;
      while (true) {
        const auto rows = t.exec_params(
            "SELECT type, id, version, parent, state, body, voided, void_reason FROM records "
            "WHERE (type, id) > ($1, $2) ORDER BY type, id LIMIT 5000",
            type, id);
        for (const auto& row : rows) {
          const Document d =
              document_row(row[0].as<std::string>(), row[1].as<std::string>(), row, 2);
          if (!visit(d)) return {};
          type = d.type;
          id = d.id;
        }
        if (rows.size() < 5000) break;
      }
      t.commit();
      return {};
    });
  }

  Result<std::vector<Signature>> all_signatures() override {
    std::vector<Signature> out;
    auto r = with_reader([&](pqxx::connection& c) -> Result<void> {
      pqxx::read_transaction t(c);
      for (const auto& row :
           t.exec("SELECT id, user_id, printed_name, meaning, signed_at, record_type, record_id, "
                  "record_hash, seal FROM signatures ORDER BY signed_at, id")) {
        out.push_back(signature_row(row));
      }
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    return out;
  }

  Result<std::vector<Reading>> readings(std::string_view sensor_id, Millis from,
                                        Millis to) override {
    std::vector<Reading> out;
    auto r = with_reader([&](pqxx::connection& c) -> Result<void> {
      pqxx::read_transaction t(c);
      for (const auto& row : t.exec_params(
               "SELECT at, value, flags, stored_at FROM readings WHERE sensor_id = $1 AND "
               "at >= $2 AND at < $3 ORDER BY at",
               std::string(sensor_id), from, to)) {
        out.push_back(Reading{std::string(sensor_id), row[0].as<std::int64_t>(),
                              row[1].as<double>(), row[2].as<std::string>(),
                              row[3].as<std::int64_t>()});
      }
      return {};
    });
    if (!r) return tl::unexpected(r.error());
    return out;
  }

 private:
  Result<void> migrate() {
    pqxx::nontransaction n(*writer_);
    n.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "applied_at BIGINT NOT NULL)");
    const auto have =
        n.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0].as<std::int64_t>();
    const auto& list = migration_list();
    const auto build = static_cast<std::int64_t>(list.size());
    if (have > build) {
      const auto floor = n.exec("SELECT COALESCE(MAX(readable_from), 0) FROM schema_compat")[0][0]
                             .as<std::int64_t>();
      if (auto problem = schema_compatibility_problem(have, floor, build); !problem.empty()) {
        return refuse(Code::kStorage, problem);
      }
      return {};  // expanded by a newer build: use it as it is
    }
    n.commit();
    for (std::size_t v = static_cast<std::size_t>(have) + 1; v <= list.size(); ++v) {
      pqxx::work w(*writer_);
      // Two processes starting at once: the lock makes the second wait and then see the version.
      w.exec("LOCK TABLE schema_migrations IN EXCLUSIVE MODE");
      const auto now_have = w.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]
                                .as<std::int64_t>();
      if (now_have >= static_cast<std::int64_t>(v)) continue;
      w.exec(list[v - 1]);
      w.exec_params("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    static_cast<int>(v), options_.clock());
      w.commit();
    }
    return {};
  }

  Result<void> with_reader(const std::function<Result<void>(pqxx::connection&)>& fn) {
    std::unique_ptr<pqxx::connection> c;
    {
      std::lock_guard lock(readers_mutex_);
      if (!readers_.empty()) {
        c = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    Result<void> r = guarded("read", [&]() -> Result<void> {
      if (!c) {
        c = std::make_unique<pqxx::connection>(url_);
        prepare_all(*c);
      }
      return fn(*c);
    });
    if (c && c->is_open()) {
      std::lock_guard lock(readers_mutex_);
      if (readers_.size() < kMaxIdleReaders) readers_.push_back(std::move(c));
    }
    return r;
  }

  // Opens `count` idle reader connections with their statements prepared.
  Result<void> warm_readers(std::size_t count) {
    return guarded("open the reader connections", [&]() -> Result<void> {
      std::vector<std::unique_ptr<pqxx::connection>> opened;
      for (std::size_t i = 0; i < count; ++i) {
        opened.push_back(std::make_unique<pqxx::connection>(url_));
        prepare_all(*opened.back());
      }
      std::lock_guard lock(readers_mutex_);
      for (auto& c : opened) readers_.push_back(std::move(c));
      return {};
    });
  }

  static constexpr std::size_t kMaxIdleReaders = 8;

  std::string url_;
  StoreOptions options_;
  std::unique_ptr<pqxx::connection> writer_;
  std::unique_ptr<PgWriteBackend> backend_;
  std::unique_ptr<GroupCommitter> committer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<pqxx::connection>> readers_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url, StoreOptions options) {
  auto store = std::make_unique<PostgresStore>(url, std::move(options));
  if (auto r = store->open(); !r) return tl::unexpected(r.error());
  return std::unique_ptr<Store>(std::move(store));
}

const std::vector<std::string>& postgres_migrations() { return migration_list(); }

Result<SchemaState> inspect_postgres_schema(const std::string& url) {
  SchemaState state;
  auto r = guarded("inspect the schema", [&]() -> Result<void> {
    pqxx::connection c(url);
    pqxx::nontransaction n(c);
    const auto exists = [&](const char* table) {
      return !n.exec_params("SELECT to_regclass($1)", std::string(table))[0][0].is_null();
    };
    if (exists("schema_migrations")) {
      state.database_version =
          n.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")[0][0]
              .as<std::int64_t>();
    }
    if (exists("schema_compat")) {
      state.readable_from =
          n.exec("SELECT COALESCE(MAX(readable_from), 0) FROM schema_compat")[0][0]
              .as<std::int64_t>();
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return state;
}

}  // namespace mes::store
