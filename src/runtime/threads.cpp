#include "runtime/threads.h"

#include <sched.h>
#include <torch/torch.h>

#include <algorithm>

namespace gliclass::runtime {

int available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

void set_threads(int requested) { torch::set_num_threads(requested > 0 ? requested : available_cpus()); }

}  // namespace gliclass::runtime
