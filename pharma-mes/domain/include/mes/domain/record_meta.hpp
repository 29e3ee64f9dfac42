// What the store keeps about any typed record besides its content (records.hpp): the version it
// was read at (a save against a newer one is a conflict) and whether it is voided. Value type.
#pragma once

#include <cstdint>
#include <string>

namespace mes {

struct RecordMeta {
  std::int64_t version = 0;  // 0: never stored
  bool voided = false;
  std::string void_reason;

  friend bool operator==(const RecordMeta&, const RecordMeta&) = default;
};

}  // namespace mes
