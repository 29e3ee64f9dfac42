#include "config/install_paths.hpp"

#include <unistd.h>

#include <filesystem>
#include <system_error>

namespace config {

std::string executable_directory() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  return std::filesystem::path(std::string(buf, static_cast<std::size_t>(n)))
      .parent_path()
      .string();
}

std::string installed_data_file(std::string_view relative) {
  const std::filesystem::path bin = executable_directory();
  const std::filesystem::path installed =
      (bin / ".." / "share" / "guarded-venue" / relative).lexically_normal();
  const std::filesystem::path beside = bin / std::filesystem::path(relative).filename();
  std::error_code ec;
  if (std::filesystem::exists(installed, ec)) return installed.string();
  if (std::filesystem::exists(beside, ec)) return beside.string();
  return installed.string();
}

std::string installed_data_file_help(std::string_view relative) {
  return "empty: ../share/guarded-venue/" + std::string(relative) +
         " from the binary's directory (the installed layout), or the file beside the binary";
}

}  // namespace config
