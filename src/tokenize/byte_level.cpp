#include "tokenize/byte_level.h"

#include <array>

namespace gliclass::tokenize {

namespace {

bool stands_for_itself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<std::string, 256> chars;
  std::array<char32_t, 256> code_points{};
  Tables() {
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      code_points[b] = stands_for_itself(b) ? static_cast<char32_t>(b) : next++;
      append_utf8(code_points[b], &chars[b]);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_level_char(uint8_t b) { return tables().chars[b]; }

std::optional<uint8_t> byte_level_byte(char32_t c) {
  if (c < 0x100) {
    if (stands_for_itself(c)) return static_cast<uint8_t>(c);
    return std::nullopt;
  }
  const auto& cps = tables().code_points;
  for (unsigned b = 0; b < 256; ++b)
    if (cps[b] == c) return static_cast<uint8_t>(b);
  return std::nullopt;
}

NormalizedText to_byte_level(const NormalizedText& in) {
  NormalizedText out;
  out.text.reserve(in.text.size() * 2);
  out.spans.reserve(in.text.size() * 2);
  for (size_t i = 0; i < in.text.size(); ++i)
    out.append(byte_level_char(static_cast<uint8_t>(in.text[i])), in.spans[i]);
  return out;
}

}  // namespace gliclass::tokenize
