#include "train/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "gliclass/error.h"
#include "io/checkpoint.h"
#include "tokenize/tokenizer.h"
#include "io/safetensors.h"

namespace gliclass::train {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void io_fail(const std::string& what, const fs::path& p) {
  throw Error("checkpoint: " + what + " " + p.string() + ": " + std::strerror(errno));
}

void fsync_path(const fs::path& p, bool directory) {
  const int fd = ::open(p.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) io_fail("cannot open", p);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) io_fail("cannot fsync", p);
}

void fsync_tree(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    fsync_path(e.path(), e.is_directory());
  fsync_path(dir, true);
}

void rename_or_fail(const fs::path& from, const fs::path& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) io_fail("cannot rename " + from.string() + " to", to);
}

// Swaps two directory entries in one step (Linux renameat2); false if unsupported.
bool exchange(const fs::path& a, const fs::path& b) {
#if defined(RENAME_EXCHANGE)
  return ::renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  (void)a;
  (void)b;
  return false;
#endif
}

fs::path old_copy(const fs::path& dir) { return fs::path(dir.string() + ".old"); }

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> model_state(torch::nn::Module& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters()) out.emplace_back("model." + p.key(), p.value().detach().clone());
  for (const auto& b : model.named_buffers()) out.emplace_back("model." + b.key(), b.value().detach().clone());
  return out;
}

void write_file_synced(const fs::path& file, const std::string& content) {
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    if (!out) io_fail("cannot write", file);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) io_fail("cannot write", file);
  }
  fsync_path(file, false);
}

void write_model_files(const fs::path& dir, torch::nn::Module& model, const io::GLiClassConfig& config,
                       const fs::path& tokenizer_dir) {
  nlohmann::json j = config.to_json();
  // What GLiClassModel.save_pretrained writes, for AutoConfig / from_pretrained.
  j["model_type"] = "GLiClass";
  if (!j.contains("architectures") || j["architectures"].is_null()) j["architectures"] = {"GLiClassModel"};
  j["torch_dtype"] = "float32";
  write_file_synced(dir / "config.json", j.dump(2) + "\n");
  io::save_safetensors(dir / "model.safetensors", model_state(model), {{"format", "pt"}});
  for (const auto& name : tokenize::tokenizer_file_names()) {
    const fs::path src = tokenizer_dir / name;
    if (fs::is_regular_file(src)) fs::copy_file(src, dir / name, fs::copy_options::overwrite_existing);
  }
}

void write_dir_atomically(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  fs::create_directories(parent);
  const fs::path tmp = parent / ("." + dir.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  try {
    fill(tmp);
    fsync_tree(tmp);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
    if (exchange(tmp, dir)) {
      fsync_path(parent, true);
      fs::remove_all(tmp);  // now the previous checkpoint
      return;
    }
    const fs::path old = old_copy(dir);
    fs::remove_all(old);
    rename_or_fail(dir, old);
    rename_or_fail(tmp, dir);
    fsync_path(parent, true);
    fs::remove_all(old);
    return;
  }
  rename_or_fail(tmp, dir);
  fsync_path(parent, true);
}

fs::path existing_checkpoint(const fs::path& dir) {
  if (fs::is_directory(dir)) return dir;
  if (fs::is_directory(old_copy(dir))) return old_copy(dir);
  return {};
}

model::ModelPtr load_trainable_model(const fs::path& dir, const io::GLiClassConfig& config) {
  auto file = io::open_checkpoint(dir);
  auto model = model::make_model(config, file.get());
  io::LoadOptions options;
  options.prefix = "model.";
  options.ignore_unused = {"position_embeddings"};  // as the reference's from_pretrained
  {
    torch::NoGradGuard no_grad;
    io::load_weights(*model, *file, options);
  }
  for (auto& p : model->parameters()) p.set_requires_grad(true);
  model->train();
  return model;
}

}  // namespace gliclass::train
