#pragma once
// A minimal std::expected stand-in (we target C++20): either a value or an orders::Error.
// The domain and application layers report failures with it; exceptions are reserved for
// adapter boundaries, which translate them into Error before they reach this layer.

#include <cassert>
#include <utility>
#include <variant>

#include "common/error.hpp"

namespace orders {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(state_);
  }
  Error&& takeError() && {
    assert(!ok());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

struct Ok {};

/// Result of an operation that produces no value.
using Status = Result<Ok>;
inline Status okStatus() {
  return Ok{};
}

}  // namespace orders
