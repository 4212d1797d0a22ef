#include "tokenize/spm_proto.h"

#include <cstring>
#include <stdexcept>

#include "gliclass/error.h"

namespace gliclass::tokenize {
namespace {

// Field numbers of sentencepiece_model.proto.
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPiecePiece = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerTreatWhitespaceAsSuffix = 24,
                   kTrainerByteFallback = 35;
constexpr uint32_t kNormCharsmap = 2, kNormAddDummyPrefix = 3, kNormRemoveExtraWhitespaces = 4,
                   kNormEscapeWhitespaces = 5;

// Wire types.
constexpr uint32_t kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5;

// Reads one message's fields in order. Throws std::runtime_error on
// malformed input; parse_spm_model turns that into a ModelError.
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }

  // Next field: its number and wire type.
  void next(uint32_t* field, uint32_t* wire) {
    uint64_t key = varint();
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<uint32_t>(key & 7);
    if (*field == 0) throw std::runtime_error("field number 0");
  }
  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) throw std::runtime_error("truncated varint");
      uint8_t b = static_cast<uint8_t>(data_[pos_++]);
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return value;
    }
    throw std::runtime_error("varint longer than 10 bytes");
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (n > data_.size() - pos_) throw std::runtime_error("length beyond the end of the data");
    std::string_view out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  float fixed32_float() {
    if (data_.size() - pos_ < 4) throw std::runtime_error("truncated fixed32");
    uint32_t bits = 0;
    for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += 4;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  }
  void skip(uint32_t wire) {
    switch (wire) {
      case kVarint: varint(); break;
      case kFixed64: advance(8); break;
      case kLengthDelimited: bytes(); break;
      case kFixed32: advance(4); break;
      default: throw std::runtime_error("unsupported wire type " + std::to_string(wire));
    }
  }
  // The field's value must have this wire type.
  static void expect(uint32_t field, uint32_t wire, uint32_t want) {
    if (wire != want)
      throw std::runtime_error("field " + std::to_string(field) + " has wire type " +
                               std::to_string(wire) + ", expected " + std::to_string(want));
  }

 private:
  void advance(size_t n) {
    if (data_.size() - pos_ < n) throw std::runtime_error("truncated field");
    pos_ += n;
  }
  std::string_view data_;
  size_t pos_ = 0;
};

SpmPiece parse_piece(std::string_view data) {
  SpmPiece p;
  ProtoReader r(data);
  uint32_t field, wire;
  while (!r.done()) {
    r.next(&field, &wire);
    if (field == kPiecePiece) {
      ProtoReader::expect(field, wire, kLengthDelimited);
      p.piece = std::string(r.bytes());
    } else if (field == kPieceScore) {
      ProtoReader::expect(field, wire, kFixed32);
      p.score = r.fixed32_float();
    } else if (field == kPieceType) {
      ProtoReader::expect(field, wire, kVarint);
      uint64_t t = r.varint();
      if (t < 1 || t > 6) throw std::runtime_error("unknown piece type " + std::to_string(t));
      p.type = static_cast<SpmPieceType>(t);
    } else {
      r.skip(wire);
    }
  }
  return p;
}

// Sub-messages may repeat; protobuf merges them, so fields just overwrite.
void parse_trainer(std::string_view data, SpmModelSpec* spec) {
  ProtoReader r(data);
  uint32_t field, wire;
  while (!r.done()) {
    r.next(&field, &wire);
    if (field == kTrainerModelType || field == kTrainerTreatWhitespaceAsSuffix ||
        field == kTrainerByteFallback) {
      ProtoReader::expect(field, wire, kVarint);
      uint64_t v = r.varint();
      if (field == kTrainerModelType) spec->model_type = static_cast<int>(v);
      if (field == kTrainerTreatWhitespaceAsSuffix) spec->treat_whitespace_as_suffix = v != 0;
      if (field == kTrainerByteFallback) spec->byte_fallback = v != 0;
    } else {
      r.skip(wire);
    }
  }
}

void parse_normalizer(std::string_view data, SpmModelSpec* spec) {
  ProtoReader r(data);
  uint32_t field, wire;
  while (!r.done()) {
    r.next(&field, &wire);
    if (field == kNormCharsmap) {
      ProtoReader::expect(field, wire, kLengthDelimited);
      spec->precompiled_charsmap = std::string(r.bytes());
    } else if (field == kNormAddDummyPrefix || field == kNormRemoveExtraWhitespaces ||
               field == kNormEscapeWhitespaces) {
      ProtoReader::expect(field, wire, kVarint);
      bool v = r.varint() != 0;
      if (field == kNormAddDummyPrefix) spec->add_dummy_prefix = v;
      if (field == kNormRemoveExtraWhitespaces) spec->remove_extra_whitespaces = v;
      if (field == kNormEscapeWhitespaces) spec->escape_whitespaces = v;
    } else {
      r.skip(wire);
    }
  }
}

}  // namespace

SpmModelSpec parse_spm_model(std::string_view bytes, const std::string& source) {
  SpmModelSpec spec;
  try {
    ProtoReader r(bytes);
    uint32_t field, wire;
    while (!r.done()) {
      r.next(&field, &wire);
      if (field == kModelPieces || field == kModelTrainerSpec || field == kModelNormalizerSpec) {
        ProtoReader::expect(field, wire, kLengthDelimited);
        std::string_view sub = r.bytes();
        if (field == kModelPieces) spec.pieces.push_back(parse_piece(sub));
        if (field == kModelTrainerSpec) parse_trainer(sub, &spec);
        if (field == kModelNormalizerSpec) parse_normalizer(sub, &spec);
      } else {
        r.skip(wire);
      }
    }
  } catch (const std::runtime_error& e) {
    throw ModelError("tokenize: " + source + " is not a valid SentencePiece model (" + e.what() + ")");
  }
  if (spec.pieces.empty())
    throw ModelError("tokenize: " + source +
                     " is not a valid SentencePiece model (expected pieces, got none)");
  return spec;
}

}  // namespace gliclass::tokenize
