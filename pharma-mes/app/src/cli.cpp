// pharma-mes: the MES's command-line tool for the administrator and the auditor.
//   pharma-mes serve [--http.port=8090 --db.url=... see --help]   (the MES HTTP server)
//   pharma-mes [--db URL] [--key PATH] db migrate
//   pharma-mes [--db URL] db compat      (may this build use the database? read-only; JSON line)
//   pharma-mes [...] user add <id> --name "Full Name" --roles operator[,qa...]
//                    [--identity "what was checked"] [--as ADMIN]
//   pharma-mes [...] user verify-identity <id> --identity "what was checked" --as ADMIN
//   pharma-mes [...] user lock|unlock <id> --reason TEXT --as ADMIN
//   pharma-mes [...] user reset <id> --reason TEXT --as ADMIN
//   pharma-mes [...] audit verify [--checkpoints FILE]
//   pharma-mes [...] audit export [--from SEQ]          (CSV on stdout)
//   pharma-mes [...] audit checkpoint                   (one line on stdout, keep it elsewhere)
//   pharma-mes [...] audit seal-readings                (seal raw readings stored > 60 s ago)
//   pharma-mes [...] backup FILE                        (a consistent copy while it serves)
//   pharma-mes [...] restore FILE                       (into an empty --db; then verifies)
//   pharma-mes [...] archive export <batch> FILE --as USER   (the batch's sealed archive)
//   pharma-mes archive verify FILE [--public-key HEX]   (offline: no database, no key file)
//   pharma-mes [...] retention report [--before UTC] --as USER   (what leaves retention; CSV)
//   pharma-mes [...] demo seed                          (the demo plant; prints the passwords once)
// Passwords are read from the first line of stdin (or MES_PASSWORD), never from the command
// line. The first `user add` on an empty database creates the first administrator and reads
// their password; later ones act --as an administrator and print a one-time password.
// Exit codes: 0 ok, 1 verification failed or command refused, 2 usage or configuration error.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "demo_seed.hpp"
#include "http/server.hpp"
#include "mes/api/api.hpp"
#include "mes/api/archive.hpp"
#include "mes/api/secret_spool.hpp"
#include "mes/domain/service.hpp"
#include "mes/domain/text.hpp"
#include "mes/store/backup.hpp"
#include "mes/store/migrations.hpp"
#include "mes/store/open.hpp"
#include "mes/store/security.hpp"
#include "server.hpp"

namespace {

using namespace mes;

struct Args {
  std::vector<std::string> words;
  std::map<std::string, std::string> options;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const auto eq = s.find('=');
      if (eq != std::string::npos) {
        a.options[s.substr(2, eq - 2)] = s.substr(eq + 1);
      } else if (i + 1 < argc) {
        a.options[s.substr(2)] = argv[++i];
      } else {
        a.options[s.substr(2)] = "";
      }
    } else {
      a.words.push_back(s);
    }
  }
  return a;
}

int usage() {
  std::cerr << "usage: pharma-mes [--db URL] [--key PATH] db migrate | compat\n"
               "       pharma-mes user add <id> --name NAME --roles ROLES --identity TEXT "
               "--as ADMIN\n"
               "       pharma-mes user verify-identity <id> --identity TEXT --as ADMIN\n"
               "       pharma-mes user lock|unlock|reset <id> --reason TEXT --as ADMIN\n"
               "       pharma-mes audit verify [--checkpoints FILE] | export [--from SEQ] | "
               "checkpoint | seal-readings\n"
               "       pharma-mes backup FILE | restore FILE\n"
               "       pharma-mes archive export <batch> FILE --as USER | verify FILE "
               "[--public-key HEX]\n"
               "       pharma-mes retention report [--before UTC] --as USER\n"
               "       pharma-mes demo seed\n"
               "       pharma-mes serve [--help]\n";
  return 2;
}

std::string read_password(const char* what) {
  if (const char* env = std::getenv("MES_PASSWORD"); env != nullptr && *env != '\0') return env;
  std::cerr << what << ": " << std::flush;
  std::string line;
  std::getline(std::cin, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

int refused(const Error& e) {
  std::cerr << "pharma-mes: " << to_string(e.code) << ": " << e.message << "\n";
  return e.code == Code::kStorage ? 2 : 1;
}

// Logs the administrator in for this one command.
std::optional<Error> admin_login(Mes& mes, const std::string& admin) {
  auto r = mes.login(admin, read_password(("password of " + admin).c_str()));
  if (!r) return r.error();
  if (r->outcome != LoginOutcome::kOk) {
    return Error{Code::kUnauthenticated,
                 "login of " + admin + ": " + std::string(to_string(r->outcome)),
                 {}};
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "serve") {
    http::block_shutdown_signals();  // before any thread (DESIGN.md: SIGTERM only via sigwait)
    return mes::app::run_server(argc - 1, argv + 1);
  }
  const Args a = parse(argc, argv);
  if (a.words.size() < 2) return usage();
  const TerminalScope terminal("console");  // every entry the CLI writes was made at the console
  const bool backup_or_restore = a.words[0] == "backup" || a.words[0] == "restore";
  if (backup_or_restore && a.words.size() != 2) return usage();
  // Every option must be one this command takes: a misspelt --reason or --as is an error, not
  // silently ignored.
  {
    static const std::map<std::string, std::set<std::string>> kOptions = {
        {"db migrate", {}},
        {"db compat", {}},
        {"demo seed", {}},
        {"user add", {"name", "roles", "identity", "as"}},
        {"user verify-identity", {"identity", "as"}},
        {"user lock", {"reason", "as"}},
        {"user unlock", {"reason", "as"}},
        {"user reset", {"reason", "as"}},
        {"audit verify", {"checkpoints"}},
        {"audit export", {"from"}},
        {"audit checkpoint", {}},
        {"audit seal-readings", {}},
        {"backup", {}},
        {"restore", {}},
        {"archive export", {"as"}},
        {"archive verify", {"public-key"}},
        {"retention report", {"before", "as"}},
    };
    const std::string command = backup_or_restore ? a.words[0] : a.words[0] + " " + a.words[1];
    const auto known = kOptions.find(command);
    if (known == kOptions.end()) return usage();
    for (const auto& [name, value] : a.options) {
      if (name == "db" || name == "key" || known->second.count(name) != 0) continue;
      std::string allowed = "--db, --key";
      for (const auto& k : known->second) allowed += ", --" + k;
      std::cerr << "pharma-mes: unknown option --" << name << " for '" << command << "' (it takes "
                << allowed << ")\n";
      return 2;
    }
  }
  const std::string db = a.options.count("db") ? a.options.at("db") : "sqlite://./data/mes.db";
  if (a.words[0] == "db" && a.words[1] == "compat") {
    // For a deployment's pre-flight: nothing is migrated or created.
    auto state = store::inspect_schema(db);
    if (!state) return refused(state.error());
    const std::string problem = store::schema_compatibility_problem(
        state->database_version, state->readable_from, store::schema_version());
    std::cout << nlohmann::json{{"database_schema", state->database_version},
                                {"readable_from", state->readable_from},
                                {"build_schema", store::schema_version()},
                                {"compatible", problem.empty()},
                                {"problem", problem}}
                     .dump()
              << "\n";
    if (!problem.empty()) std::cerr << "pharma-mes: " << problem << "\n";
    return problem.empty() ? 0 : 1;
  }
  if (a.words[0] == "archive" && a.words[1] == "verify") {
    // Offline, years later: only the file (and the site's public key, to compare).
    if (a.words.size() != 3) return usage();
    std::ifstream in(a.words[2], std::ios::binary);
    if (!in) {
      std::cerr << "pharma-mes: cannot read " << a.words[2] << "\n";
      return 2;
    }
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto report = api::verify_archive(
        text, a.options.count("public-key") ? a.options.at("public-key") : std::string());
    std::cout << "archive of batch " << report.batch << " made " << report.created_at << " by "
              << report.created_by << ", sealed with key " << report.public_key << ": "
              << report.parts << " parts, " << report.records << " records, " << report.entries
              << " audit entries, " << report.signatures << " signatures, " << report.readings
              << " readings\n";
    for (const auto& p : report.problems) std::cout << "FAILED " << p << "\n";
    if (report.ok()) {
      std::cout << "OK: the manifest's seal, every part, audit entry, record and signature "
                   "verify\n";
    }
    return report.ok() ? 0 : 1;
  }
  const std::string key_path =
      a.options.count("key") ? a.options.at("key") : "data/mes-signing.key";
  const std::string shown_db = db.substr(0, db.find('?'));  // no credentials in the output
  if (a.words[0] == "restore") {
    if (auto restored = store::restore_database(a.words[1], db); !restored) {
      return refused(restored.error());
    }
    // What came back: the whole chain, every signature and record, against the site's key.
    auto store = store::open_store(db);
    if (!store) return refused(store.error());
    if (!std::filesystem::exists(key_path)) {
      std::cerr << "pharma-mes: restored, not verified: the site's signing key " << key_path
                << " is missing (--key; it is kept apart from the database)\n";
      return 1;
    }
    auto key = store::load_or_create_signing_key(key_path);
    if (!key) return refused(key.error());
    store::Argon2idHasher hasher;
    Mes mes(**store, hasher, *key);
    auto report = mes.verify();
    if (!report) return refused(report.error());
    std::cout << "restored " << a.words[1] << " into " << shown_db << ": entries "
              << report->entries << ", chain head " << report->root << ", records "
              << report->records << "\n";
    if (!report->ok()) {
      std::cout << "FAILED the restored database does not verify: " << report->first_problem()
                << "\n";
      return 1;
    }
    std::cout << "OK: the restored audit trail, every signature and every record verify\n";
    return 0;
  }
  if (db.rfind("sqlite://", 0) == 0) {
    const std::filesystem::path file = db.substr(9);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  }
  if (std::filesystem::path(key_path).has_parent_path()) {
    std::filesystem::create_directories(std::filesystem::path(key_path).parent_path());
  }
  auto store = store::open_store(db);
  if (!store) return refused(store.error());
  if (a.words[0] == "db" && a.words[1] == "migrate") {
    std::cout << "schema version " << store::schema_version() << "\n";
    return 0;
  }
  if (a.words[0] == "backup") {
    // The chain head before the copy: the backup holds it and whatever committed before the
    // copy's snapshot.
    ChainVerifier head;
    if (auto fed = (*store)->feed_audit(1, head); !fed) return refused(fed.error());
    if (head.problem()) {
      std::cerr << "pharma-mes: warning: the chain does not verify before the backup: "
                << head.problem()->message << "\n";
    }
    if (auto copied = store::backup_database(db, a.words[1]); !copied) {
      return refused(copied.error());
    }
    std::cout << "backup of " << shown_db << " written to " << a.words[1]
              << ": chain head before the copy entry " << head.last_seq() << " " << head.root()
              << "\n";
    return 0;
  }
  auto key = store::load_or_create_signing_key(key_path);
  if (!key) return refused(key.error());
  store::Argon2idHasher hasher;
  Mes mes(**store, hasher, *key);
  const std::string group = a.words[0], verb = a.words[1];
  if (group == "demo" && verb == "seed") {
    const Millis now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    auto users = app::seed_demo_plant(mes, now);
    if (!users) return refused(users.error());
    std::cout << "demo plant seeded: rooms A-D with 16 sensors, R-101, SC-1, FBD-1, lots "
                 "L-PARA-0426 and L-LAC-0311 (released), master PARA-500@1 (approved)\n"
                 "demo users (passwords shown once; not stored in clear anywhere):\n";
    for (const auto& u : *users) {
      std::cout << "  " << u.id << "\t" << u.roles << "\t" << u.password << "\t" << u.full_name
                << "\n";
    }
    return 0;
  }
  const auto option = [&](const char* name) {
    return a.options.count(name) ? a.options.at(name) : std::string();
  };
  if (group == "retention" && verb == "report") {
    if (a.words.size() != 2 || option("as").empty()) return usage();
    Millis before = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    if (!option("before").empty()) {
      const auto t = parse_utc(option("before"));
      if (!t) {
        std::cerr << "pharma-mes: --before is a UTC time like 2036-01-01T00:00:00.000Z\n";
        return 2;
      }
      before = *t;
    }
    if (auto e = admin_login(mes, option("as"))) return refused(*e);
    auto report = mes.retention_report(option("as"), before);
    if (!report) return refused(report.error());
    std::cout << csv_line({"type", "id", "created_at", "retain_until", "audit_entries"});
    for (const auto& item : *report) {
      std::cout << csv_line({item.type, item.id, format_utc(item.created_at),
                             format_utc(item.retain_until), std::to_string(item.entries)});
    }
    return 0;
  }
  if (group == "archive" && verb == "export") {
    if (a.words.size() != 4 || option("as").empty()) return usage();
    const std::string batch = a.words[2], file = a.words[3];
    if (std::filesystem::exists(file)) {
      std::cerr << "pharma-mes: " << file << " exists: an archive is never written over\n";
      return 2;
    }
    if (auto e = admin_login(mes, option("as"))) return refused(*e);
    api::Api api(
        mes, **store,
        [] {
          return std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
              .count();
        },
        api::random_token);
    auto archive = api.batch_archive(option("as"), batch, *key);
    if (!archive) return refused(archive.error());
    const std::string aside = file + ".partial";
    {
      std::ofstream out(aside, std::ios::binary | std::ios::trunc);
      out << *archive;
      if (!out.flush()) {
        std::cerr << "pharma-mes: cannot write " << aside << "\n";
        return 2;
      }
    }
    std::filesystem::rename(aside, file);
    const auto report = api::verify_archive(*archive, key->public_key_hex());
    std::cout << "archive of batch " << batch << " written to " << file << ": " << report.records
              << " records, " << report.entries << " audit entries, " << report.signatures
              << " signatures, " << report.readings << " readings; sealed with key "
              << report.public_key << "\n";
    for (const auto& p : report.problems) std::cout << "FAILED " << p << "\n";
    return report.ok() ? 0 : 1;
  }

  if (group == "user" && a.words.size() == 3) {
    const std::string id = a.words[2];
    const std::string admin = option("as");
    if (verb == "add" && admin.empty()) {  // the first administrator
      const auto roles = parse_roles(option("roles"));
      if (!roles || *roles != role_bit(Role::kAdmin)) {
        std::cerr << "pharma-mes: without --as only the first administrator (--roles admin) can "
                     "be added\n";
        return 2;
      }
      if (auto r = mes.bootstrap_admin(id, option("name"), read_password("new password")); !r) {
        return refused(r.error());
      }
      std::cout << "created administrator " << id << "\n";
      return 0;
    }
    if (admin.empty()) return usage();
    if (auto e = admin_login(mes, admin)) return refused(*e);
    if (verb == "add") {
      const auto roles = parse_roles(option("roles"));
      if (!roles) {
        std::cerr << "pharma-mes: --roles is a list of operator, supervisor, qa, admin\n";
        return 2;
      }
      const std::string otp = api::one_time_password();
      if (auto r =
              mes.create_user(admin, NewUser{id, option("name"), *roles, otp, option("identity")});
          !r) {
        return refused(r.error());
      }
      std::cout << "created " << id << "; one-time password (change at first login): " << otp
                << "\n";
      return 0;
    }
    if (verb == "verify-identity") {
      if (auto r = mes.verify_identity(admin, id, option("identity")); !r) {
        return refused(r.error());
      }
      std::cout << "identity of " << id << " verified by " << admin << "\n";
      return 0;
    }
    if (verb == "lock" || verb == "unlock") {
      if (auto r = mes.set_locked(admin, id, verb == "lock", option("reason")); !r) {
        return refused(r.error());
      }
      std::cout << verb << "ed " << id << "\n";
      return 0;
    }
    if (verb == "reset") {
      const std::string otp = api::one_time_password();
      if (auto r = mes.reset_password(admin, id, otp, option("reason")); !r) {
        return refused(r.error());
      }
      std::cout << "reset " << id << "; one-time password (change at next login): " << otp << "\n";
      return 0;
    }
    return usage();
  }

  if (group == "audit" && verb == "verify") {
    std::vector<Checkpoint> external;
    if (const std::string file = option("checkpoints"); !file.empty()) {
      std::ifstream in(file);
      if (!in) {
        std::cerr << "pharma-mes: cannot read " << file << "\n";
        return 2;
      }
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        ++n;
        if (line.empty()) continue;
        const auto cp = parse_checkpoint_line(line);
        if (!cp) {
          std::cerr << "pharma-mes: " << file << ":" << n << " is not a checkpoint line\n";
          return 2;
        }
        external.push_back(*cp);
      }
    }
    auto report = mes.verify(external);
    if (!report) return refused(report.error());
    std::cout << "entries " << report->entries << ", checkpoints " << report->checkpoints
              << ", signatures " << report->signatures << ", records " << report->records;
    std::cout << ", sealed readings " << report->readings_sealed;
    if (report->records_legacy > 0) {
      std::cout << " (+" << report->records_legacy << " written before record hashes)";
    }
    std::cout << "\n";
    if (report->chain_problem) {
      std::cout << "FAILED at entry " << report->chain_problem->seq << " ("
                << to_string(report->chain_problem->kind) << "): " << report->chain_problem->message
                << "\n";
    }
    for (const auto& p : report->signature_problems) std::cout << "FAILED " << p << "\n";
    for (const auto& p : report->record_problems) std::cout << "FAILED " << p << "\n";
    if (report->ok()) std::cout << "OK: the audit trail, every signature and every record verify\n";
    return report->ok() ? 0 : 1;
  }
  if (group == "audit" && verb == "export") {
    const std::int64_t from = option("from").empty() ? 1 : std::atoll(option("from").c_str());
    std::cout << csv_line({"seq", "at", "actor", "action", "object_type", "object_id", "field",
                           "old_value", "new_value", "reason", "prev_hash", "hash", "record_hash",
                           "terminal"});
    auto r = (*store)->walk_audit(from, [](const AuditEntry& e) {
      std::cout << csv_line({std::to_string(e.seq), format_utc(e.at), e.actor, e.action,
                             e.object_type, e.object_id, e.field, e.old_value, e.new_value,
                             e.reason, e.prev_hash, e.hash, e.record_hash, e.terminal});
      return static_cast<bool>(std::cout);
    });
    if (!r) return refused(r.error());
    return 0;
  }
  if (group == "audit" && verb == "seal-readings") {
    auto sealed = mes.seal_readings();
    if (!sealed) return refused(sealed.error());
    std::cout << "sealed the new readings of " << *sealed << " sensor(s)\n";
    return 0;
  }
  if (group == "audit" && verb == "checkpoint") {
    auto cp = mes.checkpoint();
    if (!cp) return refused(cp.error());
    std::cout << checkpoint_line(*cp) << "\n";
    return 0;
  }
  return usage();
}
