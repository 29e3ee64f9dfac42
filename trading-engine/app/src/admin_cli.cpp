#include "admin_cli.hpp"

#include <cstdio>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "admin_controls.hpp"

namespace trading::app {
namespace {

constexpr const char* kUsage =
    "usage: trading-engine admin user add NAME --role ROLE --by WHO --reason TEXT --log FILE\n"
    "       trading-engine admin user revoke NAME --by WHO --reason TEXT --log FILE\n"
    "       trading-engine admin user list --log FILE\n"
    "ROLE: operations, risk_officer, auditor, deployer. FILE: the venue's admin log\n"
    "(admin.log; by default admin-log.jsonl in the journal directory).\n";

int usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int admin_command(int argc, char** argv) {
  if (argc < 4 || std::string_view(argv[2]) != "user") return usage();
  const std::string verb = argv[3];
  std::string name;
  std::map<std::string, std::string> flags;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--", 0) == 0) {
      if (i + 1 >= argc) return usage();
      flags[arg.substr(2)] = argv[++i];
    } else if (name.empty()) {
      name = arg;
    } else {
      return usage();
    }
  }
  for (const auto& [flag, value] : flags) {
    if (flag != "role" && flag != "by" && flag != "reason" && flag != "log") return usage();
    (void)value;
  }
  const std::string log = flags["log"];
  if (log.empty()) return usage();
  if (verb == "list") {
    auto registry = AdminControls::read(log);
    if (!registry) {
      std::fprintf(stderr, "trading-engine: %s\n", registry.error().message.c_str());
      return 1;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [user, u] : registry->users()) {
      list.push_back({{"user", user},
                      {"role", controls::to_string(u.role)},
                      {"created_by", u.created_by},
                      {"revoked", u.revoked},
                      {"revoked_by", u.revoked_by}});
    }
    std::printf("%s\n", nlohmann::json{{"users", list}}.dump().c_str());
    return 0;
  }
  if (name.empty()) return usage();
  if (verb == "add") {
    const auto role = controls::parse_role(flags["role"]);
    if (!role) {
      std::fprintf(stderr,
                   "trading-engine: --role must be operations, risk_officer, auditor or "
                   "deployer\n");
      return 2;
    }
    auto token = AdminControls::create_user(log, name, *role, flags["by"], flags["reason"]);
    if (!token) {
      std::fprintf(stderr, "trading-engine: %s\n", token.error().message.c_str());
      return token.error().code == 2 ? 2 : 1;
    }
    std::fprintf(stderr, "the token is shown once: hand it to %s; only its hash is kept\n",
                 name.c_str());
    std::printf(
        "%s\n",
        nlohmann::json{{"user", name}, {"role", controls::to_string(*role)}, {"token", *token}}
            .dump()
            .c_str());
    return 0;
  }
  if (verb == "revoke") {
    auto revoked = AdminControls::revoke_user(log, name, flags["by"], flags["reason"]);
    if (!revoked) {
      std::fprintf(stderr, "trading-engine: %s\n", revoked.error().message.c_str());
      return revoked.error().code == 2 ? 2 : 1;
    }
    std::printf("%s\n", nlohmann::json{{"user", name}, {"revoked", true}}.dump().c_str());
    return 0;
  }
  return usage();
}

}  // namespace trading::app
