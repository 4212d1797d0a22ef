// What a SentencePiece model holds (ModelProto of sentencepiece_model.proto),
// read from an spm.model file by a small protobuf wire-format reader, or
// filled from a tokenizer.json. libsentencepiece is not used: its bundled
// protobuf clashes with LibTorch's libprotobuf in one process.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gliclass::tokenize {

// ModelProto.SentencePiece.Type
enum class SpmPieceType : int {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct SpmPiece {
  std::string piece;
  float score = 0.0f;
  SpmPieceType type = SpmPieceType::kNormal;
};

struct SpmModelSpec {
  std::vector<SpmPiece> pieces;
  // TrainerSpec
  int model_type = 1;  // 1 = UNIGRAM (the only one supported), 2 = BPE, 3 = WORD, 4 = CHAR
  bool byte_fallback = false;
  bool treat_whitespace_as_suffix = false;
  // NormalizerSpec
  std::string precompiled_charsmap;  // raw bytes; empty = no character mapping
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Parses serialized ModelProto bytes; throws ModelError naming `source`.
SpmModelSpec parse_spm_model(std::string_view bytes, const std::string& source);

}  // namespace gliclass::tokenize
