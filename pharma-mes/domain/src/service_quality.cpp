// Mes: the quality system's CAPA records (ICH Q10 §3.2.2, 21 CFR 211.192 follow-up, Annex 11
// §13) — a deviation whose cause needs one closes only naming a CAPA that answers it
// (close_deviation in service_batches.cpp) —, training records (11.10(i), 211.25(a)) and the
// retention rules (211.180, Annex 11 §17).
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
    const auto owner = detail::load<User>(tx, capa.owner, "owner", true);
    if (!owner && owner.error().code != Code::kNotFound) return tl::unexpected(owner.error());
    if (!owner || owner->status != AccountStatus::kActive) {
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

namespace {

// The product of master id "<product>@<version>".
std::string product_of(const std::string& master_id) {
  return master_id.substr(0, master_id.rfind('@'));
}

// A procedure a training may name: a product with a master recipe, or a phase in one.
Result<void> check_procedure(Transaction& tx, const std::string& procedure) {
  const bool master = procedure.rfind("master:", 0) == 0, phase = procedure.rfind("phase:", 0) == 0;
  if (!master && !phase) {
    return refuse(Code::kInvalid,
                  "a procedure is master:<product> (a master recipe) or phase:<phase name> (a "
                  "step type)",
                  "procedure");
  }
  const std::string name = procedure.substr(procedure.find(':') + 1);
  std::vector<std::string> unreadable;
  for (const auto& m : detail::list_of<MasterRecipe>(tx, "", "", unreadable)) {
    if (master && m.product == name) return {};
    for (const auto& p : m.phases) {
      if (phase && p.phase == name) return {};
    }
  }
  if (!unreadable.empty()) return refuse(Code::kStorage, unreadable.front());
  return refuse(Code::kNotFound,
                master ? "no master recipe for product " + name : "no master has a phase " + name,
                "procedure");
}

}  // namespace

namespace detail {

Result<void> require_training(Transaction& tx, const std::string& user,
                              const std::string& master_id, const std::string& phase) {
  const std::string by_master = master_procedure(product_of(master_id));
  const std::string by_phase = phase_procedure(phase);
  for (const auto& doc : tx.list(Training::kType, user)) {
    auto t = decode<Training>(doc);
    if (!t) return tl::unexpected(t.error());
    if ((t->procedure == by_master || t->procedure == by_phase) && t->current_at(tx.now())) {
      return {};
    }
  }
  return refuse(Code::kNotQualified, user + " has no current training for " + by_master + " or " +
                                         by_phase + " (11.10(i))");
}

}  // namespace detail

Result<std::string> Mes::record_training(const std::string& actor, SigningSession& session,
                                         Training training, const SignatureInput& signature) {
  auto signer = signer_for(session, signature);
  if (!signer) return tl::unexpected(signer.error());
  std::string id;
  auto r = command(
      actor, "record_training", "training", training.trainee, [&](Transaction& tx) -> Result<void> {
        if (auto a = detail::authorize(tx, actor, Action::kRecordTraining, config_); !a) {
          return tl::unexpected(a.error());
        }
        if (signer->id != actor) {
          return refuse(Code::kBadSignature, "the trainer signs the training record");
        }
        const auto trainee = detail::load<User>(tx, training.trainee, "trainee", true);
        if (!trainee) return tl::unexpected(trainee.error());
        const User& u = *trainee;
        if (u.status == AccountStatus::kDeactivated) {
          return refuse(Code::kAccountInactive, "user " + u.id + " is deactivated", "trainee");
        }
        if (!may_sign(u.roles)) {
          return refuse(Code::kInvalid, "administrators execute no steps", "trainee");
        }
        if (u.id == actor) {
          return refuse(Code::kSameUser, "nobody records their own training", "trainee");
        }
        if (auto p = check_procedure(tx, training.procedure); !p) return p;
        if (auto c = detail::check_one_line(
                training.content, "content",
                "what the training was (SOP and revision, how competence was shown)");
            !c) {
          return c;
        }
        if (training.valid_until != 0 && training.valid_until <= tx.now()) {
          return refuse(Code::kInvalid, "a training is valid until a date in the future",
                        "valid_until");
        }
        const std::size_t existing = tx.list(Training::kType).size();
        for (std::size_t n = existing + 1;; ++n) {
          std::string digits = std::to_string(n);
          id = "TRN-" + std::string(digits.size() < 6 ? 6 - digits.size() : 0, '0') + digits;
          if (!tx.get(Training::kType, id)) break;
        }
        training.id = id;
        training.trainer = actor;
        training.trained_at = tx.now();
        training.meta = {};
        if (auto s =
                detail::save(tx, actor, training, "create", "trained on " + training.procedure);
            !s) {
          return s;
        }
        auto s = sign(tx, session, *signer, signature, Meaning::kApproved,
                      std::string(Training::kType), id, signed_hash(*tx.get(Training::kType, id)));
        if (!s) return tl::unexpected(s.error());
        return {};
      });
  if (!r) return tl::unexpected(r.error());
  return id;
}

Result<std::vector<Training>> Mes::trainings(const std::string& actor, const std::string& trainee) {
  std::vector<Training> out;
  auto r = store_.read([&](Transaction& tx) -> Result<void> {
    if (auto a = detail::authorize(tx, actor, Action::kViewRecords, config_); !a) {
      return tl::unexpected(a.error());
    }
    for (const auto& doc : tx.list(Training::kType, trainee)) {
      auto t = decode<Training>(doc);
      if (!t) return tl::unexpected(t.error());
      out.push_back(std::move(*t));
    }
    return {};
  });
  if (!r) return tl::unexpected(r.error());
  std::sort(out.begin(), out.end(),
            [](const Training& a, const Training& b) { return a.id < b.id; });
  return out;
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
