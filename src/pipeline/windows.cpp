#include "pipeline/windows.h"

#include <algorithm>

#include "gliclass/error.h"

namespace gliclass::pipeline {
namespace {

// Windows over n units whose byte offsets are `offset(i)` (offset(n) = the
// text's size).
template <typename Offset>
std::vector<ByteRange> windows_over(size_t n, size_t size, size_t overlap, Offset offset) {
  std::vector<ByteRange> out;
  for (size_t start = 0;; start += size - overlap) {
    const size_t end = std::min(n, start + size);
    out.push_back({offset(start), offset(end)});
    if (end >= n) break;
  }
  return out;
}

}  // namespace

size_t window_overlap(const TextChunking& c) {
  const size_t overlap = c.overlap.value_or(c.size / 8);
  if (c.size > 0 && overlap >= c.size)
    throw InputError("options: the window overlap (" + std::to_string(overlap) +
                     ") must be smaller than the window size (" + std::to_string(c.size) + ")");
  return overlap;
}

std::vector<ByteRange> text_windows(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                    const TextChunking& chunking) {
  const std::vector<ByteRange> whole{{0, text.size()}};
  if (chunking.size == 0) return whole;
  const size_t overlap = window_overlap(chunking);
  if (chunking.unit == ChunkUnit::kCharacters) {
    std::vector<size_t> starts;  // byte offset of every code point
    for (size_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
    if (starts.size() <= chunking.size) return whole;
    return windows_over(starts.size(), chunking.size, overlap,
                        [&](size_t i) { return i < starts.size() ? starts[i] : text.size(); });
  }
  const tokenize::Encoding enc = tokenizer.encode(text);
  if (enc.size() <= chunking.size) return whole;
  // A window starts where its first token starts (the first at byte 0, so
  // leading spaces stay) and ends where the next window's first token would.
  return windows_over(enc.size(), chunking.size, overlap, [&](size_t i) -> size_t {
    if (i == 0) return 0;
    return i < enc.size() ? enc.begin[i] : text.size();
  });
}

}  // namespace gliclass::pipeline
