// Private helper shared by the stages: independent jobs spread over a few threads. Results never depend
// on the thread count (each job writes only its own output).
#pragma once
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

namespace echo::detail {

// Worker count for `jobs` independent jobs when the caller asks for `requested` threads (0 = all).
inline int worker_count(int requested, int jobs) {
  const int available = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, std::min(available, jobs));
}

// Runs body(i) for i in [0, count) on `workers` threads (the caller's thread is one of them). body must
// not throw.
template <class Body>
void parallel_for(int count, int workers, Body&& body) {
  if (workers <= 1 || count <= 1) {
    for (int i = 0; i < count; ++i) body(i);
    return;
  }
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i = next.fetch_add(1); i < count; i = next.fetch_add(1)) body(i);
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
}

}  // namespace echo::detail
