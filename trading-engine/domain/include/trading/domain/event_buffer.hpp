// EventBuffer: the caller-owned list the engine appends its events to (a std::vector<Event> in
// all but two things). An event is written in place as the alternative it is: a push of an
// Accepted stores its 40 bytes and the tag, where a vector's push_back builds a whole 120-byte
// variant first and copies it (the engine pushes one or two events per command, so that copy
// was a tenth of a command's instructions). And growing is out of line, so a push is a
// capacity check, the stores and an increment. Events are trivially copyable: growing and
// copying are memcpy. Not thread-safe: one owner, like the vector it replaces.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "trading/domain/events.hpp"

namespace trading {

class EventBuffer {
  static_assert(std::is_trivially_copyable_v<Event> && std::is_trivially_destructible_v<Event>);
  // A power of two (Trade is 16-byte aligned for it): a slot's address is a shift.
  static_assert(sizeof(Event) == 128);

 public:
  using value_type = Event;
  using size_type = std::size_t;
  using reference = Event&;
  using const_reference = const Event&;
  using iterator = Event*;
  using const_iterator = const Event*;

  EventBuffer() = default;
  EventBuffer(std::initializer_list<Event> events) { assign(events.begin(), events.size()); }
  EventBuffer(const EventBuffer& other) { assign(other.data_, other.size_); }
  EventBuffer(EventBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  EventBuffer& operator=(const EventBuffer& other) {
    if (this != &other) {
      size_ = 0;
      assign(other.data_, other.size_);
    }
    return *this;
  }
  EventBuffer& operator=(EventBuffer&& other) noexcept {
    if (this != &other) {
      std::free(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  ~EventBuffer() { std::free(data_); }

  // Appends one event of alternative T (Accepted, Trade, ...), written in place.
  template <typename T>
  requires(!std::is_same_v<std::remove_cvref_t<T>, Event>)
      [[gnu::always_inline]] void push_back(const T& event) {
    if (size_ == capacity_) [[unlikely]] {
      return push_back_growing(Event(std::in_place_type<T>, event));
    }
    ::new (static_cast<void*>(data_ + size_)) Event(std::in_place_type<T>, event);
    ++size_;
  }
  void push_back(const Event& event) {
    if (size_ == capacity_) [[unlikely]] {
      return push_back_growing(event);
    }
    std::memcpy(static_cast<void*>(data_ + size_), &event, sizeof(Event));
    ++size_;
  }
  // Appends an event of alternative T whose sizeof(T) bytes are copied from `bytes`: one block
  // copy into the slot, for an event laid out like the start of a command (Accepted and
  // NewOrder). `bytes` must not lie in this buffer (growing would move it).
  template <typename T>
  [[gnu::always_inline]] void push_back_bytes(const void* bytes) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (size_ == capacity_) [[unlikely]] {
      grow(size_ + 1);
    }
    T value;
    std::memcpy(static_cast<void*>(&value), bytes, sizeof(T));
    ::new (static_cast<void*>(data_ + size_)) Event(std::in_place_type<T>, value);
    ++size_;
  }
  template <typename T, typename... Args>
  Event& emplace_back(std::in_place_type_t<T> type, Args&&... args) {
    if (size_ == capacity_) [[unlikely]] {
      grow(size_ + 1);
    }
    Event* e = ::new (static_cast<void*>(data_ + size_)) Event(type, std::forward<Args>(args)...);
    ++size_;
    return *e;
  }
  // Appends [first, last) (events of another buffer or vector).
  void append(const Event* first, const Event* last) {
    const auto n = static_cast<std::size_t>(last - first);
    if (size_ + n > capacity_) {
      // [first, last) may be this buffer's own events, which growing moves.
      const bool own = first >= data_ && first < data_ + size_;
      const auto at = own ? static_cast<std::size_t>(first - data_) : 0;
      grow(size_ + n);
      if (own) first = data_ + at;
    }
    if (n > 0) std::memcpy(static_cast<void*>(data_ + size_), first, n * sizeof(Event));
    size_ += n;
  }

  void reserve(std::size_t n) {
    if (n > capacity_) grow(n);
  }
  void clear() { size_ = 0; }
  // Drops the events from position `n` on (n <= size()).
  void truncate(std::size_t n) { size_ = std::min(n, size_); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::size_t capacity() const { return capacity_; }
  Event* data() { return data_; }
  const Event* data() const { return data_; }
  Event& operator[](std::size_t i) { return data_[i]; }
  const Event& operator[](std::size_t i) const { return data_[i]; }
  Event& front() { return data_[0]; }
  const Event& front() const { return data_[0]; }
  Event& back() { return data_[size_ - 1]; }
  const Event& back() const { return data_[size_ - 1]; }
  Event* begin() { return data_; }
  Event* end() { return data_ + size_; }
  const Event* begin() const { return data_; }
  const Event* end() const { return data_ + size_; }

  friend bool operator==(const EventBuffer& a, const EventBuffer& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  void assign(const Event* events, std::size_t n) {
    reserve(n);
    if (n > 0) std::memcpy(static_cast<void*>(data_), events, n * sizeof(Event));
    size_ = n;
  }
  // A push that needs room: `event` is a copy taken before growing, since the caller's may be
  // one of this buffer's events (or a part of one), which growing moves.
  [[gnu::noinline]] void push_back_growing(Event event) {
    grow(size_ + 1);
    std::memcpy(static_cast<void*>(data_ + size_), &event, sizeof(Event));
    ++size_;
  }
  // Room for at least `needed` events (doubling, at least 16); out of line.
  [[gnu::noinline]] void grow(std::size_t needed) {
    const std::size_t capacity = std::max({needed, capacity_ * 2, std::size_t{16}});
    void* moved = std::realloc(data_, capacity * sizeof(Event));
    if (moved == nullptr) throw std::bad_alloc();
    data_ = static_cast<Event*>(moved);
    capacity_ = capacity;
  }

  Event* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace trading
