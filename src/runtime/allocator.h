// glibc malloc settings for CPU runs of LibTorch. Batched activations and
// attention scores are MBs to tens of MBs each, allocated and freed every
// layer; by default glibc serves such blocks with fresh mmap()s and unmaps
// them on free, so every use page-faults its memory in again. Measured: a
// batch of 8 cost 12x a batch of 1 per text (tiny DeBERTa, L=227), and a
// training step 2-3x its time. Keeping the blocks in the heap and never
// trimming it removes that cost, at the price of a process that keeps its
// peak memory. Process-wide: Classifier::load, the trainers and the gliclass
// tools call it (it is idempotent). A long-lived process (the server) calls
// release_freed_memory when idle, so that one large request does not leave
// its peak resident for good.
#pragma once

namespace gliclass::runtime {

// No mmap for large blocks (M_MMAP_MAX 0) and no heap trimming
// (M_TRIM_THRESHOLD at its maximum). Returns false if glibc refused.
bool keep_freed_memory();

// Returns the freed pages of every malloc arena to the system (malloc_trim):
// the next allocations fault them in again. Returns false if nothing was
// released or the C library has no such call.
bool release_freed_memory();

}  // namespace gliclass::runtime
