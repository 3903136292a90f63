// find_package(EchoAnalyzer) consumer, C++: the header-only RAII wrapper over the C ABI.
#include <echo/echo_cxx.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) return 64;
  try {
    const echo::abi::Model model;
    const echo::abi::Result result = model.analyze_file(argv[1]);
    const auto ef = result.ef_percent();
    if (!ef) {
      std::printf("EF withheld: %s\n", result.text().c_str());
      return 1;
    }
    std::printf("EF %.17g\n", *ef);
    return 0;
  } catch (const echo::abi::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
