// Checkpoint reading: safetensors (round trip, corrupt files), torch.save
// zip files, sharded indexes, directory lookup, and strict load_weights.
#include <unistd.h>

#include <cstring>
#include <fstream>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace fs = std::filesystem;
using gliclass::ModelError;
using gliclass::testing::model_error_of;
using namespace gliclass::io;
using Named = std::vector<std::pair<std::string, torch::Tensor>>;

namespace {

// A fresh directory per test, removed afterwards.
class TempDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("gliclass_ckpt_" + std::to_string(::getpid()) + "_" +
                                        info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};
class CheckpointSafetensors : public TempDir {};
class CheckpointCorrupt : public TempDir {};
class CheckpointTorchBin : public TempDir {};
class CheckpointOpen : public TempDir {};
class CheckpointLoad : public TempDir {};

void expect_has(const std::string& msg, const std::vector<std::string>& words) {
  for (const auto& w : words) EXPECT_NE(msg.find(w), std::string::npos) << "'" << w << "' not in: " << msg;
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A safetensors file from a raw header text and data; header_len overrides the prefix.
std::string st_bytes(const std::string& header, const std::string& data, int64_t header_len = -1) {
  uint64_t n = header_len < 0 ? header.size() : static_cast<uint64_t>(header_len);
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

void write_pickle(const fs::path& file, const c10::IValue& value) {
  auto bytes = torch::pickle_save(value);
  write_bytes(file, std::string(bytes.begin(), bytes.end()));
}

void expect_same_tensors(const TensorFile& a, const TensorFile& b) {
  ASSERT_EQ(a.names(), b.names());
  for (const auto& name : a.names()) {
    EXPECT_EQ(a.shape(name), b.shape(name)) << name;
    EXPECT_TRUE(torch::equal(a.get(name), b.get(name))) << name;
  }
}

}  // namespace

// ---------------------------------------------------------------- goldens --

TEST(CheckpointGolden, SafetensorsAndTorchBinHoldTheSameTensors) {
  GLICLASS_REQUIRE_GOLDEN();
  int compared = 0;
  for (const auto& name : gliclass::testing::golden_cases("", "")) {
    const auto dir = gliclass::testing::golden_dir() / name;
    if (!fs::exists(dir / "pytorch_model_bin" / "pytorch_model.bin")) continue;
    SCOPED_TRACE(name);
    auto st = open_safetensors(dir / "model.safetensors");
    auto bin = open_torch_bin(dir / "pytorch_model_bin" / "pytorch_model.bin");
    expect_same_tensors(*st, *bin);
    EXPECT_TRUE(bin->contains("model.logit_scale"));
    ++compared;
  }
  EXPECT_GE(compared, 1) << "no golden case has pytorch_model_bin/";
}

TEST(CheckpointGolden, EveryCaseReadsCompletely) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const auto& name : gliclass::testing::golden_cases("", "")) {
    SCOPED_TRACE(name);
    auto file = open_checkpoint(gliclass::testing::golden_dir() / name);
    ASSERT_FALSE(file->names().empty());
    for (const auto& t : file->names()) {
      auto value = file->get(t);
      EXPECT_EQ(value.sizes().vec(), file->shape(t)) << t;
      EXPECT_EQ(value.scalar_type(), torch::kFloat) << t;  // the goldens are all F32
      EXPECT_TRUE(value.isfinite().all().item<bool>()) << t;
    }
    if (file->contains("model.logit_scale")) EXPECT_TRUE(file->shape("model.logit_scale").empty());
  }
}

// ------------------------------------------------------------ safetensors --

TEST_F(CheckpointSafetensors, FloatRoundTripKeepsValuesAndHeader) {
  for (auto type : {torch::kFloat, torch::kHalf, torch::kBFloat16}) {
    SCOPED_TRACE(c10::toString(type));
    Named tensors = {{"w", torch::randn({2, 3}).to(type)},
                     {"scalar", torch::tensor(-1.25).to(type)},
                     {"empty", torch::zeros({0, 4}).to(type)},
                     {"b", torch::randn({5}).to(type)}};
    const auto file = dir_ / "t.safetensors";
    save_safetensors(file, tensors, {{"format", "pt"}});

    auto read = open_safetensors(file);
    EXPECT_EQ(read->names(), (std::vector<std::string>{"b", "empty", "scalar", "w"}));
    for (const auto& [name, t] : tensors) {
      EXPECT_EQ(read->shape(name), t.sizes().vec()) << name;
      auto got = read->get(name);
      EXPECT_EQ(got.scalar_type(), torch::kFloat);
      EXPECT_TRUE(torch::equal(got, t.to(torch::kFloat))) << name;
    }
    // The header on disk: 8-aligned, metadata kept, dtype named per tensor.
    std::ifstream in(file, std::ios::binary);
    uint64_t n = 0;
    in.read(reinterpret_cast<char*>(&n), 8);
    std::string text(n, '\0');
    in.read(text.data(), static_cast<std::streamsize>(n));
    EXPECT_EQ(n % 8, 0u);
    auto header = nlohmann::json::parse(text);
    EXPECT_EQ(header["__metadata__"]["format"], "pt");
    const char* want = type == torch::kFloat ? "F32" : type == torch::kHalf ? "F16" : "BF16";
    EXPECT_EQ(header["w"]["dtype"], want);
    EXPECT_EQ(header["scalar"]["shape"], nlohmann::json::array());
  }
}

TEST_F(CheckpointSafetensors, IntegersComeBackAsInt64) {
  const auto file = dir_ / "i.safetensors";
  save_safetensors(file, {{"ids", torch::tensor({3, -7, 11}, torch::kInt)},
                          {"mask", torch::tensor({true, false})},
                          {"big", torch::tensor({int64_t(1) << 40})}});
  auto read = open_safetensors(file);
  EXPECT_EQ(read->dtype("ids"), torch::kLong);
  EXPECT_TRUE(torch::equal(read->get("ids"), torch::tensor({3, -7, 11}, torch::kLong)));
  EXPECT_TRUE(torch::equal(read->get("mask"), torch::tensor({1, 0}, torch::kLong)));
  EXPECT_EQ(read->get("big").item<int64_t>(), int64_t(1) << 40);
}

TEST_F(CheckpointSafetensors, SaveRejectsDuplicatesAndUnsupportedDtypes) {
  EXPECT_THROW(save_safetensors(dir_ / "d.safetensors", {{"a", torch::ones(1)}, {"a", torch::ones(1)}}),
               gliclass::InputError);
  EXPECT_THROW(save_safetensors(dir_ / "c.safetensors", {{"a", torch::ones(1, torch::kComplexFloat)}}),
               gliclass::InputError);
  EXPECT_FALSE(fs::exists(dir_ / "d.safetensors"));
}

TEST_F(CheckpointSafetensors, UnknownNameAndMissingFileAreModelErrors) {
  save_safetensors(dir_ / "a.safetensors", {{"a", torch::ones(2)}});
  auto read = open_safetensors(dir_ / "a.safetensors");
  expect_has(model_error_of([&] { read->get("nope"); }), {"no tensor named", "nope"});
  expect_has(model_error_of([&] { open_safetensors(dir_ / "absent.safetensors"); }),
             {"cannot open", "absent.safetensors"});
}

// --------------------------------------------------------- corrupt files --

TEST_F(CheckpointCorrupt, EachDefectIsNamed) {
  const std::string f32x6(24, '\0');
  struct Case {
    const char* what;
    std::string bytes;
    std::vector<std::string> words;
  };
  const std::vector<Case> cases = {
      {"too small", "abcd", {"too small", "4 bytes"}},
      {"header length > file", st_bytes("{}", "", 9999999), {"header length 9999999", "exceeds file size 10"}},
      {"not JSON", st_bytes("{not json", ""), {"header is not valid JSON"}},
      {"not an object", st_bytes("[1, 2]", ""), {"not a JSON object"}},
      {"offsets out of range",
       st_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(8, '\0')),
       {"\"w\"", "out of range", "8 bytes"}},
      {"offsets out of order",
       st_bytes(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", f32x6), {"\"w\"", "out of order"}},
      {"unknown dtype",
       st_bytes(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", f32x6),
       {"\"w\"", "unknown dtype", "F8_E4M3"}},
      {"length mismatch",
       st_bytes(R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}})", f32x6),
       {"\"w\"", "length mismatch", "[2, 3]", "24 bytes", "span 20"}},
      {"negative dimension",
       st_bytes(R"({"w":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}})", f32x6),
       {"\"w\"", "negative dimension -1"}},
      {"non-integer dimension",
       st_bytes(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", f32x6),
       {"\"w\"", "not a list of non-negative integers"}},
      {"numel overflow",
       st_bytes(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", f32x6),
       {"\"w\"", "too large"}},
      {"missing offsets", st_bytes(R"({"w":{"dtype":"F32","shape":[2]}})", f32x6), {"\"w\"", "data_offsets"}},
      {"overlap",
       st_bytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                f32x6),
       {"\"a\"", "\"b\"", "overlapping"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto file = dir_ / "bad.safetensors";
    write_bytes(file, c.bytes);
    const auto msg = model_error_of([&] { open_safetensors(file); });
    expect_has(msg, c.words);
    expect_has(msg, {"safetensors:", "bad.safetensors"});
  }
}

TEST_F(CheckpointCorrupt, TruncatedFileIsCaughtAtOpen) {
  const auto file = dir_ / "cut.safetensors";
  save_safetensors(file, {{"a", torch::randn({4, 4})}, {"b", torch::randn({16})}});
  fs::resize_file(file, fs::file_size(file) - 10);
  expect_has(model_error_of([&] { open_safetensors(file); }), {"out of range", "truncated"});
  fs::resize_file(file, 20);  // now shorter than the header it announces
  expect_has(model_error_of([&] { open_safetensors(file); }), {"header length", "exceeds file size 20"});
}

// ------------------------------------------------------------ torch.save --

TEST_F(CheckpointTorchBin, ReadsWhatPickleSaveWrites) {
  c10::Dict<std::string, torch::Tensor> dict;
  auto w = torch::randn({3, 2});
  dict.insert("w", w.to(torch::kHalf));
  dict.insert("scale", torch::tensor(2.5));
  dict.insert("ids", torch::tensor({4, 5}, torch::kInt));
  const auto file = dir_ / "pytorch_model.bin";
  write_pickle(file, dict);

  auto read = open_torch_bin(file);
  EXPECT_EQ(read->names(), (std::vector<std::string>{"ids", "scale", "w"}));
  EXPECT_TRUE(torch::equal(read->get("w"), w.to(torch::kHalf).to(torch::kFloat)));
  EXPECT_EQ(read->shape("scale"), std::vector<int64_t>{});
  EXPECT_FLOAT_EQ(read->get("scale").item<float>(), 2.5f);
  EXPECT_EQ(read->dtype("ids"), torch::kLong);
  EXPECT_TRUE(torch::equal(read->get("ids"), torch::tensor({4, 5}, torch::kLong)));
  // get() hands out copies: changing one leaves the file's tensor alone.
  read->get("scale").fill_(0);
  EXPECT_FLOAT_EQ(read->get("scale").item<float>(), 2.5f);
}

TEST_F(CheckpointTorchBin, BadFilesAreModelErrors) {
  const auto garbage = dir_ / "garbage.bin";
  write_bytes(garbage, "this is not a zip archive at all");
  expect_has(model_error_of([&] { open_torch_bin(garbage); }), {"torch_bin:", "garbage.bin", "zip"});
  const auto not_dict = dir_ / "tensor.bin";
  write_pickle(not_dict, torch::ones(3));
  expect_has(model_error_of([&] { open_torch_bin(not_dict); }), {"not a state_dict"});
  expect_has(model_error_of([&] { open_torch_bin(dir_ / "absent.bin"); }), {"no such file"});
}

// ------------------------------------------------- directories and shards --

TEST_F(CheckpointOpen, EmptyDirectoryListsWhatWasLookedFor) {
  expect_has(model_error_of([&] { open_checkpoint(dir_); }),
             {"no weights", "model.safetensors,", "model.safetensors.index.json", "pytorch_model.bin,",
              "pytorch_model.bin.index.json"});
  expect_has(model_error_of([&] { open_checkpoint(dir_ / "nowhere"); }), {"does not exist"});
}

TEST_F(CheckpointOpen, PrefersSafetensorsThenFallsBackToBin) {
  c10::Dict<std::string, torch::Tensor> dict;
  dict.insert("x", torch::full({2}, 2.0));
  write_pickle(dir_ / "pytorch_model.bin", dict);
  EXPECT_EQ(open_checkpoint(dir_)->get("x")[0].item<float>(), 2.0f);
  save_safetensors(dir_ / "model.safetensors", {{"x", torch::full({2}, 1.0)}});
  EXPECT_EQ(open_checkpoint(dir_)->get("x")[0].item<float>(), 1.0f);
}

TEST_F(CheckpointOpen, ShardedIndexesActAsOneFile) {
  Named a = {{"enc.w", torch::randn({2, 2})}, {"enc.b", torch::randn({2})}};
  Named b = {{"head.w", torch::randn({1, 2})}};
  save_safetensors(dir_ / "model-00001-of-00002.safetensors", a);
  save_safetensors(dir_ / "model-00002-of-00002.safetensors", b);
  nlohmann::json index = {{"metadata", {{"total_size", 28}}},
                          {"weight_map",
                           {{"enc.w", "model-00001-of-00002.safetensors"},
                            {"enc.b", "model-00001-of-00002.safetensors"},
                            {"head.w", "model-00002-of-00002.safetensors"}}}};
  write_bytes(dir_ / "model.safetensors.index.json", index.dump());

  auto file = open_checkpoint(dir_);
  EXPECT_EQ(file->names(), (std::vector<std::string>{"enc.b", "enc.w", "head.w"}));
  EXPECT_EQ(file->source(), (dir_ / "model.safetensors.index.json").string());
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(file->get(name), t)) << name;
  EXPECT_TRUE(torch::equal(file->get("head.w"), b[0].second));
  EXPECT_EQ(file->shape("head.w"), (std::vector<int64_t>{1, 2}));

  // The same as torch.save shards.
  const auto bin_dir = dir_ / "bin";
  fs::create_directories(bin_dir);
  for (int i = 0; i < 2; ++i) {
    c10::Dict<std::string, torch::Tensor> dict;
    for (const auto& [name, t] : i == 0 ? a : b) dict.insert(name, t);
    write_pickle(bin_dir / ("pytorch_model-0000" + std::to_string(i + 1) + ".bin"), dict);
  }
  index["weight_map"] = {{"enc.w", "pytorch_model-00001.bin"},
                         {"enc.b", "pytorch_model-00001.bin"},
                         {"head.w", "pytorch_model-00002.bin"}};
  write_bytes(bin_dir / "pytorch_model.bin.index.json", index.dump());
  expect_same_tensors(*file, *open_checkpoint(bin_dir));
}

TEST_F(CheckpointOpen, BrokenIndexesAreModelErrors) {
  save_safetensors(dir_ / "s1.safetensors", {{"x", torch::ones(1)}});
  const auto index = dir_ / "model.safetensors.index.json";
  auto with_map = [&](const nlohmann::json& map) {
    write_bytes(index, nlohmann::json{{"weight_map", map}}.dump());
    return model_error_of([&] { open_sharded(index); });
  };
  expect_has(with_map({{"y", "s1.safetensors"}}), {"\"y\"", "s1.safetensors", "does not hold"});
  expect_has(with_map({{"x", "s2.safetensors"}}), {"cannot open", "s2.safetensors"});
  expect_has(with_map({{"x", "../s1.safetensors"}}), {"leaves the model directory"});
  expect_has(with_map({{"x", "s1.pt"}}), {"neither .safetensors nor .bin"});
  expect_has(with_map(nlohmann::json::object()), {"weight_map"});
  write_bytes(index, "{weight_map");
  expect_has(model_error_of([&] { open_sharded(index); }), {"model.safetensors.index.json", "not valid JSON"});
}

// ------------------------------------------------------------ load_weights --

namespace {

struct Net : torch::nn::Module {
  Net() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    logit_scale = register_parameter("logit_scale", torch::zeros({1}));
    counts = register_buffer("counts", torch::zeros({2}, torch::kLong));
  }
  torch::nn::Linear fc{nullptr};
  torch::Tensor logit_scale, counts;
};

// A complete checkpoint for Net, names prefixed by `prefix`.
Named net_tensors(const std::string& prefix = "") {
  return {{prefix + "fc.weight", torch::randn({2, 3})},
          {prefix + "fc.bias", torch::randn({2})},
          {prefix + "logit_scale", torch::tensor(0.75)},  // 0-d into a [1] parameter
          {prefix + "counts", torch::tensor({7, 9}, torch::kLong)}};
}

}  // namespace

TEST_F(CheckpointLoad, CopiesEveryTensorAndConvertsDtype) {
  const auto tensors = net_tensors();
  save_safetensors(dir_ / "m.safetensors", tensors);
  auto file = open_safetensors(dir_ / "m.safetensors");
  for (auto type : {torch::kFloat, torch::kDouble}) {
    Net net;
    net.fc->to(type);
    load_weights(net, *file, {});
    EXPECT_EQ(net.fc->weight.scalar_type(), type);
    EXPECT_TRUE(torch::equal(net.fc->weight, tensors[0].second.to(type)));
    EXPECT_TRUE(torch::equal(net.fc->bias, tensors[1].second.to(type)));
    EXPECT_EQ(net.logit_scale.sizes().vec(), std::vector<int64_t>{1});
    EXPECT_FLOAT_EQ(net.logit_scale.item<float>(), 0.75f);
    EXPECT_TRUE(torch::equal(net.counts, torch::tensor({7, 9}, torch::kLong)));
    EXPECT_TRUE(net.fc->weight.requires_grad());
  }
}

TEST_F(CheckpointLoad, MissingTensorIsReportedUnlessAllowed) {
  auto tensors = net_tensors();
  tensors.erase(tensors.begin() + 1);  // fc.bias
  save_safetensors(dir_ / "m.safetensors", tensors);
  auto file = open_safetensors(dir_ / "m.safetensors");
  Net net;
  expect_has(model_error_of([&] { load_weights(net, *file, {}); }),
             {"load_weights: 1 problem", "m.safetensors", "missing: fc.bias (expected shape [2])"});
  LoadOptions allow;
  allow.allow_missing = {"fc.bias"};
  EXPECT_NO_THROW(load_weights(net, *file, allow));
}

TEST_F(CheckpointLoad, WrongShapeNamesBothShapesAndChangesNothing) {
  auto tensors = net_tensors();
  tensors[0].second = torch::randn({3, 2});
  save_safetensors(dir_ / "m.safetensors", tensors);
  Net net;
  const auto before = net.fc->bias.clone();
  expect_has(model_error_of([&] { load_weights(net, *open_safetensors(dir_ / "m.safetensors"), {}); }),
             {"wrong shape: fc.weight", "expected [2, 3]", "got [3, 2]"});
  EXPECT_TRUE(torch::equal(net.fc->bias, before));  // validated before copying anything
}

TEST_F(CheckpointLoad, UnusedTensorIsReportedUnlessIgnored) {
  auto tensors = net_tensors();
  tensors.emplace_back("pooler.dense.weight", torch::ones({4, 4}));
  save_safetensors(dir_ / "m.safetensors", tensors);
  auto file = open_safetensors(dir_ / "m.safetensors");
  Net net;
  expect_has(model_error_of([&] { load_weights(net, *file, {}); }),
             {"unused: pooler.dense.weight (shape [4, 4])"});
  LoadOptions ignore;
  ignore.ignore_unused = {"pooler."};
  EXPECT_NO_THROW(load_weights(net, *file, ignore));
}

TEST_F(CheckpointLoad, WrongDtypeIsReported) {
  auto tensors = net_tensors();
  tensors[3].second = torch::tensor({7.5f, 9.0f});  // float into the int64 buffer
  save_safetensors(dir_ / "m.safetensors", tensors);
  Net net;
  expect_has(model_error_of([&] { load_weights(net, *open_safetensors(dir_ / "m.safetensors"), {}); }),
             {"wrong dtype: counts", "Long", "Float"});
}

TEST_F(CheckpointLoad, PrefixSelectsAndAliasesRename) {
  auto tensors = net_tensors("model.backbone.");
  tensors.emplace_back("model.head.weight", torch::ones({1}));
  tensors.emplace_back("optimizer.step", torch::ones({1}));
  save_safetensors(dir_ / "m.safetensors", tensors);
  auto file = open_safetensors(dir_ / "m.safetensors");

  Net net;
  LoadOptions prefix;
  prefix.prefix = "model.backbone.";  // the head and the optimizer are outside it
  load_weights(net, *file, prefix);
  EXPECT_TRUE(torch::equal(net.fc->weight, tensors[0].second));

  LoadOptions alias;
  alias.aliases = {{"model.", ""}, {"backbone.", ""}};  // applied in order
  alias.ignore_unused = {"optimizer."};
  const auto msg = model_error_of([&] { load_weights(net, *file, alias); });
  expect_has(msg, {"1 problem", "unused: model.head.weight"});
  EXPECT_EQ(msg.find("optimizer"), std::string::npos) << msg;
}

TEST_F(CheckpointLoad, AllProblemsTogetherCappedAtTwentyLines) {
  struct Wide : torch::nn::Module {
    Wide() {
      for (int i = 0; i < 15; ++i) layers->push_back(torch::nn::Linear(2, 2));
      register_module("layers", layers);
    }
    torch::nn::ModuleList layers;
  } wide;
  save_safetensors(dir_ / "m.safetensors", {{"layers.0.weight", torch::ones({3, 3})}, {"stray", torch::ones(1)}});
  const auto msg = model_error_of([&] { load_weights(wide, *open_safetensors(dir_ / "m.safetensors"), {}); });
  // 1 wrong shape + 29 missing + 1 unused = 31 problems, 20 shown.
  expect_has(msg, {"31 problems", "wrong shape: layers.0.weight", "missing: layers.0.bias", "and 11 more"});
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 21) << msg;
}
