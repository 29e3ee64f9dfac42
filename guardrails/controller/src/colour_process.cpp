#include "guardrails/controller/colour_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

namespace guardrails::controller {

core::Result<pid_t> start_process(const std::string& command, const std::string& log_file,
                                  const std::string& pid_file) {
  const int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return core::fail(1, "cannot open " + log_file + ": " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return core::fail(1, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setsid();  // its own session and process group: outlives us, stopped as a group
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, STDIN_FILENO);
    const std::string exec_line = "exec " + command;
    ::execl("/bin/sh", "sh", "-c", exec_line.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(log);
  std::ofstream out(pid_file, std::ios::trunc);
  out << pid << "\n";
  if (!out.flush()) return core::fail(1, "cannot write " + pid_file);
  return pid;
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  // Reap it if it is our child and has exited (otherwise a zombie looks alive).
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;
}

std::optional<pid_t> running_pid(const std::string& pid_file) {
  std::ifstream in(pid_file);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  if (!process_alive(static_cast<pid_t>(pid))) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::string stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (!process_alive(pid)) return "was not running";
  // The group when it leads one (start_process made it so), else the process alone.
  const pid_t target = ::getpgid(pid) == pid ? -pid : pid;
  ::kill(target, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < until) {
    if (!process_alive(pid)) return "exited";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(target, SIGKILL);
  for (int i = 0; i < 100 && process_alive(pid); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return "killed after the grace period";
}

}  // namespace guardrails::controller
