// `gliclass serve` over real HTTP on loopback: every endpoint, every bad
// input (decisions.md "Inputs that are errors" plus malformed JSON, wrong
// types, oversized bodies, invalid UTF-8, missing auth), micro-batching,
// back-pressure, timeouts, graceful shutdown (in-process and by SIGTERM).
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "gliclass/gliclass.h"
#include "io/config.h"
#include "io/peft_adapter.h"
#include "model/model.h"
#include "serve/auth.h"
#include "serve/http.h"
#include "serve/json_io.h"
#include "serve/metrics.h"
#include "serve/server.h"
#include "test_util.h"

using gliclass::testing::golden_dir;
using nlohmann::json;
namespace fs = std::filesystem;
namespace serve = gliclass::serve;

namespace {

std::string model_dir() { return (golden_dir() / "deberta_first_simple_pf").string(); }

const gliclass::Classifier& classifier() {
  static const gliclass::Classifier clf = [] {
    gliclass::ClassifierOptions o;
    o.batch_size = 32;
    return gliclass::Classifier::load(model_dir(), o);
  }();
  return clf;
}

// A server on a free loopback port, run on its own thread.
class RunningServer {
 public:
  explicit RunningServer(serve::ServerOptions o = {}, const gliclass::Classifier& clf = classifier()) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.log = &log_;
    server_ = std::make_unique<serve::Server>(clf, o);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() { stop(); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5);
    c.set_read_timeout(30);
    return c;
  }
  void stop() {
    if (!thread_.joinable()) return;
    server_->stop();
    thread_.join();
  }
  // The request log, once the server has stopped.
  std::vector<json> log_lines() {
    stop();
    std::vector<json> out;
    std::istringstream in(log_.str());
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
  }
  int port() const { return port_; }

 private:
  std::ostringstream log_;
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

json post_json(httplib::Client& c, const std::string& path, const std::string& body, int expect_status) {
  auto res = c.Post(path.c_str(), body, "application/json");
  EXPECT_TRUE(res) << "no response for " << path << ": " << httplib::to_string(res.error());
  if (!res) return json();
  EXPECT_EQ(res->status, expect_status) << body.substr(0, 300) << "\n-> " << res->body;
  return json::parse(res->body);
}

gliclass::ClassifyRequest request_of(const std::string& text, const std::vector<std::string>& labels) {
  gliclass::ClassifyRequest r;
  r.text = text;
  r.labels = labels;
  return r;
}

std::string classify_body(const std::vector<std::string>& texts, const json& labels, json extra = json::object()) {
  json j = extra;
  j["texts"] = texts;
  j["labels"] = labels;
  return j.dump();
}

// A server answer equals the library's result for the same request, printed
// the way `gliclass classify` prints it.
double expect_same_result(const json& got, const gliclass::ClassifyResult& want, serve::ResultFields fields) {
  const json expect = json::parse(serve::result_to_json(want, fields).dump());
  double max_diff = 0;
  EXPECT_EQ(got.size(), expect.size()) << got.dump() << " vs " << expect.dump();
  EXPECT_EQ(got["truncated"], expect["truncated"]);
  EXPECT_EQ(got.value("warnings", json()), expect.value("warnings", json()));
  const auto& gp = got["predictions"];
  const auto& ep = expect["predictions"];
  EXPECT_EQ(gp.size(), ep.size()) << got.dump() << " vs " << expect.dump();
  // Equal up to float32 rounding of differently blocked GEMMs, as in the
  // library's own batch-invariance test (abs or relative 1e-4).
  auto same = [&](double a, double b) {
    max_diff = std::max(max_diff, std::abs(a - b));
    return gliclass::testing::close(a, b, 1e-4);
  };
  for (size_t i = 0; i < std::min(gp.size(), ep.size()); ++i) {
    EXPECT_EQ(gp[i]["label"], ep[i]["label"]);
    EXPECT_TRUE(same(gp[i]["score"].get<double>(), ep[i]["score"].get<double>())) << got.dump() << " vs " << expect.dump();
  }
  for (const char* key : {"scores", "logits"}) {
    if (!expect.contains(key)) continue;
    EXPECT_EQ(got[key].size(), expect[key].size());
    for (const auto& [label, value] : expect[key].items())
      EXPECT_TRUE(same(got[key].value(label, 1e9), value.get<double>())) << key << " " << label;
  }
  return max_diff;
}

// One number from a Prometheus text page, e.g. `gliclass_queue_depth`.
double metric(const std::string& page, const std::string& series) {
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::string metrics_page(httplib::Client& c) {
  auto res = c.Get("/metrics");
  return res && res->status == 200 ? res->body : std::string();
}

// Polls until `pred` holds, at most `tries` x 10 ms.
template <typename Pred>
bool wait_for(Pred pred, int tries = 500) {
  for (int i = 0; i < tries; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void expect_still_serving(httplib::Client& c) {
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  json ok = post_json(c, "/v1/classify", classify_body({"still here"}, {"a", "b"}), 200);
  EXPECT_EQ(ok["results"].size(), 1u);
}

}  // namespace

TEST(ServerEndpoints, HealthModelAndMetrics) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  auto c = s.client();
  for (const char* path : {"/health", "/-/healthz", "/gliclass/-/healthz"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(json::parse(res->body)["status"], "ok");
    EXPECT_FALSE(res->get_header_value("X-Request-Id").empty());
  }
  auto model = c.Get("/v1/model");
  ASSERT_TRUE(model);
  ASSERT_EQ(model->status, 200);
  json info = json::parse(model->body);
  EXPECT_EQ(info["architecture"], classifier().architecture());
  EXPECT_EQ(info["backbone"], classifier().backbone());
  EXPECT_EQ(info["max_length"], classifier().options().max_length);
  EXPECT_EQ(info["limits"]["max_texts"], serve::Limits{}.max_texts);
  EXPECT_EQ(info["batching"]["max_batch_size"], serve::ServerOptions{}.max_batch_size);

  post_json(c, "/v1/classify", classify_body({"one", "two"}, {"a", "b"}), 200);
  auto res = c.Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  const std::string& page = res->body;
  for (const char* type : {"# TYPE gliclass_requests_total counter", "# TYPE gliclass_request_duration_seconds histogram",
                           "# TYPE gliclass_batch_size histogram", "# TYPE gliclass_queue_depth gauge",
                           "# TYPE gliclass_texts_per_second gauge"})
    EXPECT_NE(page.find(type), std::string::npos) << type;
  EXPECT_EQ(metric(page, "gliclass_requests_total{endpoint=\"/v1/classify\",code=\"200\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_requests_total{endpoint=\"/health\",code=\"200\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_texts_total"), 2);
  EXPECT_EQ(metric(page, "gliclass_request_duration_seconds_count"), 1);
  EXPECT_EQ(metric(page, "gliclass_queue_depth"), 0);
}

TEST(ServerEndpoints, ClassifyMatchesTheLibrary) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  auto c = s.client();
  const std::vector<std::string> texts = {"The match ended in a draw after extra time.",
                                          "Parliament passed the budget late on Friday.", "",
                                          "A new phone with a faster chip and a bigger battery."};
  const std::vector<std::string> labels = {"sports", "politics", "technology", "weather"};
  json got = post_json(c, "/v1/classify",
                       classify_body(texts, labels, {{"all_scores", true}, {"logits", true}, {"threshold", 0.3}}), 200);
  ASSERT_EQ(got["results"].size(), texts.size());
  double max_diff = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    gliclass::ClassifyRequest r = request_of(texts[i], labels);
    r.threshold = 0.3f;
    max_diff = std::max(max_diff, expect_same_result(got["results"][i], classifier().classify(r), {true, true}));
  }
  std::cout << "[ server vs library ] max |diff| = " << max_diff << "\n";
  // Without all_scores the answer carries predictions only.
  json plain = post_json(c, "/v1/classify", classify_body({texts[0]}, labels), 200);
  EXPECT_FALSE(plain["results"][0].contains("scores"));
  expect_same_result(plain["results"][0], classifier().classify(request_of(texts[0], labels)), {});
}

TEST(ServerEndpoints, PerTextLabelsThresholdsPromptsExamplesAndSingleLabel) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  auto c = s.client();
  const std::vector<std::string> texts = {"I loved the food but the service was slow.", "Stocks fell sharply."};
  const json per_text = {{"positive", "negative", "mixed"}, {"finance", "sports"}};
  const json examples = {{{"text", "Great value."}, {"labels", {"positive"}}}};
  json got = post_json(c, "/v1/classify",
                       classify_body(texts, per_text,
                                     {{"threshold", {0.1, 0.9}},
                                      {"prompt", "Classify the text:"},
                                      {"examples", examples},
                                      {"all_scores", true}}),
                       200);
  ASSERT_EQ(got["results"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    gliclass::ClassifyRequest r = request_of(texts[i], per_text[i].get<std::vector<std::string>>());
    r.threshold = i == 0 ? 0.1f : 0.9f;
    r.prompt = "Classify the text:";
    r.examples = {{"Great value.", {"positive"}}};
    expect_same_result(got["results"][i], classifier().classify(r), {true, false});
  }
  // Single-label: one prediction, a softmax over the text's own labels.
  json single = post_json(c, "/v1/classify",
                          classify_body({texts[0]}, {"positive", "negative"}, {{"multi_label", false}, {"all_scores", true}}),
                          200);
  gliclass::ClassifyRequest r = request_of(texts[0], {"positive", "negative"});
  r.type = gliclass::ClassificationType::kSingleLabel;
  expect_same_result(single["results"][0], classifier().classify(r), {true, false});
  EXPECT_EQ(single["results"][0]["predictions"].size(), 1u);
  double total = 0;
  for (const auto& [label, p] : single["results"][0]["scores"].items()) total += p.get<double>();
  EXPECT_NEAR(total, 1.0, 1e-5);
  // A label tree is flattened as the CLI does.
  json tree = post_json(c, "/v1/classify",
                        classify_body({"x"}, {{"topic", {"sports", "politics"}}}, {{"all_scores", true}}), 200);
  EXPECT_TRUE(tree["results"][0]["scores"].contains("topic.sports"));
}

TEST(ServerEndpoints, RacExamplesAndLongTextWindows) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.classify.chunking.size = 120;  // characters per window, for every request
  RunningServer s(o);
  auto c = s.client();
  const std::vector<std::string> labels = {"billing", "shipping"};
  const json rac = {{{"text", "Charged twice."}, {"true_labels", {"billing"}}, {"all_labels", {"billing", "shipping"}}}};
  const std::string long_text =
      "The parcel left the warehouse on Monday. It was stuck in customs for a week. Then the courier lost it, "
      "and the shop charged my card a second time for the replacement, which also has not arrived yet.";
  // Shared RAC examples, then one list per text.
  for (const json& field : {rac, json{rac, json::array()}}) {
    json got = post_json(c, "/v1/classify",
                         classify_body({long_text, "Where is my order?"}, labels,
                                       {{"rac_examples", field}, {"all_scores", true}}),
                         200);
    ASSERT_EQ(got["results"].size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      gliclass::ClassifyRequest r = request_of(i == 0 ? long_text : "Where is my order?", labels);
      if (field[0].is_object() || i == 0) r.rac_examples = {{"Charged twice.", {"billing"}, {"billing", "shipping"}}};
      expect_same_result(got["results"][i], classifier().classify(r, o.classify), {true, false});
    }
    EXPECT_GT(got["results"][0]["windows"].get<int>(), 1);
    EXPECT_EQ(got["results"][1]["windows"], 1);
    EXPECT_EQ(got["results"][0]["label_groups"], 1);
  }
  // The reference's endpoint takes them too.
  json ref = post_json(c, "/gliclass", json{{"text", "Where is my order?"}, {"labels", labels}, {"rac_examples", rac},
                                            {"threshold", 0.0}}.dump(), 200);
  EXPECT_EQ(ref.size(), 2u);
  post_json(c, "/v1/classify", classify_body({"a"}, labels, {{"rac_examples", {{{"text", 5}}}}}), 400);
  post_json(c, "/v1/classify", classify_body({"a", "b"}, labels, {{"rac_examples", {rac, rac, rac}}}), 400);
}

TEST(ServerEndpoints, ReferenceGliclassEndpoint) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  auto c = s.client();
  const std::string text = "This is a great product! I love it.";
  const std::vector<std::string> labels = {"positive", "negative", "neutral"};
  // The reference client's payload: "texts" as a list (first item used), threshold, multi_label.
  json got = post_json(c, "/gliclass",
                       json{{"texts", {text, "ignored"}}, {"labels", labels}, {"threshold", 0.0}, {"multi_label", true}}
                           .dump(),
                       200);
  ASSERT_TRUE(got.is_array());
  gliclass::ClassifyRequest r = request_of(text, labels);
  r.threshold = 0.0f;
  const auto want = classifier().classify(r);
  ASSERT_EQ(got.size(), want.predictions.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].size(), 2u);  // exactly {"label", "score"}
    EXPECT_EQ(got[i]["label"], want.predictions[i].label);
    EXPECT_NEAR(got[i]["score"].get<double>(), want.predictions[i].score, 1e-5);
  }
  // "text" as a string, single-label, the base adapter.
  json single = post_json(
      c, "/gliclass",
      json{{"text", text}, {"labels", labels}, {"multi_label", false}, {"adapter_id", "__base__"}}.dump(), 200);
  EXPECT_EQ(single.size(), 1u);
  // No adapters here: an unknown adapter is a 404, as in the reference without mLoRA.
  json missing = post_json(c, "/gliclass", json{{"text", text}, {"labels", labels}, {"adapter_id", "x1"}}.dump(), 404);
  EXPECT_NE(missing["error"].get<std::string>().find("x1"), std::string::npos);
  auto cache = c.Get("/gliclass/adapter-cache");
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->status, 200);
  EXPECT_EQ(json::parse(cache->body)["enabled"], false);
}

TEST(ServerEndpoints, TwoLoraAdaptersEachScoreTheirOwnRequests) {
  GLICLASS_REQUIRE_GOLDEN();
  // Two random adapters (B != 0) over the base model, in PEFT layout.
  gliclass::testing::TempDir d1("srv_lora1"), d2("srv_lora2");
  const auto config = gliclass::io::GLiClassConfig::from_file(fs::path(model_dir()) / "config.json");
  auto model = gliclass::model::load_model(model_dir(), config);
  for (const auto* dir : {&d1, &d2}) {
    gliclass::io::PeftAdapter a;
    a.config.r = 2;
    a.config.lora_alpha = 4;
    for (const auto& item : model->named_parameters())
      if (item.key().find("attention.self.value_proj.weight") != std::string::npos) {
        const auto module = item.key().substr(0, item.key().size() - std::string(".weight").size());
        const auto& w = item.value();
        a.layers["model." + module] = {torch::randn({2, w.size(1)}), torch::randn({w.size(0), 2}), 2.0};
      }
    gliclass::io::write_peft_adapter(dir->path, a);
  }
  gliclass::ClassifierOptions copts;
  copts.adapters = {{"support-v1", d1.path.string()}, {"support-v2", d2.path.string()}};
  copts.batch_size = 32;
  const auto clf = gliclass::Classifier::load(model_dir(), copts);
  RunningServer s({}, clf);
  auto c = s.client();
  const std::vector<std::string> labels = {"billing", "shipping", "other"};
  const std::string text = "My card was charged twice for one parcel.";
  for (const std::string id : {"support-v1", "support-v2", "__base__"}) {
    json got = post_json(c, "/v1/classify", classify_body({text}, labels, {{"adapter_id", id}, {"all_scores", true}}), 200);
    auto r = request_of(text, labels);
    r.adapter_id = id;
    expect_same_result(got["results"][0], clf.classify(r), {true, false});
    json ref = post_json(c, "/gliclass", json{{"text", text}, {"labels", labels}, {"threshold", 0.0},
                                              {"adapter_id", id}}.dump(), 200);
    ASSERT_EQ(ref.size(), 3u);
  }
  const auto v1 = clf.classify([&] { auto r = request_of(text, labels); r.adapter_id = "support-v1"; return r; }());
  const auto v2 = clf.classify([&] { auto r = request_of(text, labels); r.adapter_id = "support-v2"; return r; }());
  EXPECT_GT(std::abs(v1.logits[0] - v2.logits[0]), 1e-4) << "two different adapters gave the same logits";
  json missing = post_json(c, "/v1/classify", classify_body({text}, labels, {{"adapter_id", "support-v3"}}), 404);
  EXPECT_NE(missing["error"].get<std::string>().find("support-v3"), std::string::npos);
  auto status = c.Get("/gliclass/adapter-cache?adapter_id=support-v2");
  ASSERT_TRUE(status);
  EXPECT_EQ(status->status, 200);
  const json st = json::parse(status->body);
  EXPECT_EQ(st["enabled"], true);
  EXPECT_EQ(st["adapters"], json({"support-v1", "support-v2"}));
  EXPECT_EQ(st["loaded"], true);
  auto unknown = c.Get("/gliclass/adapter-cache?adapter_id=nope");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
}

TEST(ServerEndpoints, UnknownPathsAndWrongMethodsGetJsonErrors) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  auto c = s.client();
  auto nf = c.Get("/nope");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_NE(json::parse(nf->body)["error"].get<std::string>().find("/nope"), std::string::npos);
  auto get_classify = c.Get("/v1/classify");
  ASSERT_TRUE(get_classify);
  EXPECT_EQ(get_classify->status, 405);
  EXPECT_EQ(get_classify->get_header_value("Allow"), "POST");
  EXPECT_TRUE(json::parse(get_classify->body).contains("error"));
  post_json(c, "/health", "{}", 405);
  expect_still_serving(c);
}

TEST(ServerErrors, BadInputsGetTheirStatusAndAMessage) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.limits.max_texts = 4;
  o.limits.max_labels = 8;
  o.limits.max_text_bytes = 1000;
  o.limits.max_body_bytes = 16384;
  RunningServer s(o);
  auto c = s.client();
  std::string deep = "\"leaf\"";
  for (int i = 0; i < 40; ++i) deep = "{\"k\": " + deep + "}";
  struct Case {
    const char* path;
    std::string body;
    int status;
    std::string message;  // a part of the error message
  };
  const std::vector<Case> cases = {
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"])", 400, "not valid JSON"},
      {"/v1/classify", "", 400, "not valid JSON"},
      {"/v1/classify", "[1, 2]", 400, "JSON object"},
      {"/v1/classify", R"({"labels": ["x"]})", 400, "missing field 'texts'"},
      {"/v1/classify", R"({"texts": "a", "labels": ["x"]})", 400, "'texts' must be a list"},
      {"/v1/classify", R"({"texts": [1], "labels": ["x"]})", 400, "texts[0]"},
      {"/v1/classify", R"({"texts": ["a"]})", 400, "missing field 'labels'"},
      {"/v1/classify", R"({"texts": ["a"], "labels": "x"})", 400, "'labels'"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x", 3]})", 400, "expected a string"},
      {"/v1/classify", R"({"texts": ["a"], "labels": {"topic": 5}})", 400, "label tree"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"], "threshold": "high"})", 400, "'threshold' must be a number"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"], "multi_label": "yes"})", 400, "'multi_label'"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"], "prompt": 3})", 400, "'prompt'"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"], "examples": [{"text": 1}]})", 400, "examples[0]"},
      {"/v1/classify", R"({"texts": ["a", "b"], "labels": [["x"]]})", 400, "1 label lists for 2 texts"},
      {"/v1/classify", R"({"texts": ["a", "b"], "labels": ["x"], "threshold": [0.5]})", 400, "1 numbers for 2"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"], "threshold": 1.5})", 422, "threshold must be in [0, 1]"},
      {"/v1/classify", R"({"texts": ["a"], "labels": []})", 422, "label list is empty"},
      {"/v1/classify", R"({"texts": ["a", "b"], "labels": [["x"], []]})", 422, "texts[1]"},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x", ""]})", 422, "label 1 is empty"},
      {"/v1/classify", R"({"texts": [], "labels": ["x"]})", 422, "'texts' is empty"},
      {"/v1/classify", "{\"texts\": [\"bad \xff byte\"], \"labels\": [\"x\"]}", 400, "UTF-8"},
      {"/v1/classify", "{\"texts\": [\"a\"], \"labels\": [\"\xc3\x28\"]}", 400, "UTF-8"},
      {"/v1/classify", R"({"texts": ["\ud800"], "labels": ["x"]})", 400, "not valid JSON"},
      {"/v1/classify", R"({"texts": ["a"], "labels": )" + deep + "}", 400, "nests deeper"},
      {"/v1/classify", classify_body({"1", "2", "3", "4", "5"}, {"x"}), 413, "5 texts, more than the limit of 4"},
      {"/v1/classify", classify_body({"a"}, {"1", "2", "3", "4", "5", "6", "7", "8", "9"}), 413,
       "9 labels, more than the limit of 8"},
      {"/v1/classify", classify_body({std::string(1001, 'a')}, {"x"}), 413, "1001 bytes, more than the limit"},
      {"/v1/classify", classify_body({"a"}, {"x"}, {{"prompt", std::string(1001, 'p')}}), 413, "the prompt"},
      {"/v1/classify", classify_body({"a"}, {"x"}, {{"pad", std::string(20000, ' ')}}), 413, "larger than the limit"},
      {"/gliclass", R"({"labels": ["x"]})", 400, "missing field 'text'"},
      {"/gliclass", R"({"text": "a"})", 400, "missing field 'labels'"},
      {"/gliclass", R"({"text": 5, "labels": ["x"]})", 400, "'text'"},
      {"/gliclass", R"({"text": "a", "labels": []})", 422, "label list is empty"},
      {"/gliclass", R"({"text": "a", "labels": ["x"], "adapter_id": 7})", 400, "'adapter_id'"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.body.substr(0, 120));
    json err = post_json(c, k.path, k.body, k.status);
    ASSERT_TRUE(err.is_object() && err.contains("error")) << err.dump();
    EXPECT_NE(err["error"].get<std::string>().find(k.message), std::string::npos) << err["error"];
    expect_still_serving(c);
  }
}

TEST(ServerErrors, DuplicateLabelsWarnAndEmptyTextIsValid) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  auto c = s.client();
  json got = post_json(c, "/v1/classify", classify_body({""}, {"a", "b", "a"}, {{"all_scores", true}}), 200);
  const json& r = got["results"][0];
  EXPECT_EQ(r["scores"].size(), 2u);
  ASSERT_EQ(r["warnings"].size(), 1u);
  EXPECT_NE(r["warnings"][0].get<std::string>().find("duplicate"), std::string::npos);
}

TEST(ServerErrors, ChunkedAndCompressedBodiesAreBoundedToo) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.limits.max_body_bytes = 4096;
  RunningServer s(o);
  {
    // Chunked (no Content-Length): the limit applies while reading.
    auto c = s.client();
    const std::string chunk(1024, ' ');
    auto res = c.Post(
        "/v1/classify",
        [&](size_t offset, httplib::DataSink& sink) {
          if (offset < 3 * 4096)
            sink.write(chunk.data(), chunk.size());
          else
            sink.done();
          return true;
        },
        "application/json");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 413);
    EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("4096"), std::string::npos);
  }
  {
    // gzip: the limit applies to the decompressed body.
    auto c = s.client();
    c.set_compress(true);
    auto small = c.Post("/v1/classify", classify_body({"zipped"}, {"a", "b"}), "application/json");
    ASSERT_TRUE(small);
    EXPECT_EQ(small->status, 200) << small->body;
    auto bomb = c.Post("/v1/classify", classify_body({"a"}, {"b"}, {{"pad", std::string(200000, ' ')}}),
                       "application/json");
    ASSERT_TRUE(bomb);
    EXPECT_EQ(bomb->status, 413);
  }
  auto c = s.client();
  expect_still_serving(c);
}

TEST(ServerAuth, BearerKeyIsRequiredExceptForHealth) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.api_key = "s3cret-key";
  RunningServer s(o);
  auto c = s.client();
  const std::string body = classify_body({"a"}, {"x", "y"});
  auto none = c.Post("/v1/classify", body, "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_NE(json::parse(none->body)["error"].get<std::string>().find("missing API key"), std::string::npos);
  for (const char* bad : {"Bearer wrong", "Bearer s3cret-keyX", "Basic czNjcmV0LWtleQ==", "s3cret-key"}) {
    auto res = c.Post("/v1/classify", {{"Authorization", bad}}, body, "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << bad;
    EXPECT_NE(json::parse(res->body)["error"].get<std::string>().find("invalid API key"), std::string::npos);
  }
  for (const char* path : {"/metrics", "/v1/model"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << path;
  }
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  const httplib::Headers auth = {{"Authorization", "Bearer s3cret-key"}};
  auto ok = c.Post("/v1/classify", auth, body, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  auto ok_ref = c.Post("/gliclass", auth, json{{"text", "a"}, {"labels", {"x"}}}.dump(), "application/json");
  ASSERT_TRUE(ok_ref);
  EXPECT_EQ(ok_ref->status, 200);
  auto model = c.Get("/v1/model", auth);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->status, 200);
  EXPECT_EQ(json::parse(model->body)["auth"], true);
}

TEST(ServerAuth, ApiKeyFileIsTrimmedAndMustHoldAKey) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto good = dir / "gliclass_server_test_key.txt";
  std::ofstream(good) << "  abc123\n";
  EXPECT_EQ(serve::read_api_key_file(good.string()), "abc123");
  const auto empty = dir / "gliclass_server_test_empty_key.txt";
  std::ofstream(empty) << "\n \n";
  EXPECT_THROW(serve::read_api_key_file(empty.string()), gliclass::InputError);
  EXPECT_THROW(serve::read_api_key_file((dir / "gliclass_no_such_key_file").string()), gliclass::InputError);
  EXPECT_TRUE(serve::bearer_matches("Bearer abc123", "abc123"));
  EXPECT_FALSE(serve::bearer_matches("Bearer abc12", "abc123"));
  EXPECT_FALSE(serve::bearer_matches("bearer abc123", "abc123"));
  EXPECT_FALSE(serve::bearer_matches("Bearer ", ""));
}

TEST(ServerBatching, ConcurrentRequestsAreMergedIntoOneModelCall) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.max_batch_size = 4;
  o.batch_wait_ms = 3000;  // the batch closes when 4 texts are queued, long before this
  RunningServer s(o);
  std::vector<json> answers(4);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      auto c = s.client();
      answers[i] = post_json(c, "/v1/classify", classify_body({"text number " + std::to_string(i)}, {"a", "b"}), 200);
    });
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto c = s.client();
  const std::string page = metrics_page(c);
  EXPECT_EQ(metric(page, "gliclass_batch_size_count"), 1) << page;
  EXPECT_EQ(metric(page, "gliclass_batch_size_sum"), 4);
  EXPECT_LT(secs, 3.0);  // did not wait out batch_wait: the full batch went at once
  for (int i = 0; i < 4; ++i)
    expect_same_result(answers[i]["results"][0], classifier().classify(request_of("text number " + std::to_string(i), {"a", "b"})),
                       {});
}

TEST(ServerBatching, ManyClientsGetTheSameResultsAsSequentialCalls) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.max_batch_size = 16;
  o.batch_wait_ms = 10;
  RunningServer s(o);
  const std::vector<std::vector<std::string>> label_sets = {
      {"sports", "politics"}, {"happy", "sad", "angry"}, {"a", "b", "c", "d"}, {"urgent"}};
  auto request = [&](int client, int k) {
    std::vector<std::string> texts;
    for (int t = 0; t <= (client + k) % 3; ++t)
      texts.push_back("client " + std::to_string(client) + " request " + std::to_string(k) + " part " +
                      std::to_string(t) + std::string(static_cast<size_t>((client * 7 + k) % 40), '!'));
    return classify_body(texts, label_sets[static_cast<size_t>(client + k) % label_sets.size()],
                         {{"all_scores", true}});
  };
  constexpr int kClients = 16, kPerClient = 5;
  std::vector<std::vector<json>> sequential(kClients), concurrent(kClients);
  {
    auto c = s.client();
    for (int i = 0; i < kClients; ++i)
      for (int k = 0; k < kPerClient; ++k) sequential[i].push_back(post_json(c, "/v1/classify", request(i, k), 200));
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i)
    threads.emplace_back([&, i] {
      auto c = s.client();
      for (int k = 0; k < kPerClient; ++k) concurrent[i].push_back(post_json(c, "/v1/classify", request(i, k), 200));
    });
  for (auto& t : threads) t.join();
  double max_diff = 0;
  for (int i = 0; i < kClients; ++i)
    for (int k = 0; k < kPerClient; ++k) {
      const auto& a = sequential[i][k]["results"];
      const auto& b = concurrent[i][k]["results"];
      ASSERT_EQ(a.size(), b.size());
      for (size_t t = 0; t < a.size(); ++t) {
        ASSERT_EQ(a[t]["predictions"].size(), b[t]["predictions"].size());
        for (size_t p = 0; p < a[t]["predictions"].size(); ++p)
          EXPECT_EQ(a[t]["predictions"][p]["label"], b[t]["predictions"][p]["label"]);
        for (const auto& [label, p] : a[t]["scores"].items()) {
          const double q = b[t]["scores"].value(label, 1e9);
          max_diff = std::max(max_diff, std::abs(p.get<double>() - q));
          EXPECT_TRUE(gliclass::testing::close(p.get<double>(), q, 1e-4)) << label;
        }
      }
    }
  std::cout << "[ concurrent vs sequential ] max |diff| = " << max_diff << "\n";
  auto c = s.client();
  const std::string page = metrics_page(c);
  EXPECT_EQ(metric(page, "gliclass_requests_total{endpoint=\"/v1/classify\",code=\"200\"}"), 2 * kClients * kPerClient);
  EXPECT_EQ(metric(page, "gliclass_queue_depth"), 0);
}

TEST(ServerBatching, FullQueueGets503AndTheQueuedRequestStillCompletes) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.max_queue = 4;
  o.limits.max_texts = 4;
  o.max_batch_size = 8;
  o.batch_wait_ms = 1500;  // the first request waits in the queue meanwhile
  RunningServer s(o);
  json first;
  std::thread t([&] {
    auto c = s.client();
    first = post_json(c, "/v1/classify", classify_body({"1", "2", "3"}, {"a"}), 200);
  });
  auto c = s.client();
  ASSERT_TRUE(wait_for([&] { return metric(metrics_page(c), "gliclass_queue_depth") == 3; }));
  auto full = c.Post("/v1/classify", classify_body({"4", "5"}, {"a"}), "application/json");
  ASSERT_TRUE(full);
  EXPECT_EQ(full->status, 503);
  EXPECT_EQ(full->get_header_value("Retry-After"), "1");
  EXPECT_NE(json::parse(full->body)["error"].get<std::string>().find("queue is full"), std::string::npos);
  t.join();
  EXPECT_EQ(first["results"].size(), 3u);
  expect_still_serving(c);
}

TEST(ServerBatching, TimeoutGets503AndTheServerGoesOn) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  // The full batch below must finish within the timeout even on a loaded machine.
  o.request_timeout_ms = 2000;
  o.batch_wait_ms = 60000;
  o.max_batch_size = 4;
  RunningServer s(o);
  auto c = s.client();
  json late = post_json(c, "/v1/classify", classify_body({"alone"}, {"a"}), 503);
  EXPECT_NE(late["error"].get<std::string>().find("timed out"), std::string::npos);
  // A full batch goes at once; the abandoned text is dropped, not classified.
  json full = post_json(c, "/v1/classify", classify_body({"1", "2", "3", "4"}, {"a", "b"}), 200);
  EXPECT_EQ(full["results"].size(), 4u);
  const std::string page = metrics_page(c);
  EXPECT_EQ(metric(page, "gliclass_texts_total"), 4);
  EXPECT_EQ(metric(page, "gliclass_requests_total{endpoint=\"/v1/classify\",code=\"503\"}"), 1);
}

TEST(ServerShutdown, StopFinishesRequestsInFlight) {
  GLICLASS_REQUIRE_GOLDEN();
  serve::ServerOptions o;
  o.batch_wait_ms = 800;
  o.max_batch_size = 64;
  RunningServer s(o);
  json answer;
  std::thread t([&] {
    auto c = s.client();
    answer = post_json(c, "/v1/classify", classify_body({"in flight", "too"}, {"a", "b"}), 200);
  });
  auto c = s.client();
  ASSERT_TRUE(wait_for([&] { return metric(metrics_page(c), "gliclass_in_flight_requests") == 1; }));
  s.stop();  // returns once the request above has its answer
  t.join();
  EXPECT_EQ(answer["results"].size(), 2u);
  auto after = s.client().Get("/health");
  EXPECT_FALSE(after);  // nothing listens any more
}

TEST(ServerLog, OneJsonLinePerRequestWithItsId) {
  GLICLASS_REQUIRE_GOLDEN();
  RunningServer s;
  std::string bad_id, evil_id, missing_id;
  {
    auto c = s.client();
    auto ok = c.Post("/v1/classify", {{"X-Request-Id", "my-request-1"}}, classify_body({"a", "b"}, {"x"}),
                     "application/json");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->get_header_value("X-Request-Id"), "my-request-1");
    auto bad = c.Post("/v1/classify", "{", "application/json");
    ASSERT_TRUE(bad);
    bad_id = bad->get_header_value("X-Request-Id");
    EXPECT_EQ(bad_id.size(), 16u);  // generated
    auto evil = c.Get("/health", {{"X-Request-Id", "has spaces and \"quotes\""}});
    ASSERT_TRUE(evil);
    evil_id = evil->get_header_value("X-Request-Id");
    EXPECT_EQ(evil_id.size(), 16u);  // not echoed: replaced by a generated one
    auto missing = c.Get("/missing");
    ASSERT_TRUE(missing);
    missing_id = missing->get_header_value("X-Request-Id");
  }
  // Lines are written as responses finish; look them up by id.
  std::map<std::string, json> by_id;
  for (const auto& l : s.log_lines()) {
    for (const char* key : {"time", "id", "method", "path", "status", "ms", "remote"})
      EXPECT_TRUE(l.contains(key)) << key << " in " << l.dump();
    by_id[l["id"].get<std::string>()] = l;
  }
  ASSERT_EQ(by_id.size(), 4u);
  ASSERT_TRUE(by_id.count("my-request-1") && by_id.count(bad_id) && by_id.count(evil_id) && by_id.count(missing_id));
  EXPECT_EQ(by_id["my-request-1"]["status"], 200);
  EXPECT_EQ(by_id["my-request-1"]["texts"], 2);
  EXPECT_EQ(by_id[bad_id]["status"], 400);
  EXPECT_NE(by_id[bad_id]["error"].get<std::string>().find("JSON"), std::string::npos);
  EXPECT_EQ(by_id[evil_id]["path"], "/health");
  EXPECT_EQ(by_id[missing_id]["status"], 404);
}

TEST(ServerMetrics, PrometheusTextFormat) {
  serve::Metrics m;
  m.record_request("/v1/classify", 200, 0.003);
  m.record_request("/v1/classify", 422, 0.001);
  m.record_batch(3, 0.01);
  const std::string page = m.render({5, 2});
  EXPECT_EQ(metric(page, "gliclass_requests_total{endpoint=\"/v1/classify\",code=\"200\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_requests_total{endpoint=\"/v1/classify\",code=\"422\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_batch_size_bucket{le=\"2\"}"), 0);
  EXPECT_EQ(metric(page, "gliclass_batch_size_bucket{le=\"4\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_batch_size_bucket{le=\"+Inf\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_batch_size_sum"), 3);
  EXPECT_EQ(metric(page, "gliclass_request_duration_seconds_bucket{le=\"0.001\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_request_duration_seconds_bucket{le=\"0.0025\"}"), 1);
  EXPECT_EQ(metric(page, "gliclass_request_duration_seconds_bucket{le=\"0.005\"}"), 2);
  EXPECT_EQ(metric(page, "gliclass_queue_depth"), 5);
  EXPECT_EQ(metric(page, "gliclass_in_flight_requests"), 2);
  EXPECT_EQ(metric(page, "gliclass_texts_total"), 3);
  // Every sample line: name{labels} value.
  const std::regex sample(R"(^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (\+Inf|[-+0-9.e]+)$)");
  std::istringstream in(page);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("#", 0) != 0) {
      EXPECT_TRUE(std::regex_match(line, sample)) << line;
    }
}

// The real binary: SIGTERM while a request waits in the batcher; the request
// still gets its answer and the process exits 0.
TEST(ServerShutdown, SigtermFinishesInFlightAndExitsZero) {
  GLICLASS_REQUIRE_GOLDEN();
  const std::string cli = GLICLASS_CLI_PATH;
  if (access(cli.c_str(), X_OK) != 0) GTEST_SKIP() << "the CLI is not built at " << cli;
  int err_pipe[2];
  ASSERT_EQ(pipe(err_pipe), 0);
  const std::string model = model_dir();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    close(err_pipe[0]);
    close(err_pipe[1]);
    const int null_fd = open("/dev/null", O_WRONLY);
    dup2(null_fd, 1);
    execl(cli.c_str(), cli.c_str(), "serve", "--model", model.c_str(), "--port", "0", "--batch-wait-ms", "800",
          "--max-batch-size", "64", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(err_pipe[1]);
  // Read stderr lines until the "listening" event gives the port (60 s at most).
  std::string buffer;
  int port = 0;
  std::vector<json> events;
  auto read_lines = [&](int timeout_ms) {
    pollfd p{err_pipe[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(err_pipe[0], chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      const std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (!line.empty() && line[0] == '{') events.push_back(json::parse(line));
    }
    return true;
  };
  for (int i = 0; i < 600 && port == 0; ++i) {
    read_lines(100);
    for (const auto& e : events)
      if (e.value("event", "") == "listening") port = e["port"].get<int>();
  }
  if (port == 0) kill(pid, SIGKILL);
  ASSERT_NE(port, 0) << "the server did not report its port";

  json answer;
  int status_code = 0;
  std::thread request([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30);
    auto res = c.Post("/v1/classify", classify_body({"finish me"}, {"a", "b"}), "application/json");
    if (res) {
      status_code = res->status;
      answer = json::parse(res->body);
    }
  });
  httplib::Client probe("127.0.0.1", port);
  const bool in_flight =
      wait_for([&] { return metric(metrics_page(probe), "gliclass_in_flight_requests") == 1; });
  kill(pid, SIGTERM);
  request.join();
  EXPECT_TRUE(in_flight);
  EXPECT_EQ(status_code, 200) << answer.dump();
  EXPECT_EQ(answer["results"].size(), 1u);

  int wstatus = 0;
  bool exited = false;
  for (int i = 0; i < 300 && !exited; ++i) {
    exited = waitpid(pid, &wstatus, WNOHANG) == pid;
    if (!exited) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!exited) {
    kill(pid, SIGKILL);
    waitpid(pid, &wstatus, 0);
  }
  while (read_lines(100)) {
  }
  close(err_pipe[0]);
  ASSERT_TRUE(exited) << "the server did not exit within 15 s of SIGTERM";
  EXPECT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  bool stopped = false;
  for (const auto& e : events) stopped = stopped || e.value("event", "") == "stopped";
  EXPECT_TRUE(stopped);
}
