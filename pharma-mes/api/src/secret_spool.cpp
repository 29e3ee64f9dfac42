#include "mes/api/secret_spool.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace mes::api {
namespace {

Result<void> write_all(int fd, const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return refuse(Code::kStorage, std::string("write: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

Result<std::filesystem::path> SecretSpool::deliver(const std::string& user_id,
                                                   const std::string& secret,
                                                   const std::string& why, Millis issued_at) const {
  static std::atomic<unsigned> sequence{0};
  if (user_id.empty() || user_id.find('/') != std::string::npos || user_id.front() == '.') {
    return refuse(Code::kInvalid, "not a user id: " + user_id, "user_id");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    return refuse(Code::kStorage, "the secret spool " + dir_.string() + ": " + ec.message());
  }
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  // User ids are validated by the domain (letters, digits, . _ -): safe in a file name.
  const std::string name = user_id + "-" + std::to_string(issued_at) + "-" +
                           std::to_string(sequence.fetch_add(1)) + ".json";
  const std::filesystem::path final_path = dir_ / name, aside = dir_ / ("." + name + ".tmp");
  const std::string body =
      nlohmann::json{{"user", user_id}, {"secret", secret}, {"why", why}, {"issued_at", issued_at}}
          .dump() +
      "\n";
  const int fd = ::open(aside.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return refuse(Code::kStorage,
                  "the secret spool " + dir_.string() + ": " + std::strerror(errno));
  }
  auto written = write_all(fd, body);
  if (written && ::fsync(fd) != 0) written = refuse(Code::kStorage, "fsync of the secret");
  ::close(fd);
  if (!written || std::rename(aside.c_str(), final_path.c_str()) != 0) {
    ::unlink(aside.c_str());
    return refuse(Code::kStorage, "the secret spool " + dir_.string() + ": " +
                                      (written ? std::strerror(errno) : written.error().message));
  }
  return final_path;
}

std::string one_time_password() {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
  std::string p = "Ot-";
  for (int i = 0; i < 16; ++i) p += kAlphabet[randombytes_uniform(sizeof kAlphabet - 1)];
  return p + "-7a";
}

}  // namespace mes::api
