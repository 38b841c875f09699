#pragma once
// SHA-256 (FIPS 180-4), for recording generated inputs by digest instead of by value.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ffn {

// How the blocks are compressed: the CPU's SHA extensions where it has them (x86 SHA-NI, about
// 5x the portable code: hashing is half of a golden check of the large models), else portable
// C++. Both give the same digest (tested against each other and the NIST vectors).
enum class Sha256Engine { best, portable };
bool sha256_hardware_available();

class Sha256 {
 public:
  explicit Sha256(Sha256Engine engine = Sha256Engine::best);
  void update(std::span<const std::uint8_t> bytes);
  std::array<std::uint8_t, 32> finish();

 private:
  void blocks(const std::uint8_t* p, std::size_t n);
  bool hardware_;
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
