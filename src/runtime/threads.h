// Intra-op threads of LibTorch. Its own default counts physical cores as its
// bundled cpuinfo sees them, which on some virtual machines is 1 of 2; ours
// is every CPU this process may run on.
#pragma once

namespace gliclass::runtime {

// The CPUs in this process's affinity mask (at least 1).
int available_cpus();

// torch::set_num_threads(requested > 0 ? requested : available_cpus()); with
// more than one, OpenBLAS (when it is LibTorch's BLAS) runs single-threaded.
void set_threads(int requested);

}  // namespace gliclass::runtime
