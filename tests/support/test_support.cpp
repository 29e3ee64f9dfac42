#include "test_support.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace test_support {

TempDir::TempDir() {
  char tmpl[] = "/tmp/gv-test-XXXXXX";
  const char* p = ::mkdtemp(tmpl);
  if (p == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

HeldPort::HeldPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

HeldPort::~HeldPort() { ::close(fd_); }

int free_port() { return HeldPort().port(); }  // released again at once: see the header

int wait_for_port_file(const std::string& path, ChildProcess& child, int timeout_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < until) {
    const std::string text = read_file(path);
    if (!text.empty() && text.back() == '\n') return std::atoi(text.c_str());
    if (child.wait(0) != -1) return 0;  // exited
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& output_file) {
  // Everything is prepared before fork(): the child of a threaded process may only call
  // async-signal-safe functions before exec.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const char* out = output_file.c_str();
  pid_ = ::fork();
  if (pid_ == 0) {
    const int fd = ::open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void ChildProcess::signal(int sig) { ::kill(pid_, sig); }

int ChildProcess::wait(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (reaped_) return exit_code_;
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      exit_code_ = WIFEXITED(status)     ? WEXITSTATUS(status)
                   : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                         : -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::pair<int, std::string> run_command(const std::vector<std::string>& argv, int timeout_ms) {
  TempDir dir;
  const std::string out = dir.file("out.txt");
  ChildProcess child(argv, out);
  const int code = child.wait(timeout_ms);
  return {code, read_file(out)};
}

std::pair<int, std::string> http_request(int port, const std::string& method,
                                         const std::string& path, const std::string& token,
                                         const std::string& body) {
  std::vector<std::string> argv{"/usr/bin/curl",
                                "-s",
                                "-m",
                                "10",
                                "-o",
                                "-",
                                "-w",
                                "\n%{http_code}",
                                "-X",
                                method,
                                "http://127.0.0.1:" + std::to_string(port) + path};
  if (!token.empty()) {
    argv.push_back("-H");
    argv.push_back("Authorization: Bearer " + token);
  }
  if (!body.empty()) {
    argv.push_back("-d");
    argv.push_back(body);
  }
  auto r = run_command(argv);
  const auto nl = r.second.rfind('\n');
  const int status = nl == std::string::npos ? 0 : std::atoi(r.second.c_str() + nl + 1);
  return {status, nl == std::string::npos ? r.second : r.second.substr(0, nl)};
}

}  // namespace test_support
