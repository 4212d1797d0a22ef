#include "model/poolings.h"

#include <limits>

#include "gliclass/error.h"

namespace gliclass::model {
namespace {

struct NamedPooling {
  const char* name;
  Pooling kind;
};

const NamedPooling kPoolings[] = {
    {"first", Pooling::kFirst}, {"last", Pooling::kLast},     {"max", Pooling::kMax},
    {"avg", Pooling::kAvg},     {"sum", Pooling::kSum},       {"rms", Pooling::kRms},
    {"abs_max", Pooling::kAbsMax}, {"abs_avg", Pooling::kAbsAvg}, {"pass", Pooling::kPass},
};

}  // namespace

const std::vector<std::string>& pooling_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& p : kPoolings) out.emplace_back(p.name);
    return out;
  }();
  return names;
}

Pooling pooling_from_name(const std::string& name) {
  for (const auto& p : kPoolings)
    if (name == p.name) return p.kind;
  std::string known;
  for (const auto& n : pooling_names()) known += (known.empty() ? "" : ", ") + n;
  throw ModelError("pooling: unknown pooling_strategy (expected one of " + known + ", got \"" +
                   name + "\")");
}

torch::Tensor pool(Pooling kind, const torch::Tensor& x, const torch::Tensor& lengths) {
  TORCH_CHECK(x.dim() == 3, "pool: expected [B,L,D] input, got ", x.sizes());
  if (kind == Pooling::kPass) return x;
  if (kind == Pooling::kFirst) return x.select(1, 0);

  auto len = lengths.to(x.device(), torch::kLong);
  if (kind == Pooling::kLast) {
    // x[b, len_b - 1, :]
    auto idx = (len - 1).view({-1, 1, 1}).expand({x.size(0), 1, x.size(2)});
    return x.gather(1, idx).squeeze(1);
  }

  // keep[b, l, 0] = l < len_b
  auto keep = (torch::arange(x.size(1), len.options()).unsqueeze(0) < len.unsqueeze(1)).unsqueeze(-1);
  auto denom = len.to(x.scalar_type()).unsqueeze(1);  // [B,1]
  switch (kind) {
    case Pooling::kMax:
      return x.masked_fill(keep.logical_not(), -std::numeric_limits<double>::infinity()).amax(1);
    case Pooling::kAvg:
      return x.masked_fill(keep.logical_not(), 0).sum(1) / denom;
    case Pooling::kSum:
      return x.masked_fill(keep.logical_not(), 0).sum(1);
    case Pooling::kRms:
      return (x.pow(2).masked_fill(keep.logical_not(), 0).sum(1) / denom).sqrt();
    case Pooling::kAbsMax:
      // |x| >= 0, so masked zeros never exceed the maximum of a non-empty row.
      return x.abs().masked_fill(keep.logical_not(), 0).amax(1);
    case Pooling::kAbsAvg:
      return x.abs().masked_fill(keep.logical_not(), 0).sum(1) / denom;
    default:
      break;
  }
  throw ModelError("pooling: unhandled pooling kind");
}

}  // namespace gliclass::model
