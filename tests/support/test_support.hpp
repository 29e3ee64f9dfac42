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

// A loopback TCP port that was free a moment ago.
int free_port();

// A child process with stdout+stderr captured to a file.
class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::string& output_file);
  ~ChildProcess();  // SIGKILLs if still running
  pid_t pid() const { return pid_; }
  void signal(int sig);
  // Waits up to timeout_ms; returns the exit code, 128+signal, or -1 on timeout.
  int wait(int timeout_ms);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Runs a command to completion, capturing stdout+stderr; returns {exit code, output}.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv,
                                        int timeout_ms = 30'000);

}  // namespace test_support
