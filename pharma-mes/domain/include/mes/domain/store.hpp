// The storage ports of the MES (implemented by pharma-mes/store for SQLite and PostgreSQL).
// Every GMP record is a Document (type, id, version, JSON body, an indexed state and parent);
// records are never deleted, only voided with a reason. One command = one Transaction: its
// record changes, audit entries (chained here, in commit order) and signatures commit together
// or not at all. Implementations may commit several commands in one database transaction (group
// commit), each inside its own savepoint, and never acknowledge a command before its commit.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mes/domain/audit.hpp"
#include "mes/domain/errors.hpp"
#include "mes/domain/esign.hpp"

namespace mes {

struct Document {
  std::string type, id;
  std::int64_t version = 0;  // 0 until first stored; each put() stores version + 1
  std::string parent;        // e.g. the batch of a phase; indexed, may be empty
  std::string state;         // e.g. a batch's ISA-88 state; indexed, may be empty
  std::string body;          // JSON
  bool voided = false;
  std::string void_reason;

  friend bool operator==(const Document&, const Document&) = default;
};

// sha256 (hex) of a stored record version: type, id, version, parent, state, body, voided and
// void reason, length-prefixed. Every audited write carries it (AuditEntry::record_hash) and
// verify() recomputes it for every record.
std::string record_hash(const Document& doc);
// The hash an electronic signature seals (Signature::record_hash): sha256 of the record's type,
// id and data (its workflow status is attested by the signature's meaning). A batch's signatures
// seal its data with its steps' (`steps`: the batch's step records, any order).
std::string signed_hash(const Document& record, const std::vector<Document>& steps = {});
// Record types that are not GMP records and so not proven by the chain (a sensor's runtime
// state: last reading, open excursion; rewritten by every batch of readings).
bool is_runtime_record(std::string_view type);

struct Reading {
  std::string sensor_id;
  Millis at = 0;  // the device's time
  double value = 0;
  std::string flags;     // e.g. "uncalibrated", "alert", "action"; empty when clean
  Millis stored_at = 0;  // server time of the command that stored it (set by the store)
};

// sha256 (hex) over readings in the order given (at, value, flags, stored_at of each), the
// digest a readings seal carries (Mes::seal_readings).
std::string readings_digest(const std::vector<Reading>& readings);

// A login session as the database keeps it, so every MES process on one database (blue and
// green in a deployment) knows it. Only a hash of the bearer token is stored. Not a GMP record:
// not audited, deleted at logout or when found idle.
struct StoredSession {
  std::string token_hash, user_id;
  Millis created_at = 0, last_activity = 0;
  // The e-signature state of the session (21 CFR 11.200(a)(1)): whether a full two-component
  // signing happened, and when the signing session's activity was last renewed.
  bool has_signed = false;
  Millis signing_activity = 0;

  friend bool operator==(const StoredSession&, const StoredSession&) = default;
};

// The login limit of one key (a user id or a remote address): attempts in the fixed one-minute
// window that started at window_start.
struct LoginWindow {
  Millis window_start = 0;
  std::int64_t attempts = 0;
};

// What one command sees and changes. Not thread-safe: used by one command at a time.
class Transaction {
 public:
  virtual ~Transaction() = default;
  virtual Millis now() const = 0;  // server UTC for this command
  virtual std::optional<Document> get(std::string_view type, std::string_view id) = 0;
  // Non-voided documents of a type, optionally only with this parent / state; by id.
  virtual std::vector<Document> list(std::string_view type, std::string_view parent = {},
                                     std::string_view state = {}) = 0;
  // Stores doc as version doc.version + 1; refuses (kConflict) when the stored version is not
  // doc.version (someone changed it meanwhile) or a new id exists. Sets doc.version.
  virtual Result<void> put(Document& doc) = 0;
  // Assigns seq, prev_hash and hash (the chain continues in commit order).
  virtual Result<void> append_audit(AuditEntry& entry) = 0;
  virtual Result<void> add_signature(const Signature& signature) = 0;
  virtual std::vector<Signature> signatures_of(std::string_view record_type,
                                               std::string_view record_id) = 0;
  // Stores each reading with stored_at = now().
  virtual Result<void> add_readings(const std::vector<Reading>& readings) = 0;
  // A sensor's readings stored in (after, through], ordered by at, stored_at, value, flags.
  virtual std::vector<Reading> readings_stored(std::string_view sensor_id, Millis after,
                                               Millis through) = 0;
  // Audit entries about one object, in order.
  virtual std::vector<AuditEntry> audit_of(std::string_view object_type,
                                           std::string_view object_id) = 0;

  // ---- login sessions and the login limit (shared by every process on the database) ----
  virtual std::optional<StoredSession> session(std::string_view token_hash) = 0;
  // Refuses (kConflict) a token hash that exists.
  virtual Result<void> add_session(const StoredSession& session) = 0;
  // last_activity = max(stored, at): two requests of one session never move it back.
  virtual Result<void> touch_session(std::string_view token_hash, Millis at) = 0;
  virtual Result<void> save_session_signing(std::string_view token_hash, bool has_signed,
                                            Millis signing_activity) = 0;
  virtual Result<void> delete_session(std::string_view token_hash) = 0;
  // Ends every session of a user (locked, deactivated, password reset); returns how many.
  virtual Result<std::int64_t> delete_sessions_of(std::string_view user_id) = 0;
  // Sessions active at or after `since`.
  virtual std::int64_t count_sessions(Millis active_since) = 0;
  virtual std::optional<LoginWindow> login_window(std::string_view key) = 0;
  virtual Result<void> save_login_window(std::string_view key, const LoginWindow& window) = 0;
  // Keys whose window started at or after `since`; forgetting those before `before`.
  virtual std::int64_t count_login_windows(Millis since) = 0;
  virtual Result<void> forget_login_windows(Millis before) = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Runs `command` in its own transaction (or savepoint of a group commit) and returns once it
  // is durably committed, or rolled back when it returned an error (nothing of it is kept).
  virtual Result<void> transact(const std::function<Result<void>(Transaction&)>& command) = 0;
  // A read-only view (changes are refused); safe to call from many threads.
  virtual Result<void> read(const std::function<Result<void>(Transaction&)>& query) = 0;
  // Every audit entry in seq order, as stored (for verification and export); stop by
  // returning false.
  virtual Result<void> walk_audit(std::int64_t from_seq,
                                  const std::function<bool(const AuditEntry&)>& visit) = 0;
  // Feeds every audit entry from from_seq on into `verifier` (stops at its first problem).
  // Implementations may read and verify in parallel.
  virtual Result<void> feed_audit(std::int64_t from_seq, ChainVerifier& verifier) {
    return walk_audit(from_seq, [&](const AuditEntry& e) { return verifier.feed(e); });
  }
  virtual Result<void> add_checkpoint(const Checkpoint& checkpoint) = 0;
  virtual Result<std::vector<Checkpoint>> checkpoints() = 0;
  // Every record of every type, voided ones too, in (type, id) order; stop by returning false.
  virtual Result<void> walk_records(const std::function<bool(const Document&)>& visit) = 0;
  // Every signature row, for verification.
  virtual Result<std::vector<Signature>> all_signatures() = 0;
  virtual Result<std::vector<Reading>> readings(std::string_view sensor_id, Millis from,
                                                Millis to) = 0;
};

}  // namespace mes
