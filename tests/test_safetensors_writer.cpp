// The safetensors writer, through the reader: every dtype it writes comes back bit for bit,
// the header is 8-byte aligned, metadata survives, and values off the dtype's grid, a shape
// that does not hold the values, duplicate names and an unwritable path are refused with one
// line naming the tensor or the file.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include "harness/inputs/safetensors.hpp"
#include "harness/inputs/safetensors_writer.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn::safetensors;
using ffn::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// Bit patterns worth a round trip: zeros of both signs, the smallest subnormal and largest
// finite value of bf16 and fp16, values that need every mantissa bit of each grid.
const std::vector<float> k_bf16_values = {0.0f, -0.0f, 1.0f, -2.5f, 0x1p-133f, 0x1.fep127f, 1.0078125f, -3.984375f};
const std::vector<float> k_fp16_values = {0.0f, -0.0f, 1.0f, -2.5f, 0x1p-24f, 65504.0f, 1.0009765625f, -3.998046875f};

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("safetensors writer: every dtype round-trips bit for bit through the reader", "[safetensors]") {
  TempDir dir("st-writer");
  const std::vector<float> f32 = {0.0f, -0.0f, 0x1p-149f, std::numeric_limits<float>::max(), 3.14159274f, -1e-30f};
  const std::vector<double> f64 = {0.1, -1e300, 0x1p-1074, 2.0 / 3.0};
  const std::string path = dir.file("t.safetensors");
  write_file(path,
             {encode_tensor("a.bf16", Dtype::bf16, {2, 4}, k_bf16_values),
              encode_tensor("b.f16", Dtype::f16, {8}, k_fp16_values), encode_tensor("c.f32", Dtype::f32, {3, 2}, f32),
              encode_tensor("d.f64", {4}, f64), encode_tensor("e.empty", Dtype::bf16, {0, 3}, std::vector<float>{})},
             {{"format", "pt"}, {"what", "a test"}});
  const File file = File::open(path);
  CHECK(file.header().data_offset % 8 == 0);
  CHECK(file.header().metadata.at("what") == "a test");
  CHECK(file.info("a.bf16").shape == std::vector<std::int64_t>{2, 4});
  CHECK(file.info("a.bf16").dtype == Dtype::bf16);
  CHECK(file.info("e.empty").numel() == 0);
  const auto check = [&](const std::string& name, const std::vector<float>& want) {
    const std::vector<float> got = decode_to_float(file.info(name), file.bytes(name), name);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(same_bits(got[i], want[i]));
  };
  check("a.bf16", k_bf16_values);
  check("b.f16", k_fp16_values);
  check("c.f32", f32);
  const auto raw = file.bytes("d.f64");
  REQUIRE(raw.size() == f64.size() * sizeof(double));
  for (std::size_t i = 0; i < f64.size(); ++i) {
    double v;
    std::memcpy(&v, raw.data() + i * sizeof(double), sizeof v);
    CHECK(v == f64[i]);
  }
}

TEST_CASE("safetensors writer: refuses what it cannot store exactly, in one line", "[safetensors]") {
  TempDir dir("st-writer-bad");
  const std::vector<float> off_bf16 = {1.0f, 1.00390625f};  // 1 + 2^-8: between two bf16 values
  CHECK_THROWS_WITH(encode_tensor("w", Dtype::bf16, {2}, off_bf16),
                    "w: value 1.0039062 at index 1 is not exact in BF16");
  CHECK_THROWS_WITH(encode_tensor("w", Dtype::f16, {1}, std::vector<float>{1e6f}),
                    Contains("w: value") && Contains("is not exact in F16"));
  CHECK_THROWS_WITH(encode_tensor("w", Dtype::f32, {3}, off_bf16), "w: shape holds 3 elements, 2 values given");
  CHECK_THROWS_WITH(encode_tensor("w", Dtype::f8_e4m3, {2}, off_bf16),
                    "w: writing F8_E4M3 is not supported (BF16, F16, F32, F64)");
  const TensorToWrite t = encode_tensor("w", Dtype::f32, {2}, off_bf16);
  CHECK_THROWS_WITH(write_file(dir.file("dup.safetensors"), {t, t}),
                    dir.file("dup.safetensors") + ": tensor name 'w' used twice");
  const std::string missing = dir.file("no-such-dir/x.safetensors");
  CHECK_THROWS_WITH(write_file(missing, {t}), missing + ": cannot write");
  CHECK_FALSE(std::filesystem::exists(dir / "no-such-dir"));
}
