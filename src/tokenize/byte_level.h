// GPT-2's byte-level alphabet: each of the 256 byte values is shown as one
// printable Unicode character ('!'..'~', '¡'..'¬', '®'..'ÿ' stand for
// themselves; the other bytes take U+0100 upwards in order), so BPE
// vocabularies can spell any byte string ("Ġ" is the space byte).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tokenize/normalizers.h"

namespace gliclass::tokenize {

// The UTF-8 spelling of byte `b`'s character.
const std::string& byte_level_char(uint8_t b);

// The byte a byte-level character stands for; nullopt for other characters.
std::optional<uint8_t> byte_level_byte(char32_t c);

// Every byte of `in` replaced by its character; each character keeps the
// span of the byte it stands for.
NormalizedText to_byte_level(const NormalizedText& in);

}  // namespace gliclass::tokenize
