// Result<T, E>: a value or an error, over tl::expected (no std::expected in GCC 12).
// Error is the project's default error: a stable numeric code plus a human-readable message.
// Value types; thread-safety is that of the contained types.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace core {

struct Error {
  int code = 0;
  std::string message;

  friend bool operator==(const Error&, const Error&) = default;
};

template <typename T, typename E = Error>
using Result = tl::expected<T, E>;

// Builds the error side of a Result: `return core::fail(42, "bad thing");`.
inline tl::unexpected<Error> fail(int code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

template <typename E>
tl::unexpected<E> fail(E error) {
  return tl::unexpected<E>(std::move(error));
}

}  // namespace core
