#include <cstdio>

#include "commands.hpp"
#include "echo/version.hpp"

namespace echoa {
namespace {

int run_version(int, char**) {
  std::printf("echoa %s (ABI %d)\n", echo::sdk_version(), echo::abi_version());
  return kExitOk;
}

}  // namespace
ECHOA_COMMAND("version", "print the SDK and ABI versions", run_version);
}  // namespace echoa
