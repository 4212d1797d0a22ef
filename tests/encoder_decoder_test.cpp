// Encoder-decoder (T5) parity with the Python reference on the t5_* golden
// cases: both token sequences, the backbone's hidden states, logits and
// embeddings per input alone, the reference's padded batch, batch invariance,
// the pipeline's predictions through gliclass::Classifier, and bad inputs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "gliclass/classifier.h"
#include "io/config.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/encoder_decoder.h"
#include "model/model.h"
#include "pipeline/encoder_decoder_inputs.h"
#include "pipeline/fit.h"
#include "golden_requests.h"
#include "golden_tensors.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"

namespace gt = gliclass::testing;
using gt::compare_json;
using gt::Diff;
using gt::request_of;
namespace gm = gliclass::model;
using nlohmann::json;

namespace {

// Batch vs alone (decisions.md: a text scores the same in any batch).
constexpr double kBatchTolerance = 1e-5;

struct Case {
  std::string name;
  std::filesystem::path dir;
  gliclass::io::GLiClassConfig config;
  json cases;
  gm::ModelPtr model;
};

std::vector<Case> load_cases() {
  std::vector<Case> out;
  for (const char* arch : {"encoder-decoder", "encoder-decoder-cls"}) {
    for (const auto& name : gt::golden_cases(arch, "t5")) {
      Case c;
      c.name = name;
      c.dir = gt::golden_dir() / name;
      c.config = gliclass::io::GLiClassConfig::from_file(c.dir / "config.json");
      c.cases = gt::read_json(c.dir / "cases.json");
      c.model = gm::load_model(c.dir, c.config);
      out.push_back(std::move(c));
    }
  }
  return out;
}

// Right-padded [B,L] ids and mask (pad id 0, T5's <pad>).
std::pair<torch::Tensor, torch::Tensor> pad_rows(const std::vector<std::vector<int64_t>>& rows) {
  size_t len = 0;
  for (const auto& r : rows) len = std::max(len, r.size());
  auto ids = torch::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(len)}, torch::kLong);
  auto mask = torch::zeros_like(ids);
  for (size_t b = 0; b < rows.size(); ++b) {
    auto n = static_cast<int64_t>(rows[b].size());
    ids[b].slice(0, 0, n).copy_(torch::tensor(rows[b], torch::kLong));
    mask[b].slice(0, 0, n).fill_(1);
  }
  return {ids, mask};
}

torch::Tensor stored(const json& rows) {
  auto v = rows.get<std::vector<std::vector<int64_t>>>();
  auto out = torch::empty({static_cast<int64_t>(v.size()), static_cast<int64_t>(v.at(0).size())}, torch::kLong);
  for (size_t i = 0; i < v.size(); ++i) out[static_cast<int64_t>(i)].copy_(torch::tensor(v[i], torch::kLong));
  return out;
}

gm::ModelOutput run(gm::GLiClassModelImpl& model, const torch::Tensor& ids, const torch::Tensor& mask,
                    const torch::Tensor& class_ids, const torch::Tensor& class_mask, int64_t k) {
  torch::NoGradGuard no_grad;
  gm::ModelInput in;
  in.input_ids = ids;
  in.attention_mask = mask;
  in.class_input_ids = class_ids;
  in.class_attention_mask = class_mask;
  in.num_classes = k;
  return model.forward(in);
}

gm::ModelOutput run_alone(gm::GLiClassModelImpl& model, const json& item, int64_t k) {
  auto ids = torch::tensor(item.at("input_ids").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
  auto cls = torch::tensor(item.at("class_input_ids").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
  return run(model, ids, torch::ones_like(ids), cls, torch::ones_like(cls), k);
}

bool reference_failed(const json& item) { return item.contains("pipeline_error") && !item.at("pipeline_error").is_null(); }

// The reference's pipeline output ([{label, score}] in label order) against
// ours (highest first): the same labels, scores within 1e-4.
void expect_same_predictions(const json& want, const std::vector<gliclass::LabelScore>& got) {
  std::map<std::string, double> expected;
  for (const auto& p : want) expected[p.at("label").get<std::string>()] = p.at("score").get<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (const auto& p : got) {
    ASSERT_TRUE(expected.count(p.label)) << "unexpected prediction " << p.label;
    EXPECT_TRUE(gt::close(p.score, expected[p.label], 1e-4)) << p.label << ": " << p.score << " vs " << expected[p.label];
  }
}

gliclass::ClassifierOptions golden_options(const json& cases) {
  gliclass::ClassifierOptions o;
  o.max_length = cases.at("pipeline").at("max_length").get<int64_t>();
  return o;
}

// Label slots the reference scored for this input (at most max_num_classes).
int64_t slots(const json& item) { return static_cast<int64_t>(item.at("logits").size()); }

}  // namespace

TEST(EncoderDecoderParity, BackboneStatesMatchReference) {
  GLICLASS_REQUIRE_GOLDEN();
  for (auto& c : load_cases()) {
    SCOPED_TRACE(c.name);
    const json& item = c.cases.at("inputs").at(0);
    const json& taps = item.at("intermediates").at("encoder_decoder_model").at(0);
    auto t5 = std::dynamic_pointer_cast<gm::EncoderDecoderImpl>(c.model)->encoder_decoder_model;
    ASSERT_TRUE(t5);
    torch::NoGradGuard no_grad;
    auto text = torch::tensor(item.at("input_ids").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
    auto labels = torch::tensor(item.at("class_input_ids").get<std::vector<int64_t>>(), torch::kLong).unsqueeze(0);
    const bool cls = c.config.architecture_type == "encoder-decoder-cls";
    const auto& enc_in = cls ? labels : text;
    const auto& dec_in = cls ? text : labels;
    auto enc_bias = gliclass::encoders::t5_padding_bias(torch::ones_like(enc_in), torch::kFloat);
    auto dec_mask = torch::ones_like(dec_in);
    auto enc = t5->encoder->forward(enc_in, enc_bias);
    auto dec_bias = cls ? gliclass::encoders::t5_causal_bias(dec_mask, torch::kFloat)
                        : gliclass::encoders::t5_padding_bias(dec_mask, torch::kFloat);
    auto dec = t5->decoder->forward(dec_in, dec_bias, enc, enc_bias);
    Diff e, d;
    compare_json(taps.at("encoder_last_hidden_state"), enc, 1e-4, e);
    compare_json(taps.at("decoder_last_hidden_state"), dec, 1e-4, d);
    EXPECT_EQ(e.failures, 0) << "encoder states max |diff| " << e.max_abs;
    EXPECT_EQ(d.failures, 0) << "decoder states max |diff| " << d.max_abs;
  }
}

TEST(EncoderDecoderParity, EachInputAloneMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  auto cases = load_cases();
  ASSERT_EQ(cases.size(), 2u) << "expected t5_encdec_first_simple and t5_encdec_cls_simple";
  for (auto& c : cases) {
    SCOPED_TRACE(c.name);
    Diff logits, text, classes;
    for (const auto& item : c.cases.at("inputs")) {
      SCOPED_TRACE(item.at("id").get<std::string>());
      const int64_t k = slots(item);
      auto out = run_alone(*c.model, item, k);
      ASSERT_EQ(out.logits.sizes(), torch::IntArrayRef({1, k}));
      compare_json(item.at("logits"), out.logits[0], 1e-4, logits);
      if (item.contains("text_embedding") && item.at("text_embedding").is_array())
        compare_json(item.at("text_embedding"), out.text_embeddings[0], 1e-4, text);
      if (item.contains("class_embeddings") && item.at("class_embeddings").is_array())
        compare_json(item.at("class_embeddings"), out.class_embeddings[0], 1e-4, classes);
    }
    EXPECT_EQ(logits.failures, 0) << "logits max |diff| " << logits.max_abs;
    EXPECT_EQ(text.failures, 0) << "text_embedding max |diff| " << text.max_abs;
    EXPECT_EQ(classes.failures, 0) << "class_embeddings max |diff| " << classes.max_abs;
    std::cout << "[parity] " << c.name << ": max |diff| logits " << logits.max_abs << ", text_embedding "
              << text.max_abs << ", class_embeddings " << classes.max_abs << "\n";
  }
}

// The reference's padded batch ("first" pooling / last real token: its batch
// logits equal the alone ones), and every input in one padded batch against
// itself alone.
TEST(EncoderDecoderParity, PaddedBatchMatchesReferenceAndAlone) {
  GLICLASS_REQUIRE_GOLDEN();
  for (auto& c : load_cases()) {
    SCOPED_TRACE(c.name);
    const json& ref = c.cases.at("batch");
    auto got = run(*c.model, stored(ref.at("input_ids")), stored(ref.at("attention_mask")),
                   stored(ref.at("class_input_ids")), stored(ref.at("class_attention_mask")),
                   ref.at("max_num_classes").get<int64_t>())
                   .logits;
    Diff vs_reference;
    for (size_t i = 0; i < ref.at("labels").size(); ++i) {
      const auto n = ref.at("labels").at(i).size();
      for (size_t j = 0; j < n; ++j)
        vs_reference.add(got[static_cast<int64_t>(i)][static_cast<int64_t>(j)].item<double>(),
                         ref.at("logits").at(i).at(j).get<double>(), 1e-4);
    }

    std::vector<std::vector<int64_t>> texts, labels;
    int64_t k = 1;
    for (const auto& item : c.cases.at("inputs")) {
      texts.push_back(item.at("input_ids").get<std::vector<int64_t>>());
      labels.push_back(item.at("class_input_ids").get<std::vector<int64_t>>());
      k = std::max(k, slots(item));
    }
    auto [ids, mask] = pad_rows(texts);
    auto [cls, cls_mask] = pad_rows(labels);
    auto batch = run(*c.model, ids, mask, cls, cls_mask, k).logits;
    Diff vs_alone;
    int64_t row = 0;
    for (const auto& item : c.cases.at("inputs")) {
      auto alone = run_alone(*c.model, item, slots(item)).logits[0];
      for (int64_t j = 0; j < alone.size(0); ++j)
        vs_alone.add(batch[row][j].item<double>(), alone[j].item<double>(), kBatchTolerance);
      ++row;
    }
    EXPECT_EQ(vs_reference.failures, 0) << "vs reference batch max |diff| " << vs_reference.max_abs;
    EXPECT_EQ(vs_alone.failures, 0) << "batch vs alone max |diff| " << vs_alone.max_abs;
    std::cout << "[parity] " << c.name << ": vs reference batch max |diff| " << vs_reference.max_abs
              << ", batch vs alone " << vs_alone.max_abs << "\n";
  }
}

TEST(EncoderDecoderInputs, BothSequencesMatchReference) {
  GLICLASS_REQUIRE_GOLDEN();
  for (const char* arch : {"encoder-decoder", "encoder-decoder-cls"}) {
    for (const auto& name : gt::golden_cases(arch, "t5")) {
      SCOPED_TRACE(name);
      const auto dir = gt::golden_dir() / name;
      const json cases = gt::read_json(dir / "cases.json");
      const auto tokenizer = gliclass::tokenize::Tokenizer::from_dir(dir);
      const auto max_length = cases.at("pipeline").at("max_length").get<size_t>();
      const auto slots = static_cast<size_t>(gliclass::io::GLiClassConfig::from_file(dir / "config.json").max_num_classes);
      for (const auto& item : cases.at("inputs")) {
        SCOPED_TRACE(item.at("id").get<std::string>());
        const auto req = request_of(item);
        const auto text = gliclass::pipeline::fit_text_side(*tokenizer, req.text, req.examples, max_length);
        EXPECT_EQ(text.ids, item.at("input_ids").get<std::vector<int64_t>>());
        EXPECT_EQ(text.truncated, item.at("id") == "long_truncated");
        const auto groups =
            gliclass::pipeline::plan_decoder_label_groups(*tokenizer, req.labels, req.prompt, max_length, slots, 0);
        size_t covered = 0;
        for (const auto& g : groups) {
          EXPECT_EQ(g.begin, covered);
          EXPECT_LE(g.end - g.begin, slots);
          covered = g.end;
        }
        EXPECT_EQ(covered, req.labels.size());
        if (req.labels.size() <= slots) {  // one group: the reference's own label side
          ASSERT_EQ(groups.size(), 1u);
          EXPECT_EQ(gliclass::pipeline::encode_label_side(*tokenizer, req.labels, req.prompt),
                    item.at("class_input_ids").get<std::vector<int64_t>>());
        }
      }
    }
  }
}

// Through the public API: the reference pipeline's multi-label (t0.5) and
// single-label outputs per input alone and for the padded batch's texts run
// together (whose logits equal each text's alone); more labels than the
// model's slots run as label groups.
TEST(EncoderDecoderClassifier, PipelineMatchesReference) {
  GLICLASS_REQUIRE_GOLDEN();
  gliclass::ClassifyOptions multi, single;
  multi.threshold = 0.5f;
  single.type = gliclass::ClassificationType::kSingleLabel;
  for (const char* arch : {"encoder-decoder", "encoder-decoder-cls"}) {
    for (const auto& name : gt::golden_cases(arch, "t5")) {
      SCOPED_TRACE(name);
      const auto dir = gt::golden_dir() / name;
      const json cases = gt::read_json(dir / "cases.json");
      const auto clf = gliclass::Classifier::load(dir.string(), golden_options(cases));
      EXPECT_EQ(clf.architecture(), arch);
      std::map<std::string, gliclass::ClassifyRequest> by_id;
      for (const auto& item : cases.at("inputs")) {
        const std::string id = item.at("id");
        SCOPED_TRACE(id);
        const auto req = request_of(item);
        by_id[id] = req;
        const auto m = clf.classify(req, multi);
        ASSERT_EQ(m.scores.size(), req.labels.size());
        EXPECT_EQ(m.truncated, id == "long_truncated");
        if (reference_failed(item)) {
          // More labels than slots: the reference fails; here every label is
          // scored, in groups of max_num_classes. Labels see each other in the
          // backbone, so a group's logits are not the reference's 50-label ones.
          const auto slots_per_pass = static_cast<size_t>(item.at("logits").size());
          EXPECT_EQ(m.label_groups, (req.labels.size() + slots_per_pass - 1) / slots_per_pass);
          continue;
        }
        expect_same_predictions(item.at("pipeline_multi_label_t0.5"), m.predictions);
        expect_same_predictions(item.at("pipeline_single_label"), clf.classify(req, single).predictions);
      }
      const json& batch = cases.at("batch");
      std::vector<gliclass::ClassifyRequest> reqs;
      for (const auto& id : batch.at("ids")) reqs.push_back(by_id.at(id.get<std::string>()));
      const auto together_multi = clf.classify(reqs, multi);
      const auto together_single = clf.classify(reqs, single);
      for (size_t i = 0; i < reqs.size(); ++i) {
        SCOPED_TRACE(batch.at("ids").at(i).get<std::string>());
        expect_same_predictions(batch.at("pipeline_multi_label_t0.5").at(i), together_multi[i].predictions);
        expect_same_predictions(batch.at("pipeline_single_label").at(i), together_single[i].predictions);
        const auto alone = clf.classify(reqs[i], multi);
        for (size_t j = 0; j < alone.logits.size(); ++j)
          EXPECT_TRUE(gt::close(together_multi[i].logits[j], alone.logits[j], kBatchTolerance)) << j;
      }
    }
  }
}

TEST(EncoderDecoderErrors, BadInputsAreClearErrors) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto cases_found = gt::golden_cases("encoder-decoder", "t5");
  ASSERT_FALSE(cases_found.empty());
  const auto dir = gt::golden_dir() / cases_found.front();

  // A model directory without weights.
  gt::TempDir tmp("t5_no_weights");
  for (const char* f : {"config.json", "spiece.model", "tokenizer_config.json", "special_tokens_map.json",
                        "added_tokens.json"})
    tmp.copy_from(dir, f);
  auto msg = gt::model_error_of([&] { gliclass::Classifier::load(tmp.path.string()); });
  EXPECT_TRUE(gt::contains(msg, "no weights")) << msg;

  // A feed-forward the T5 config cannot have.
  auto config = gliclass::io::GLiClassConfig::from_file(dir / "config.json");
  config.encoder_config["feed_forward_proj"] = "double-gelu";
  msg = gt::model_error_of([&] { gm::make_model(config); });
  EXPECT_TRUE(gt::contains(msg, "feed_forward_proj")) << msg;

  // Model inputs: the label sequence is required, label slots are bounded.
  auto model = gm::load_model(dir, gliclass::io::GLiClassConfig::from_file(dir / "config.json"));
  auto ids = torch::tensor({5, 6, 1}, torch::kLong).unsqueeze(0);
  auto expect_input_error = [&](const gm::ModelInput& in, const std::string& needle) {
    try {
      torch::NoGradGuard no_grad;
      model->forward(in);
      ADD_FAILURE() << "expected InputError mentioning " << needle;
    } catch (const gliclass::InputError& e) {
      EXPECT_TRUE(gt::contains(e.what(), needle)) << e.what();
    }
  };
  gm::ModelInput in;
  in.input_ids = ids;
  in.num_classes = 1;
  expect_input_error(in, "class_input_ids");
  in.class_input_ids = torch::tensor({600, 7, 601, 1}, torch::kLong).unsqueeze(0);
  in.num_classes = 26;
  expect_input_error(in, "num_classes");
  in.num_classes = 1;
  in.class_input_ids[0][1] = 603;  // past the embedding
  expect_input_error(in, "class_input_ids value out of range");
}

// Hugging Face T5 files may store the tied encoder/decoder embed_tokens
// beside `shared`; they load (as copies of the same tensor) and score the same.
TEST(EncoderDecoderLoading, TiedEmbeddingCopiesInTheFileAreAccepted) {
  GLICLASS_REQUIRE_GOLDEN();
  const auto src = gt::golden_dir() / "t5_encdec_first_simple";
  gt::TempDir tmp("t5_tied");
  for (const auto& e : std::filesystem::directory_iterator(src))
    if (e.is_regular_file()) std::filesystem::copy_file(e.path(), tmp.path / e.path().filename());
  auto file = gliclass::io::open_safetensors(src / "model.safetensors");
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& name : file->names()) tensors.emplace_back(name, file->get(name));
  const auto shared = file->get("model.encoder_decoder_model.shared.weight");
  tensors.emplace_back("model.encoder_decoder_model.encoder.embed_tokens.weight", shared);
  tensors.emplace_back("model.encoder_decoder_model.decoder.embed_tokens.weight", shared);
  gliclass::io::save_safetensors(tmp.path / "model.safetensors", tensors, {{"format", "pt"}});

  gliclass::ClassifyRequest r{"The battery died after two days.", {"positive", "negative", "support"}};
  const auto expected = gliclass::Classifier::load(src.string()).classify(r);
  const auto got = gliclass::Classifier::load(tmp.path.string()).classify(r);
  EXPECT_EQ(got.logits, expected.logits);
}
