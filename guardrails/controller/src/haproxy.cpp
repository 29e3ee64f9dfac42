#include "guardrails/controller/haproxy.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace guardrails::controller {
namespace {

constexpr int kTimeoutMs = 5000;

std::string colour_name(deploy::Colour c) { return std::string(deploy::to_string(c)); }

}  // namespace

HaproxySwitch::HaproxySwitch(std::string socket_path, std::vector<std::string> backends)
    : socket_path_(std::move(socket_path)), backends_(std::move(backends)) {}

core::Result<std::string> HaproxySwitch::command(const std::string& line) const {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return core::fail(1, std::string("haproxy: socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return core::fail(1, "haproxy: socket path too long: " + socket_path_);
  }
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return core::fail(1, "haproxy runtime API " + socket_path_ + " unreachable: " + why);
  }
  const std::string request = line + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return core::fail(1, "haproxy: could not send '" + line + "'");
  }
  std::string answer;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, kTimeoutMs);
    if (ready <= 0) {
      ::close(fd);
      return core::fail(1, "haproxy: no answer to '" + line + "' within 5 s");
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // HAProxy closes after answering one command
    answer.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

core::Result<void> HaproxySwitch::route_to(deploy::Colour colour) const {
  const std::string to = colour_name(colour);
  const std::string from =
      colour_name(colour == deploy::Colour::kBlue ? deploy::Colour::kGreen : deploy::Colour::kBlue);
  for (const auto& backend : backends_) {
    // Ready first, then drain: the backend is never without a server taking new connections.
    for (const auto& [server, state] : {std::pair{to, "ready"}, std::pair{from, "drain"}}) {
      auto answer = command("set server " + backend + "/" + server + " state " + state);
      if (!answer) return core::fail(answer.error());
      // Success is an empty answer (a blank line); anything else is HAProxy's complaint.
      std::string text = *answer;
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
      if (!text.empty()) {
        return core::fail(2, "haproxy refused 'set server " + backend + "/" + server + " state " +
                                 state + "': " + text);
      }
    }
  }
  return {};
}

core::Result<std::vector<ServerState>> HaproxySwitch::servers() const {
  std::vector<ServerState> out;
  for (const auto& backend : backends_) {
    auto answer = command("show servers state " + backend);
    if (!answer) return core::fail(answer.error());
    // "1" (format version), then "# be_id be_name srv_id srv_name srv_addr srv_op_state
    // srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status ..."
    std::istringstream lines(*answer);
    std::string line;
    bool found = false;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] == '#' || line == "1") continue;
      std::istringstream f(line);
      std::string be_id, be_name, srv_id, srv_name, addr;
      int op = -1, admin = -1;
      if (!(f >> be_id >> be_name >> srv_id >> srv_name >> addr >> op >> admin)) continue;
      found = true;
      ServerState s;
      s.backend = be_name;
      s.server = srv_name;
      s.operational_state = op;
      // srv_admin_state bits: 0x01 forced maintenance, 0x08 forced drain (others inherited).
      s.admin_state = (admin & 0x01) ? "maint" : (admin & 0x08) ? "drain" : "ready";
      out.push_back(s);
    }
    if (!found) {
      return core::fail(2, "haproxy: backend " + backend + " unknown or empty: " + *answer);
    }
  }
  return out;
}

core::Result<deploy::Colour> HaproxySwitch::routed_colour() const {
  auto all = servers();
  if (!all) return core::fail(all.error());
  bool blue_ready = true, green_ready = true;
  bool blue_seen = false, green_seen = false;
  for (const auto& s : *all) {
    if (s.server == "blue") {
      blue_seen = true;
      blue_ready = blue_ready && s.admin_state == "ready";
    } else if (s.server == "green") {
      green_seen = true;
      green_ready = green_ready && s.admin_state == "ready";
    }
  }
  if (!blue_seen || !green_seen) return core::fail(2, "haproxy: servers blue and green are needed");
  if (blue_ready && !green_ready) return deploy::Colour::kBlue;
  if (green_ready && !blue_ready) return deploy::Colour::kGreen;
  return core::fail(2, blue_ready ? "haproxy: both colours take new traffic"
                                  : "haproxy: no colour takes new traffic");
}

}  // namespace guardrails::controller
