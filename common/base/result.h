#pragma once

// A small std::expected-like result for module boundaries (C++20 has no std::expected).
// Holds either a value or an error message; never throws on access in release builds,
// so callers must check ok() first (an impossible state asserts).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace vigil {

struct Error {
  std::string message;
  int code = 0;  // HTTP status when the error is an HTTP response (e.g. 409), otherwise 0
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const std::string& error() const {
    assert(!ok());
    return std::get<1>(v_).message;
  }
  // Error::code (an HTTP status such as 404 or 409; 0 when not from an HTTP response).
  int error_code() const {
    assert(!ok());
    return std::get<1>(v_).code;
  }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(std::string message) { return Error{std::move(message)}; }

}  // namespace vigil
