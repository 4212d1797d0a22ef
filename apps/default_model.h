// The model `gliclass classify` and `gliclass serve` use when --model is not
// given: $GLICLASS_MODEL if set, else the bundled models/gliclass-debtags-tiny
// (installed beside the binary, or in the source tree it was built from).
#pragma once

#include <string>

namespace gliclass::cli {

inline constexpr const char* kDefaultModelName = "gliclass-debtags-tiny";

// The directory to load; ModelError naming every place looked when none has
// a config.json.
std::string default_model_dir();

}  // namespace gliclass::cli
