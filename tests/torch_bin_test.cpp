// The torch.save reader (io/zip_archive, io/torch_pickle, io/torch_bin):
// archives and pickles built here byte by byte, one malformation each, every
// one a ModelError naming what is wrong; and a file Python's pickle wrote the
// way torch.save does.
#include "io/torch_bin.h"

#include <unistd.h>

#include <cstring>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "test_util.h"

namespace fs = std::filesystem;
using gliclass::ModelError;
using gliclass::testing::model_error_of;
using namespace gliclass::io;

namespace {

const fs::path kData = fs::path(__FILE__).parent_path() / "data";

void expect_has(const std::string& msg, const std::vector<std::string>& words) {
  for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
}

std::string le(uint64_t v, int bytes) {
  std::string out;
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

struct ZipEntry {
  std::string name, data;
  uint16_t method = 0;
};

// A zip archive of stored entries (CRCs left 0: the reader does not check
// them), with zip64 end records when asked.
std::string make_zip(const std::vector<ZipEntry>& entries, bool zip64 = false) {
  std::string out, directory;
  for (const auto& e : entries) {
    const std::string sizes = le(0, 4) + le(e.data.size(), 4) + le(e.data.size(), 4);  // crc, sizes
    directory += le(0x02014b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(e.method, 2) + le(0, 4) + sizes +
                 le(e.name.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(out.size(), 4) +
                 e.name;
    out += le(0x04034b50, 4) + le(20, 2) + le(0, 2) + le(e.method, 2) + le(0, 4) + sizes + le(e.name.size(), 2) +
           le(0, 2) + e.name + e.data;
  }
  const uint64_t cd_offset = out.size(), count = entries.size();
  out += directory;
  if (!zip64)
    return out + le(0x06054b50, 4) + le(0, 4) + le(count, 2) + le(count, 2) + le(directory.size(), 4) +
           le(cd_offset, 4) + le(0, 2);
  const uint64_t record = out.size();
  out += le(0x06064b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 8) + le(count, 8) + le(count, 8) +
         le(directory.size(), 8) + le(cd_offset, 8);
  out += le(0x07064b50, 4) + le(0, 4) + le(record, 8) + le(1, 4);
  return out + le(0x06054b50, 4) + le(0, 4) + le(0xffff, 2) + le(0xffff, 2) + le(0xffffffff, 4) +
         le(0xffffffff, 4) + le(0, 2);
}

// Pickle opcodes, written as torch.save writes them (protocol 2).
struct Pickle {
  std::string bytes = "\x80\x02";
  Pickle& op(char c) {
    bytes += c;
    return *this;
  }
  Pickle& str(const std::string& s) {
    bytes += "X" + le(s.size(), 4) + s;
    return *this;
  }
  Pickle& integer(int64_t v) {
    if (v >= 0 && v < 256)
      bytes += "K" + le(v, 1);
    else
      bytes += std::string("\x8a\x08", 2) + le(static_cast<uint64_t>(v), 8);
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    bytes += "c" + module + "\n" + name + "\n";
    return *this;
  }
};

struct View {
  std::string name, key = "0", type = "FloatStorage";
  int64_t numel = 6, offset = 0;
  std::vector<int64_t> sizes = {6}, strides = {1};
};

// _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, sizes, strides, False, OrderedDict())
void add_tensor(Pickle& p, const View& v) {
  p.global("torch._utils", "_rebuild_tensor_v2").op('(').op('(').str("storage").global("torch", v.type);
  p.str(v.key).str("cpu").integer(v.numel).op('t').op('Q').integer(v.offset).op('(');
  for (int64_t s : v.sizes) p.integer(s);
  p.op('t').op('(');
  for (int64_t s : v.strides) p.integer(s);
  p.op('t').op('\x89').global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
}

std::string state_dict_pickle(const std::vector<View>& views) {
  Pickle p;
  p.op('}').op('(');
  for (const auto& v : views) {
    p.str(v.name);
    add_tensor(p, v);
  }
  return p.op('u').op('.').bytes;
}

std::string floats(std::vector<float> values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}
const std::string kSix = floats({0, 1, 2, 3, 4, 5});

std::string archive(const std::string& pickle, const std::string& storage = kSix, bool zip64 = false) {
  return make_zip({{"archive/data.pkl", pickle}, {"archive/data/0", storage}, {"archive/version", "3\n"}}, zip64);
}

std::string error_of(const std::string& bytes) {
  return model_error_of([&] { open_torch_bin_bytes(bytes.data(), bytes.size(), "mem.bin"); });
}

// Every tensor of a file that opened, read as the loader would.
void read_all(const TensorFile& file) {
  for (const auto& name : file.names()) {
    auto t = file.get(name);
    EXPECT_EQ(t.sizes().vec(), file.shape(name)) << name;
  }
}

}  // namespace

// ----------------------------------------------------------- well formed --

TEST(TorchBin, ReadsViewsOfOneStorageThroughZipAndZip64) {
  const auto pickle = state_dict_pickle({{"t", "0", "FloatStorage", 6, 0, {3, 2}, {1, 3}},
                                         {"tail", "0", "FloatStorage", 6, 2, {4}, {1}},
                                         {"empty", "0", "FloatStorage", 6, 6, {0, 5}, {5, 1}}});
  for (bool zip64 : {false, true}) {
    SCOPED_TRACE(zip64 ? "zip64" : "zip");
    const auto bytes = archive(pickle, kSix, zip64);
    auto file = open_torch_bin_bytes(bytes.data(), bytes.size(), "mem.bin");
    EXPECT_EQ(file->names(), (std::vector<std::string>{"empty", "t", "tail"}));
    EXPECT_TRUE(torch::equal(file->get("t"), torch::arange(6, torch::kFloat).reshape({2, 3}).t()));
    EXPECT_TRUE(torch::equal(file->get("tail"), torch::arange(2, 6, torch::kFloat)));
    EXPECT_EQ(file->get("empty").sizes().vec(), (std::vector<int64_t>{0, 5}));
    auto target = torch::zeros({4});
    file->read_into("tail", target);  // contiguous: straight from the bytes
    EXPECT_TRUE(torch::equal(target, torch::arange(2, 6, torch::kFloat)));
  }
}

// Python's Pickler over stand-ins for torch (data/torch_bin/make_ordered_dict.py):
// OrderedDict with _metadata (BUILD), a Parameter, shared storage, half, int64.
TEST(TorchBin, ReadsWhatPythonsPicklerWritesForAStateDict) {
  auto file = open_torch_bin(kData / "torch_bin" / "ordered_dict.bin");
  EXPECT_EQ(file->names(), (std::vector<std::string>{"encoder.tail", "encoder.weight", "encoder.weight_t",
                                                     "head.bias", "position_ids"}));
  const auto six = torch::arange(6, torch::kFloat);
  EXPECT_TRUE(torch::equal(file->get("encoder.weight"), six.reshape({2, 3})));
  EXPECT_TRUE(torch::equal(file->get("encoder.weight_t"), six.reshape({2, 3}).t()));
  EXPECT_TRUE(torch::equal(file->get("encoder.tail"), torch::tensor({4.0f, 5.0f})));
  EXPECT_TRUE(torch::equal(file->get("head.bias"), torch::tensor({0.5f, -1.5f})));
  EXPECT_EQ(file->dtype("position_ids"), torch::kLong);
  EXPECT_TRUE(
      torch::equal(file->get("position_ids"), torch::tensor({{int64_t{7}, int64_t{-3}, int64_t{1} << 40}})));
}

TEST(TorchBin, ReadsWhatPickleSaveWritesForNonContiguousAndBool) {
  c10::Dict<std::string, torch::Tensor> dict;
  const auto t = torch::arange(12, torch::kFloat).reshape({3, 4}).t();
  dict.insert("t", t);
  dict.insert("mask", torch::tensor({true, false, true}));
  auto bytes = torch::pickle_save(dict);
  auto file = open_torch_bin_bytes(bytes.data(), bytes.size(), "mem.bin");
  EXPECT_TRUE(torch::equal(file->get("t"), t));
  EXPECT_TRUE(torch::equal(file->get("mask"), torch::tensor({int64_t{1}, int64_t{0}, int64_t{1}})));
  auto mask = torch::zeros({3}, torch::kBool);
  file->read_into("mask", mask);
  EXPECT_TRUE(torch::equal(mask, torch::tensor({true, false, true})));
}

// A bool storage holding bytes other than 0 and 1 (torch.save never writes
// them) reads as true, never as an invalid bool.
TEST(TorchBin, BoolBytesOtherThanZeroAndOneReadAsTrue) {
  const auto bytes =
      archive(state_dict_pickle({{"b", "0", "BoolStorage", 3, 0, {3}, {1}}}), std::string("\0\x07\xff", 3));
  auto file = open_torch_bin_bytes(bytes.data(), bytes.size(), "mem.bin");
  EXPECT_TRUE(torch::equal(file->get("b"), torch::tensor({int64_t{0}, int64_t{1}, int64_t{1}})));
  auto target = torch::zeros({3}, torch::kBool);
  file->read_into("b", target);
  EXPECT_TRUE(torch::equal(target, torch::tensor({false, true, true})));
}

// ------------------------------------------------------------- the zip --

TEST(TorchBin, EveryTruncationIsAModelError) {
  const auto bytes = archive(state_dict_pickle({{"w", "0", "FloatStorage", 6, 0, {2, 3}, {3, 1}}}));
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::string cut = bytes.substr(0, n);
    try {
      read_all(*open_torch_bin_bytes(cut.data(), cut.size(), "cut.bin"));
      ADD_FAILURE() << "a file cut to " << n << " bytes opened";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find("torch_bin: cut.bin: "), std::string::npos) << e.what();
    }
  }
  expect_has(error_of(bytes.substr(0, bytes.size() - 5)), {"not a zip archive", "end-of-central-directory"});
}

TEST(TorchBin, ZipDirectoryErrorsNameTheProblem) {
  const auto pickle = state_dict_pickle({{"w"}});
  expect_has(error_of(make_zip({{"archive/data.pkl", pickle}, {"archive/data/0", kSix, 8}})),
             {"entry \"archive/data/0\" is compressed (method 8)", "only stored entries"});
  expect_has(error_of(make_zip({{"archive/data.pkl", pickle}, {"archive/data.pkl", pickle}})),
             {"entry \"archive/data.pkl\" appears twice"});
  expect_has(error_of(make_zip({{"archive/version", "3\n"}})), {"no archive/data.pkl"});

  auto bytes = archive(pickle);
  const size_t central = bytes.find("PK\x01\x02");
  auto patched = bytes;
  patched.replace(central + 42, 4, le(0x7fffffff, 4));  // the first entry's local header offset
  expect_has(error_of(patched), {"local header offset 2147483647 is outside the file"});
  patched = bytes;
  patched.replace(central + 20, 8, le(0x7fffff00, 4) + le(0x7fffff00, 4));  // its sizes
  expect_has(error_of(patched), {"run past the end of the file", "truncated?"});
  patched = bytes;
  patched.replace(bytes.size() - 10, 4, le(0x7fff0000, 4));  // the directory's size
  expect_has(error_of(patched), {"central directory", "lies outside the file"});
  patched = bytes;
  patched.replace(bytes.size() - 10, 4, le(46, 4));  // room for one entry of three
  expect_has(error_of(patched), {"cannot hold 3 entries"});
}

// ---------------------------------------------------------- the pickle --

TEST(TorchBin, UnknownGlobalsAndOpcodesAreRefused) {
  Pickle evil;
  evil.global("os", "system").str("echo hi").op('\x85').op('R').op('.');
  expect_has(error_of(archive(evil.bytes)), {"data.pkl", "global \"os.system\" is not allowed"});
  Pickle storage_call;
  storage_call.global("torch", "FloatStorage").op(')').op('R').op('.');
  expect_has(error_of(archive(storage_call.bytes)), {"REDUCE calls torch.FloatStorage"});
  Pickle complex;
  complex.op('}').op('(').str("w");
  add_tensor(complex, {"w", "0", "ComplexFloatStorage"});
  expect_has(error_of(archive(complex.op('u').op('.').bytes)), {"\"torch.ComplexFloatStorage\" is not allowed"});
  Pickle inst;
  inst.op('(').bytes += "iposix\nsystem\n";
  expect_has(error_of(archive(inst.bytes)), {"unsupported pickle opcode INST (0x69) at byte 3"});
  Pickle unknown;
  unknown.op('\xff');
  expect_has(error_of(archive(unknown.bytes)), {"unsupported pickle opcode 0xff"});
}

TEST(TorchBin, MalformedPickleStructureIsAModelError) {
  expect_has(error_of(archive(Pickle().op('}').bytes)), {"ends at byte 3 without a STOP opcode", "truncated?"});
  expect_has(error_of(archive(Pickle().op('X').bytes)), {"ends in the middle of an opcode at byte 3"});
  expect_has(error_of(archive(Pickle().op('h').op('\x03').op('.').bytes)),
             {"memo entry 3 read before it was written"});
  expect_has(error_of(archive(Pickle().op('R').bytes)), {"pops from an empty stack"});
  expect_has(error_of(archive(Pickle().op('t').bytes)), {"needs a MARK"});
  expect_has(error_of(archive(Pickle().op('}').integer(1).integer(2).op('s').op('.').bytes)),
             {"a state_dict key is a int, not a string"});
  expect_has(error_of(archive(Pickle().op('}').str("x").op('N').op('s').op('.').bytes)),
             {"\"x\" is a None, not a tensor"});
  expect_has(error_of(archive(Pickle().op(']').str("k").op('N').op('s').op('.').bytes)), {"SETITEM on a list"});
  Pickle bad_pid;
  bad_pid.op('}').op('(').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(').str("x").op('Q');
  expect_has(error_of(archive(bad_pid.bytes)), {"persistent id is not ('storage'"});
}

TEST(TorchBin, DeepNestingIsRefused) {
  Pickle marks;
  for (int i = 0; i < 100; ++i) marks.op('(');
  expect_has(error_of(archive(marks.op('.').bytes)), {"MARKs nested deeper than 32 levels"});
  Pickle tuples;
  tuples.op(')');
  for (int i = 0; i < 100; ++i) tuples.op('\x85');  // ((((),),),)...
  expect_has(error_of(archive(tuples.op('.').bytes)), {"objects nested deeper than 32 levels"});
  Pickle self;  // a list appended to itself again and again
  self.op(']').op('q').op('\0');
  for (int i = 0; i < 100; ++i) self.op('h').op('\0').op('a');
  expect_has(error_of(archive(self.op('.').bytes)), {"objects nested deeper than 32 levels"});
}

// ----------------------------------------------- views against storages --

TEST(TorchBin, OffsetsAndStridesAreCheckedAgainstTheStorage) {
  auto error = [](View v) { return error_of(archive(state_dict_pickle({v}))); };
  expect_has(
      error({"w", "0", "FloatStorage", 6, 3, {4}, {1}}),
      {"tensor of storage \"0\" (offset 3, sizes [4], strides [1])", "reaches past the end of storage \"0\" (6"});
  expect_has(error({"w", "0", "FloatStorage", 6, 0, {2, 3}, {3, 2}}), {"reaches past the end"});
  expect_has(error({"w", "0", "FloatStorage", 6, 7, {0}, {1}}), {"reaches past the end"});
  expect_has(error({"w", "0", "FloatStorage", 6, -1, {1}, {1}}), {"negative offset"});
  expect_has(error({"w", "0", "FloatStorage", 6, 0, {int64_t{1} << 62, 4}, {1, 1}}),
             {"needs more elements than storage \"0\" holds (6)"});
  expect_has(error({"w", "0", "FloatStorage", 6, 0, {6}, {int64_t{1} << 62}}), {"needs more elements"});
  expect_has(error({"w", "0", "FloatStorage", 6, 0, {6, 6}, {0, 0}}), {"needs more elements"});
  expect_has(error({"w", "0", "FloatStorage", 6, 0, {2, 3}, {3}}), {"2 sizes and 1 strides"});
  expect_has(error({"w", "0", "FloatStorage", 6, 0, {-2}, {1}}), {"non-negative integers"});
}

TEST(TorchBin, OneStorageNamedOverAndOverIsRefused) {
  Pickle p;  // 100 keys for one memoized tensor of 4000 bytes, in a file of about 6000
  p.op('}').op('(').str("k0");
  add_tensor(p, {"k0", "0", "FloatStorage", 1000, 0, {1000}, {1}});
  p.op('q').op('\x01');
  for (int i = 1; i < 100; ++i) p.str("k" + std::to_string(i)).op('h').op('\x01');
  expect_has(error_of(archive(p.op('u').op('.').bytes, std::string(4000, '\0'))),
             {"the tensors' views add up to more than 16 times the file's"});
  Pickle tied;  // two keys for one tensor (tied weights) are fine
  tied.op('}').op('(').str("a");
  add_tensor(tied, {"a"});
  tied.op('q').op('\x01').str("b").op('h').op('\x01').op('u').op('.');
  const auto bytes = archive(tied.bytes);
  auto file = open_torch_bin_bytes(bytes.data(), bytes.size(), "mem.bin");
  EXPECT_TRUE(torch::equal(file->get("a"), file->get("b")));
}

TEST(TorchBin, StoragesMustMatchTheirEntries) {
  expect_has(
      error_of(archive(state_dict_pickle({{"w"}}), floats({1, 2, 3, 4, 5}))),
      {"storage \"0\" holds 6 Float elements but its entry archive/data/0 has 20 bytes", "storage size mismatch"});
  expect_has(error_of(archive(state_dict_pickle({{"w", "7"}}))), {"storage \"7\" has no entry archive/data/7"});
  expect_has(error_of(archive(state_dict_pickle({{"w"}, {"v", "0", "HalfStorage", 6, 0, {6}, {1}}}))),
             {"storage \"0\" is declared twice with different types or sizes"});
  expect_has(error_of(archive(state_dict_pickle({{"w", "0", "FloatStorage", int64_t{1} << 62, 0, {6}, {1}}}))),
             {"storage size mismatch"});
}

TEST(TorchBin, BigEndianAndLegacyFilesAreRefused) {
  const auto pickle = state_dict_pickle({{"w"}});
  expect_has(
      error_of(make_zip({{"archive/data.pkl", pickle}, {"archive/byteorder", "big"}, {"archive/data/0", kSix}})),
      {"byteorder is \"big\"", "big-endian files are not supported"});
  const std::string legacy = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
  expect_has(error_of(legacy), {"legacy (pre-1.6, non-zip) torch.save file"});
}
