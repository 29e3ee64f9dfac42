// Helpers shared by the tests: temporary directories, file I/O, child processes.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

namespace test_support {

// A fresh directory under /tmp, removed (recursively) when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& content);

// A loopback TCP port that was free a moment ago: racy under `ctest -j` (another test may take
// it before the server binds). Only for servers that cannot bind port 0 and report it
// (Mosquitto, PostgreSQL on a Unix socket, where the number only names the socket); the caller
// retries on a bind failure. Our own servers take port 0 and a port file instead
// (wait_for_port_file).
int free_port();

// A loopback port held (bound, never listening) while the object lives: a connection to it is
// refused, and no server can take it meanwhile. For "nothing listens there" tests.
class HeldPort {
 public:
  HeldPort();
  ~HeldPort();
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A child process with stdout+stderr captured to a file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& output_file);
  ~ChildProcess();  // SIGKILLs if still running
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits up to timeout_ms; returns the exit code, 128+signal, or -1 on timeout (the same code
  // again on later calls once it has exited).
  int wait(int timeout_ms);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;  // once reaped
};

// The port a child started on port 0 wrote to its port file (--http.port_file,
// --fix.port_file); 0 when the child exits or timeout_ms passes first.
int wait_for_port_file(const std::string& path, ChildProcess& child, int timeout_ms = 30'000);

// Runs a command to completion, capturing stdout+stderr; returns {exit code, output}.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv,
                                        int timeout_ms = 30'000);

// An HTTP request with curl to 127.0.0.1:`port` (bearer `token` unless empty, `body` unless
// empty): {status, body}, status 0 when nothing answered.
std::pair<int, std::string> http_request(int port, const std::string& method,
                                         const std::string& path, const std::string& token,
                                         const std::string& body = "");

}  // namespace test_support
