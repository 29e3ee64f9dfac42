#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include <fcntl.h>
#include <unistd.h>

#include "guardrails/evidence/bundle.hpp"
#include "guardrails/evidence/evidence_log.hpp"
#include "test_support.hpp"

namespace {

using guardrails::evidence::EvidenceLog;
using guardrails::evidence::verify_content;
using guardrails::evidence::verify_file;

std::vector<std::string> lines_of(const std::string& content) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < content.size()) {
    const auto nl = content.find('\n', start);
    out.push_back(content.substr(start, nl - start + 1));
    start = nl + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l;
  return s;
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = EvidenceLog::open(path());
    ASSERT_TRUE(log) << log.error().message;
    ASSERT_TRUE(
        (*log)->append("startup", {{"version", "1.2.3"}, {"config_digest", "abc"}}, 1'000'000'000));
    ASSERT_TRUE((*log)->append("verdict", {{"from", "hold"}, {"to", "promote"}, {"p99", 0.0123}},
                               2'000'000'000));
    ASSERT_TRUE((*log)->append("reset", {{"who", "alice"}}, 3'000'000'000));
    ASSERT_TRUE((*log)->append("shutdown", {{"verdict", "promote"}}, 4'000'000'000));
    content = test_support::read_file(path());
  }
  std::string path() const { return dir.file("evidence.jsonl"); }

  test_support::TempDir dir;
  std::string content;
};

TEST_F(EvidenceTest, MissingDirectoriesAreCreated) {
  const std::string nested = dir.file("a/b/evidence.jsonl");
  auto log = EvidenceLog::open(nested);
  ASSERT_TRUE(log) << log.error().message;
  EXPECT_TRUE(std::filesystem::exists(nested));
}

TEST_F(EvidenceTest, IntactChainVerifies) {
  const auto r = verify_file(path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 4u);
  EXPECT_EQ(r.last_hash.size(), 64u);
  EXPECT_EQ(lines_of(content).size(), 4u);
  EXPECT_NE(
      content.find(R"("prev":"0000000000000000000000000000000000000000000000000000000000000000")"),
      std::string::npos);
  EXPECT_NE(content.find(R"("ts":"1970-01-01T00:00:01.000000Z")"), std::string::npos);
}

TEST_F(EvidenceTest, ReopeningContinuesTheChain) {
  auto log = EvidenceLog::open(path());
  ASSERT_TRUE(log);
  EXPECT_EQ((*log)->entries(), 4u);
  ASSERT_TRUE((*log)->append("startup", {{"version", "1.2.4"}}, 5'000'000'000));
  const auto r = verify_file(path());
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 5u);
}

TEST_F(EvidenceTest, AnyChangedByteIsDetectedAndTheEntryNamed) {
  const auto lines = lines_of(content);
  std::size_t line_start = 0;
  for (std::size_t line = 0; line < lines.size(); ++line) {
    for (std::size_t i = 0; i + 1 < lines[line].size(); ++i) {  // every byte but the newline
      std::string tampered = content;
      char& c = tampered[line_start + i];
      c = c == 'a' ? 'b' : (c == '0' ? '1' : 'a');
      const auto r = verify_content(tampered);
      ASSERT_FALSE(r.ok) << "byte " << i << " of entry " << line + 1 << " changed unnoticed";
      ASSERT_EQ(r.first_bad_entry, line + 1) << r.problem;
    }
    line_start += lines[line].size();
  }
}

TEST_F(EvidenceTest, RemovedEntryIsDetected) {
  auto lines = lines_of(content);
  lines.erase(lines.begin() + 1);
  const auto r = verify_content(join(lines));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_entry, 2u);
  EXPECT_NE(r.problem.find("removed"), std::string::npos) << r.problem;
}

TEST_F(EvidenceTest, ReorderedEntriesAreDetected) {
  auto lines = lines_of(content);
  std::swap(lines[1], lines[2]);
  const auto r = verify_content(join(lines));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_entry, 2u);
}

TEST_F(EvidenceTest, TruncatedLastEntryIsDetected) {
  const auto r = verify_content(content.substr(0, content.size() - 10));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_entry, 4u);
}

TEST_F(EvidenceTest, RehashedForgeryStillBreaksTheNextLink) {
  // An attacker who edits entry 2 and recomputes its hash still breaks entry 3's prev.
  auto lines = lines_of(content);
  auto j = nlohmann::json::parse(lines[1]);
  j["data"]["to"] = "rollback";
  j.erase("hash");
  const std::string rehashed = guardrails::evidence::sha256_hex(j.dump());
  j["hash"] = rehashed;
  lines[1] = j.dump() + "\n";
  const auto r = verify_content(join(lines));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_entry, 3u);
}

TEST_F(EvidenceTest, OpenRefusesABrokenChain) {
  std::string tampered = content;
  tampered[tampered.find("alice")] = 'A';
  test_support::write_file(path(), tampered);
  auto log = EvidenceLog::open(path());
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, guardrails::evidence::kBrokenChain);
  EXPECT_NE(log.error().message.find("entry 3"), std::string::npos) << log.error().message;
  EXPECT_NE(log.error().message.find("refusing to append"), std::string::npos);
  EXPECT_EQ(test_support::read_file(path()), tampered) << "nothing was appended";
}

TEST_F(EvidenceTest, AppendRefusesWhenTheFileChangedUnderIt) {
  auto log = EvidenceLog::open(path());
  ASSERT_TRUE(log);
  {
    const int fd = ::open(path().c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "junk\n", 5), 5);
    ::close(fd);
  }
  auto r = (*log)->append("verdict", {{"to", "hold"}}, 6'000'000'000);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, guardrails::evidence::kFileChanged);
}

TEST(Evidence, EmptyOrMissingFiles) {
  EXPECT_TRUE(verify_content("").ok);
  const auto missing = verify_file("/nonexistent/evidence.jsonl");
  EXPECT_FALSE(missing.ok);
  EXPECT_NE(missing.problem.find("cannot open"), std::string::npos);
  // A directory that cannot be created (its parent is a device): a clear error.
  const auto blocked = EvidenceLog::open("/dev/null/dir/evidence.jsonl");
  ASSERT_FALSE(blocked);
  EXPECT_NE(blocked.error().message.find("cannot create directory /dev/null/dir"),
            std::string::npos)
      << blocked.error().message;
  for (const char* junk : {"not json\n", "[1,2]\n", "{}\n", "{\"data\":1}\n"}) {
    const auto r = verify_content(junk);
    EXPECT_FALSE(r.ok) << junk;
    EXPECT_EQ(r.first_bad_entry, 1u);
  }
}

TEST(Evidence, Sha256MatchesKnownVector) {
  EXPECT_EQ(guardrails::evidence::sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// A sealed bundle verifies; a changed file, a changed or extended log, a changed manifest and a
// key other than the trusted one are each named; the key file is created 0600 and refused when
// others may read it.
TEST(EvidenceBundle, SealedBundlesVerifyAndEveryChangeIsFound) {
  namespace ev = guardrails::evidence;
  const auto dir =
      std::filesystem::temp_directory_path() / ("gv-bundle-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string d = dir.string();
  {
    auto log = ev::EvidenceLog::open(d + "/deployment.jsonl");
    ASSERT_TRUE(log);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE((*log)->append("deploy.step", {{"i", i}}, 1000 + i));
  }
  std::ofstream(d + "/summary.json") << "{\"outcome\":\"promoted\"}\n";
  auto seed = ev::load_or_create_seed(d + "/key");
  ASSERT_TRUE(seed) << seed.error().message;
  EXPECT_EQ(std::filesystem::status(d + "/key").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  ASSERT_TRUE(ev::seal_bundle(d, "deployment.jsonl", {"summary.json"}, *seed, 5000));
  const std::string pk = ev::public_key_of(*seed).value();
  auto ok = ev::verify_bundle(d);
  EXPECT_TRUE(ok.ok) << ok.problem;
  EXPECT_EQ(ok.entries, 3u);
  EXPECT_EQ(ok.public_key, pk);
  EXPECT_TRUE(ev::verify_bundle(d, pk).ok);

  auto other = ev::load_or_create_seed(d + "/other-key");
  const auto wrong_key = ev::verify_bundle(d, ev::public_key_of(*other).value());
  EXPECT_FALSE(wrong_key.ok);
  EXPECT_NE(wrong_key.problem.find("not signed by the trusted key"), std::string::npos);

  const auto backup = [&](const std::string& f) {
    std::ifstream in(d + "/" + f);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  const std::string summary = backup("summary.json"), log = backup("deployment.jsonl"),
                    manifest = backup("manifest.json");
  std::ofstream(d + "/summary.json") << "{\"outcome\":\"rolled-back\"}\n";
  EXPECT_NE(ev::verify_bundle(d).problem.find("summary.json does not match"), std::string::npos);
  std::ofstream(d + "/summary.json") << summary;
  {
    auto log2 = ev::EvidenceLog::open(d + "/deployment.jsonl");
    ASSERT_TRUE((*log2)->append("deploy.late", {{"x", 1}}, 9000));
  }
  EXPECT_NE(ev::verify_bundle(d).problem.find("not the log that was sealed"), std::string::npos);
  std::ofstream(d + "/deployment.jsonl") << log;
  std::string changed = manifest;
  changed.replace(changed.find("\"entries\": 3"), 12, "\"entries\": 2");
  std::ofstream(d + "/manifest.json") << changed;
  EXPECT_NE(ev::verify_bundle(d).problem.find("signature does not verify"), std::string::npos);
  std::ofstream(d + "/manifest.json") << manifest;
  EXPECT_TRUE(ev::verify_bundle(d).ok) << "restored";

  std::filesystem::permissions(d + "/key", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  EXPECT_FALSE(ev::load_or_create_seed(d + "/key"));
  std::filesystem::remove_all(dir);
}

// A manifest someone hand-edited (or a fuzzer wrote) with fields of the wrong type is a problem
// the report names, not an exception out of verify_bundle.
TEST(EvidenceBundle, ManifestFieldsOfTheWrongTypeAreAProblemNotACrash) {
  namespace ev = guardrails::evidence;
  const auto dir =
      std::filesystem::temp_directory_path() / ("gv-bad-bundle-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string d = dir.string();
  std::ofstream(d + "/manifest.sig") << std::string(128, '0') << "\n";
  for (const char* manifest :
       {R"({"format": 5})", R"({"format": "guarded-venue-evidence-bundle/1", "public_key": 7})",
        R"([1, 2])", R"({"format": "guarded-venue-evidence-bundle/1", "entries": 1.8e21})"}) {
    std::ofstream(d + "/manifest.json", std::ios::trunc) << manifest;
    const auto report = ev::verify_bundle(d);
    EXPECT_FALSE(report.ok) << manifest;
    EXPECT_FALSE(report.problem.empty()) << manifest;
  }
  std::ofstream(d + "/manifest.json", std::ios::trunc) << R"({"format": 5})";
  EXPECT_NE(ev::verify_bundle(d).problem.find("wrong type"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
