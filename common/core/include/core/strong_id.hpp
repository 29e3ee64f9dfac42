// StrongId<Tag, Rep>: an integer identifier that does not mix with other ids or plain integers
// (an OrderId cannot be passed where a TradeId is expected). Trivially copyable value type.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace core {

template <typename Tag, typename Rep = std::uint64_t>
class StrongId {
 public:
  using rep_type = Rep;

  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(value) {}

  constexpr Rep value() const { return value_; }
  constexpr explicit operator bool() const { return value_ != Rep{}; }

  friend constexpr auto operator<=>(StrongId, StrongId) = default;

 private:
  Rep value_{};
};

// Hands out unique, monotonic ids starting after `last_issued` (so a restart that remembers
// its last id keeps ids unique). Not thread-safe: one owner (the engine thread) issues ids.
template <typename Id>
class IdSequence {
 public:
  constexpr explicit IdSequence(typename Id::rep_type last_issued = 0) : last_(last_issued) {}
  constexpr Id next() { return Id(++last_); }
  constexpr typename Id::rep_type last_issued() const { return last_; }

 private:
  typename Id::rep_type last_;
};

}  // namespace core

template <typename Tag, typename Rep>
struct std::hash<core::StrongId<Tag, Rep>> {
  std::size_t operator()(core::StrongId<Tag, Rep> id) const noexcept {
    return std::hash<Rep>{}(id.value());
  }
};
