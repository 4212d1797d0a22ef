#include "io/hub.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "gliclass/error.h"
#include "gliclass/version.h"
#include "tokenize/tokenizer.h"

namespace gliclass::io {
namespace fs = std::filesystem;

namespace {

constexpr int kDownloadAttempts = 3;  // per file; each resumes where the last stopped

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool is_hex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// The Hub's repo name rules: letters, digits, '-', '_', '.'; no leading
// '-' or '.', no "--" or "..".
bool valid_name_part(const std::string& s) {
  if (s.empty() || s.size() > 96 || s[0] == '-' || s[0] == '.') return false;
  if (s.find("--") != std::string::npos || s.find("..") != std::string::npos) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// "W/\"abc\"" -> "abc"
std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  etag.erase(std::remove(etag.begin(), etag.end(), '"'), etag.end());
  return trim(etag);
}

std::string hex(const unsigned char* bytes, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

std::string digest_file(const fs::path& file, const EVP_MD* md, const std::string& prefix) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error("hub: cannot read " + file.string());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) throw Error("hub: OpenSSL digest unavailable");
  EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &n);
  return hex(out, n);
}

// ------------------------------------------------------------------ HTTP

void ensure_curl() {
  static const bool ready = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)ready;
}

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string error;  // libcurl's, when the transfer failed
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& r = *static_cast<Response*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    r.headers.clear();  // a new response (after a redirect or a 100)
  } else if (auto colon = line.find(':'); colon != std::string::npos) {
    r.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<Response*>(user)->body.append(data, size * n);
  return size * n;
}

// One libcurl handle with the common settings; the token goes to `endpoint` only.
class Request {
 public:
  Request(const std::string& url, const HubOptions& o) : curl_(curl_easy_init()) {
    if (!curl_) throw Error("hub: libcurl could not start");
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    headers_ = curl_slist_append(headers_, ("user-agent: gliclass.cpp/" + std::string(kVersion)).c_str());
    if (!o.token.empty() && url.rfind(o.endpoint + "/", 0) == 0)
      headers_ = curl_slist_append(headers_, ("authorization: Bearer " + o.token).c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_LIMIT, 1L);  // abort a transfer stalled for 60 s
    curl_easy_setopt(curl_, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &response_);
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_);
  }
  ~Request() {
    curl_slist_free_all(headers_);
    curl_easy_cleanup(curl_);
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  CURL* handle() { return curl_; }
  Response& response() { return response_; }

  Response& perform() {
    const CURLcode rc = curl_easy_perform(curl_);
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response_.status);
    if (rc != CURLE_OK) response_.error = error_[0] ? error_ : curl_easy_strerror(rc);
    return response_;
  }

 private:
  CURL* curl_;
  curl_slist* headers_ = nullptr;
  Response response_;
  char error_[CURL_ERROR_SIZE] = {0};
};

Response get_text(const std::string& url, const HubOptions& o, bool head) {
  Request req(url, o);
  if (head) curl_easy_setopt(req.handle(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(req.handle(), CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(req.handle(), CURLOPT_WRITEDATA, &req.response());
  return req.perform();
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// What a failed answer means for the user; `file` empty for the repo itself.
[[noreturn]] void status_error(const Response& r, const HubId& id, const HubOptions& o, const std::string& file) {
  const std::string code = r.header("x-error-code");
  const std::string what = "hub: " + o.endpoint + " answered " + std::to_string(r.status) + " for '" + id.repo + "'" +
                           (file.empty() ? "" : " file '" + file + "'") + ": ";
  if (code == "RevisionNotFound")
    throw ModelError(what + "no revision '" + id.revision + "' (check the branch, tag or commit after '@')");
  if (code == "EntryNotFound" || (!file.empty() && r.status == 404))
    throw ModelError(what + "the file is missing at revision '" + id.revision + "'");
  if (code == "GatedRepo" || r.status == 403)
    throw ModelError(what + "the model is gated: accept its conditions on its Hub page with the account whose "
                     "token is in HF_TOKEN");
  if (r.status == 401 || r.status == 404 || code == "RepositoryNotFound")
    throw ModelError(what + "no such model, or it is private" +
                     (o.token.empty() ? " (set HF_TOKEN to a token that can read it)"
                                      : " and the token in HF_TOKEN cannot read it") +
                     "; check the id 'org/name'");
  throw ModelError(what + "unexpected answer" + (r.body.empty() ? "" : " (" + r.body.substr(0, 200) + ")"));
}

// ----------------------------------------------------------------- cache

fs::path repo_cache_dir(const HubId& id, const HubOptions& o) {
  std::string folder = "models--" + id.repo;
  folder.replace(folder.find('/'), 1, "--");
  return o.cache_dir / folder;
}

std::optional<fs::path> cached_snapshot(const fs::path& repo_dir, const HubId& id) {
  std::string commit = id.revision;
  if (!is_hex(commit, 40)) {
    std::ifstream ref(repo_dir / "refs" / id.revision);
    if (!ref || !std::getline(ref, commit)) return std::nullopt;
    commit = trim(commit);
  }
  const fs::path snapshot = repo_dir / "snapshots" / commit;
  if (!fs::exists(snapshot / "config.json")) return std::nullopt;
  return snapshot;
}

void write_atomically(const fs::path& file, const std::string& content) {
  fs::create_directories(file.parent_path());
  const fs::path tmp = file.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out) throw Error("hub: cannot write " + tmp.string());
  }
  fs::rename(tmp, file);
}

// snapshots/<commit>/<file> -> ../../blobs/<etag> (relative, as the HF
// libraries make it); a copy where the file system has no symlinks.
void link_into_snapshot(const fs::path& blob, const fs::path& link) {
  fs::create_directories(link.parent_path());
  const fs::path tmp = link.string() + ".tmp" + std::to_string(::getpid());
  fs::remove(tmp);
  std::error_code ec;
  fs::create_symlink(fs::relative(blob, link.parent_path()), tmp, ec);
  if (ec) fs::copy_file(blob, tmp, fs::copy_options::overwrite_existing);
  fs::rename(tmp, link);
}

// ------------------------------------------------------------- download

struct Transfer {
  FILE* out = nullptr;
  fs::path part;
  uint64_t offset = 0;  // bytes already in `part` when the request started
  bool checked = false;
  CURL* curl = nullptr;
  const HubOptions* options = nullptr;
  std::string name;
  uint64_t total = 0;
};

size_t on_file_body(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 300) return size * n;  // an error page or a redirect's body: not the file
  if (!t.checked) {
    t.checked = true;
    if (t.offset > 0 && status == 200) {  // the server ignored the Range: start over
      if (std::freopen(t.part.c_str(), "wb", t.out) == nullptr) return 0;
      t.offset = 0;
    }
  }
  return std::fwrite(data, 1, size * n, t.out);
}

int on_progress(void* user, curl_off_t, curl_off_t now, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (t.options->progress) t.options->progress(t.name, t.offset + static_cast<uint64_t>(now), t.total);
  return 0;
}

// Appends `url`'s body to `part` from its current size (a Range request).
Response fetch_into(const std::string& url, const fs::path& part, const HubOptions& o, const std::string& name,
                    uint64_t total) {
  Transfer t;
  t.part = part;
  t.offset = fs::exists(part) ? fs::file_size(part) : 0;
  t.out = std::fopen(part.c_str(), "ab");
  if (!t.out) throw Error("hub: cannot write " + part.string());
  t.options = &o;
  t.name = name;
  t.total = total;
  Request req(url, o);
  t.curl = req.handle();
  curl_easy_setopt(req.handle(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(req.handle(), CURLOPT_MAXREDIRS, 5L);
  if (t.offset > 0) curl_easy_setopt(req.handle(), CURLOPT_RANGE, (std::to_string(t.offset) + "-").c_str());
  curl_easy_setopt(req.handle(), CURLOPT_WRITEFUNCTION, on_file_body);
  curl_easy_setopt(req.handle(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(req.handle(), CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(req.handle(), CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(req.handle(), CURLOPT_XFERINFODATA, &t);
  Response r = req.perform();
  const bool closed = std::fclose(t.out) == 0;
  if (!closed && r.error.empty()) r.error = "cannot write " + part.string();
  return r;
}

void verify(const fs::path& part, const std::string& etag, const HubId& id, const std::string& file) {
  std::string got, kind;
  if (is_hex(etag, 64)) {
    got = sha256_file(part);
    kind = "sha256";
  } else if (is_hex(etag, 40)) {
    got = git_blob_sha1_file(part);
    kind = "git blob sha1";
  } else {
    return;  // an ETag that is no digest: nothing to check against
  }
  if (got != lower(etag)) {
    fs::remove(part);
    throw ModelError("hub: '" + id.repo + "' file '" + file + "' is corrupted: its " + kind + " is " + got +
                     " but the Hub's ETag says " + lower(etag) + "; the download was removed, run again to fetch it anew");
  }
}

// Puts `file` of the snapshot in place: HEAD for its ETag (and the CDN
// redirect of large files), the blob downloaded unless cached, then the link.
void fetch_file(const HubId& id, const HubOptions& o, const fs::path& repo_dir, const std::string& commit,
                const std::string& file) {
  const fs::path link = repo_dir / "snapshots" / commit / file;
  if (fs::exists(link)) return;
  std::string url = o.endpoint + "/" + id.repo + "/resolve/" + commit + "/" + file;
  Response head = get_text(url, o, true);
  for (int hops = 0; hops < 5 && head.error.empty() && head.status >= 300 && head.status < 400 &&
                     head.header("x-linked-etag").empty() && head.header("location").rfind("/", 0) == 0;
       ++hops)
    head = get_text(url = o.endpoint + head.header("location"), o, true);  // a renamed repo
  if (!head.error.empty()) throw ModelError("hub: cannot reach " + o.endpoint + " for '" + id.repo + "' file '" + file + "' (" + head.error + ")");
  if (head.status >= 400) status_error(head, id, o, file);
  std::string etag = normalize_etag(head.header("x-linked-etag"));
  if (etag.empty()) etag = normalize_etag(head.header("etag"));
  if (etag.empty() || etag.find('/') != std::string::npos || etag == "." || etag == "..")
    throw ModelError("hub: " + o.endpoint + " gave no usable ETag for '" + id.repo + "' file '" + file + "'");
  std::string download = url;
  if (head.status >= 300 && head.status < 400 && !head.header("location").empty()) {
    const std::string location = head.header("location");
    download = location.rfind("/", 0) == 0 ? o.endpoint + location : location;
  }
  uint64_t total = 0;
  const std::string size = head.header("x-linked-size").empty() ? head.header("content-length") : head.header("x-linked-size");
  if (!size.empty() && std::all_of(size.begin(), size.end(), ::isdigit)) total = std::stoull(size);

  const fs::path blob = repo_dir / "blobs" / etag;
  if (!fs::exists(blob)) {
    fs::create_directories(blob.parent_path());
    const fs::path part = blob.string() + ".incomplete";
    std::string last_error;
    bool done = false;
    for (int attempt = 0; attempt < kDownloadAttempts && !done; ++attempt) {
      if (total > 0 && fs::exists(part) && fs::file_size(part) == total) {
        done = true;  // complete from an earlier run, not yet checked
        break;
      }
      Response r = fetch_into(download, part, o, file, total);
      const uint64_t have = fs::exists(part) ? fs::file_size(part) : 0;
      if (r.error.empty() && r.status == 416 && total > 0 && have == total) break;  // it was all there
      if (r.error.empty() && r.status >= 400) status_error(r, id, o, file);
      if (r.error.empty() && (total == 0 || have == total)) {
        done = true;
      } else {
        last_error = r.error.empty() ? "got " + std::to_string(have) + " of " + std::to_string(total) + " bytes"
                                     : r.error;
        if (total > 0 && have > total) fs::remove(part);  // not the file we asked for: start over
      }
    }
    if (!done)
      throw ModelError("hub: downloading '" + id.repo + "' file '" + file + "' failed (" + last_error +
                       "); the part already downloaded is kept in " + part.string() + ", run again to resume");
    verify(part, etag, id, file);
    fs::rename(part, blob);
  }
  link_into_snapshot(blob, link);
}

// The files a GLiClass model needs out of the repo's file list.
std::vector<std::string> files_to_fetch(const std::set<std::string>& present, const HubId& id, std::string& weights_index) {
  if (!present.count("config.json"))
    throw ModelError("hub: '" + id.repo + "' has no config.json at revision '" + id.revision +
                     "': it is not a GLiClass checkpoint");
  std::vector<std::string> files = {"config.json"};
  if (present.count("model.safetensors")) {
    files.push_back("model.safetensors");
  } else if (present.count("model.safetensors.index.json")) {
    weights_index = "model.safetensors.index.json";
  } else if (present.count("pytorch_model.bin")) {
    files.push_back("pytorch_model.bin");
  } else if (present.count("pytorch_model.bin.index.json")) {
    weights_index = "pytorch_model.bin.index.json";
  } else {
    throw ModelError("hub: '" + id.repo + "' has no weights (model.safetensors or pytorch_model.bin) at revision '" +
                     id.revision + "'");
  }
  for (const auto& name : tokenize::tokenizer_file_names())
    if (present.count(name)) files.push_back(name);
  return files;
}

void print_progress(const std::string& name, uint64_t done, uint64_t total) {
  static std::string last;
  const std::string pct = total ? std::to_string(done * 100 / total) + "%" : std::to_string(done >> 20) + " MB";
  if (name + pct == last) return;
  last = name + pct;
  std::cerr << "\rgliclass: downloading " << name << " " << pct;
  if (total) std::cerr << " of " << ((total + (1 << 20) - 1) >> 20) << " MB";
  std::cerr << (total && done >= total ? "\n" : "   ") << std::flush;
}

}  // namespace

std::optional<HubId> parse_hub_id(const std::string& spec) {
  HubId id;
  std::string repo = spec;
  if (auto at = spec.find('@'); at != std::string::npos) {
    repo = spec.substr(0, at);
    id.revision = spec.substr(at + 1);
    if (id.revision.empty() || id.revision.find_first_of(" \t\r\n") != std::string::npos ||
        id.revision.find("..") != std::string::npos)
      return std::nullopt;
  }
  const auto slash = repo.find('/');
  if (slash == std::string::npos || repo.find('/', slash + 1) != std::string::npos) return std::nullopt;
  if (!valid_name_part(repo.substr(0, slash)) || !valid_name_part(repo.substr(slash + 1))) return std::nullopt;
  id.repo = repo;
  return id;
}

HubOptions hub_options_from_env() {
  HubOptions o;
  if (auto e = env("HF_ENDPOINT"); !e.empty()) o.endpoint = e;
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
  fs::path home = env("HF_HOME");
  if (home.empty()) {
    const std::string xdg = env("XDG_CACHE_HOME");
    home = !xdg.empty() ? fs::path(xdg) / "huggingface" : fs::path(env("HOME")) / ".cache" / "huggingface";
  }
  o.cache_dir = !env("HF_HUB_CACHE").empty() ? fs::path(env("HF_HUB_CACHE")) : home / "hub";
  o.token = env("HF_TOKEN");
  if (o.token.empty()) {
    const fs::path token_file = !env("HF_TOKEN_PATH").empty() ? fs::path(env("HF_TOKEN_PATH")) : home / "token";
    std::ifstream in(token_file);
    if (in) std::getline(in, o.token);
    o.token = trim(o.token);
  }
  const std::string offline = lower(env("HF_HUB_OFFLINE"));
  o.offline = offline == "1" || offline == "true" || offline == "yes" || offline == "on";
  if (::isatty(2)) o.progress = print_progress;
  return o;
}

fs::path hub_snapshot(const HubId& id, const HubOptions& o) {
  const fs::path repo_dir = repo_cache_dir(id, o);
  if (o.offline) {
    if (auto snapshot = cached_snapshot(repo_dir, id)) return *snapshot;
    throw ModelError("hub: '" + id.repo + "' (revision '" + id.revision + "') is not in the cache at " +
                     o.cache_dir.string() + " and HF_HUB_OFFLINE is set: unset it to download the model");
  }
  ensure_curl();
  const std::string api = o.endpoint + "/api/models/" + id.repo + "/revision/" + escape(id.revision);
  const Response listing = get_text(api, o, false);
  if (!listing.error.empty()) {
    if (auto snapshot = cached_snapshot(repo_dir, id)) {
      std::cerr << "gliclass: cannot reach " << o.endpoint << " (" << listing.error << "); using the cached copy of "
                << id.repo << "\n";
      return *snapshot;
    }
    throw ModelError("hub: cannot reach " + o.endpoint + " (" + listing.error + ") and '" + id.repo +
                     "' is not in the cache at " + o.cache_dir.string() +
                     ": check the network, or set HF_ENDPOINT to a mirror");
  }
  if (listing.status != 200) status_error(listing, id, o, "");
  std::string commit;
  std::set<std::string> present;
  try {
    const auto j = nlohmann::json::parse(listing.body);
    commit = j.at("sha").get<std::string>();
    for (const auto& s : j.at("siblings")) present.insert(s.at("rfilename").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    throw ModelError("hub: " + api + " did not answer with a model's file list (" + e.what() + ")");
  }
  if (!is_hex(commit, 40)) throw ModelError("hub: " + api + " gave no commit hash (got '" + commit + "')");

  std::string weights_index;
  for (const auto& file : files_to_fetch(present, id, weights_index)) fetch_file(id, o, repo_dir, commit, file);
  if (!weights_index.empty()) {
    fetch_file(id, o, repo_dir, commit, weights_index);
    std::set<std::string> shards;
    try {
      std::ifstream in(repo_dir / "snapshots" / commit / weights_index);
      for (const auto& [name, shard] : nlohmann::json::parse(in).at("weight_map").items())
        shards.insert(shard.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      throw ModelError("hub: '" + id.repo + "' " + weights_index + " is not a weight index (" + e.what() + ")");
    }
    for (const auto& shard : shards) {
      if (!present.count(shard) || shard.find("..") != std::string::npos)
        throw ModelError("hub: '" + id.repo + "' " + weights_index + " names a shard it does not have: " + shard);
      fetch_file(id, o, repo_dir, commit, shard);
    }
  }
  if (id.revision != commit) write_atomically(repo_dir / "refs" / id.revision, commit);
  return repo_dir / "snapshots" / commit;
}

fs::path resolve_model_dir(const std::string& spec) {
  if (fs::is_directory(spec)) return spec;
  const auto id = parse_hub_id(spec);
  if (!id)
    throw ModelError("model: '" + spec + "' is not a directory, nor a Hugging Face model id (org/name[@revision])");
  try {
    return hub_snapshot(*id, hub_options_from_env());
  } catch (const ModelError& e) {
    throw ModelError("model: '" + spec + "' is not a directory; as a Hugging Face model id: " + e.what());
  }
}

std::string sha256_file(const fs::path& file) { return digest_file(file, EVP_sha256(), ""); }

std::string git_blob_sha1_file(const fs::path& file) {
  return digest_file(file, EVP_sha1(), "blob " + std::to_string(fs::file_size(file)) + std::string(1, '\0'));
}

}  // namespace gliclass::io
