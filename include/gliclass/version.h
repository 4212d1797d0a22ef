#pragma once
namespace gliclass {
inline constexpr const char* kVersion = "0.1.0";
}
