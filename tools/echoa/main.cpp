// echoa: command-line front end of the EchoAnalyzer SDK.
#include <cstdio>
#include <cstring>
#include <string>

#include "commands.hpp"
#include "echo/version.hpp"

namespace {

void print_usage(std::FILE* out) {
  std::fprintf(out, "echoa %s: echocardiography LVEF analysis\n\nusage: echoa <command> [options]\n\ncommands:\n",
               echo::sdk_version());
  for (const auto& command : echoa::commands()) std::fprintf(out, "  %-10s %s\n", command.name, command.summary);
  std::fprintf(out, "\nRun 'echoa <command> --help' for the options of a command.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? echoa::kExitUsage : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("echoa %s (ABI %d)\n", echo::sdk_version(), echo::abi_version());
    return 0;
  }
  for (const auto& command : echoa::commands()) {
    if (std::strcmp(argv[1], command.name) == 0) return command.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "echoa: unknown command '%s'\n\n", argv[1]);
  print_usage(stderr);
  return echoa::kExitUsage;
}
