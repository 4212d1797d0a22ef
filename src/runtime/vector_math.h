// Scalar float functions written so the compiler vectorises loops over them
// (no calls, no branches it cannot turn into selects): inline into the row
// kernels' AVX-512 / AVX2 / plain copies (runtime/cpu_dispatch.h).
#pragma once
#include <cstdint>
#include <cstring>

namespace gliclass::runtime {

// exp(x) for x <= 0 (Cephes expf): x = n ln2 + r, |r| <= ln2/2,
// exp(r) ~ 1 + r + r^2 P(r), times 2^n built in the exponent bits.
// 0 below -87.3 (e^-87.3 ~ 2^-126, the smallest normal float); NaN stays NaN.
inline __attribute__((always_inline)) float exp_nonpositive(float v) {
  float x = v > -87.3f ? v : -87.3f;  // the polynomial's input is finite, in [-87.3, 0]
  x = x < 0.f ? x : 0.f;
  constexpr float kRound = 12582912.f;  // 1.5 * 2^23: (v + kRound) - kRound rounds v to an integer
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;  // ln2 in two parts
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // n in [-126, 0]
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return v >= -87.3f ? p * two_n : v < -87.3f ? 0.f : v;
}

// GELU(v) = v/2 (1 + erf(v/sqrt 2)), erf from Abramowitz & Stegun 7.1.26
// (|error| <= 1.5e-7): with a = |z|, t = 1/(1 + p a),
// erfc(a) ~ t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) e^(-a^2), and
// 1 + erf(z) = 2 - erfc(a) for z >= 0, erfc(a) below (no cancellation).
inline __attribute__((always_inline)) float gelu_erf(float v) {
  const float z = v * 0.70710678118654752f, a = z < 0.f ? -z : z;
  const float t = 1.f / (1.f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  q = q * t * exp_nonpositive(-a * a);
  return 0.5f * v * (z >= 0.f ? 2.f - q : q);
}

// v as bfloat16 bits, rounded to nearest even; NaN gives the quiet NaN 0x7fc0
// (torch's float -> bfloat16 conversion, c10::BFloat16).
inline __attribute__((always_inline)) uint16_t bf16_bits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  return v != v ? uint16_t{0x7fc0} : static_cast<uint16_t>(rounded);
}

}  // namespace gliclass::runtime
