#include "commands.hpp"

#include <algorithm>
#include <cstring>

namespace echoa {
namespace {
std::vector<Command>& registry() {
  static std::vector<Command> table;
  return table;
}
}  // namespace

CommandRegistrar::CommandRegistrar(const char* name, const char* summary, int (*run)(int, char**)) {
  registry().push_back(Command{name, summary, run});
  std::sort(registry().begin(), registry().end(),
            [](const Command& a, const Command& b) { return std::strcmp(a.name, b.name) < 0; });
}

const std::vector<Command>& commands() { return registry(); }

}  // namespace echoa
