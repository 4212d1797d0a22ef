// runtime::keep_freed_memory keeps freed blocks resident; release_freed_memory
// hands them back to the system (the server's idle step).
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "runtime/allocator.h"

namespace {

TEST(RuntimeAllocator, ReleaseReturnsTheFreedBlocksThatKeepFreedMemoryKept) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || !defined(__GLIBC__)
  GTEST_SKIP() << "glibc's own malloc only (sanitizers replace it)";
#else
  // The heap's size as malloc counts it (the process's RSS counters may lag).
  auto heap = [] { return mallinfo2().arena; };
  ASSERT_TRUE(gliclass::runtime::keep_freed_memory());
  constexpr size_t kBlock = 64u << 20;
  const size_t before = heap();
  auto* block = static_cast<char*>(std::malloc(kBlock));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBlock);
  EXPECT_GE(heap(), before + kBlock) << "the block was not taken from the heap (mmap still on?)";
  std::free(block);
  const size_t kept = heap();
  EXPECT_GE(kept, before + kBlock) << "the heap shrank without release_freed_memory";
  EXPECT_TRUE(gliclass::runtime::release_freed_memory());
  EXPECT_LT(heap(), kept - kBlock / 2) << "the freed 64 MiB stayed in the heap";
#endif
}

}  // namespace
