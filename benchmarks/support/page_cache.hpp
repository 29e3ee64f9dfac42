// Dropping a directory's files from the page cache, so a benchmark can say whether it measured
// reads from the disk (cold) or from memory (warm). No root needed: each file is written back
// (fdatasync) and then dropped with posix_fadvise(POSIX_FADV_DONTNEED). Not thread-safe with
// writers of the same files.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace bench {

inline void evict_from_page_cache(const std::string& directory) {
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (!entry.is_regular_file()) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
}

}  // namespace bench
