// echo/error.hpp: the one error type of the C++ API.
// Every fallible function returns echo::Expected<T>; exceptions never leave the library.
#pragma once
#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace echo {

// Stable codes: the C ABI's echo_status uses the same numbers, so they are never renumbered.
enum class ErrorCode : int {
  ok = 0,
  invalid_argument = -1,   // a caller-supplied value is out of range or inconsistent
  not_found = -2,          // a file or resource does not exist
  io_failed = -3,          // the operating system refused a read or write
  unsupported = -4,        // well-formed input the SDK does not handle (format, syntax, device)
  malformed = -5,          // the input is damaged or breaks its own format
  too_large = -6,          // a declared size beyond the configured limit, refused before allocation
  model_invalid = -7,      // a model file or manifest that fails its contract or its hash
  out_of_memory = -8,
  internal = -9,           // a bug: please report it
  buffer_too_small = -10,  // a caller-owned output buffer cannot hold the result
  cancelled = -11,
  no_result = -12,         // the requested item does not exist in this result (e.g. no beat)
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;  // names the input and the reason; never contains patient identifiers
};

template <class T>
using Expected = tl::expected<T, Error>;

// make_error(code, "reading 'a.dcm': pixel data truncated") as an unexpected value.
inline tl::unexpected<Error> make_error(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// A short static English name of a code ("malformed", "too_large", ...).
const char* error_code_name(ErrorCode code) noexcept;

}  // namespace echo
