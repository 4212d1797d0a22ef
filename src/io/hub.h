// Hugging Face Hub model ids ("org/name[@revision]") resolved to a local
// snapshot directory, in the cache layout the HF libraries share:
//   $HF_HUB_CACHE (default $HF_HOME/hub, HF_HOME default ~/.cache/huggingface)
//     models--org--name/blobs/<etag>              the file contents
//     models--org--name/refs/<revision>           the commit a branch or tag points at
//     models--org--name/snapshots/<commit>/<file> -> ../../blobs/<etag>
//     models--org--name/.no_exist/<commit>/<file> files known to be absent
// Missing files are downloaded from $HF_ENDPOINT (default https://huggingface.co)
// with libcurl: the file list from /api/models/<id>/revision/<rev>, each file
// from /<id>/resolve/<rev>/<file> (following the Hub's redirect for large
// files), into blobs/<etag>.incomplete, resumed with a Range request after an
// interruption, checked against the ETag (sha256 for LFS files, the git blob
// sha1 otherwise), then renamed into place. HF_TOKEN (or $HF_HOME/token) is
// sent as a bearer token to the endpoint only; HF_HUB_OFFLINE=1 uses the
// cache alone, and a network failure falls back to it.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gliclass::io {

struct HubId {
  std::string repo;               // "org/name"
  std::string revision = "main";  // branch, tag or commit
};

// "org/name" or "org/name@revision"; nullopt when `spec` is not shaped like one.
std::optional<HubId> parse_hub_id(const std::string& spec);

struct HubOptions {
  std::string endpoint = "https://huggingface.co";
  std::filesystem::path cache_dir;  // the hub cache (HF_HUB_CACHE)
  std::string token;                // empty: anonymous
  bool offline = false;
  // Called as bytes arrive: file name, bytes done, total (0 when unknown).
  std::function<void(const std::string&, uint64_t, uint64_t)> progress;
};

// Endpoint, cache, token and offline mode from HF_ENDPOINT, HF_HOME,
// HF_HUB_CACHE, HF_TOKEN (else $HF_HOME/token) and HF_HUB_OFFLINE; a progress
// bar on stderr when it is a terminal.
HubOptions hub_options_from_env();

// The snapshot directory of `id` with config.json, the weights (safetensors
// preferred, sharded or not) and the tokenizer files; downloads what the cache
// lacks unless offline. ModelError saying what to do on 401/404, network
// failures without a cached copy, and checksum mismatches.
std::filesystem::path hub_snapshot(const HubId& id, const HubOptions& options);

// `spec` itself when it is a directory, else the snapshot of the Hub id it
// names (options from the environment). ModelError when it is neither.
std::filesystem::path resolve_model_dir(const std::string& spec);

// Hex digests, for checking downloads against the Hub's ETags.
std::string sha256_file(const std::filesystem::path& file);
std::string git_blob_sha1_file(const std::filesystem::path& file);  // sha1("blob <size>\0" + bytes)

}  // namespace gliclass::io
