// Mes: the quality system's CAPA records (ICH Q10 §3.2.2, 21 CFR 211.192 follow-up, Annex 11
// §13) — a deviation whose cause needs one closes only naming a CAPA that answers it
// (close_deviation in service_batches.cpp) — and the retention rules (211.180, Annex 11 §17).
#include <algorithm>
#include <tuple>

#include "service_support.hpp"

namespace mes {

Result<void> Mes::open_capa(const std::string& actor, Capa capa, const std::string& reason) {
  return command(actor, "open_capa", "capa", capa.id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kDispositionDeviation, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (auto rr = detail::require_reason(reason); !rr) return rr;
    if (capa.id.empty() || capa.id.size() > 64 || capa.id.find('/') != std::string::npos) {
      return refuse(Code::kInvalid, "a CAPA id has 1 to 64 characters and no '/'", "id");
    }
    if (capa.title.empty()) return refuse(Code::kInvalid, "a CAPA needs a title", "title");
    if (capa.due_at <= tx.now()) {
      return refuse(Code::kInvalid, "a CAPA's due date is in the future", "due_at");
    }
    const auto owner = tx.get("user", capa.owner);
    if (!owner || detail::user_from(*owner).status != AccountStatus::kActive) {
      return refuse(Code::kNotFound, "no active user " + capa.owner + " to own it", "owner");
    }
    if (capa.deviations.empty() && capa.alarms.empty()) {
      return refuse(Code::kInvalid, "a CAPA answers at least one deviation or alarm", "deviations");
    }
    for (const auto& d : capa.deviations) {
      if (!tx.get("deviation", d))
        return refuse(Code::kNotFound, "no deviation " + d, "deviations");
    }
    for (const auto& al : capa.alarms) {
      if (!tx.get("alarm", al)) return refuse(Code::kNotFound, "no alarm " + al, "alarms");
    }
    if (tx.get(Capa::kType, capa.id)) {
      return refuse(Code::kConflict, "CAPA " + capa.id + " exists", "id");
    }
    capa.status = CapaStatus::kOpen;
    capa.actions.clear();
    capa.effectiveness.clear();
    capa.closed_by.clear();
    capa.closed_at = 0;
    capa.meta = {};
    return detail::save(tx, actor, capa, "create", reason);
  });
}

Result<void> Mes::record_capa_action(const std::string& actor, const std::string& capa_id,
                                     const std::string& text) {
  return command(actor, "record_capa_action", "capa", capa_id,
                 [&](Transaction& tx) -> Result<void> {
                   auto capa = detail::load<Capa>(tx, capa_id, "capa");
                   if (!capa) return tl::unexpected(capa.error());
                   // The owner does the work; QA may record it for them.
                   const Action needed =
                       actor == capa->owner ? Action::kViewRecords : Action::kDispositionDeviation;
                   if (auto a = detail::authorize(tx, actor, needed, config_); !a) {
                     return tl::unexpected(a.error());
                   }
                   if (capa->status != CapaStatus::kOpen) {
                     return refuse(Code::kRecordImmutable, "CAPA " + capa_id + " is closed");
                   }
                   if (text.empty()) {
                     return refuse(Code::kInvalid, "an action says what was done", "text");
                   }
                   capa->actions.push_back({text, actor, tx.now()});
                   return detail::save(tx, actor, *capa, "modify", "action recorded");
                 });
}

Result<void> Mes::close_capa(const std::string& actor, SigningSession& session,
                             const std::string& capa_id, const std::string& effectiveness,
                             const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  return command(actor, "close_capa", "capa", capa_id, [&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kDispositionDeviation, config_); !a) {
      return tl::unexpected(a.error());
    }
    if (signer->id != actor) return refuse(Code::kBadSignature, "the signer must be the actor");
    auto capa = detail::load<Capa>(tx, capa_id, "capa");
    if (!capa) return tl::unexpected(capa.error());
    if (capa->status != CapaStatus::kOpen) {
      return refuse(Code::kRecordImmutable, "CAPA " + capa_id + " is closed");
    }
    if (actor == capa->owner) {
      return refuse(Code::kSameUser, "the owner of CAPA " + capa_id + " cannot judge its effect");
    }
    if (capa->actions.empty()) {
      return refuse(Code::kOutOfSequence, "CAPA " + capa_id + " has no recorded action yet");
    }
    if (effectiveness.empty()) {
      return refuse(Code::kReasonRequired, "the effectiveness check states its finding",
                    "effectiveness");
    }
    capa->status = CapaStatus::kClosed;
    capa->effectiveness = effectiveness;
    capa->closed_by = actor;
    capa->closed_at = tx.now();
    if (auto r = detail::save(tx, actor, *capa, "close", effectiveness); !r) return r;
    auto s = sign(tx, session, *signer, signature, Meaning::kApproved, "capa", capa_id,
                  signed_hash(*tx.get(Capa::kType, capa_id)));
    if (!s) return tl::unexpected(s.error());
    return {};
  });
}

Result<std::vector<Capa>> Mes::capas(const std::string& actor, bool overdue_only) {
  std::vector<Capa> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kViewRecords, config_); !a) {
      return tl::unexpected(a.error());
    }
    for (const auto& doc : tx.list(Capa::kType)) {
      auto capa = decode<Capa>(doc);
      if (!capa) return tl::unexpected(capa.error());
      if (!overdue_only || capa->overdue_at(tx.now())) out.push_back(std::move(*capa));
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  std::sort(out.begin(), out.end(),
            [](const Capa& a, const Capa& b) { return a.due_at < b.due_at; });
  return out;
}

}  // namespace mes

namespace mes {

Millis Mes::retain_until(const std::string& type, Millis created_at) const {
  const auto rule = config_.retention_years.find(type);
  const std::int64_t years =
      rule != config_.retention_years.end() ? rule->second : config_.retention_default_years;
  // Gregorian years on average (365.2425 days): a retention date never falls a day short.
  constexpr std::int64_t kYearMillis = 31'556'952'000;
  return created_at + years * kYearMillis;
}

Result<std::vector<RetentionItem>> Mes::retention_report(const std::string& actor, Millis before) {
  if (auto r = store_.read([&](Transaction& tx) -> Result<void> {
        auto a = detail::authorize(tx, actor, Action::kViewAuditTrail, config_);
        return a ? Result<void>{} : tl::unexpected(a.error());
      });
      !r) {
    return tl::unexpected(r.error());
  }
  std::vector<std::pair<std::string, std::string>> records;
  auto walked = store_.walk_records([&](const Document& doc) {
    if (!is_runtime_record(doc.type)) records.emplace_back(doc.type, doc.id);
    return true;
  });
  if (!walked) return tl::unexpected(walked.error());
  std::vector<RetentionItem> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    for (const auto& [type, id] : records) {
      const auto entries = tx.audit_of(type, id);
      RetentionItem item{type, id, entries.empty() ? 0 : entries.front().at, 0,
                         static_cast<std::int64_t>(entries.size())};
      item.retain_until = retain_until(type, item.created_at);
      if (item.retain_until < before) out.push_back(std::move(item));
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  std::sort(out.begin(), out.end(), [](const RetentionItem& a, const RetentionItem& b) {
    return a.retain_until != b.retain_until ? a.retain_until < b.retain_until
                                            : std::tie(a.type, a.id) < std::tie(b.type, b.id);
  });
  return out;
}

}  // namespace mes
