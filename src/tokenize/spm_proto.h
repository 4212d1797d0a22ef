// A SentencePiece ModelProto written by hand (protobuf wire format), so a
// tokenizer.json Unigram model can run on libsentencepiece exactly like the
// spm.model it was converted from. Field numbers: sentencepiece_model.proto.
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
  std::vector<SpmPiece> pieces;  // exactly one kUnknown
  bool byte_fallback = false;
  // NormalizerSpec
  std::string precompiled_charsmap;  // raw bytes; empty = identity
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
};

// Serialises `spec` as a unigram ModelProto (trainer_spec, normalizer_spec,
// pieces) for SentencePieceProcessor::LoadFromSerializedProto.
std::string serialize_spm_model(const SpmModelSpec& spec);

// Protobuf wire-format writer: the few field kinds ModelProto needs.
class ProtoWriter {
 public:
  void varint_field(int field, uint64_t value);
  void int32_field(int field, int32_t value);  // negative values as 10-byte varints
  void bool_field(int field, bool value) { varint_field(field, value ? 1 : 0); }
  void float_field(int field, float value);
  void bytes_field(int field, std::string_view value);
  const std::string& bytes() const { return out_; }

 private:
  void varint(uint64_t value);
  void key(int field, int wire_type) {
    varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
  }
  std::string out_;
};

}  // namespace gliclass::tokenize
