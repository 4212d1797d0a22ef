// Text poolings of the reference's poolings.py, made batch-invariant: each
// row pools over its own length, the number of positions the reference would
// pool over if that row ran alone (batch size 1, no padding).
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

namespace gliclass::model {

enum class Pooling { kFirst, kLast, kMax, kAvg, kSum, kRms, kAbsMax, kAbsAvg, kPass };

// "first", "last", "max", "avg", "sum", "rms", "abs_max", "abs_avg", "pass";
// anything else is a ModelError listing these.
Pooling pooling_from_name(const std::string& name);
const std::vector<std::string>& pooling_names();

// x: [B,L,D]; lengths: [B] int64, 1 <= lengths[b] <= L. Positions at or past
// lengths[b] are excluded; positions before it are used as they are (zeros
// included, as the reference pools zero-filled positions too).
//   first x[0]; last x[len-1]; max; avg = sum/len; sum; rms = sqrt(sum x^2/len);
//   abs_max max|x|; abs_avg sum|x|/len; pass returns x unchanged ([B,L,D]).
torch::Tensor pool(Pooling kind, const torch::Tensor& x, const torch::Tensor& lengths);

}  // namespace gliclass::model
