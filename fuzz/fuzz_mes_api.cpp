// libFuzzer: request bodies into the MES API's routes (real router, Mes and a SQLite store in a
// temporary directory). No input crashes the process or gets a 5xx: every bad body is a 4xx
// with a JSON error.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "mes/api/api.hpp"
#include "mes/store/open.hpp"
#include "mes/store/security.hpp"

namespace {

struct World {
  std::unique_ptr<mes::Store> store;
  std::unique_ptr<mes::store::Argon2idHasher> hasher;
  std::unique_ptr<mes::Mes> mes;
  std::unique_ptr<mes::api::Api> api;
  http::Router router;
  std::string token;
  int tokens = 0;
};

World& world() {
  static World* w = [] {
    auto* w = new World;
    char templ[] = "/tmp/fuzz-mes-api-XXXXXX";
    const char* dir = mkdtemp(templ);
    if (dir == nullptr) std::abort();
    auto s = mes::store::open_store(std::string("sqlite://") + dir + "/mes.db");
    if (!s) std::abort();
    w->store = std::move(*s);
    w->hasher = std::make_unique<mes::store::Argon2idHasher>(mes::store::Argon2idHasher::minimal());
    mes::MesConfig config;
    config.passwords.max_age_days = 0;
    w->mes = std::make_unique<mes::Mes>(
        *w->store, *w->hasher, *mes::crypto::SigningKey::from_seed(std::string(32, 'f')), config);
    if (!w->mes->bootstrap_admin("admin1", "Ada", "Admin-Passw0rd!")) std::abort();
    mes::NewUser sup{"sup1", "Sam", mes::role_bit(mes::Role::kSupervisor), "Initial-Passw0rd-1",
                     "passport checked"};
    if (!w->mes->create_user("admin1", sup)) std::abort();
    if (!w->mes->change_password("sup1", "Initial-Passw0rd-1", "Super-Passw0rd-2")) std::abort();
    w->api = std::make_unique<mes::api::Api>(
        *w->mes, *w->store, [] { return mes::Millis{1'767'225'600'000}; },
        [w] { return "t" + std::to_string(++w->tokens); });
    w->api->add_routes(w->router);
    http::Request login;
    login.method = "POST";
    login.path = login.target = "/api/v1/login";
    login.body = R"({"user_id":"sup1","password":"Super-Passw0rd-2"})";
    login.remote_address = "127.0.0.1:1";
    if (w->router.route(login).status != 200) std::abort();
    w->token = "t1";
    return w;
  }();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  if (size == 0) return 0;
  const auto& routes = w.api->route_table();
  const auto& route = routes[data[0] % routes.size()];
  if (route.pattern == "/api/v1/logout" || route.pattern == "/api/v1/login")
    return 0;  // keep the session
  http::Request r;
  r.method = route.method;
  r.path = route.pattern;
  for (const auto& [from, to] :
       {std::pair<std::string, std::string>{"{id}", "X-1"}, {"{step}", "1"}}) {
    for (auto at = r.path.find(from); at != std::string::npos; at = r.path.find(from)) {
      r.path.replace(at, from.size(), to);
    }
  }
  r.target = r.path;
  r.headers.emplace_back("authorization", "Bearer " + w.token);
  r.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  r.remote_address = "127.0.0.1:2";
  const http::Response response = w.router.route(r);
  if (response.status >= 500 && response.status != 503) std::abort();
  if (response.status >= 400 && response.body.find("\"error\"") == std::string::npos) std::abort();
  return 0;
}
