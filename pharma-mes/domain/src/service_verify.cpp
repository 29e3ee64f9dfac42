// Mes: verification of the audit chain and of every signature (11.10(c),(e), 11.70), and signed
// checkpoints.
#include <set>

#include "service_support.hpp"

namespace mes {
namespace {

constexpr std::size_t kMaxRecordProblems = 100;  // a wholesale rewrite is named, not listed

std::string attestation(const std::string& type, const std::string& id, Meaning meaning,
                        const std::string& user) {
  return type + "|" + id + "|" + std::string(to_string(meaning)) + "|" + user;
}

// Signatures attest the status they sign (11.50, 11.70): a status that only a signature may give
// (a batch released, rejected or reviewed, a master approved, a lot released or rejected, a step
// verified, an alarm acknowledged, a CAPA closed) stands on a valid signature of that meaning by
// the person the record names (where it names one). A status without one was set outside the signed
// workflow.
void check_signed_statuses(Transaction& tx, const std::set<std::string>& attested,
                           std::vector<std::string>& problems) {
  const auto need = [&](const Document& doc, const std::string& status, Meaning meaning,
                        const std::string& by) {
    if (by.empty()) {
      const std::string prefix =
          doc.type + "|" + doc.id + "|" + std::string(to_string(meaning)) + "|";
      const auto it = attested.lower_bound(prefix);
      if (it != attested.end() && it->compare(0, prefix.size(), prefix) == 0) return;
    } else if (attested.contains(attestation(doc.type, doc.id, meaning, by))) {
      return;
    }
    problems.push_back(doc.type + " " + doc.id + " is " + status + " but no valid " +
                       std::string(to_string(meaning)) + " signature" +
                       (by.empty() ? "" : " by " + by) + " attests it");
  };
  for (const auto& batch : tx.list(Batch::kType)) {
    const auto b = decode<Batch>(batch);
    if (!b) {
      problems.push_back(b.error().message);
      continue;
    }
    if (b->disposition != Disposition::kNone) {
      need(batch, std::string(to_string(b->disposition)),
           b->disposition == Disposition::kReleased ? Meaning::kReleased : Meaning::kRejected,
           b->disposition_by);
    }
    if (b->reviewed) need(batch, "reviewed", Meaning::kReviewed, "");
    for (const auto& step : tx.list("step", batch.id)) {
      const std::string verifier = detail::body_of(step)["flow"].value("verified_by", "");
      if (!verifier.empty()) need(step, "verified", Meaning::kVerified, verifier);
    }
  }
  for (const auto& master : tx.list("master")) {
    if (master.state == "approved" ||
        detail::body_of(master)["flow"].value("status", "") == "approved") {
      need(master, "approved", Meaning::kApproved, "");
    }
  }
  for (const auto& lot : tx.list("lot")) {
    if (lot.state == "released") need(lot, "released", Meaning::kApproved, "");
    if (lot.state == "rejected") need(lot, "rejected", Meaning::kRejected, "");
  }
  for (const auto& capa : tx.list("capa", "", "closed")) {
    need(capa, "closed", Meaning::kApproved, detail::body_of(capa)["flow"].value("closed_by", ""));
  }
  for (const auto& training : tx.list(Training::kType)) {
    need(training, "a training record", Meaning::kApproved,
         detail::body_of(training)["data"].value("trainer", ""));
  }
  for (const auto& alarm : tx.list("alarm", "", "acknowledged")) {
    need(alarm, "acknowledged", Meaning::kReviewed,
         detail::body_of(alarm)["flow"].value("acknowledged_by", ""));
  }
}

}  // namespace

Result<void> Mes::verify_readings(const std::vector<std::string>& sensors, VerifyReport& report) {
  return store_.read([&](Transaction& tx) -> Result<void> {
    for (const auto& sensor : sensors) {
      for (const auto& e : tx.audit_of("sensor", sensor)) {
        if (e.action != "seal" || e.field != "readings") continue;
        const auto seal = detail::parse_seal(e.new_value);
        if (!seal) {
          report.record_problems.push_back("readings seal of " + sensor + " (audit entry " +
                                           std::to_string(e.seq) + ") is unreadable");
          continue;
        }
        const auto rows = tx.readings_stored(sensor, seal->after, seal->through);
        const auto count = static_cast<std::int64_t>(rows.size());
        if (count != seal->count || readings_digest(rows) != seal->digest) {
          if (report.record_problems.size() < kMaxRecordProblems) {
            report.record_problems.push_back(
                "readings of " + sensor + " stored in (" + std::to_string(seal->after) + ", " +
                std::to_string(seal->through) + "] were changed behind the application's back: " +
                std::to_string(count) + " now, " + std::to_string(seal->count) +
                " when audit entry " + std::to_string(e.seq) + " sealed them" +
                (count == seal->count ? " (same count, other values)" : ""));
          }
          continue;
        }
        report.readings_sealed += count;
      }
    }
    return {};
  });
}

Result<void> Mes::verify_records(
    const std::map<std::pair<std::string, std::string>, ChainVerifier::RecordProof>& proofs,
    VerifyReport& report, std::vector<std::string>& sensors) {
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<std::string>& problems = report.record_problems;
  auto name = [](const std::string& type, const std::string& id) { return type + " " + id; };
  auto walked = store_.walk_records([&](const Document& doc) {
    if (is_runtime_record(doc.type)) return true;
    if (doc.type == "sensor") sensors.push_back(doc.id);  // voided too: readings stay on record
    auto key = std::make_pair(doc.type, doc.id);
    const auto proof = proofs.find(key);
    seen.insert(std::move(key));
    if (proof == proofs.end()) {
      // Written before record hashes existed (its trail has entries, none with a hash) or
      // inserted behind the application's back (no trail at all).
      bool has_trail = false;
      auto r = store_.read([&](Transaction& tx) -> Result<void> {
        has_trail = !tx.audit_of(doc.type, doc.id).empty();
        return {};
      });
      if (r && has_trail) {
        ++report.records_legacy;
      } else if (problems.size() < kMaxRecordProblems) {
        problems.push_back("record " + name(doc.type, doc.id) + " (version " +
                           std::to_string(doc.version) +
                           ") was added behind the application's back: no audit entry wrote it");
      }
      return true;
    }
    if (record_hash(doc) != proof->second.record_hash) {
      if (problems.size() < kMaxRecordProblems) {
        problems.push_back("record " + name(doc.type, doc.id) + " (version " +
                           std::to_string(doc.version) +
                           ") was changed behind the application's back: it differs from the "
                           "version audit entry " +
                           std::to_string(proof->second.seq) + " wrote");
      }
      return true;
    }
    ++report.records;
    return true;
  });
  if (!walked) return walked;
  for (const auto& [key, proof] : proofs) {
    if (seen.contains(key) || problems.size() >= kMaxRecordProblems) continue;
    problems.push_back("record " + name(key.first, key.second) +
                       " was removed behind the application's back (audit entry " +
                       std::to_string(proof.seq) + " wrote it)");
  }
  return {};
}

Result<ChainVerifier> Mes::verify_chain(const std::vector<Checkpoint>& external_checkpoints) {
  auto stored = store_.checkpoints();
  if (!stored) return tl::unexpected(stored.error());
  std::vector<Checkpoint> all = *stored;
  // An auditor's copies must match what the database holds (or fill in what it lost).
  for (const Checkpoint& c : external_checkpoints) {
    bool same = false;
    for (const Checkpoint& s : all) same = same || s == c;
    if (!same) all.push_back(c);
  }
  ChainVerifier verifier(all, public_key_);
  if (auto walked = store_.feed_audit(1, verifier); !walked) return tl::unexpected(walked.error());
  verifier.finish();
  return verifier;
}

Result<Mes::VerifyReport> Mes::verify(const std::vector<Checkpoint>& external_checkpoints) {
  VerifyReport report;
  auto walked = verify_chain(external_checkpoints);
  if (!walked) return tl::unexpected(walked.error());
  const ChainVerifier& verifier = *walked;
  report.checkpoints = verifier.checkpoints_total();
  report.entries = verifier.entries_checked();
  report.root = verifier.root();
  report.chain_problem = verifier.problem();
  // Records and readings are compared only against a chain that verified.
  if (!report.chain_problem) {
    std::vector<std::string> sensors;  // found by the records' walk, for the readings' seals
    if (auto checked = verify_records(verifier.record_proofs(), report, sensors); !checked) {
      return tl::unexpected(checked.error());
    }
    if (auto checked = verify_readings(sensors, report); !checked) {
      return tl::unexpected(checked.error());
    }
  }

  auto signatures = store_.all_signatures();
  if (!signatures) return tl::unexpected(signatures.error());
  report.signatures = signatures->size();
  std::set<std::string> attested;  // what the valid signatures attest
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    for (const Signature& s : *signatures) {
      const auto doc = tx.get(s.record_type, s.record_id);
      std::string hash;
      if (doc) {
        hash = signed_hash(
            *doc, doc->type == "batch" ? tx.list("step", doc->id) : std::vector<Document>{});
      }
      const SignatureCheck check =
          doc ? check_signature(s, s.record_type, s.record_id, hash, public_key_)
              : SignatureCheck::kWrongRecord;
      if (check != SignatureCheck::kValid) {
        report.signature_problems.push_back(
            "signature " + s.id + " (" + std::string(to_string(s.meaning)) + " by " + s.user_id +
            " on " + s.record_type + " " + s.record_id + "): " + std::string(to_string(check)));
      } else {
        attested.insert(attestation(s.record_type, s.record_id, s.meaning, s.user_id));
      }
    }
    check_signed_statuses(tx, attested, report.signature_problems);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return report;
}

Result<void> Mes::record_system_event(const std::string& app, const std::string& action,
                                      const std::string& from, const std::string& to,
                                      const std::string& detail) {
  return transact([&](Transaction& tx) {
    return detail::audit(tx, "system", action, "system", app, "", from, to, detail);
  });
}

namespace {

// Request text on the trail: at most 200 bytes, control characters as '?'.
std::string bounded(const std::string& text) {
  std::string out = text.substr(0, 200);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

Result<void> Mes::record_access_refused(const std::string& actor, const std::string& address,
                                        const std::string& what, int status,
                                        const std::string& code) {
  return transact([&](Transaction& tx) {
    return detail::audit(tx, actor.empty() ? "anonymous" : bounded(actor), "access_refused", "api",
                         bounded(what), "status", "", std::to_string(status) + " " + bounded(code),
                         "from " + bounded(address));
  });
}

Result<void> Mes::record_security_alert(const std::string& address, const std::string& detail) {
  return transact([&](Transaction& tx) {
    return detail::audit(tx, "system", "security_alert", "api", bounded(address), "", "",
                         bounded(detail), "");
  });
}

Result<Checkpoint> Mes::checkpoint() {
  std::int64_t seq = 0;
  std::string root = kGenesisHash;
  ChainVerifier verifier;
  if (auto walked = store_.feed_audit(1, verifier); !walked) return tl::unexpected(walked.error());
  if (verifier.problem()) {
    return refuse(Code::kStorage, "the chain does not verify: " + verifier.problem()->message);
  }
  seq = verifier.last_seq();
  root = verifier.root();
  if (seq == 0) return refuse(Code::kInvalid, "the audit trail is empty");
  Checkpoint cp;
  auto r = transact([&](Transaction& tx) -> Result<void> {
    cp = sign_checkpoint(seq, root, tx.now(), key_);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  if (auto added = store_.add_checkpoint(cp); !added) return tl::unexpected(added.error());
  return cp;
}

}  // namespace mes
