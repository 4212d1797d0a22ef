// Streaming sessions over the decoder-kv golden model: chunks appended to a
// KV cache give the logits of one pass over the whole text, strategies
// trigger when they should, cropping keeps absolute positions, absent
// sessions are deleted, a changed prompt is refused. Strategy rules alone
// need no model.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gliclass/streaming.h"
#include "io/config.h"
#include "model/decoder_kv.h"
#include "pipeline/decoder_kv_input.h"
#include "pipeline/stream_strategy.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"

namespace gt = gliclass::testing;
using gliclass::StreamInput;
using gliclass::StreamStrategy;
using gliclass::StreamingClassifier;
using gliclass::pipeline::StrategyState;

namespace {

std::filesystem::path case_dir() { return gt::golden_dir() / "qwen3_decoder_kv"; }

const std::vector<std::string> kLabels = {"technology", "price", "camera quality", "sports"};
// Chunks that start with a space: the pre-tokenizer splits there, so their
// tokens concatenate to the whole text's (checked below).
const std::vector<std::string> kChunks = {"The new smartphone has", " an excellent camera",
                                          " and a long battery life, but the price is too high."};

StreamInput chunk(const std::string& session, const std::string& text) {
  StreamInput in;
  in.session_id = session;
  in.text = text;
  in.labels = kLabels;
  return in;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

}  // namespace

// Outside the anonymous namespace: the tests derive from it.
class StreamingGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(case_dir() / "config.json"))
      GTEST_SKIP() << "golden case " << case_dir() << " is absent (needs ../shared/golden)";
  }
  static StreamingClassifier open(gliclass::StreamOptions options = {}) {
    return StreamingClassifier::load(case_dir().string(), {}, options);
  }
  static std::vector<float> logits_of(const gliclass::StreamOutput& o) {
    EXPECT_TRUE(o.triggered && o.predictions) << o.session_id;
    return o.predictions ? o.predictions->logits : std::vector<float>{};
  }
};

TEST(StreamingStrategy, EachTriggerFiresWhenItShould) {
  StrategyState every(StreamStrategy::every_chunk());
  EXPECT_TRUE(every.should_classify(3, "abc"));
  EXPECT_FALSE(every.should_classify(0, ""));

  StrategyState n(StreamStrategy::every_n_tokens(5));
  EXPECT_FALSE(n.should_classify(2, "a"));
  EXPECT_FALSE(n.should_classify(2, "b"));
  EXPECT_TRUE(n.should_classify(1, "c"));   // 5 tokens: fires and restarts
  EXPECT_FALSE(n.should_classify(4, "d"));
  EXPECT_TRUE(n.should_classify(7, "e"));

  StrategyState delim(StreamStrategy::on_delimiter("."));
  EXPECT_FALSE(delim.should_classify(4, "no stop"));
  EXPECT_TRUE(delim.should_classify(2, "end. "));

  StrategyState never(StreamStrategy::never());
  EXPECT_FALSE(never.should_classify(100, "anything."));

  StrategyState window(StreamStrategy::sliding_window(8));
  EXPECT_TRUE(window.should_classify(1, "x"));
  EXPECT_EQ(window.window(20), 8u);
  EXPECT_EQ(window.window(5), 5u);

  StrategyState composed(StreamStrategy::composed(StreamStrategy::on_delimiter("!"), StreamStrategy::sliding_window(4)));
  EXPECT_FALSE(composed.should_classify(3, "calm"));
  EXPECT_TRUE(composed.should_classify(3, "now!"));
  EXPECT_EQ(composed.window(10), 4u);
  EXPECT_EQ(StrategyState(StreamStrategy::every_chunk()).window(10), 10u);
}

TEST(StreamingStrategy, SpecsParseAndBadOnesAreInputErrors) {
  EXPECT_EQ(StreamStrategy::from_spec("every_n_tokens:12").n_tokens, 12u);
  EXPECT_EQ(StreamStrategy::from_spec("on_delimiter:\n").delimiter, "\n");
  EXPECT_EQ(StreamStrategy::from_spec("sliding_window:64").window, 64u);
  EXPECT_EQ(StreamStrategy::from_spec("never").trigger, StreamStrategy::Trigger::kNever);
  for (const char* bad : {"sometimes", "every_n_tokens", "every_n_tokens:0", "sliding_window:x", "on_delimiter:"})
    EXPECT_THROW(StreamStrategy::from_spec(bad), gliclass::InputError) << bad;
}

TEST_F(StreamingGolden, ChunksGiveTheLogitsOfOnePassOverTheWholeText) {
  auto tok = gliclass::tokenize::Tokenizer::from_dir(case_dir());
  std::vector<int64_t> concatenated;
  for (const auto& c : kChunks) {
    auto ids = tok->encode(c).ids;
    concatenated.insert(concatenated.end(), ids.begin(), ids.end());
  }
  ASSERT_EQ(concatenated, tok->encode(joined(kChunks)).ids) << "the chunks must tokenize as the whole text does";

  auto stream = open();
  std::vector<gliclass::StreamOutput> last;
  std::vector<float> whole;
  size_t cached = 0;
  for (size_t i = 0; i < kChunks.size(); ++i) {
    // "whole" gets everything with the first chunk, then empty chunks that keep it alive.
    last = stream.push({chunk("chunks", kChunks[i]), chunk("whole", i == 0 ? joined(kChunks) : "")});
    cached += tok->encode(kChunks[i]).size();
    EXPECT_EQ(last[0].cached_length, cached);
    EXPECT_EQ(last[0].tokens_added, tok->encode(kChunks[i]).size());
    EXPECT_EQ(last[1].triggered, i == 0);  // an empty chunk never triggers
    if (i == 0) whole = logits_of(last[1]);
  }
  const auto streamed = logits_of(last[0]);
  ASSERT_EQ(streamed.size(), kLabels.size());

  // One pass: the decoder over text + "<<SEP>>l1<<LABEL>>...<<SEP>>" from
  // position 0, the scorer over the label sequence (opening <<SEP>> included).
  const auto config = gliclass::io::GLiClassConfig::from_file(case_dir() / "config.json");
  auto model = std::dynamic_pointer_cast<gliclass::model::DecoderKVImpl>(gliclass::model::load_model(case_dir(), config));
  const auto label_ids = tok->encode(gliclass::pipeline::decoder_kv_labels(kLabels)).ids;
  std::vector<int64_t> all = concatenated;
  all.insert(all.end(), label_ids.begin(), label_ids.end());
  c10::InferenceMode guard;
  gliclass::encoders::EncoderInput in;
  in.input_ids = torch::tensor(all, torch::kLong).unsqueeze(0);
  in.attention_mask = torch::ones_like(in.input_ids);
  auto states = model->decoder_model->forward(in).last_hidden_state;
  const auto n = static_cast<int64_t>(label_ids.size());
  auto section = states.narrow(1, static_cast<int64_t>(concatenated.size()), n);
  auto one_pass = model->scorer->forward(section, torch::tensor(label_ids, torch::kLong).unsqueeze(0), std::vector<int64_t>{n}, 0).logits;
  for (size_t k = 0; k < kLabels.size(); ++k) {
    EXPECT_NEAR(streamed[k], one_pass[0][static_cast<int64_t>(k)].item<float>(), 1e-4) << kLabels[k];
    EXPECT_NEAR(streamed[k], whole[k], 1e-4) << kLabels[k];
  }
}

TEST_F(StreamingGolden, StrategiesTriggerOnTheirChunks) {
  auto stream = open();
  auto with = [](StreamInput in, StreamStrategy s) {
    in.strategy = s;
    return in;
  };
  auto call = [&](const std::string& text) {
    return stream.push({with(chunk("n", text), StreamStrategy::every_n_tokens(6)),
                        with(chunk("dot", text), StreamStrategy::on_delimiter(".")),
                        with(chunk("never", text), StreamStrategy::never()), chunk("every", text)});
  };
  auto first = call("Hello there");  // 2 tokens
  EXPECT_FALSE(first[0].triggered);
  EXPECT_FALSE(first[1].triggered);
  EXPECT_TRUE(first[3].triggered);
  auto second = call(" my old friend.");  // 2 + 4+ tokens: n fires, "." fires
  EXPECT_GE(first[0].tokens_added + second[0].tokens_added, 6u);
  EXPECT_TRUE(second[0].triggered);
  EXPECT_TRUE(second[1].triggered);
  EXPECT_FALSE(second[2].triggered);
  EXPECT_FALSE(second[2].predictions.has_value());
  EXPECT_EQ(second[2].cached_length, second[3].cached_length);  // never still caches
  auto third = call(" again");
  EXPECT_FALSE(third[1].triggered);
  EXPECT_TRUE(third[3].triggered);
}

TEST_F(StreamingGolden, CroppingKeepsTheNewestTokensAtTheirAbsolutePositions) {
  constexpr size_t kKeep = 8;
  gliclass::StreamOptions cropped_options;
  cropped_options.max_cache_len = kKeep;
  auto cropped = open(cropped_options);
  auto windowed = open();
  StreamInput in = chunk("s", kChunks[0]);
  in.strategy = StreamStrategy::sliding_window(kKeep);
  const auto first_cropped = cropped.push({chunk("s", kChunks[0])})[0];
  const auto first_windowed = windowed.push({in})[0];
  ASSERT_GT(first_cropped.tokens_added, kKeep);
  EXPECT_EQ(first_cropped.cached_length, kKeep);
  EXPECT_EQ(first_windowed.cached_length, first_cropped.tokens_added);
  // Both score against the same 8 keys/values, rotated at their absolute
  // positions, with the labels at the same next position.
  const auto a = logits_of(first_cropped), b = logits_of(first_windowed);
  for (size_t k = 0; k < a.size(); ++k) EXPECT_NEAR(a[k], b[k], 1e-5) << kLabels[k];

  // After a second chunk (which saw only the 8 kept tokens): the same as the
  // model run by hand, positions counting on from the first chunk's end.
  const auto second = logits_of(cropped.push({chunk("s", kChunks[1])})[0]);
  auto tok = gliclass::tokenize::Tokenizer::from_dir(case_dir());
  const auto config = gliclass::io::GLiClassConfig::from_file(case_dir() / "config.json");
  auto model = std::dynamic_pointer_cast<gliclass::model::DecoderKVImpl>(gliclass::model::load_model(case_dir(), config));
  c10::InferenceMode guard;
  gliclass::encoders::Qwen3KVCache cache;
  int64_t position = 0;
  auto rows = [&](const std::vector<int64_t>& ids) {
    gliclass::model::CachedRows r;
    r.input_ids = torch::tensor(ids, torch::kLong).unsqueeze(0);
    r.lengths = {static_cast<int64_t>(ids.size())};
    r.start_positions = {position};
    r.caches = {&cache};
    return r;
  };
  for (const auto& text : {kChunks[0], kChunks[1]}) {
    const auto ids = tok->encode(text).ids;
    model->extend_caches(rows(ids));
    position += static_cast<int64_t>(ids.size());
    cache.keep_last(kKeep);
  }
  EXPECT_EQ(cache.length(), static_cast<int64_t>(kKeep));
  const auto manual = model->classify_after_caches(rows(tok->encode(gliclass::pipeline::decoder_kv_labels(kLabels)).ids), 0).logits;
  for (size_t k = 0; k < second.size(); ++k)
    EXPECT_NEAR(second[k], manual[0][static_cast<int64_t>(k)].item<float>(), 1e-5) << kLabels[k];
}

TEST_F(StreamingGolden, SessionsAbsentFromAPushAreDeleted) {
  auto stream = open();
  stream.push({chunk("a", "Hello"), chunk("b", "World")});
  EXPECT_EQ(stream.active_sessions(), (std::vector<std::string>{"a", "b"}));
  auto out = stream.push({chunk("a", " again")});
  EXPECT_EQ(stream.active_sessions(), std::vector<std::string>{"a"});
  out = stream.push({chunk("a", "!"), chunk("b", "World")});
  EXPECT_EQ(out[1].cached_length, out[1].tokens_added);  // b starts afresh
  EXPECT_TRUE(stream.delete_session("a"));
  EXPECT_FALSE(stream.delete_session("a"));
  stream.push({});
  EXPECT_TRUE(stream.active_sessions().empty());
}

TEST_F(StreamingGolden, PromptIsAOneTimePrefixAndChangingItIsAnInputError) {
  auto stream = open();
  StreamInput first = chunk("s", "");
  first.prompt = "Classify the review:";
  auto out = stream.push({first});
  EXPECT_GT(out[0].tokens_added, 0u);  // the prefix alone is cached ...
  EXPECT_FALSE(out[0].triggered);      // ... and never triggers
  StreamInput same = chunk("s", " Great camera.");
  same.prompt = first.prompt;
  out = stream.push({same});
  EXPECT_TRUE(out[0].triggered);
  const size_t cached = out[0].cached_length;
  out = stream.push({chunk("s", " Bad price.")});  // no prompt: fine
  EXPECT_GT(out[0].cached_length, cached);
  StreamInput changed = chunk("s", " More.");
  changed.prompt = "Something else:";
  try {
    stream.push({changed});
    ADD_FAILURE() << "a changed prompt was accepted";
  } catch (const gliclass::InputError& e) {
    EXPECT_TRUE(gt::contains(e.what(), "prompt or examples changed")) << e.what();
  }
  EXPECT_THROW(stream.push({chunk("x", "a"), chunk("x", "b")}), gliclass::InputError);
  EXPECT_EQ(stream.active_sessions(), std::vector<std::string>{"s"});  // nothing changed
}

TEST_F(StreamingGolden, CliAnswersEveryEventOnItsOwnLine) {
  gt::TempDir dir("stream_cli");
  dir.write("events.jsonl",
            R"({"session_id": "a", "text": "The new smartphone", "labels": ["technology", "sports"]})" "\n"
            R"({"session_id": "b", "text": "Goal!", "labels": ["sports"], "strategy": "never"})" "\n"
            R"({"session_id": "a", "text": " is great.", "labels": ["technology", "sports"], "end": true})" "\n"
            R"({"session_id": "b", "text": " Again", "labels": []})" "\n"
            R"(not json)" "\n");
  const std::string cmd = std::string(GLICLASS_CLI_PATH) + " stream --model " + case_dir().string() + " --input " +
                          (dir.path / "events.jsonl").string() + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string raw;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) raw.append(buf, n);
  const int status = pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << raw;  // bad lines are reported, the run goes on
  std::vector<nlohmann::json> lines;
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 5u) << raw;
  EXPECT_EQ(lines[0]["session_id"], "a");
  EXPECT_TRUE(lines[0]["triggered"].get<bool>());
  EXPECT_TRUE(lines[0]["predictions"].is_array());
  EXPECT_FALSE(lines[1]["triggered"].get<bool>());
  EXPECT_TRUE(lines[1]["predictions"].is_null());
  EXPECT_GT(lines[2]["cached_length"].get<size_t>(), lines[0]["cached_length"].get<size_t>());  // "a" was kept open through b's event
  EXPECT_EQ(lines[3]["line"], 4);  // empty label list
  EXPECT_TRUE(lines[3].contains("error"));
  EXPECT_EQ(lines[4]["line"], 5);
}
