#include <gtest/gtest.h>

#include <map>

#include "config/config.hpp"
#include "test_support.hpp"

namespace {

config::Schema schema() {
  config::Schema s("svc", "SVC", "a test service");
  s.add_int("http.port", 8080, 1, 65535, "port")
      .add_string("log.level", "info", "level", {"debug", "info"})
      .add_double("slo.ratio", 0.98, 0.0, 1.0, "ratio")
      .add_bool("journal.fsync", false, "sync")
      .add_string("auth.token", "", "secret");
  return s;
}

core::Result<config::Loaded> load(std::vector<std::string> args,
                                  std::map<std::string, std::string> env = {}) {
  std::vector<const char*> argv{"svc"};
  for (auto& a : args) argv.push_back(a.c_str());
  return config::load(schema(), static_cast<int>(argv.size()), argv.data(),
                      [env](const std::string& name) -> std::optional<std::string> {
                        auto it = env.find(name);
                        if (it == env.end()) return std::nullopt;
                        return it->second;
                      });
}

TEST(Config, EverySettingHasAWorkingDefault) {
  auto r = load({});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->values.get_int("http.port"), 8080);
  EXPECT_EQ(r->values.get_string("log.level"), "info");
  EXPECT_DOUBLE_EQ(r->values.get_double("slo.ratio"), 0.98);
  EXPECT_FALSE(r->values.get_bool("journal.fsync"));
  EXPECT_EQ(r->values.source("http.port"), "default");
}

TEST(Config, FileThenEnvThenFlagsOverride) {
  test_support::TempDir dir;
  test_support::write_file(dir.file("c.toml"),
                           "[http]\nport = 9000\n[log]\nlevel = \"debug\"\n[slo]\nratio = 1\n");
  auto from_file = load({"--config", dir.file("c.toml")});
  ASSERT_TRUE(from_file) << from_file.error().message;
  EXPECT_EQ(from_file->values.get_int("http.port"), 9000);
  EXPECT_EQ(from_file->values.get_string("log.level"), "debug");
  EXPECT_DOUBLE_EQ(from_file->values.get_double("slo.ratio"),
                   1.0);  // TOML integer accepted for a number
  EXPECT_EQ(from_file->values.source("http.port"), "file");

  auto from_env = load({"--config", dir.file("c.toml")}, {{"SVC_HTTP_PORT", "9100"}});
  ASSERT_TRUE(from_env) << from_env.error().message;
  EXPECT_EQ(from_env->values.get_int("http.port"), 9100);
  EXPECT_EQ(from_env->values.source("http.port"), "env");

  auto from_flag =
      load({"--config", dir.file("c.toml"), "--http.port=9200"}, {{"SVC_HTTP_PORT", "9100"}});
  ASSERT_TRUE(from_flag) << from_flag.error().message;
  EXPECT_EQ(from_flag->values.get_int("http.port"), 9200);
  EXPECT_EQ(from_flag->values.source("http.port"), "flag");
  auto separate = load({"--http.port", "9300", "--journal.fsync=yes"});
  ASSERT_TRUE(separate) << separate.error().message;
  EXPECT_EQ(separate->values.get_int("http.port"), 9300);
  EXPECT_TRUE(separate->values.get_bool("journal.fsync"));
}

TEST(Config, UnknownKeyInFileNamesTheKey) {
  test_support::TempDir dir;
  test_support::write_file(dir.file("c.toml"), "[http]\nprot = 9000\n");
  auto r = load({"--config", dir.file("c.toml")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, config::kUnknownKey);
  EXPECT_NE(r.error().message.find("'http.prot'"), std::string::npos) << r.error().message;
}

TEST(Config, UnknownFlagNamesTheKey) {
  auto r = load({"--htp.port=1"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("htp.port"), std::string::npos);
}

TEST(Config, BadValuesNameTheKeyAndTheSource) {
  struct Case {
    std::vector<std::string> args;
    std::string key;
  };
  for (const auto& c : std::vector<Case>{{{"--http.port=0"}, "http.port"},
                                         {{"--http.port=70000"}, "http.port"},
                                         {{"--http.port=12x"}, "http.port"},
                                         {{"--log.level=loud"}, "log.level"},
                                         {{"--slo.ratio=1.5"}, "slo.ratio"},
                                         {{"--slo.ratio=nan"}, "slo.ratio"},
                                         {{"--journal.fsync=maybe"}, "journal.fsync"}}) {
    auto r = load(c.args);
    ASSERT_FALSE(r) << c.args[0];
    EXPECT_EQ(r.error().code, config::kBadValue);
    EXPECT_NE(r.error().message.find(c.key), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("flag"), std::string::npos) << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one line";
  }
  auto env = load({}, {{"SVC_HTTP_PORT", "abc"}});
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("SVC_HTTP_PORT"), std::string::npos);
}

TEST(Config, WrongTomlTypeNamesTheKey) {
  test_support::TempDir dir;
  test_support::write_file(dir.file("c.toml"), "[http]\nport = \"eighty\"\n");
  auto r = load({"--config", dir.file("c.toml")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("http.port"), std::string::npos);
  EXPECT_NE(r.error().message.find("integer"), std::string::npos);
}

TEST(Config, MalformedTomlNamesFileAndLine) {
  test_support::TempDir dir;
  test_support::write_file(dir.file("c.toml"), "[http]\nport = = 1\n");
  auto r = load({"--config", dir.file("c.toml")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, config::kBadFile);
  EXPECT_NE(r.error().message.find("c.toml:2"), std::string::npos) << r.error().message;
}

TEST(Config, MissingFileIsAnError) {
  auto r = load({"--config", "/nonexistent/x.toml"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, config::kBadFile);
}

TEST(Config, HelpListsEverySettingWithItsEnvName) {
  auto r = load({"--help"});
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->help_requested);
  const auto help = schema().help_text();
  for (const char* s :
       {"--http.port", "SVC_HTTP_PORT", "--log.level", "debug|info", "--journal.fsync"}) {
    EXPECT_NE(help.find(s), std::string::npos) << s;
  }
}

TEST(Config, CanonicalTextRedactsSecrets) {
  auto r = load({"--auth.token=hunter2"});
  ASSERT_TRUE(r) << r.error().message;
  const auto text = r->values.canonical_text();
  EXPECT_EQ(text.find("hunter2"), std::string::npos);
  EXPECT_NE(text.find("auth.token=<redacted>"), std::string::npos);
  EXPECT_NE(text.find("http.port=8080\n"), std::string::npos);
}

TEST(ConfigDeathTest, LoadOrExitExitsWithCode2AndOneLine) {
  const char* argv[] = {"svc", "--http.port=nope"};
  EXPECT_EXIT(config::load_or_exit(schema(), 2, argv), ::testing::ExitedWithCode(2),
              "svc: config: http.port: ");
}

}  // namespace
