#include "trading/fix/session_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace trading {
namespace fix {
namespace {

constexpr char kStateMagic[8] = {'G', 'V', 'F', 'I', 'X', 'S', 'T', '1'};
constexpr char kMessagesMagic[8] = {'G', 'V', 'F', 'I', 'X', 'M', 'S', '1'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kStateFileSize = 4096;
constexpr std::uint64_t kMessagesHeaderSize = 64;
constexpr std::uint64_t kInitialCapacity = 4u << 20;
constexpr std::uint64_t kMaxGrowthStep = 256u << 20;
constexpr std::size_t kMaxMessageSize = 16u << 20;

std::uint64_t align8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

std::string os_error(const std::string& what, const std::string& path, int err) {
  return what + " " + path + ": " + std::strerror(err);
}

// A whole FIX message: "8=FIX" ... "<SOH>10=NNN<SOH>" with NNN the sum of the bytes before "10=".
bool whole_fix_message(const char* data, std::size_t size) {
  if (size < 12 || std::memcmp(data, "8=FIX", 5) != 0) return false;
  const char* trailer = data + size - 7;
  if (trailer[-1] != '\x01' || std::memcmp(trailer, "10=", 3) != 0 || trailer[6] != '\x01') {
    return false;
  }
  unsigned expected = 0;
  for (int i = 3; i < 6; ++i) {
    if (trailer[i] < '0' || trailer[i] > '9') return false;
    expected = expected * 10 + static_cast<unsigned>(trailer[i] - '0');
  }
  unsigned sum = 0;
  for (const char* p = data; p < trailer; ++p) sum += static_cast<unsigned char>(*p);
  return sum % 256 == expected;
}

}  // namespace

struct MappedSessionStore::State {
  char magic[8];
  std::uint32_t version;
  std::uint32_t reserved;
  std::int64_t creation_ms;
  std::int32_t next_sender;
  std::int32_t next_target;
};

std::unique_ptr<MappedSessionStore> MappedSessionStore::open(const std::string& directory,
                                                             const std::string& name,
                                                             std::int64_t now_ms,
                                                             std::string* error) {
  std::unique_ptr<MappedSessionStore> store(new MappedSessionStore());
  const std::string state_path = directory + "/" + name + ".state";
  const std::string messages_path = directory + "/" + name + ".messages";

  store->state_fd_ = ::open(state_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (store->state_fd_ < 0) {
    *error = os_error("cannot open", state_path, errno);
    return nullptr;
  }
  if (::flock(store->state_fd_, LOCK_EX | LOCK_NB) != 0) {
    *error = "FIX session store " + state_path + " is in use by another process";
    return nullptr;
  }
  struct stat st {};
  if (::fstat(store->state_fd_, &st) != 0) {
    *error = os_error("cannot stat", state_path, errno);
    return nullptr;
  }
  if (st.st_size == 0) {
    const int rc = ::posix_fallocate(store->state_fd_, 0, kStateFileSize);
    if (rc != 0) {
      *error = os_error("cannot size", state_path, rc);
      return nullptr;
    }
  } else if (static_cast<std::size_t>(st.st_size) != kStateFileSize) {
    *error = state_path + " is not a FIX session store (size " + std::to_string(st.st_size) + ")";
    return nullptr;
  }
  void* state =
      ::mmap(nullptr, kStateFileSize, PROT_READ | PROT_WRITE, MAP_SHARED, store->state_fd_, 0);
  if (state == MAP_FAILED) {
    *error = os_error("cannot map", state_path, errno);
    return nullptr;
  }
  store->state_ = static_cast<State*>(state);
  State& s = *store->state_;
  static const char kZero[8] = {};
  if (std::memcmp(s.magic, kZero, 8) == 0) {  // new (or created by a process that died at once)
    s.version = kVersion;
    s.creation_ms = now_ms;
    s.next_sender = 1;
    s.next_target = 1;
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(s.magic, kStateMagic, 8);
  } else if (std::memcmp(s.magic, kStateMagic, 8) != 0) {
    *error = state_path + " is not a FIX session store";
    return nullptr;
  } else if (s.version != kVersion) {
    *error = state_path + " has store version " + std::to_string(s.version) + ", expected " +
             std::to_string(kVersion);
    return nullptr;
  } else if (s.next_sender < 1 || s.next_target < 1) {
    *error = state_path + " is damaged (sequence numbers " + std::to_string(s.next_sender) + "/" +
             std::to_string(s.next_target) + ")";
    return nullptr;
  }

  store->messages_fd_ = ::open(messages_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (store->messages_fd_ < 0) {
    *error = os_error("cannot open", messages_path, errno);
    return nullptr;
  }
  if (::fstat(store->messages_fd_, &st) != 0) {
    *error = os_error("cannot stat", messages_path, errno);
    return nullptr;
  }
  const bool fresh = st.st_size == 0;
  if (!fresh && static_cast<std::uint64_t>(st.st_size) < kMessagesHeaderSize) {
    *error =
        messages_path + " is not a FIX message store (size " + std::to_string(st.st_size) + ")";
    return nullptr;
  }
  std::uint64_t capacity = fresh ? kInitialCapacity : static_cast<std::uint64_t>(st.st_size);
  if (fresh) {
    const int rc = ::posix_fallocate(store->messages_fd_, 0, static_cast<off_t>(capacity));
    if (rc != 0) {
      *error = os_error("cannot reserve space for", messages_path, rc);
      return nullptr;
    }
  }
  if (!store->map_messages(capacity, error)) return nullptr;
  if (fresh || std::memcmp(store->messages_, kZero, 8) == 0) {
    std::memcpy(store->messages_ + 8, &kVersion, sizeof kVersion);
    std::atomic_thread_fence(std::memory_order_release);
    std::memcpy(store->messages_, kMessagesMagic, 8);
  } else if (std::memcmp(store->messages_, kMessagesMagic, 8) != 0) {
    *error = messages_path + " is not a FIX message store";
    return nullptr;
  } else {
    std::uint32_t version = 0;
    std::memcpy(&version, store->messages_ + 8, sizeof version);
    if (version != kVersion) {
      *error = messages_path + " has store version " + std::to_string(version) + ", expected " +
               std::to_string(kVersion);
      return nullptr;
    }
  }
  if (!store->load_messages(error)) return nullptr;
  return store;
}

MappedSessionStore::~MappedSessionStore() {
  if (messages_ != nullptr) ::munmap(messages_, capacity_);
  if (state_ != nullptr) ::munmap(state_, kStateFileSize);
  if (messages_fd_ >= 0) ::close(messages_fd_);
  if (state_fd_ >= 0) ::close(state_fd_);  // releases the lock
}

bool MappedSessionStore::map_messages(std::uint64_t capacity, std::string* error) {
  void* p = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, messages_fd_, 0);
  if (p == MAP_FAILED) {
    *error = std::string("cannot map the FIX message store: ") + std::strerror(errno);
    return false;
  }
  messages_ = static_cast<char*>(p);
  capacity_ = capacity;
  return true;
}

bool MappedSessionStore::grow(std::uint64_t needed, std::string* error) {
  std::uint64_t capacity = capacity_ + std::min(capacity_, kMaxGrowthStep);
  while (capacity < needed) capacity += kMaxGrowthStep;
  // Reserve the blocks first: writing to a mapped hole on a full disk would be a SIGBUS.
  const int rc = ::posix_fallocate(messages_fd_, 0, static_cast<off_t>(capacity));
  if (rc != 0) {
    *error = std::string("cannot grow the FIX message store: ") + std::strerror(rc);
    return false;
  }
  void* p = ::mremap(messages_, capacity_, capacity, MREMAP_MAYMOVE);
  if (p == MAP_FAILED) {
    *error = std::string("cannot remap the FIX message store: ") + std::strerror(errno);
    return false;
  }
  messages_ = static_cast<char*>(p);
  capacity_ = capacity;
  return true;
}

bool MappedSessionStore::load_messages(std::string* error) {
  std::uint64_t offset = kMessagesHeaderSize;
  while (offset + 8 <= capacity_) {
    std::uint64_t header = 0;
    std::memcpy(&header, messages_ + offset, 8);
    if (header == 0) break;
    const auto sequence = static_cast<std::uint32_t>(header);
    const auto size = static_cast<std::uint32_t>(header >> 32);
    const bool whole = sequence >= 1 && sequence <= 0x7fffffffu && size <= kMaxMessageSize &&
                       offset + 8 + size <= capacity_ &&
                       whole_fix_message(messages_ + offset + 8, size);
    if (!whole) {
      damaged_tail_offset_ = offset;
      if (!clear_from(offset, error)) return false;
      break;
    }
    index_record(static_cast<int>(sequence), offset);
    offset += align8(8 + size);
  }
  end_ = offset;
  return true;
}

bool MappedSessionStore::clear_from(std::uint64_t offset, std::string* error) {
  if (offset + 8 <= capacity_) {
    std::uint64_t zero = 0;  // the log ends here at once, whatever happens next
    __atomic_store_n(reinterpret_cast<std::uint64_t*>(messages_ + offset), zero, __ATOMIC_RELEASE);
  }
  const std::uint64_t page = 4096;
  const std::uint64_t hole_start = (offset + 8 + page - 1) / page * page;
  if (hole_start < capacity_) {
    // Zero the rest cheaply (a hole), then reserve its blocks again for later writes.
    if (::fallocate(messages_fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(hole_start),
                    static_cast<off_t>(capacity_ - hole_start)) != 0) {
      std::memset(messages_ + hole_start, 0, capacity_ - hole_start);  // no holes here: slow path
    }
    const int rc = ::posix_fallocate(messages_fd_, 0, static_cast<off_t>(capacity_));
    if (rc != 0) {
      *error = std::string("cannot reserve space for the FIX message store: ") + std::strerror(rc);
      return false;
    }
  }
  const std::uint64_t first_page_end = std::min(capacity_, hole_start);
  if (offset + 8 < first_page_end)
    std::memset(messages_ + offset + 8, 0, first_page_end - offset - 8);
  return true;
}

void MappedSessionStore::index_record(int sequence, std::uint64_t offset) {
  if (index_.empty() || index_.back().first < sequence) {
    index_.emplace_back(sequence, offset);
    return;
  }
  auto it =
      std::lower_bound(index_.begin(), index_.end(), sequence,
                       [](const std::pair<int, std::uint64_t>& e, int s) { return e.first < s; });
  if (it != index_.end() && it->first == sequence) {
    it->second = offset;  // a resend of the same number replaces the earlier message
  } else {
    index_.insert(it, std::make_pair(sequence, offset));
  }
}

bool MappedSessionStore::set(int sequence, const char* data, std::size_t size, std::string* error) {
  if (sequence < 1) {
    *error = "FIX message store: sequence number " + std::to_string(sequence) + " is not positive";
    return false;
  }
  if (size == 0 || size > kMaxMessageSize) {
    *error = "FIX message store: a message of " + std::to_string(size) + " bytes cannot be stored";
    return false;
  }
  const std::uint64_t record = align8(8 + size);
  if (end_ + record + 8 > capacity_ && !grow(end_ + record + 8, error)) return false;
  char* at = messages_ + end_;
  std::memcpy(at + 8, data, size);
  std::memset(at + 8 + size, 0, record - 8 - size);
  // Mark the new end of the log before publishing the record: bytes beyond the old end need not
  // be zero (a lost header leaves whole messages behind it), and none of them may come back.
  std::uint64_t end_mark = 0;
  std::memcpy(at + record, &end_mark, 8);
  const std::uint64_t header =
      (static_cast<std::uint64_t>(size) << 32) | static_cast<std::uint32_t>(sequence);
  __atomic_store_n(reinterpret_cast<std::uint64_t*>(at), header, __ATOMIC_RELEASE);
  index_record(sequence, end_);
  end_ += record;
  return true;
}

void MappedSessionStore::get(int begin, int end, std::vector<std::string>& out) const {
  auto it =
      std::lower_bound(index_.begin(), index_.end(), begin,
                       [](const std::pair<int, std::uint64_t>& e, int s) { return e.first < s; });
  for (; it != index_.end() && it->first <= end; ++it) {
    std::uint64_t header = 0;
    std::memcpy(&header, messages_ + it->second, 8);
    out.emplace_back(messages_ + it->second + 8, static_cast<std::size_t>(header >> 32));
  }
}

int MappedSessionStore::next_sender() const {
  return __atomic_load_n(&state_->next_sender, __ATOMIC_RELAXED);
}
int MappedSessionStore::next_target() const {
  return __atomic_load_n(&state_->next_target, __ATOMIC_RELAXED);
}
void MappedSessionStore::set_next_sender(int sequence) {
  __atomic_store_n(&state_->next_sender, sequence, __ATOMIC_RELAXED);
}
void MappedSessionStore::set_next_target(int sequence) {
  __atomic_store_n(&state_->next_target, sequence, __ATOMIC_RELAXED);
}
std::int64_t MappedSessionStore::creation_time_ms() const { return state_->creation_ms; }

bool MappedSessionStore::reset(std::int64_t now_ms, std::string* error) {
  if (!clear_from(kMessagesHeaderSize, error)) return false;
  index_.clear();
  end_ = kMessagesHeaderSize;
  state_->creation_ms = now_ms;
  set_next_sender(1);
  set_next_target(1);
  return true;
}

}  // namespace fix
}  // namespace trading
