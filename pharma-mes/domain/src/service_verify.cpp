// Mes: verification of the audit chain and of every signature (11.10(c),(e), 11.70), and signed
// checkpoints.
#include "service_support.hpp"

namespace mes {

Result<Mes::VerifyReport> Mes::verify(const std::vector<Checkpoint>& external_checkpoints) {
  VerifyReport report;
  auto stored = store_.checkpoints();
  if (!stored) return tl::unexpected(stored.error());
  std::vector<Checkpoint> all = *stored;
  // An auditor's copies must match what the database holds (or fill in what it lost).
  for (const Checkpoint& c : external_checkpoints) {
    bool same = false;
    for (const Checkpoint& s : all) same = same || s == c;
    if (!same) all.push_back(c);
  }
  report.checkpoints = all.size();
  ChainVerifier verifier(all, public_key_);
  if (auto walked = store_.feed_audit(1, verifier); !walked) return tl::unexpected(walked.error());
  verifier.finish();
  report.entries = verifier.entries_checked();
  report.chain_problem = verifier.problem();

  auto signatures = store_.all_signatures();
  if (!signatures) return tl::unexpected(signatures.error());
  report.signatures = signatures->size();
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    for (const Signature& s : *signatures) {
      const auto doc = tx.get(s.record_type, s.record_id);
      std::string hash;
      if (doc) {
        if (s.record_type == "batch") {
          std::string all_hashes = detail::content_hash("batch", doc->id, detail::body_of(*doc));
          for (const auto& step : tx.list("step", doc->id)) {
            all_hashes += detail::content_hash("step", step.id, detail::body_of(step));
          }
          hash = crypto::sha256_hex(all_hashes);
        } else {
          hash = detail::content_hash(s.record_type, s.record_id, detail::body_of(*doc));
        }
      }
      const SignatureCheck check =
          doc ? check_signature(s, s.record_type, s.record_id, hash, public_key_)
              : SignatureCheck::kWrongRecord;
      if (check != SignatureCheck::kValid) {
        report.signature_problems.push_back(
            "signature " + s.id + " (" + std::string(to_string(s.meaning)) + " by " + s.user_id +
            " on " + s.record_type + " " + s.record_id + "): " + std::string(to_string(check)));
      }
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  return report;
}

Result<void> Mes::record_system_event(const std::string& app, const std::string& action,
                                      const std::string& from, const std::string& to,
                                      const std::string& detail) {
  return store_.transact([&](Transaction& tx) {
    return detail::audit(tx, "system", action, "system", app, "", from, to, detail);
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
  auto r = store_.transact([&](Transaction& tx) -> Result<void> {
    cp = sign_checkpoint(seq, root, tx.now(), key_);
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  if (auto added = store_.add_checkpoint(cp); !added) return tl::unexpected(added.error());
  return cp;
}

}  // namespace mes
