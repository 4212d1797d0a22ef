// Finding a model directory's weights (single file or sharded) and loading
// them into a module tree by name, strictly.
#include "io/checkpoint.h"

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "gliclass/error.h"

namespace gliclass::io {
namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

bool contains_any(const std::string& s, const std::vector<std::string>& parts) {
  for (const auto& p : parts)
    if (!p.empty() && s.find(p) != std::string::npos) return true;
  return false;
}

std::string shape_str(c10::IntArrayRef shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

// Several shard files seen as one, by the index's weight_map.
class ShardedFile final : public TensorFile {
 public:
  explicit ShardedFile(const std::filesystem::path& index) : index_(index) {
    nlohmann::json json;
    {
      std::ifstream in(index);
      if (!in) fail("cannot open the file");
      try {
        json = nlohmann::json::parse(in);
      } catch (const nlohmann::json::exception& e) {
        fail(std::string("not valid JSON (") + e.what() + ")");
      }
    }
    auto map = json.find("weight_map");
    if (!json.is_object() || map == json.end() || !map->is_object() || map->empty())
      fail("no \"weight_map\" object with at least one tensor");

    std::map<std::string, TensorFile*> by_shard;
    for (const auto& [name, shard] : map->items()) {
      if (!shard.is_string()) fail("the shard of \"" + name + "\" is not a string");
      const std::string shard_name = shard.get<std::string>();
      auto [it, fresh] = by_shard.emplace(shard_name, nullptr);
      if (fresh) {
        shards_.push_back(open_shard(shard_name));
        it->second = shards_.back().get();
      }
      if (!it->second->contains(name))
        fail("\"" + name + "\" is mapped to " + shard_name + ", which does not hold it");
      where_.emplace(name, it->second);
    }
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(where_.size());
    for (const auto& [name, shard] : where_) out.push_back(name);
    return out;
  }
  bool contains(const std::string& name) const override { return where_.count(name) > 0; }
  std::vector<int64_t> shape(const std::string& name) const override { return shard(name).shape(name); }
  torch::ScalarType dtype(const std::string& name) const override { return shard(name).dtype(name); }
  torch::Tensor get(const std::string& name) const override { return shard(name).get(name); }
  std::string source() const override { return index_.string(); }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError("checkpoint: " + index_.string() + ": " + what);
  }

  std::unique_ptr<TensorFile> open_shard(const std::string& shard_name) const {
    const std::filesystem::path rel(shard_name);
    for (const auto& part : rel)
      if (part == "..") fail("shard path \"" + shard_name + "\" leaves the model directory");
    if (rel.empty() || rel.is_absolute())
      fail("shard path \"" + shard_name + "\" is not a file name beside the index");
    const auto path = index_.parent_path() / rel;
    const auto ext = rel.extension();
    if (ext == ".safetensors") return open_safetensors(path);
    if (ext == ".bin") return open_torch_bin(path);
    fail("shard \"" + shard_name + "\" is neither .safetensors nor .bin");
  }

  const TensorFile& shard(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) fail("no tensor named \"" + name + "\"");
    return *it->second;
  }

  std::filesystem::path index_;
  std::vector<std::unique_ptr<TensorFile>> shards_;
  std::map<std::string, TensorFile*> where_;
};

// One checkpoint tensor bound for one module tensor.
struct Assignment {
  std::string checkpoint_name;
  torch::Tensor target;
};

// Maps a checkpoint name to a module name: prefix filter, then the aliases in
// order. Empty optional = not considered (outside the prefix).
std::optional<std::string> module_name(const std::string& name, const LoadOptions& options) {
  if (!starts_with(name, options.prefix)) return std::nullopt;
  std::string key = name.substr(options.prefix.size());
  for (const auto& [from, to] : options.aliases)
    if (starts_with(key, from)) key = to + key.substr(from.size());
  return key;
}

// A 0-d tensor and a [1] tensor hold the same single value.
bool shapes_compatible(c10::IntArrayRef expected, c10::IntArrayRef found) {
  if (expected.equals(found)) return true;
  auto scalar_like = [](c10::IntArrayRef s) { return s.empty() || (s.size() == 1 && s[0] == 1); };
  return scalar_like(expected) && scalar_like(found);
}

}  // namespace

std::unique_ptr<TensorFile> open_sharded(const std::filesystem::path& index_file) {
  return std::make_unique<ShardedFile>(index_file);
}

std::unique_ptr<TensorFile> open_checkpoint(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec))
    throw ModelError("checkpoint: model directory " + model_dir.string() + " does not exist");
  // In the order Hugging Face's from_pretrained prefers them.
  const char* const candidates[] = {"model.safetensors", "model.safetensors.index.json",
                                    "pytorch_model.bin", "pytorch_model.bin.index.json"};
  for (const char* name : candidates) {
    const auto file = model_dir / name;
    if (!std::filesystem::exists(file, ec)) continue;
    const std::string n = name;
    if (n == "model.safetensors") return open_safetensors(file);
    if (n == "pytorch_model.bin") return open_torch_bin(file);
    return open_sharded(file);
  }
  std::string looked;
  for (const char* name : candidates) looked += std::string(looked.empty() ? "" : ", ") + name;
  throw ModelError("checkpoint: no weights in " + model_dir.string() + " (looked for " + looked + ")");
}

void load_weights(torch::nn::Module& module, const TensorFile& file, const LoadOptions& options) {
  torch::NoGradGuard no_grad;

  std::map<std::string, torch::Tensor> targets;
  for (const auto& item : module.named_parameters(true))
    if (item.value().defined()) targets.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(true))
    if (item.value().defined()) targets.emplace(item.key(), item.value());

  // Validate everything first, so a failed load leaves the module untouched.
  std::vector<std::string> wrong, unused;
  std::map<std::string, Assignment> plan;  // by module name
  for (const auto& name : file.names()) {
    auto key = module_name(name, options);
    if (!key) continue;
    auto target = targets.find(*key);
    if (target == targets.end()) {
      if (!contains_any(name, options.ignore_unused))
        unused.push_back("unused: " + name + " (shape " + shape_str(file.shape(name)) + ")");
      continue;
    }
    const torch::Tensor& t = target->second;
    const auto found = file.shape(name);
    if (!shapes_compatible(t.sizes(), found)) {
      wrong.push_back("wrong shape: " + *key + " (expected " + shape_str(t.sizes()) + ", got " +
                      shape_str(found) + (name == *key ? "" : " from " + name) + ")");
      plan.emplace(*key, Assignment{name, {}});  // found, just unusable
      continue;
    }
    if (torch::isFloatingType(t.scalar_type()) != torch::isFloatingType(file.dtype(name))) {
      wrong.push_back("wrong dtype: " + *key + " (expected " + c10::toString(t.scalar_type()) +
                      ", got " + c10::toString(file.dtype(name)) + ")");
      plan.emplace(*key, Assignment{name, {}});
      continue;
    }
    auto [it, fresh] = plan.emplace(*key, Assignment{name, t});
    if (!fresh)
      wrong.push_back("duplicate: " + name + " and " + it->second.checkpoint_name +
                      " both map to " + *key);
  }
  std::vector<std::string> missing;
  for (const auto& [key, t] : targets)
    if (!plan.count(key) && !contains_any(key, options.allow_missing))
      missing.push_back("missing: " + key + " (expected shape " + shape_str(t.sizes()) + ")");

  std::vector<std::string> problems = wrong;
  problems.insert(problems.end(), missing.begin(), missing.end());
  problems.insert(problems.end(), unused.begin(), unused.end());
  if (!problems.empty()) {
    constexpr size_t kShown = 20;
    std::ostringstream msg;
    msg << "load_weights: " << problems.size() << (problems.size() == 1 ? " problem" : " problems")
        << " loading " << (file.source().empty() ? std::string("the checkpoint") : file.source());
    if (!options.prefix.empty()) msg << " (prefix \"" << options.prefix << "\")";
    msg << ':';
    for (size_t i = 0; i < problems.size() && i < kShown; ++i) msg << "\n  " << problems[i];
    if (problems.size() > kShown) msg << "\n  ... and " << problems.size() - kShown << " more";
    throw ModelError(msg.str());
  }

  for (auto& [key, a] : plan) {
    file.read_into(a.checkpoint_name, a.target);  // converts the dtype; [] <-> [1] alike
  }
}

}  // namespace gliclass::io
