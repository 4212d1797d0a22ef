#include "runtime/threads.h"

#include <dlfcn.h>
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

void set_threads(int requested) {
  const int threads = requested > 0 ? requested : available_cpus();
  torch::set_num_threads(threads);
  // One thread pool: LibTorch's OpenMP threads and OpenBLAS's own pool on the
  // same cores slow each other down (small, K = 16, batch 1, 2 cores: 2+2
  // threads 1.9 texts/s fp32 and 6.2 bf16; 2+1 4.0 and 11.4). OpenBLAS is
  // looked up at run time: with another BLAS behind LibTorch nothing changes.
  if (threads > 1) {
    using SetThreads = void (*)(int);
    if (auto f = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) f(1);
  }
}

}  // namespace gliclass::runtime
