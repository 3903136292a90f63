// The C ABI's clinician review (docs/review.md): echo_review_apply over echo::apply_review_files.
#include <string>

#include "echo/review.hpp"
#include "echo_capi_internal.hpp"

using namespace echo::capi;

extern "C" {

ECHO_API echo_status echo_review_apply(const char* result_path, const char* corrections_path, const char* out_dir) {
  static constexpr const char* function = "echo_review_apply";
  return guarded(function, [&]() -> echo_status {
    if (result_path == nullptr) return null_argument(function, "result_path");
    if (corrections_path == nullptr) return null_argument(function, "corrections_path");
    if (out_dir == nullptr) return null_argument(function, "out_dir");
    auto outcome = echo::apply_review_files(result_path, corrections_path, out_dir);
    if (!outcome) return fail(echo::Error{outcome.error().code, std::string(function) + ": " + outcome.error().message});
    return ECHO_OK;
  });
}

}  // extern "C"
