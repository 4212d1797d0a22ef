#include "default_model.h"

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "gliclass/error.h"

namespace gliclass::cli {

namespace fs = std::filesystem;

std::string default_model_dir() {
  if (const char* env = std::getenv("GLICLASS_MODEL"); env && *env) return env;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(self.parent_path().parent_path() / "share" / "gliclass" / "models" / kDefaultModelName);
  candidates.push_back(fs::path(GLICLASS_SOURCE_MODELS_DIR) / kDefaultModelName);
  std::string looked;
  for (const auto& dir : candidates) {
    if (fs::exists(dir / "config.json", ec)) return dir.string();
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  throw ModelError("no --model given and the bundled model " + std::string(kDefaultModelName) +
                   " was not found (looked in " + looked + "; set GLICLASS_MODEL or pass --model)");
}

}  // namespace gliclass::cli
