#include "tokenize/spm_proto.h"

#include <cstring>

namespace gliclass::tokenize {
namespace {

// Wire types.
constexpr int kVarint = 0;
constexpr int kFixed32 = 5;
constexpr int kLengthDelimited = 2;

// ModelProto fields.
constexpr int kModelPieces = 1;
constexpr int kModelTrainerSpec = 2;
constexpr int kModelNormalizerSpec = 3;
// ModelProto.SentencePiece fields.
constexpr int kPiecePiece = 1;
constexpr int kPieceScore = 2;
constexpr int kPieceType = 3;
// TrainerSpec fields.
constexpr int kTrainerModelType = 3;  // UNIGRAM = 1
constexpr int kTrainerVocabSize = 4;
constexpr int kTrainerByteFallback = 35;
constexpr int kTrainerUnkId = 40;
constexpr int kTrainerBosId = 41;
constexpr int kTrainerEosId = 42;
constexpr int kTrainerPadId = 43;
constexpr int kTrainerUnkPiece = 45;
// NormalizerSpec fields.
constexpr int kNormName = 1;
constexpr int kNormCharsmap = 2;
constexpr int kNormAddDummyPrefix = 3;
constexpr int kNormRemoveExtraWhitespaces = 4;
constexpr int kNormEscapeWhitespaces = 5;

}  // namespace

void ProtoWriter::varint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void ProtoWriter::varint_field(int field, uint64_t value) {
  key(field, kVarint);
  varint(value);
}

void ProtoWriter::int32_field(int field, int32_t value) {
  // int32 is sign-extended to 64 bits on the wire.
  varint_field(field, static_cast<uint64_t>(static_cast<int64_t>(value)));
}

void ProtoWriter::float_field(int field, float value) {
  key(field, kFixed32);
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

void ProtoWriter::bytes_field(int field, std::string_view value) {
  key(field, kLengthDelimited);
  varint(value.size());
  out_.append(value.data(), value.size());
}

std::string serialize_spm_model(const SpmModelSpec& spec) {
  ProtoWriter model;
  int32_t unk_id = -1;
  for (size_t i = 0; i < spec.pieces.size(); ++i) {
    const SpmPiece& p = spec.pieces[i];
    ProtoWriter piece;
    piece.bytes_field(kPiecePiece, p.piece);
    piece.float_field(kPieceScore, p.score);
    if (p.type != SpmPieceType::kNormal) piece.varint_field(kPieceType, static_cast<uint64_t>(p.type));
    model.bytes_field(kModelPieces, piece.bytes());
    if (p.type == SpmPieceType::kUnknown && unk_id < 0) unk_id = static_cast<int32_t>(i);
  }

  ProtoWriter trainer;
  trainer.varint_field(kTrainerModelType, 1);
  trainer.int32_field(kTrainerVocabSize, static_cast<int32_t>(spec.pieces.size()));
  trainer.bool_field(kTrainerByteFallback, spec.byte_fallback);
  trainer.int32_field(kTrainerUnkId, unk_id);
  // BOS/EOS/PAD are the post-processor's business, never SentencePiece's.
  trainer.int32_field(kTrainerBosId, -1);
  trainer.int32_field(kTrainerEosId, -1);
  trainer.int32_field(kTrainerPadId, -1);
  if (unk_id >= 0) trainer.bytes_field(kTrainerUnkPiece, spec.pieces[unk_id].piece);
  model.bytes_field(kModelTrainerSpec, trainer.bytes());

  ProtoWriter normalizer;
  normalizer.bytes_field(kNormName, spec.precompiled_charsmap.empty() ? "identity" : "precompiled");
  if (!spec.precompiled_charsmap.empty())
    normalizer.bytes_field(kNormCharsmap, spec.precompiled_charsmap);
  normalizer.bool_field(kNormAddDummyPrefix, spec.add_dummy_prefix);
  normalizer.bool_field(kNormRemoveExtraWhitespaces, spec.remove_extra_whitespaces);
  normalizer.bool_field(kNormEscapeWhitespaces, spec.escape_whitespaces);
  model.bytes_field(kModelNormalizerSpec, normalizer.bytes());
  return model.bytes();
}

}  // namespace gliclass::tokenize
