// echo/version.hpp: the SDK's version, for C++ callers (the C header has the same macros).
#pragma once

namespace echo {
const char* sdk_version() noexcept;  // "MAJOR.MINOR.PATCH"
int abi_version() noexcept;          // the C ABI major, also the SONAME suffix
}  // namespace echo
