// One of three copies of a kernel, picked once for this CPU: AVX-512, AVX2 or
// plain x86-64. The copies are the same always_inline body compiled under
// __attribute__((target(...))); __builtin_cpu_supports chooses (no ifunc /
// target_clones: their resolvers run before sanitizer runtimes start).
#pragma once

namespace gliclass::runtime {

template <class Kernels>
Kernels pick_for_cpu(const Kernels& avx512, const Kernels& avx2, const Kernels& plain) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return avx512;
  if (__builtin_cpu_supports("avx2")) return avx2;
  return plain;
}

}  // namespace gliclass::runtime
