// glibc malloc settings for long CPU runs of LibTorch. Attention scores and
// their gradients are tens of MB each, allocated and freed every layer; by
// default glibc serves such blocks with fresh mmap()s and unmaps them on
// free, so every use page-faults its memory in again (measured: 2-3x the
// run time of a small model's training step). Keeping them in the heap and
// never trimming it removes that cost, at the price of a process that keeps
// its peak memory. Process-wide: meant for command-line tools, called once
// at start.
#pragma once

namespace gliclass::train {

// No mmap for large blocks (M_MMAP_MAX 0) and no heap trimming
// (M_TRIM_THRESHOLD at its maximum). Returns false if glibc refused.
bool keep_freed_memory();

}  // namespace gliclass::train
