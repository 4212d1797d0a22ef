// Long texts as overlapping windows (gliclass/classifier.h TextChunking;
// reference.md §4 "Chunking pipeline"): window i covers units
// [i * (size - overlap), i * (size - overlap) + size), the last one ends at the
// text's end, and a text of at most `size` units is one window.
#pragma once
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "pipeline/prompt.h"
#include "tokenize/tokenizer.h"

namespace gliclass::pipeline {

// The overlap in effect (the default when unset); InputError when it is not
// smaller than the window.
size_t window_overlap(const TextChunking& chunking);

// Byte ranges of the windows of a valid UTF-8 text; one window covering the
// whole text when chunking is off.
std::vector<ByteRange> text_windows(const tokenize::Tokenizer& tokenizer, const std::string& text,
                                    const TextChunking& chunking);

}  // namespace gliclass::pipeline
