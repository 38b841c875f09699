// The safetensors reader: every dtype decodes exactly, multi-file checkpoints resolve through
// their index and open only the files they need, and every malformed file is refused with one
// line, without a read outside the bytes it was given (a guard page after them faults on any).
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "harness/inputs/safetensors.hpp"
#include "kernels/minifloat.hpp"
#include "tests/safetensors_writer.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using namespace ffn::safetensors;
using ffn::test::StTensor;
using ffn::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// `bytes` copied to the end of a page that is followed by an inaccessible page: reading one
// byte past them is a segmentation fault, which fails the test run.
class GuardedBytes {
 public:
  explicit GuardedBytes(const std::vector<std::byte>& bytes) {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    pages_ = (bytes.size() + page - 1) / page + 1;
    len_ = pages_ * page;
    base_ = static_cast<std::byte*>(::mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    REQUIRE(base_ != MAP_FAILED);
    std::byte* guard = base_ + (pages_ - 1) * page;
    REQUIRE(::mprotect(guard, page, PROT_NONE) == 0);
    data_ = guard - bytes.size();
    std::copy(bytes.begin(), bytes.end(), data_);
    size_ = bytes.size();
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  ~GuardedBytes() { ::munmap(base_, len_); }
  const std::byte* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  std::byte* base_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t pages_ = 0, len_ = 0, size_ = 0;
};

// The message parse_header gives for these bytes (which must be refused), checked to be one line.
std::string refusal(const std::vector<std::byte>& bytes) {
  const GuardedBytes guarded(bytes);
  try {
    parse_header(guarded.data(), guarded.size(), "ckpt.safetensors");
  } catch (const SafetensorsError& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    CHECK(what.rfind("ckpt.safetensors: ", 0) == 0);
    return what;
  }
  FAIL("the header was accepted");
  return {};
}

std::vector<std::byte> image(const std::string& header, std::size_t data_bytes = 0) {
  return test::st_image(header, std::vector<std::byte>(data_bytes, std::byte{0}));
}

std::vector<float> values_of(const std::string& path, const std::string& name) {
  const File f = File::open(path);
  return decode_to_float(f.info(name), f.bytes(name), name);
}

}  // namespace

TEST_CASE("safetensors: every dtype decodes exactly", "[safetensors]") {
  TempDir dir("st");
  const std::vector<float> bf16{1.0f, -2.5f, 0x1.fep127f, 0x1p-133f, 0.0f, -0.0f};
  const std::vector<float> f16{1.0f, -65504.0f, 0x1p-24f, 0.333251953125f};
  const std::vector<float> f32{0.1f, -3.4e38f, 0x1p-149f};
  const std::vector<float> f64{0.5f, 1e30f};
  const std::vector<float> e4m3{448.0f, -448.0f, 0x1p-9f, 1.125f, -0.0f};
  const std::vector<float> e5m2{57344.0f, 0x1p-16f, -1.5f};
  const std::vector<float> i8{-127.0f, 127.0f, 0.0f, -1.0f};
  const std::vector<float> u8{0.0f, 255.0f, 128.0f};
  // Odd-sized tensors first, so the later ones start at unaligned offsets.
  const std::vector<StTensor> tensors = {
      test::st_tensor("e4m3", "F8_E4M3", {5}, e4m3), test::st_tensor("e5m2", "F8_E5M2", {3}, e5m2),
      test::st_tensor("u8", "U8", {3}, u8),          test::st_tensor("bf16", "BF16", {2, 3}, bf16),
      test::st_tensor("f16", "F16", {4}, f16),       test::st_tensor("f32", "F32", {3}, f32),
      test::st_tensor("f64", "F64", {2}, f64),       test::st_tensor("i8", "I8", {2, 2}, i8),
  };
  test::write_safetensors(dir.file("all.safetensors"), tensors);
  const File f = File::open(dir.file("all.safetensors"));
  CHECK(f.header().tensors.size() == 8);
  CHECK(f.info("bf16").shape == std::vector<std::int64_t>{2, 3});
  CHECK(f.info("bf16").dtype == Dtype::bf16);
  for (const auto& [name, expected] : std::vector<std::pair<std::string, std::vector<float>>>{
           {"bf16", bf16}, {"f16", f16}, {"f32", f32}, {"f64", f64}, {"e4m3", e4m3}, {"e5m2", e5m2}, {"i8", i8}, {"u8", u8}}) {
    INFO(name);
    const std::vector<float> got = values_of(dir.file("all.safetensors"), name);
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i] == expected[i]);
      CHECK(std::signbit(got[i]) == std::signbit(expected[i]));
    }
  }
  // bytes() is exactly the tensor's range.
  CHECK(f.bytes("e5m2").size() == 3);
  CHECK(std::to_integer<std::uint8_t>(f.bytes("e5m2")[0]) == 0x7b);  // 57344 in E5M2
}

TEST_CASE("safetensors: metadata, empty tensors and dtype names", "[safetensors]") {
  const std::string header =
      R"({"__metadata__": {"format": "pt"}, "empty": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]},)"
      R"( "one": {"dtype": "U8", "shape": [], "data_offsets": [0, 1]}})";
  const GuardedBytes g(image(header, 1));
  const Header h = parse_header(g.data(), g.size());
  CHECK(h.metadata.at("format") == "pt");
  CHECK(h.tensors.at("empty").numel() == 0);
  CHECK(h.tensors.at("one").numel() == 1);
  CHECK(h.data_offset == 8 + header.size());
  for (Dtype d : {Dtype::bf16, Dtype::f16, Dtype::f32, Dtype::f64, Dtype::f8_e4m3, Dtype::f8_e5m2, Dtype::i8, Dtype::u8})
    CHECK(safetensors::parse_dtype(dtype_name(d)) == d);
  CHECK_FALSE(safetensors::parse_dtype("BOOL"));
}

TEST_CASE("safetensors: malformed files are refused with one line", "[safetensors][malformed]") {
  const std::string ok_entry = R"("w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]})";
  SECTION("empty file") { CHECK_THAT(refusal({}), Contains("short header: 0 bytes")); }
  SECTION("short header") { CHECK_THAT(refusal(std::vector<std::byte>(5)), Contains("short header: 5 bytes")); }
  SECTION("header length beyond the file") {
    CHECK_THAT(refusal(test::st_image("{}", {}, 1000)), Contains("header length 1000 runs beyond the end of the file"));
  }
  SECTION("header length near 2^64 does not wrap") {
    CHECK_THAT(refusal(test::st_image("{}", {}, ~std::uint64_t{0})), Contains("runs beyond the end of the file"));
  }
  SECTION("truncated JSON ending at the guard page") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "BF)")), Contains("header is not valid JSON"));
  }
  SECTION("bad JSON with control bytes stays one line") {
    CHECK_THAT(refusal(image("{\"w\"\n\n:\x01}")), Contains("header is not valid JSON"));
  }
  SECTION("JSON that is not an object") { CHECK_THAT(refusal(image("[1, 2]")), Contains("header is a JSON array")); }
  SECTION("entry that is not an object") {
    CHECK_THAT(refusal(image(R"({"w": 3})")), Contains("tensor 'w': header entry is number"));
  }
  SECTION("no dtype") {
    CHECK_THAT(refusal(image(R"({"w": {"shape": [2], "data_offsets": [0, 4]}})", 4)), Contains("no \"dtype\""));
  }
  SECTION("unknown dtype") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})", 2)),
               Contains("tensor 'w': unknown dtype 'BOOL'"));
  }
  SECTION("no shape") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "U8", "data_offsets": [0, 2]}})", 2)), Contains("no \"shape\" array"));
  }
  SECTION("negative shape") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "U8", "shape": [-2], "data_offsets": [0, 2]}})", 2)),
               Contains("shape entry -2 is not a non-negative integer"));
  }
  SECTION("fractional shape") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "U8", "shape": [1.5], "data_offsets": [0, 2]}})", 2)),
               Contains("is not a non-negative integer"));
  }
  SECTION("offsets that are not a pair") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "U8", "shape": [2], "data_offsets": [0]}})", 2)),
               Contains("\"data_offsets\" is not a pair of non-negative integers"));
  }
  SECTION("offsets ending before they begin") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "U8", "shape": [2], "data_offsets": [4, 2]}})", 4)),
               Contains("end before they begin"));
  }
  SECTION("offsets outside the data") {
    CHECK_THAT(refusal(image("{" + ok_entry + "}", 3)),
               Contains("tensor 'w': data_offsets [0, 4] lie outside the 3-byte data section"));
  }
  SECTION("overlapping tensors") {
    CHECK_THAT(refusal(image(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                             R"( "b": {"dtype": "BF16", "shape": [2], "data_offsets": [2, 6]}})",
                             6)),
               Contains("tensors 'a' [0, 4] and 'b' [2, 6] overlap"));
  }
  SECTION("a tensor inside another") {
    CHECK_THAT(refusal(image(R"({"a": {"dtype": "U8", "shape": [8], "data_offsets": [0, 8]},)"
                             R"( "b": {"dtype": "U8", "shape": [1], "data_offsets": [6, 7]},)"
                             R"( "c": {"dtype": "U8", "shape": [1], "data_offsets": [7, 8]}})",
                             8)),
               Contains("overlap"));
  }
  SECTION("shape and dtype disagree with the offsets") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 4]}})", 4)),
               Contains("tensor 'w': BF16 [3] needs 6 bytes but data_offsets [0, 4] hold 4"));
  }
  SECTION("a shape whose size overflows") {
    CHECK_THAT(refusal(image(R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})", 8)),
               Contains("overflows"));
  }
  SECTION("metadata that is not an object of strings") {
    CHECK_THAT(refusal(image(R"({"__metadata__": [1]})")), Contains("__metadata__ is not an object"));
    CHECK_THAT(refusal(image(R"({"__metadata__": {"k": 1}})")), Contains("__metadata__ entry 'k' is not a string"));
  }
}

TEST_CASE("safetensors: files on disk", "[safetensors]") {
  TempDir dir("st");
  SECTION("a missing file") {
    CHECK_THROWS_WITH(File::open(dir.file("none.safetensors")), Contains("none.safetensors: cannot open"));
  }
  SECTION("an empty file names itself") {
    test::write_bytes(dir.file("empty.safetensors"), {});
    CHECK_THROWS_WITH(File::open(dir.file("empty.safetensors")),
                      Contains("empty.safetensors: short header: 0 bytes"));
  }
  SECTION("a truncated file") {
    std::vector<std::byte> b = test::st_image({test::st_tensor("w", "F32", {4}, std::vector<float>{1, 2, 3, 4})});
    b.resize(b.size() - 3);
    test::write_bytes(dir.file("cut.safetensors"), b);
    CHECK_THROWS_WITH(File::open(dir.file("cut.safetensors")), Contains("lie outside the 13-byte data section"));
  }
  SECTION("a tensor that is not there") {
    test::write_safetensors(dir.file("a.safetensors"), {test::st_tensor("w", "U8", {1}, std::vector<float>{1})});
    CHECK_THROWS_WITH(File::open(dir.file("a.safetensors")).info("v"), Contains("a.safetensors: no tensor 'v'"));
  }
  SECTION("non-finite values are refused with their index") {
    test::write_safetensors(dir.file("nan.safetensors"),
                            {test::st_tensor("w", "BF16", {3}, std::vector<float>{1, NAN, 2}),
                             test::st_tensor("e", "F8_E4M3", {2}, std::vector<float>{1, NAN}),
                             test::st_tensor("h", "F16", {2}, std::vector<float>{INFINITY, 1})});
    CHECK_THROWS_WITH(values_of(dir.file("nan.safetensors"), "w"), Contains("holds nan at flat index 1"));
    CHECK_THROWS_WITH(values_of(dir.file("nan.safetensors"), "e"), Contains("holds nan at flat index 1"));
    CHECK_THROWS_WITH(values_of(dir.file("nan.safetensors"), "h"), Contains("holds inf at flat index 0"));
  }
  SECTION("F64 values that fp32 cannot hold") {
    std::vector<std::byte> data;
    test::append_le(data, 0.5);
    test::append_le(data, 0.1);
    test::write_bytes(dir.file("f64.safetensors"),
                      test::st_image(R"({"w": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}})", data));
    CHECK_THROWS_WITH(values_of(dir.file("f64.safetensors"), "w"), Contains("F64 value at flat index 1 is not exact in fp32"));
  }
}

TEST_CASE("safetensors: sharded checkpoints through their index", "[safetensors]") {
  TempDir dir("st");
  test::write_safetensors(dir.file("model-00001-of-00002.safetensors"),
                          {test::st_tensor("a", "F32", {2}, std::vector<float>{1, 2})});
  test::write_safetensors(dir.file("model-00002-of-00002.safetensors"),
                          {test::st_tensor("b", "BF16", {1}, std::vector<float>{3})});
  const auto write_index = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name)) << text;
  };
  write_index("model.safetensors.index.json",
              R"({"metadata": {"total_size": 6}, "weight_map": {"a": "model-00001-of-00002.safetensors",)"
              R"( "b": "model-00002-of-00002.safetensors", "gone": "model-00003-of-00002.safetensors",)"
              R"( "liar": "model-00001-of-00002.safetensors"}})");
  SECTION("by the index file, or by its directory") {
    for (const std::string& path : {dir.file("model.safetensors.index.json"), dir.path().string()}) {
      const Checkpoint c = Checkpoint::open(path);
      CHECK(c.names() == std::vector<std::string>{"a", "b", "gone", "liar"});
      CHECK(c.read_float("a") == std::vector<float>{1, 2});
      CHECK(c.read_float("b") == std::vector<float>{3});
      CHECK(c.info("b").dtype == Dtype::bf16);
      // The third file, which does not exist, was never needed.
      CHECK_THROWS_WITH(c.read_float("gone"), Contains("model-00003-of-00002.safetensors: cannot open"));
      CHECK_THROWS_WITH(c.read_float("liar"),
                        Contains("holds no tensor 'liar', which the index") && Contains("model.safetensors.index.json"));
      CHECK_THROWS_WITH(c.info("zzz"), Contains("no tensor 'zzz' in the weight_map"));
    }
  }
  SECTION("a broken index") {
    write_index("bad.safetensors.index.json", R"({"weight_map": )");
    CHECK_THROWS_WITH(Checkpoint::open(dir.file("bad.safetensors.index.json")), Contains("index is not valid JSON"));
    write_index("bad.safetensors.index.json", R"({"metadata": {}})");
    CHECK_THROWS_WITH(Checkpoint::open(dir.file("bad.safetensors.index.json")), Contains("no \"weight_map\" object"));
    write_index("bad.safetensors.index.json", R"({"weight_map": {"a": 3}})");
    CHECK_THROWS_WITH(Checkpoint::open(dir.file("bad.safetensors.index.json")),
                      Contains("weight_map entry 'a' does not name a file"));
    // Two indexes in one directory: which one is meant is not guessed.
    CHECK_THROWS_WITH(Checkpoint::open(dir.path().string()), Contains("name the checkpoint file or index"));
  }
  SECTION("a single file, by name or by its directory") {
    TempDir one("st1");
    test::write_safetensors(one.file("model.safetensors"), {test::st_tensor("a", "U8", {1}, std::vector<float>{9})});
    CHECK(Checkpoint::open(one.path().string()).read_float("a") == std::vector<float>{9});
    CHECK(Checkpoint::open(one.file("model.safetensors")).names() == std::vector<std::string>{"a"});
    CHECK_THROWS_WITH(Checkpoint::open(one.file("nothing")), Contains("nothing: does not exist"));
    TempDir none("st2");
    CHECK_THROWS_WITH(Checkpoint::open(none.path().string()), Contains("holds 0 *.safetensors.index.json and 0"));
  }
}

TEST_CASE("safetensors: mutated files parse or are refused, never read outside their bytes", "[safetensors][malformed]") {
  const std::vector<std::byte> good = test::st_image({test::st_tensor("a", "BF16", {2, 3}, std::vector<float>{1, 2, 3, 4, 5, 6}),
                                                      test::st_tensor("b", "F8_E4M3", {3}, std::vector<float>{1, 2, 448}),
                                                      test::st_tensor("c", "F64", {1}, std::vector<float>{0.5f})});
  std::mt19937_64 rng(20261127);
  int parsed = 0, refused = 0;
  for (int i = 0; i < 4000; ++i) {
    std::vector<std::byte> b = good;
    switch (i % 4) {
      case 0: b.resize(rng() % (b.size() + 1)); break;                                  // truncated anywhere
      case 1: b[rng() % b.size()] = static_cast<std::byte>(rng()); break;               // one byte anywhere
      case 2: {  // a JSON character in the header
        static constexpr char json_chars[] = "0123456789,:[]{}\"-e.";
        b[8 + rng() % (b.size() - 8 - 25)] = static_cast<std::byte>(json_chars[rng() % (sizeof json_chars - 1)]);
        break;
      }
      case 3: {  // the header length
        const std::uint64_t n = rng() % (b.size() + 16);
        std::memcpy(b.data(), &n, sizeof n);
        break;
      }
    }
    const GuardedBytes g(b);
    try {
      const Header h = parse_header(g.data(), g.size());
      ++parsed;
      for (const auto& [name, t] : h.tensors) {
        REQUIRE(t.end <= g.size() - h.data_offset);
        try {
          decode_to_float(t, {g.data() + h.data_offset + t.begin, static_cast<std::size_t>(t.end - t.begin)}, name);
        } catch (const SafetensorsError&) {  // a NaN or an inexact F64 value
        }
      }
    } catch (const SafetensorsError& e) {
      ++refused;
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    }
  }
  CHECK(parsed > 0);
  CHECK(refused > 0);
}
