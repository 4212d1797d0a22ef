// Load test of `gliclass serve` on loopback: many concurrent clients for a
// bounded time, valid requests mixed with bad ones. Every valid answer is
// checked against the library's own result for the same input (printed the
// way `gliclass classify` prints it); every bad one must get its 4xx. Runs
// twice, with --max-batch-size N and with 1, and prints batching's gain.
//
//   bench_server --model DIR [--seconds 30] [--clients 64] [--max-batch-size 32]
//                [--batch-wait-ms 5] [--bad-every 8] [--cli build/gliclass]
//
// One JSON object per phase, then a summary; exit code 1 if any valid request
// was dropped or answered wrongly, or any bad one got the wrong status.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "gliclass/gliclass.h"
#include "runtime/allocator.h"
#include "serve/http.h"
#include "serve/json_io.h"
#include "serve/server.h"

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;
namespace serve = gliclass::serve;

// Equal up to float32 rounding of differently blocked GEMMs (the library's
// batch-invariance tolerance): |a-b| <= tol, absolute or relative.
constexpr double kTolerance = 1e-4;
bool close(double a, double b) {
  const double d = std::abs(a - b);
  return d <= kTolerance || d <= kTolerance * std::max(std::abs(a), std::abs(b));
}

// One valid request of the pool, with the answer the library gives.
struct Sample {
  std::string path;  // /v1/classify or /gliclass
  std::string body;
  size_t texts = 0;
  std::vector<json> expected;  // per text, result_to_json of the library's result
};

struct BadSample {
  std::string path;
  std::string body;
  int status = 0;
};

const char* const kWords[] = {
    "the", "market", "team", "won", "lost", "policy", "new", "phone", "battery", "rain", "storm", "doctor",
    "hospital", "vaccine", "court", "judge", "ruling", "election", "vote", "price", "rose", "fell", "sharply",
    "after", "before", "during", "the", "season", "final", "goal", "stadium", "crowd", "engine", "software",
    "update", "bug", "release", "movie", "actor", "award", "festival", "music", "album", "tour", "bank",
    "rates", "inflation", "school", "students", "exam", "river", "flood", "city", "council", "budget", "a",
    "very", "quite", "not", "and", "but", "because", "😀", "naïve", "café", "über"};
const char* const kLabels[] = {"sports", "politics", "technology", "health", "finance", "weather", "law",
                               "entertainment", "education", "science", "travel", "food", "music", "business",
                               "crime", "environment", "religion", "fashion", "gaming", "automotive"};

std::string sentence(std::mt19937& rng) {
  std::uniform_int_distribution<size_t> len(3, 60), word(0, std::size(kWords) - 1);
  std::string s;
  for (size_t i = 0, n = len(rng); i < n; ++i) s += (i ? " " : "") + std::string(kWords[word(rng)]);
  return s + ".";
}

std::vector<std::string> label_set(std::mt19937& rng) {
  std::vector<std::string> all(std::begin(kLabels), std::end(kLabels));
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(std::uniform_int_distribution<size_t>(2, 8)(rng));
  return all;
}

// Valid requests of both endpoints and every option, answered by the library directly.
std::vector<Sample> make_pool(const gliclass::Classifier& clf, size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Sample> pool;
  for (size_t i = 0; i < n; ++i) {
    Sample s;
    const bool reference = i % 5 == 4;
    s.path = reference ? "/gliclass" : "/v1/classify";
    s.texts = reference ? 1 : std::uniform_int_distribution<size_t>(1, 4)(rng);
    const auto labels = label_set(rng);
    std::vector<gliclass::ClassifyRequest> reqs(s.texts);
    json body = json::object();
    for (auto& r : reqs) {
      r.text = sentence(rng);
      r.labels = labels;
    }
    if (i % 3 == 1) {
      for (auto& r : reqs) r.threshold = 0.3f;
      body["threshold"] = 0.3;
    }
    if (i % 4 == 2) {
      for (auto& r : reqs) r.type = gliclass::ClassificationType::kSingleLabel;
      body["multi_label"] = false;
    }
    if (i % 7 == 3) {
      for (auto& r : reqs) r.prompt = "Classify the topic of this text:";
      body["prompt"] = "Classify the topic of this text:";
    }
    body["labels"] = labels;
    const serve::ResultFields fields{!reference && i % 2 == 0, false};
    if (reference) {
      body["text"] = reqs[0].text;
    } else {
      body["texts"] = json::array();
      for (const auto& r : reqs) body["texts"].push_back(r.text);
      body["all_scores"] = fields.scores;
    }
    s.body = body.dump();
    for (const auto& r : reqs) s.expected.push_back(json::parse(serve::result_to_json(clf.classify(r), fields).dump()));
    pool.push_back(std::move(s));
  }
  return pool;
}

std::vector<BadSample> make_bad(const serve::Limits& limits) {
  std::vector<std::string> many_labels;
  for (size_t i = 0; i <= limits.max_labels; ++i) many_labels.push_back("label " + std::to_string(i));
  return {
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"])", 400},
      {"/v1/classify", R"({"texts": ["a"], "labels": []})", 422},
      {"/v1/classify", R"({"texts": "a", "labels": ["x"]})", 400},
      {"/v1/classify", "{\"texts\": [\"bad \xff\"], \"labels\": [\"x\"]}", 400},
      {"/v1/classify", json{{"texts", {"a"}}, {"labels", {"x"}}, {"pad", std::string(limits.max_body_bytes, ' ')}}.dump(),
       413},
      {"/v1/classify", json{{"texts", {"a"}}, {"labels", many_labels}}.dump(), 413},
      {"/v1/classify", R"({"texts": ["a"], "labels": ["x"], "threshold": 2})", 422},
      {"/gliclass", R"({"text": "a", "labels": ["x"], "adapter_id": "nope"})", 404},
  };
}

// The largest |difference| between two answers' numbers; -1 when the labels,
// their order or the flags differ, or a number is not close().
double compare(const json& got, const json& want) {
  if (!got.is_object() || got.size() != want.size() || got["truncated"] != want["truncated"]) return -1;
  const auto& gp = got["predictions"];
  const auto& wp = want["predictions"];
  if (gp.size() != wp.size()) return -1;
  double diff = 0;
  for (size_t i = 0; i < gp.size(); ++i) {
    if (gp[i]["label"] != wp[i]["label"]) return -1;
    if (!close(gp[i]["score"].get<double>(), wp[i]["score"].get<double>())) return -1;
    diff = std::max(diff, std::abs(gp[i]["score"].get<double>() - wp[i]["score"].get<double>()));
  }
  if (want.contains("scores")) {
    if (!got.contains("scores") || got["scores"].size() != want["scores"].size()) return -1;
    for (const auto& [label, p] : want["scores"].items()) {
      if (!got["scores"].contains(label) || !close(got["scores"][label].get<double>(), p.get<double>())) return -1;
      diff = std::max(diff, std::abs(got["scores"][label].get<double>() - p.get<double>()));
    }
  }
  return diff;
}

// Checks a 200 answer against the sample; returns the max difference or -1.
double check_answer(const Sample& s, const std::string& body) {
  json got;
  try {
    got = json::parse(body);
  } catch (const json::exception&) {
    return -1;
  }
  double diff = 0;
  if (s.path == "/gliclass") {
    // [{"label", "score"}]: the predictions of the one text.
    json as_result = s.expected[0];
    as_result["predictions"] = got;
    return compare(as_result, s.expected[0]);
  }
  if (!got.contains("results") || got["results"].size() != s.texts) return -1;
  for (size_t t = 0; t < s.texts; ++t) {
    const double d = compare(got["results"][t], s.expected[t]);
    if (d < 0) return -1;
    diff = std::max(diff, d);
  }
  return diff;
}

struct PhaseResult {
  size_t valid_ok = 0, dropped = 0, wrong = 0, bad_ok = 0, bad_wrong = 0, texts = 0;
  double seconds = 0, max_diff = 0;
  std::vector<double> latencies_ms;
  std::map<std::string, size_t> dropped_by;  // HTTP status, or the client's transport error
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

PhaseResult run_phase(const std::string& model, int threads, size_t max_batch, int batch_wait_ms, size_t clients,
                      double seconds, size_t bad_every, const std::vector<Sample>& pool,
                      const std::vector<BadSample>& bad, const serve::Limits& limits) {
  gliclass::ClassifierOptions copts;
  copts.threads = threads;
  copts.batch_size = static_cast<int64_t>(max_batch);
  copts.max_labels = limits.max_labels;
  serve::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.limits = limits;
  o.max_batch_size = max_batch;
  o.batch_wait_ms = batch_wait_ms;
  o.http_threads = static_cast<int>(clients) + 8;
  serve::Server server(gliclass::Classifier::load(model, copts), o);
  const int port = server.bind();
  std::thread server_thread([&] { server.run(); });

  std::vector<PhaseResult> per_client(clients);
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> workers;
  for (size_t c = 0; c < clients; ++c)
    workers.emplace_back([&, c] {
      PhaseResult& r = per_client[c];
      std::mt19937 rng(static_cast<uint32_t>(1000 + c));
      httplib::Client cli("127.0.0.1", port);
      cli.set_keep_alive(true);
      cli.set_connection_timeout(10);
      cli.set_read_timeout(60);
      for (size_t k = 0; Clock::now() < end; ++k) {
        if (bad_every > 0 && k % bad_every == bad_every - 1) {
          const BadSample& b = bad[(c + k) % bad.size()];
          auto res = cli.Post(b.path.c_str(), b.body, "application/json");
          bool ok = res && res->status == b.status;
          if (ok) {
            try {
              ok = json::parse(res->body).contains("error");
            } catch (const json::exception&) {
              ok = false;
            }
          }
          ++(ok ? r.bad_ok : r.bad_wrong);
          continue;
        }
        const Sample& s = pool[std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng)];
        const auto t0 = Clock::now();
        auto res = cli.Post(s.path.c_str(), s.body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!res || res->status != 200) {
          ++r.dropped;
          ++r.dropped_by[res ? std::to_string(res->status) : httplib::to_string(res.error())];
          continue;
        }
        const double diff = check_answer(s, res->body);
        if (diff < 0) {
          ++r.wrong;
          continue;
        }
        r.max_diff = std::max(r.max_diff, diff);
        ++r.valid_ok;
        r.texts += s.texts;
        r.latencies_ms.push_back(ms);
      }
    });
  for (auto& w : workers) w.join();
  PhaseResult total;
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  server.stop();
  server_thread.join();
  for (auto& r : per_client) {
    total.valid_ok += r.valid_ok;
    total.dropped += r.dropped;
    total.wrong += r.wrong;
    total.bad_ok += r.bad_ok;
    total.bad_wrong += r.bad_wrong;
    total.texts += r.texts;
    for (const auto& [why, n] : r.dropped_by) total.dropped_by[why] += n;
    total.max_diff = std::max(total.max_diff, r.max_diff);
    total.latencies_ms.insert(total.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  return total;
}

json phase_json(const PhaseResult& r, size_t max_batch) {
  return {{"max_batch_size", max_batch},
          {"seconds", r.seconds},
          {"valid_ok", r.valid_ok},
          {"dropped", r.dropped},
          {"dropped_by", r.dropped_by},
          {"wrong", r.wrong},
          {"bad_ok", r.bad_ok},
          {"bad_wrong_status", r.bad_wrong},
          {"texts_per_s", static_cast<double>(r.texts) / r.seconds},
          {"requests_per_s", static_cast<double>(r.valid_ok) / r.seconds},
          {"p50_ms", percentile(r.latencies_ms, 0.50)},
          {"p99_ms", percentile(r.latencies_ms, 0.99)},
          {"max_abs_diff_vs_library", r.max_diff}};
}

// The CLI on the pool's multi-label /v1/classify texts, as JSONL: its lines
// must equal the expected answers (same function prints both).
json check_cli(const std::string& cli, const std::string& model, const std::vector<Sample>& pool) {
  const std::string input = "/tmp/gliclass_bench_server_cli.jsonl";
  std::ofstream out(input);
  std::vector<json> expected;
  for (const auto& s : pool) {
    const json body = json::parse(s.body);
    if (s.path != "/v1/classify" || body.contains("multi_label") || !body.value("all_scores", false)) continue;
    for (size_t t = 0; t < s.texts; ++t) {
      json rec{{"text", body["texts"][t]}, {"labels", body["labels"]}};
      if (body.contains("threshold")) rec["threshold"] = body["threshold"];
      if (body.contains("prompt")) rec["prompt"] = body["prompt"];
      out << rec.dump() << "\n";
      expected.push_back(s.expected[t]);
    }
  }
  out.close();
  const std::string cmd = cli + " classify --model '" + model + "' --input " + input +
                          " --format jsonl --all-scores --quiet 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {{"cli", cli}, {"error", "cannot run"}};
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  const int status = pclose(p);
  std::istringstream lines(text);
  std::string line;
  size_t i = 0, mismatches = 0;
  double max_diff = 0;
  while (std::getline(lines, line) && i < expected.size()) {
    const double d = compare(json::parse(line), expected[i++]);
    if (d < 0)
      ++mismatches;
    else
      max_diff = std::max(max_diff, d);
  }
  if (i != expected.size()) mismatches += expected.size() - i;
  return {{"cli_texts", expected.size()}, {"cli_mismatches", mismatches}, {"cli_max_abs_diff", max_diff},
          {"cli_exit", status}};
}

}  // namespace

int main(int argc, char** argv) {
  gliclass::runtime::keep_freed_memory();  // as the gliclass tools do
  CLI::App app{"Load test of gliclass serve on loopback"};
  std::string model, cli;
  double seconds = 30;
  size_t clients = 64, max_batch = 32, bad_every = 8, pool_size = 96;
  int batch_wait_ms = 5, threads = 0;
  bool skip_baseline = false;
  app.add_option("--model,-m", model, "Model directory")->required();
  app.add_option("--seconds", seconds, "Duration of each phase")->capture_default_str();
  app.add_option("--clients", clients, "Concurrent clients")->capture_default_str();
  app.add_option("--max-batch-size", max_batch, "Server batch size of the main phase")->capture_default_str();
  app.add_option("--batch-wait-ms", batch_wait_ms, "Server batch wait")->capture_default_str();
  app.add_option("--bad-every", bad_every, "Every n-th request of a client is a bad one (0 = none)")
      ->capture_default_str();
  app.add_option("--pool", pool_size, "Distinct valid requests")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads for the model (0 = all)");
  app.add_option("--cli", cli, "Path of the gliclass binary: also check its output on the same inputs");
  app.add_flag("--skip-baseline", skip_baseline, "Do not run the --max-batch-size 1 phase");
  CLI11_PARSE(app, argc, argv);

  serve::Limits limits;
  limits.max_body_bytes = 64 * 1024;
  limits.max_labels = 64;
  gliclass::ClassifierOptions copts;
  copts.threads = threads;
  const auto pool = make_pool(gliclass::Classifier::load(model, copts), pool_size, 42);
  const auto bad = make_bad(limits);

  bool failed = false;
  if (!cli.empty()) {
    const json c = check_cli(cli, model, pool);
    json line{{"phase", "cli"}};
    line.update(c);
    std::cout << line.dump() << std::endl;
    failed = failed || c.value("cli_mismatches", 1) != 0;
  }
  std::vector<size_t> sizes = {max_batch};
  if (!skip_baseline && max_batch != 1) sizes.push_back(1);
  std::vector<double> throughput;
  for (size_t bs : sizes) {
    const PhaseResult r =
        run_phase(model, threads, bs, batch_wait_ms, clients, seconds, bad_every, pool, bad, limits);
    json j = phase_json(r, bs);
    j["clients"] = clients;
    std::cout << j.dump() << std::endl;
    throughput.push_back(j["texts_per_s"].get<double>());
    failed = failed || r.dropped > 0 || r.wrong > 0 || r.bad_wrong > 0 || r.valid_ok == 0;
  }
  json summary{{"phase", "summary"}, {"ok", !failed}};
  if (throughput.size() == 2 && throughput[1] > 0) summary["batching_gain"] = throughput[0] / throughput[1];
  std::cout << summary.dump() << std::endl;
  return failed ? 1 : 0;
}
