// The subcommands of echoa. Each cmd_<name>.cpp defines its run function and registers it with
// ECHOA_COMMAND, so adding a command touches no shared file.
#pragma once
#include <vector>

namespace echoa {

// Exit codes, documented in the README: stable for scripts.
constexpr int kExitOk = 0;            // every input analysed / read
constexpr int kExitRefused = 1;       // at least one input was refused by the quality gate (analyze)
constexpr int kExitError = 2;         // at least one input could not be read or processed
constexpr int kExitUsage = 64;        // bad command line

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // argv[0] is the command name
};

// All registered commands, sorted by name.
const std::vector<Command>& commands();

struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* summary, int (*run)(int, char**));
};

}  // namespace echoa

#define ECHOA_COMMAND(name, summary, run_fn) \
  static const ::echoa::CommandRegistrar echoa_registrar_##run_fn(name, summary, run_fn)
