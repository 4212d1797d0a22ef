#include "runtime/onednn_matmul.h"

#include "runtime/head_rows.h"
#include "runtime/quantize.h"

#include <ATen/Parallel.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <map>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace gliclass::runtime {
namespace {

using dnnl::memory;
using Layout = memory::format_tag;
using Type = memory::data_type;

// Rows of the problem the packed layout is chosen for; calls with other row
// counts get the same layout from oneDNN (checked per call).
constexpr int64_t kPackRows = 128;

const dnnl::engine& cpu() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

Type onednn_type(DType dtype) {
  switch (dtype) {
    case DType::kBFloat16: return Type::bf16;
    case DType::kInt8: return Type::s8;
    default: return Type::f32;
  }
}

memory wrap(const memory::desc& desc, const torch::Tensor& t) { return memory(desc, cpu(), t.data_ptr()); }

// x [M,K] float32 contiguous -> bfloat16, torch's rounding, in blocks of rows
// on LibTorch's threads (LibTorch's own conversion took 3 ms for a
// [1536, 3072] input: as long as the AMX product it feeds).
torch::Tensor to_bf16(const torch::Tensor& x) {
  auto out = torch::empty(x.sizes(), x.options().dtype(torch::kBFloat16));
  const int64_t columns = x.size(1);
  const float* from = x.data_ptr<float>();
  auto* to = reinterpret_cast<uint16_t*>(out.data_ptr());
  at::parallel_for(0, x.size(0), 64, [&](int64_t begin, int64_t end) {
    head_rows(from + begin * columns, columns, end - begin, columns, 1.f, to + begin * columns);
  });
  return out;
}

}  // namespace

// The row ranges [begin, end) a product of m rows runs in. oneDNN 2.6's AMX
// kernels block m by one of its divisors (59 for m = 944) and are 1.3-18x
// slower than for m rounded up to 64 for a sixth to a third of the m in 49..1000;
// multiples of 64 and m <= 48 are always fast (sweeps of the three
// GEMM shapes of DeBERTa-v3 on a 2-core Xeon with AMX). Splitting off the
// multiple of 64 wins 9x more time over that range than it loses where it was
// not needed (one more pass over W), so AMX runs take 64q rows, then the rest
// in one part if it is at most 48 rows, else 32 and the remainder.
std::vector<std::pair<int64_t, int64_t>> row_parts(int64_t m, bool amx) {
  if (!amx || m % 64 == 0 || m <= 48) return {{0, m}};
  std::vector<std::pair<int64_t, int64_t>> parts;
  const int64_t whole = m / 64 * 64;
  if (whole > 0) parts.emplace_back(0, whole);
  if (m - whole > 48) parts.emplace_back(whole, whole + 32);
  parts.emplace_back(parts.empty() ? 0 : parts.back().second, m);
  return parts;
}

struct OneDnnMatmul::Impl {
  DType dtype;
  int64_t n = 0, k = 0;
  torch::Tensor weight;         // fp32: the caller's W [N,K], read in place; int8: q(W)
  torch::Tensor bias;           // [N] float32, or undefined
  std::vector<float> weight_scale_values;  // int8: s_w [N]
  memory::desc weights_desc;    // the layout the kernel reads W in
  memory packed;                // bf16: W in that layout
  bool amx = false;             // the kernel is one of oneDNN's AMX ones (row_parts)

  bool int8() const { return dtype == DType::kInt8; }

  // The kernel for this problem, refusing oneDNN's reference (scalar) one;
  // records whether it is an AMX one (forward splits rows for those).
  void check_kernel(const dnnl::matmul::primitive_desc& pd) {
    const std::string name = pd.impl_info_str();
    if (name.rfind("ref", 0) == 0)
      throw std::runtime_error("oneDNN has no optimised " + dtype_name(dtype) + " matmul on this CPU (only " + name + ")");
    amx = name.find("amx") != std::string::npos;
  }

  // The epilogue runs as post-ops for fp32 and bf16: GELU first, then the
  // residual as binary post-op 1 (or 0 without GELU).
  dnnl::matmul::primitive_desc primitive(int64_t m, const memory::desc& weights, const Epilogue& epilogue = {}) const {
    const memory::desc src({m, k}, onednn_type(dtype), Layout::ab), dst({m, n}, Type::f32, Layout::ab);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // per call: calls may run concurrently
    // s_w[n]; s_x[m] is applied after (scales known only at run time would
    // rule out the VNNI brgemm kernel in this oneDNN, and it has no per-row
    // source scales).
    if (int8()) attr.set_output_scales(1 << 1, weight_scale_values);
    if (!int8() && (epilogue.gelu || epilogue.residual.defined())) {
      dnnl::post_ops ops;
      if (epilogue.gelu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
      if (epilogue.residual.defined()) ops.append_binary(dnnl::algorithm::binary_add, dst);
      attr.set_post_ops(ops);
    }
    if (bias.defined() && !int8())
      return {dnnl::matmul::desc(src, weights, memory::desc({1, n}, Type::f32, Layout::ab), dst), attr, cpu()};
    return {dnnl::matmul::desc(src, weights, dst), attr, cpu()};
  }

  // W^T [K,N] of the dtype, as the row-major [N,K] tensor w is ("ba").
  memory::desc plain_weights() const { return memory::desc({k, n}, onednn_type(dtype), Layout::ba); }
  memory::desc any_weights() const { return memory::desc({k, n}, onednn_type(dtype), Layout::any); }

  void pack(const torch::Tensor& w) {
    const auto pd = primitive(kPackRows, any_weights());
    check_kernel(pd);
    weights_desc = pd.weights_desc();
    packed = memory(weights_desc, cpu());
    dnnl::stream stream(cpu());
    auto source = wrap(plain_weights(), w);
    dnnl::reorder(source, packed).execute(stream, source, packed);
    stream.wait();
  }
};

OneDnnMatmul::OneDnnMatmul(const torch::Tensor& weight, const torch::Tensor& bias, DType dtype) {
  TORCH_CHECK(weight.dim() == 2 && weight.scalar_type() == torch::kFloat && weight.device().is_cpu(),
              "OneDnnMatmul: weight must be a 2-D float32 CPU tensor");
  auto impl = std::make_unique<Impl>();
  impl->dtype = dtype;
  impl->n = weight.size(0), impl->k = weight.size(1);
  if (bias.defined()) impl->bias = bias.detach().contiguous();
  torch::NoGradGuard no_grad;
  try {
    if (dtype == DType::kFloat32) {
      TORCH_CHECK(weight.is_contiguous(), "OneDnnMatmul: fp32 weights must be contiguous");
      impl->weight = weight.detach();
      impl->weights_desc = impl->plain_weights();
      impl->check_kernel(impl->primitive(kPackRows, impl->weights_desc));
    } else if (dtype == DType::kBFloat16) {
      impl->pack(weight.detach().to(torch::kBFloat16).contiguous());
    } else {  // int8 kernels for s8 inputs take W as it is (VNNI brgemm); a blocked layout gets a slower one
      auto [q, scales] = quantize_rows(weight.detach());
      impl->weight = q;
      auto s = scales.to(torch::kFloat).contiguous();
      impl->weight_scale_values.assign(s.data_ptr<float>(), s.data_ptr<float>() + s.numel());
      impl->weights_desc = impl->plain_weights();
      impl->check_kernel(impl->primitive(kPackRows, impl->weights_desc));
    }
  } catch (const dnnl::error& e) {
    throw std::runtime_error("oneDNN has no " + dtype_name(dtype) + " matmul on this CPU: " + e.what());
  }
  impl_ = std::move(impl);
}

OneDnnMatmul::~OneDnnMatmul() = default;

std::string OneDnnMatmul::kernel(DType dtype) {
  Impl p;
  p.dtype = dtype, p.n = 768, p.k = 768;
  if (p.int8()) p.weight_scale_values.assign(static_cast<size_t>(p.n), 1.0f);
  try {
    return p.primitive(kPackRows, dtype == DType::kBFloat16 ? p.any_weights() : p.plain_weights()).impl_info_str();
  } catch (const dnnl::error& e) {
    return std::string("none (") + e.what() + ")";
  }
}

bool OneDnnMatmul::optimised(DType dtype) {
  auto check = [](DType d) {
    const std::string name = kernel(d);
    return name.rfind("ref", 0) != 0 && name.rfind("none", 0) != 0;
  };
  static const bool bf16 = check(DType::kBFloat16), int8 = check(DType::kInt8), fp32 = check(DType::kFloat32);
  return dtype == DType::kBFloat16 ? bf16 : dtype == DType::kInt8 ? int8 : fp32;
}

torch::Tensor OneDnnMatmul::forward(const torch::Tensor& x, const Epilogue& epilogue) const {
  const Impl& p = *impl_;
  TORCH_CHECK(x.dim() == 2 && x.size(1) == p.k && x.scalar_type() == torch::kFloat,
              "OneDnnMatmul: expected float32 input [M,", p.k, "]");
  const int64_t m = x.size(0);
  torch::Tensor residual;
  if (epilogue.residual.defined()) {
    TORCH_CHECK(epilogue.residual.numel() == m * p.n && epilogue.residual.scalar_type() == torch::kFloat,
                "OneDnnMatmul: the residual must be float32 with [", m, ",", p.n, "] elements");
    residual = epilogue.residual.reshape({m, p.n}).contiguous();
  }
  auto out = torch::empty({m, p.n}, x.options());
  if (m == 0) return out;
  at::internal::lazy_init_num_threads();  // oneDNN uses this thread's OpenMP setting: LibTorch's
  torch::Tensor src = x.contiguous(), x_scale;
  if (p.dtype == DType::kBFloat16) {
    src = to_bf16(src);
  } else if (p.int8()) {
    std::tie(src, x_scale) = quantize_rows(src);
  }

  const bool plain = p.dtype != DType::kBFloat16;
  dnnl::stream stream(cpu());
  for (const auto& [begin, end] : row_parts(m, p.amx)) {
    auto rows = [begin = begin, end = end](const torch::Tensor& t) { return t.narrow(0, begin, end - begin); };
    const auto pd = p.primitive(end - begin, plain ? p.weights_desc : p.any_weights(), epilogue);
    memory weights = plain ? wrap(p.weights_desc, p.weight) : p.packed;
    if (pd.weights_desc() != p.weights_desc) {  // a row count oneDNN lays W out differently for
      memory relaid(pd.weights_desc(), cpu());
      dnnl::reorder(weights, relaid).execute(stream, weights, relaid);
      weights = relaid;
    }
    auto scratch = torch::empty({static_cast<int64_t>(pd.scratchpad_desc().get_size())}, torch::kByte);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(pd.src_desc(), rows(src))},
                                         {DNNL_ARG_WEIGHTS, weights},
                                         {DNNL_ARG_DST, wrap(pd.dst_desc(), rows(out))},
                                         {DNNL_ARG_SCRATCHPAD, wrap(pd.scratchpad_desc(), scratch)}};
    if (p.bias.defined() && !p.int8())
      args.emplace(DNNL_ARG_BIAS, wrap(memory::desc({1, p.n}, Type::f32, Layout::ab), p.bias));
    if (residual.defined() && !p.int8())
      args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(epilogue.gelu ? 1 : 0) | DNNL_ARG_SRC_1,
                   wrap(pd.dst_desc(), rows(residual)));
    dnnl::matmul(pd).execute(stream, args);
    stream.wait();
  }
  if (p.int8()) dequantize_rows_(out, x_scale, p.bias, epilogue.gelu, residual);
  return out;
}

namespace {

// matmul_into's primitive for one shape and layout, built once per thread:
// building it (kernel selection) took about as long as running a head's
// small product.
struct Product {
  memory::desc a, b, out;
  int64_t scratchpad_bytes = 0;
  dnnl::matmul matmul;
};

memory::desc operand_desc(const MatrixOperand& m, Type type) {
  return m.column_major ? memory::desc({m.rows, m.columns}, type, Layout::ba)
                        : memory::desc({m.rows, m.columns}, type, Layout::ab);
}

const Product& cached_product(const MatrixOperand& a, const MatrixOperand& b, bool bf16) {
  // (bf16, M, K, N, a column-major, b column-major)
  using Key = std::tuple<bool, int64_t, int64_t, int64_t, bool, bool>;
  thread_local std::map<Key, Product> cache;
  const Key key{bf16, a.rows, a.columns, b.columns, a.column_major, b.column_major};
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  if (cache.size() >= 256) cache.clear();  // lengths seen long ago
  const Type type = bf16 ? Type::bf16 : Type::f32;
  Product p;
  p.a = operand_desc(a, type), p.b = operand_desc(b, type);
  p.out = memory::desc({a.rows, b.columns}, Type::f32, Layout::ab);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.a, p.b, p.out), attr, cpu());
  p.scratchpad_bytes = static_cast<int64_t>(pd.scratchpad_desc().get_size());
  p.matmul = dnnl::matmul(pd);
  return cache.emplace(key, std::move(p)).first->second;
}

}  // namespace

void matmul_into(const MatrixOperand& a, const MatrixOperand& b, bool bf16, float* out) {
  TORCH_CHECK(a.columns == b.rows && a.rows > 0 && a.columns > 0 && b.columns > 0, "matmul_into: shapes [", a.rows,
              ",", a.columns, "] x [", b.rows, ",", b.columns, "]");
  at::internal::lazy_init_num_threads();
  const Product& product = cached_product(a, b, bf16);
  thread_local std::vector<uint8_t> scratch;
  if (static_cast<int64_t>(scratch.size()) < product.scratchpad_bytes)
    scratch.resize(static_cast<size_t>(product.scratchpad_bytes));
  thread_local dnnl::stream stream(cpu());
  const memory::desc scratch_desc({product.scratchpad_bytes}, Type::u8, Layout::a);
  product.matmul.execute(stream, {{DNNL_ARG_SRC, memory(product.a, cpu(), const_cast<void*>(a.data))},
                                  {DNNL_ARG_WEIGHTS, memory(product.b, cpu(), const_cast<void*>(b.data))},
                                  {DNNL_ARG_DST, memory(product.out, cpu(), out)},
                                  {DNNL_ARG_SCRATCHPAD, memory(scratch_desc, cpu(), scratch.data())}});
  stream.wait();
}

torch::Tensor matmul(const torch::Tensor& a_view, const torch::Tensor& b_view) {
  const auto type = a_view.scalar_type();
  auto plain = [&](const torch::Tensor& t) {
    return t.dim() == 2 && t.scalar_type() == type && t.device().is_cpu() && t.numel() > 0;
  };
  if ((type != torch::kFloat && type != torch::kBFloat16) || !plain(a_view) || !plain(b_view) ||
      a_view.size(1) != b_view.size(0))
    return torch::matmul(a_view, b_view);
  // Dense row- or column-major operands (the brgemm kernels take no other
  // strides; a row slice of a wider tensor is copied).
  auto operand = [](const torch::Tensor& t, torch::Tensor& keep) {
    const bool rows = t.stride(1) == 1 && t.stride(0) == t.size(1), columns = t.stride(0) == 1 && t.stride(1) == t.size(0);
    keep = rows || columns ? t : t.contiguous();
    return MatrixOperand{keep.data_ptr(), t.size(0), t.size(1), !rows && columns};
  };
  torch::Tensor a, b;
  const MatrixOperand left = operand(a_view, a), right = operand(b_view, b);
  auto out = torch::empty({a.size(0), b.size(1)}, a.options().dtype(torch::kFloat));
  matmul_into(left, right, type == torch::kBFloat16, out.data_ptr<float>());
  return out;
}

}  // namespace gliclass::runtime
