// Row kernels: one of three copies, picked once for this CPU (AVX-512, AVX2
// or plain x86-64), run over a matrix's rows on LibTorch's threads.
//
// pick_for_cpu: the copies are the same always_inline body compiled under
// __attribute__((target(...))); __builtin_cpu_supports chooses (no ifunc /
// target_clones: their resolvers run before sanitizer runtimes start).
#pragma once
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace gliclass::runtime {

template <class Kernels>
Kernels pick_for_cpu(const Kernels& avx512, const Kernels& avx2, const Kernels& plain) {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return avx512;
  if (__builtin_cpu_supports("avx2")) return avx2;
  return plain;
}

// fn(row) for rows 0..rows-1 of `columns` elements each, in parallel chunks of
// about 64K elements (inline inside a parallel region).
template <class Fn>
void for_each_row(int64_t rows, int64_t columns, const Fn& fn) {
  const int64_t per_task = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(columns, 1));
  at::parallel_for(0, rows, per_task, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  });
}

}  // namespace gliclass::runtime
