#pragma once
namespace ffn {
// Set by CMake from project(VERSION).
inline constexpr const char* k_version = FFN_PARITY_VERSION;
}  // namespace ffn
