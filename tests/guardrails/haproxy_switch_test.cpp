// HaproxySwitch against a real HAProxy (Debian's haproxy) in front of two real guardrail-sim
// processes, blue and green: a switch sends new connections to the other colour at once while an
// established connection keeps its server (drain), the runtime API tells which colour is routed,
// and a bad backend or a missing HAProxy gets an error that says so.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <memory>
#include <string>
#include <thread>

#include "guardrails/controller/haproxy.hpp"
#include "test_support.hpp"

namespace {

using guardrails::controller::HaproxySwitch;
using guardrails::deploy::Colour;

// One TCP connection to a port, sending HTTP/1.1 requests on it (keep-alive).
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Connection() { ::close(fd_); }
  // The colour in /guardrail/v1/status's answer on this connection; "" on failure.
  std::string colour() {
    if (!ok_) return "";
    const std::string req = "GET /guardrail/v1/status HTTP/1.1\r\nHost: t\r\n\r\n";
    if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
      return "";
    }
    std::string in;
    char buf[4096];
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < until) {
      const auto head = in.find("\r\n\r\n");
      if (head != std::string::npos) {
        const auto cl = in.find("Content-Length: ");
        if (cl != std::string::npos && cl < head) {
          const std::size_t length = std::stoul(in.substr(cl + 16));
          if (in.size() >= head + 4 + length) {
            const std::string body = in.substr(head + 4, length);
            in.erase(0, head + 4 + length);
            const auto at = body.find("\"colour\":\"");
            return at == std::string::npos
                       ? ""
                       : body.substr(at + 10, body.find('"', at + 10) - at - 10);
          }
        }
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) > 0) {
        const ssize_t n = ::read(fd_, buf, sizeof buf);
        if (n <= 0) return "";
        in.append(buf, static_cast<std::size_t>(n));
      }
    }
    return "";
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

class HaproxySwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* colour : {"blue", "green"}) {
      const std::string port_file = dir.file(std::string(colour) + ".port");
      sims.push_back(std::make_unique<test_support::ChildProcess>(
          std::vector<std::string>{
              GUARDRAIL_SIM_BIN, "--http.address=127.0.0.1", "--http.port=0",
              "--http.port_file=" + port_file, std::string("--guardrail.colour=") + colour,
              "--guardrail.evidence_path=" + dir.file(colour) + ".jsonl", "--log.level=warn"},
          dir.file(std::string(colour) + ".log")));
      ports.push_back(test_support::wait_for_port_file(port_file, *sims.back()));
      ASSERT_NE(ports.back(), 0) << test_support::read_file(dir.file(std::string(colour) + ".log"));
    }
    socket_path = dir.file("haproxy.sock");
    // HAProxy cannot report a port it chose: take a free one, retry if another test took it.
    for (int attempt = 0; attempt < 5 && front_port == 0; ++attempt) {
      const int port = test_support::free_port();
      test_support::write_file(dir.file("haproxy.cfg"), config(port));
      haproxy = std::make_unique<test_support::ChildProcess>(
          std::vector<std::string>{HAPROXY_BIN, "-db", "-f", dir.file("haproxy.cfg")},
          dir.file("haproxy.log"));
      for (int i = 0; i < 100; ++i) {
        if (Connection(port).colour() != "") {
          front_port = port;
          break;
        }
        if (haproxy->wait(0) != -1) break;  // exited: the port was taken
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    ASSERT_NE(front_port, 0) << test_support::read_file(dir.file("haproxy.log"));
  }
  std::string config(int port) const {
    return "global\n  stats socket " + socket_path +
           " mode 600 level admin\n"
           "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n"
           "  timeout server 30s\n"
           "frontend front\n  bind 127.0.0.1:" +
           std::to_string(port) +
           "\n  default_backend svc\n"
           "backend svc\n  server blue 127.0.0.1:" +
           std::to_string(ports[0]) + "\n  server green 127.0.0.1:" + std::to_string(ports[1]) +
           " disabled\n";
  }
  void TearDown() override {
    if (haproxy) haproxy->signal(SIGTERM);
  }

  test_support::TempDir dir;
  std::vector<std::unique_ptr<test_support::ChildProcess>> sims;
  std::vector<int> ports;
  std::unique_ptr<test_support::ChildProcess> haproxy;
  std::string socket_path;
  int front_port = 0;
};

TEST_F(HaproxySwitchTest, NewConnectionsMoveAndEstablishedOnesDrain) {
  HaproxySwitch lb(socket_path, {"svc"});
  ASSERT_TRUE(lb.route_to(Colour::kBlue)) << "green was in maintenance: now drain";
  ASSERT_EQ(lb.routed_colour().value(), Colour::kBlue);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Connection(front_port).colour(), "blue");

  Connection established(front_port);
  ASSERT_EQ(established.colour(), "blue");
  auto switched = lb.route_to(Colour::kGreen);
  ASSERT_TRUE(switched) << switched.error().message;
  ASSERT_EQ(lb.routed_colour().value(), Colour::kGreen);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Connection(front_port).colour(), "green") << "new ones";
  EXPECT_EQ(established.colour(), "blue") << "the established connection drains on blue";

  ASSERT_TRUE(lb.route_to(Colour::kBlue)) << "and back (a rollback)";
  EXPECT_EQ(Connection(front_port).colour(), "blue");
  const auto servers = lb.servers().value();
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].server, "blue");
  EXPECT_EQ(servers[0].admin_state, "ready");
  EXPECT_EQ(servers[1].admin_state, "drain");
}

TEST_F(HaproxySwitchTest, ErrorsNameWhatIsWrong) {
  HaproxySwitch wrong_backend(socket_path, {"nosuch"});
  auto r = wrong_backend.route_to(Colour::kGreen);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nosuch"), std::string::npos) << r.error().message;
  EXPECT_FALSE(wrong_backend.routed_colour());

  HaproxySwitch nobody(dir.file("missing.sock"), {"svc"});
  auto r2 = nobody.route_to(Colour::kGreen);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("unreachable"), std::string::npos) << r2.error().message;

  // Both ready (a hand-made state): not one colour, said so.
  HaproxySwitch lb(socket_path, {"svc"});
  ASSERT_TRUE(lb.command("set server svc/green state ready"));
  ASSERT_TRUE(lb.command("set server svc/blue state ready"));
  auto both = lb.routed_colour();
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("both colours"), std::string::npos);
}

}  // namespace
