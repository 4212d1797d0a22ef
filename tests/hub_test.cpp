// Hub model ids (issue "Hub model ids"): a fake Hub on a loopback port serves
// a golden checkpoint in the Hub's URL layout (file list API, resolve URLs,
// ETags, the CDN redirect of large files); downloads land in a temporary
// HF_HOME laid out as the HF libraries lay it out.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "gliclass/gliclass.h"
#include "io/hub.h"
#include "serve/http.h"
#include "test_util.h"
#include "tokenize/tokenizer.h"

using namespace gliclass;
namespace fs = std::filesystem;
using gliclass::testing::contains;
using gliclass::testing::TempDir;

namespace {

constexpr const char* kCommit = "3f1c0ffee3f1c0ffee3f1c0ffee3f1c0ffee3f1c";
constexpr const char* kRepo = "test-org/tiny";
constexpr const char* kPrivateRepo = "test-org/private";
constexpr const char* kToken = "hf_test_token";
constexpr const char* kCase = "deberta_first_simple";

std::string read_file(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct HubFile {
  std::string content;
  std::string etag;  // sha256 (LFS) or git blob sha1
  bool lfs = false;
};

// The Hub's answers for two repos holding the golden checkpoint's files.
class FakeHub {
 public:
  explicit FakeHub(const fs::path& model_dir) {
    auto add = [&](const std::string& name, bool lfs) {
      if (!fs::exists(model_dir / name)) return;
      HubFile f;
      f.content = read_file(model_dir / name);
      f.lfs = lfs;
      f.etag = lfs ? io::sha256_file(model_dir / name) : io::git_blob_sha1_file(model_dir / name);
      files_[name] = f;
    };
    add("config.json", false);
    add("model.safetensors", true);
    for (const auto& name : tokenize::tokenizer_file_names()) add(name, false);

    server_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!allowed(req.matches[1].str() + "/" + req.matches[2].str(), req, res)) return;
      if (req.matches[3] != "main" && req.matches[3] != kCommit) return fail(res, 404, "RevisionNotFound");
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto& [name, f] : files_) siblings.push_back({{"rfilename", name}});
      res.set_content(nlohmann::json{{"sha", kCommit}, {"siblings", siblings}}.dump(), "application/json");
    });
    server_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (!allowed(req.matches[1].str() + "/" + req.matches[2].str(), req, res)) return;
      auto it = files_.find(req.matches[4]);
      if (it == files_.end()) return fail(res, 404, "EntryNotFound");
      const HubFile& f = it->second;
      res.set_header("X-Repo-Commit", kCommit);
      if (f.lfs) {  // large files: a redirect to the CDN, the digest in X-Linked-Etag
        res.status = 302;
        res.set_header("Location", "/cdn/" + f.etag);
        res.set_header("X-Linked-Etag", "\"" + f.etag + "\"");
        res.set_header("X-Linked-Size", std::to_string(f.content.size()));
        return;
      }
      res.set_header("ETag", "\"" + f.etag + "\"");
      res.set_content(f.content, "application/octet-stream");
    });
    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string body;
      for (const auto& [name, f] : files_)
        if (f.etag == req.matches[1]) body = f.content;
      if (body.empty()) return fail(res, 404, "EntryNotFound");
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ranges_.push_back(req.get_header_value("Range"));
      }
      if (corrupt) body[body.size() / 2] ^= 0x5a;
      if (cut_transfers > 0 && !req.has_header("Range")) {
        --cut_transfers;  // half the bytes, then the connection drops
        res.set_content_provider(body.size(), "application/octet-stream",
                                 [body](size_t offset, size_t, httplib::DataSink& sink) {
                                   if (offset >= body.size() / 2) return false;
                                   sink.write(body.data(), body.size() / 2);
                                   return true;
                                 });
        return;
      }
      res.set_content(body, "application/octet-stream");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeHub() { stop(); }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const HubFile& file(const std::string& name) const { return files_.at(name); }
  std::vector<std::string> ranges() {
    std::lock_guard<std::mutex> lock(mutex_);
    return ranges_;
  }

  std::atomic<int> cut_transfers{0};
  std::atomic<bool> corrupt{false};

 private:
  static void fail(httplib::Response& res, int status, const std::string& code) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_content("{\"error\": \"" + code + "\"}", "application/json");
  }
  // The Hub says 401 for unknown repos and for private ones without a token.
  bool allowed(const std::string& repo, const httplib::Request& req, httplib::Response& res) {
    const bool authorized = req.get_header_value("Authorization") == std::string("Bearer ") + kToken;
    if (repo == kRepo || (repo == kPrivateRepo && authorized)) return true;
    fail(res, 401, "RepositoryNotFound");
    return false;
  }

  std::map<std::string, HubFile> files_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<std::string> ranges_;
};

// HF_* variables for one test, restored afterwards.
class HubEnv {
 public:
  HubEnv(const fs::path& home, const std::string& endpoint) {
    for (const char* name : {"HF_HOME", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_TOKEN_PATH"}) {
      if (const char* v = std::getenv(name)) saved_[name] = v;
      ::unsetenv(name);
    }
    ::setenv("HF_HOME", home.c_str(), 1);
    ::setenv("HF_ENDPOINT", endpoint.c_str(), 1);
  }
  ~HubEnv() {
    for (const char* name : {"HF_HOME", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_TOKEN", "HF_TOKEN_PATH"})
      ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

ClassifyRequest request() {
  ClassifyRequest r;
  r.text = "The match ended in a draw after extra time.";
  r.labels = {"sports", "politics", "music"};
  return r;
}

std::string load_error(const std::string& model) {
  try {
    Classifier::load(model);
  } catch (const ModelError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(HubId, ParsesOrgNameAndRevision) {
  auto id = io::parse_hub_id("knowledgator/gliclass-small-v1.0");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->repo, "knowledgator/gliclass-small-v1.0");
  EXPECT_EQ(id->revision, "main");
  id = io::parse_hub_id("org/name@v2.0");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->revision, "v2.0");
  for (const char* bad : {"name", "/abs/path", "a/b/c", "org/", "/name", "org/na me", "../x", "org/..", "org/name@",
                          "org/-x", "org/a--b"})
    EXPECT_FALSE(io::parse_hub_id(bad)) << bad;
}

TEST(HubId, DigestsMatchKnownValues) {
  TempDir dir("hub-digest");
  dir.write("abc", "abc");
  EXPECT_EQ(io::sha256_file(dir.path / "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  dir.write("hello", "hello\n");  // `git hash-object` of it
  EXPECT_EQ(io::git_blob_sha1_file(dir.path / "hello"), "ce013625030ba8dba906f756967f9e9ca394464a");
}

// A fake Hub serving the golden case and an empty HF_HOME pointed at it.
class Hub : public ::testing::Test {
 protected:
  void SetUp() override {
    GLICLASS_REQUIRE_GOLDEN();
    golden_ = gliclass::testing::golden_dir() / kCase;
    hub_ = std::make_unique<FakeHub>(golden_);
    home_ = std::make_unique<TempDir>("hub");
    env_ = std::make_unique<HubEnv>(home_->path, hub_->endpoint());
  }
  FakeHub& hub() { return *hub_; }
  const fs::path& home() const { return home_->path; }
  const fs::path& golden() const { return golden_; }

 private:
  fs::path golden_;
  std::unique_ptr<FakeHub> hub_;
  std::unique_ptr<TempDir> home_;
  std::unique_ptr<HubEnv> env_;
};

TEST_F(Hub, DownloadsIntoTheCacheThenWorksOfflineAndWithoutTheServer) {

  const auto expected = Classifier::load(golden().string()).classify(request());
  const auto downloaded = Classifier::load(kRepo).classify(request());
  EXPECT_EQ(downloaded.logits, expected.logits);

  // The HF libraries' layout: refs, blobs named by ETag, relative snapshot links.
  const fs::path repo = home() / "hub" / "models--test-org--tiny";
  EXPECT_EQ(read_file(repo / "refs" / "main"), kCommit);
  const fs::path snapshot = repo / "snapshots" / kCommit;
  for (const char* name : {"config.json", "model.safetensors", "spm.model"}) {
    ASSERT_TRUE(fs::is_symlink(snapshot / name)) << name;
    EXPECT_EQ(fs::read_symlink(snapshot / name), fs::path("../../blobs") / hub().file(name).etag) << name;
    EXPECT_EQ(read_file(snapshot / name), hub().file(name).content) << name;
  }
  EXPECT_EQ(hub().file("model.safetensors").etag.size(), 64u);  // sha256: the LFS path was taken

  // Offline: from the cache alone, with the server gone.
  hub().stop();
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(Classifier::load(kRepo).classify(request()).logits, expected.logits);
  EXPECT_TRUE(contains(load_error("test-org/other"), "HF_HUB_OFFLINE")) << load_error("test-org/other");
  // Online but unreachable: the cached copy, and a clear error for what is not cached.
  ::unsetenv("HF_HUB_OFFLINE");
  EXPECT_EQ(Classifier::load(kRepo).classify(request()).logits, expected.logits);
  const std::string unreachable = load_error("test-org/other");
  EXPECT_TRUE(contains(unreachable, "cannot reach")) << unreachable;
}

TEST_F(Hub, AnInterruptedDownloadResumes) {
  const std::string& weights = hub().file("model.safetensors").content;

  // The connection drops halfway: the next attempt asks for the rest only.
  hub().cut_transfers = 1;
  EXPECT_NO_THROW(Classifier::load(kRepo));
  auto ranges = hub().ranges();
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], "");
  EXPECT_EQ(ranges[1], "bytes=" + std::to_string(weights.size() / 2) + "-");

  // A part left by an earlier run is continued, not started over.
  TempDir home2("hub-resume2");
  HubEnv env2(home2.path, hub().endpoint());
  const fs::path blobs = home2.path / "hub" / "models--test-org--tiny" / "blobs";
  fs::create_directories(blobs);
  std::ofstream(blobs / (hub().file("model.safetensors").etag + ".incomplete"), std::ios::binary) << weights.substr(0, 1000);
  EXPECT_NO_THROW(Classifier::load(kRepo));
  ranges = hub().ranges();
  EXPECT_EQ(ranges.back(), "bytes=1000-");
  EXPECT_EQ(read_file(blobs / hub().file("model.safetensors").etag), weights);
}

TEST_F(Hub, ACorruptedDownloadIsDetectedAndNotKept) {
  hub().corrupt = true;
  const std::string error = load_error(kRepo);
  EXPECT_TRUE(contains(error, "corrupted")) << error;
  EXPECT_TRUE(contains(error, "model.safetensors")) << error;
  const fs::path blob = home() / "hub" / "models--test-org--tiny" / "blobs" / hub().file("model.safetensors").etag;
  EXPECT_FALSE(fs::exists(blob));
  EXPECT_FALSE(fs::exists(blob.string() + ".incomplete"));
  // Served correctly again, the next run succeeds.
  hub().corrupt = false;
  EXPECT_NO_THROW(Classifier::load(kRepo));
}

TEST_F(Hub, ErrorsSayWhatToDo) {

  std::string e = load_error("test-org/missing");
  EXPECT_TRUE(contains(e, "401") && contains(e, "no such model") && contains(e, "HF_TOKEN")) << e;
  e = load_error(kPrivateRepo);
  EXPECT_TRUE(contains(e, "set HF_TOKEN")) << e;
  e = load_error(std::string(kRepo) + "@no-such-branch");
  EXPECT_TRUE(contains(e, "no revision 'no-such-branch'")) << e;
  e = load_error("/no/such/dir");
  EXPECT_TRUE(contains(e, "is not a directory")) << e;

  // The token goes with the requests: the private repo loads.
  ::setenv("HF_TOKEN", kToken, 1);
  EXPECT_NO_THROW(Classifier::load(kPrivateRepo));
  ::setenv("HF_TOKEN", "hf_wrong", 1);
  e = load_error("test-org/missing");
  EXPECT_TRUE(contains(e, "cannot read it")) << e;
}
