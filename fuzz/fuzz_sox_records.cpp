// Fuzzes what the SOX controls read back from files others could have edited: the admin log's
// entries folded into the registry of identities and proposals (any JSON, any order) and the
// journal's checkpoints file read by `journal verify` beside an intact journal. Neither may
// crash; a decided proposal never becomes pending again; a checkpoint file with any complete
// line that is not a genuine checkpoint makes the verification fail, never pass.
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "trading/controls/admin_registry.hpp"
#include "trading/journal/checkpoint.hpp"
#include "trading/journal/verify.hpp"
#include "trading/journal/writer.hpp"

namespace {

const std::string& journal_dir() {
  static const std::string dir = [] {
    char pattern[] = "/tmp/fuzz-sox-XXXXXX";
    const char* made = ::mkdtemp(pattern);
    if (made == nullptr) std::abort();
    auto writer =
        trading::journal::JournalWriter::open(made, trading::journal::SyncPolicy::kWrite, 1);
    if (!writer) std::abort();
    for (int i = 0; i < 8; ++i) {
      (*writer)->append(trading::Command{i, trading::Tick{}});
    }
    if (!(*writer)->commit()) std::abort();
    return std::string(made);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // 1. The admin log's entries, folded.
  trading::controls::AdminRegistry registry;
  std::map<std::string, trading::controls::ProposalStatus> decided;
  std::size_t at = 0;
  while (at < text.size()) {
    const auto nl = text.find('\n', at);
    const auto line = text.substr(at, nl == std::string_view::npos ? text.size() - at : nl - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    registry.apply(nlohmann::json::parse(line, nullptr, false));
    for (const auto& p : registry.proposals()) {
      const auto before = decided.find(p.id);
      if (before != decided.end() && p.status != before->second) std::abort();  // decided once
      if (p.status != trading::controls::ProposalStatus::kPending) decided[p.id] = p.status;
    }
  }
  trading::controls::AdminUser someone{
      "someone", trading::controls::Role::kRiskOfficer, "", "", 0, false, "", 0};
  for (const auto& p : registry.proposals()) {
    (void)trading::controls::AdminRegistry::check_decision(p, someone, 0, true);
  }
  for (const auto& [name, user] : registry.users())
    (void)registry.user_by_token_hash(user.token_sha256);

  // 2. The same bytes as the journal's checkpoints file.
  const std::string& dir = journal_dir();
  {
    std::ofstream out(dir + "/" + trading::journal::kCheckpointFileName,
                      std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  const auto report = trading::journal::verify_journal(dir);
  bool complete_line = false;
  for (std::size_t i = 0; i < text.size() && !complete_line; ++i) {
    complete_line = text[i] == '\n' && i > 0 && text[i - 1] != '\n';
  }
  // Every complete non-empty line must be a genuine signed checkpoint of this journal, which
  // random bytes never are.
  if (complete_line && report.ok && report.checkpoints == 0) std::abort();
  if (report.records != 8 && report.problem.empty()) std::abort();
  return 0;
}
