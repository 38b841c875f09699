#pragma once
// SHA-256 (FIPS 180-4), for recording generated inputs by digest instead of by value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ffn {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const std::uint8_t> bytes);
  std::array<std::uint8_t, 32> finish();

 private:
  void block(const std::uint8_t* p);
  std::array<std::uint32_t, 8> h_;
  std::array<std::uint8_t, 64> buf_{};
  std::size_t buf_len_ = 0;
  std::uint64_t total_ = 0;
};

std::string to_hex(std::span<const std::uint8_t> bytes);
std::string sha256_hex(std::span<const std::uint8_t> bytes);
// Digest of float values as their IEEE binary32 little-endian bytes, in order.
std::string sha256_hex(std::span<const float> values);

}  // namespace ffn
