// The HDF5 golden store (goldens/SCHEMA.md): a bit-exact round trip, SHA-256 against the
// FIPS 180-4 vectors, handles released on every path, the atomic write, re-checking a
// golden, and every kind of damage a golden can suffer: each must end in one GoldenError
// line that names the file, the object and the reason, never a crash or an HDF5 stack.
#include <catch2/catch.hpp>

#include <hdf5.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cctype>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "goldens/golden_file.hpp"
#include "harness/case/sweep.hpp"
#include "harness/inputs/h5.hpp"
#include "harness/inputs/input_cache.hpp"
#include "harness/inputs/sha256.hpp"
#include "harness/run/case_runner.hpp"
#include "harness/run/golden_check.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
namespace fs = std::filesystem;
using Catch::Matchers::Contains;

using ffn::test::TempDir;

namespace {

// ---- fixtures ---------------------------------------------------------------------------


// tiny, 8 tokens, tp 1 and 2, fp32 and bf16, ring: 4 cases over 2 input sets.
const std::vector<CaseResult>& sweep_results() {
  static const std::vector<CaseResult> results = [] {
    SweepConfig s;
    s.shape = *find_shape("tiny");
    s.tokens = 8;
    s.tps = {1, 2};
    s.precisions = {DType::fp32, DType::bf16};
    s.allreduce = {AllReduceModel::ring};
    return run_cases(expand(s));
  }();
  return results;
}

const GoldenFile& blessed(InputMode mode = InputMode::full) {
  static const GoldenFile full = make_golden(sweep_results(), InputMode::full,
                                             current_provenance("cpu", "test device"));
  static const GoldenFile seeded = make_golden(sweep_results(), InputMode::seeded,
                                               current_provenance("cpu", "test device"));
  return mode == InputMode::full ? full : seeded;
}

constexpr const char* kFp32Tp1 = "tiny_t8_fp32_s0_tp1_ring";
constexpr const char* kFp32Tp2 = "tiny_t8_fp32_s0_tp2_ring";
constexpr const char* kBf16Tp2 = "tiny_t8_bf16_s0_tp2_ring";
constexpr const char* kFp32Set = "tiny_t8_fp32_s0";
constexpr const char* kBf16Set = "tiny_t8_bf16_s0";

// Writes the blessed golden to dir/name and returns its path.
fs::path write_copy(const TempDir& dir, const std::string& name, InputMode mode = InputMode::full) {
  const fs::path p = dir / name;
  write_golden(blessed(mode), p.string(), true);
  return p;
}

std::vector<char> bytes_of(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& p, const char* data, std::size_t n) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data, static_cast<std::streamsize>(n));
  REQUIRE(out.good());
}

std::vector<fs::path> temp_files_in(const fs::path& dir) {
  std::vector<fs::path> tmp;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) tmp.push_back(e.path());
  return tmp;
}

bool same_bits(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}
bool same_bits(const Matrix<double>& a, const Matrix<double>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// ---- damaging a golden ------------------------------------------------------------------
// Through h5::File::open_rw where it can, through the C API for what it does not offer.

h5::Handle open_c(const fs::path& p, unsigned flags) {
  h5::Handle f(H5Fopen(p.c_str(), flags, H5P_DEFAULT), H5Fclose);
  REQUIRE(f.valid());
  return f;
}

void delete_link(const fs::path& p, const std::string& object) {
  const h5::Handle f = open_c(p, H5F_ACC_RDWR);
  REQUIRE(H5Ldelete(f.get(), object.c_str(), H5P_DEFAULT) >= 0);
}

void delete_attr(const fs::path& p, const std::string& object, const std::string& name) {
  const h5::Handle f = open_c(p, H5F_ACC_RDWR);
  REQUIRE(H5Adelete_by_name(f.get(), object.c_str(), name.c_str(), H5P_DEFAULT) >= 0);
}

template <class T>
void set_attr(const fs::path& p, const std::string& object, const std::string& name, const T& value) {
  h5::File f = h5::File::open_rw(p.string());
  f.set_attr(object, name, value);
  f.close();
}

// Replaces an attribute by an int64 array of `n` elements.
void set_array_attr(const fs::path& p, const std::string& object, const std::string& name, hsize_t n) {
  delete_attr(p, object, name);
  const h5::Handle f = open_c(p, H5F_ACC_RDWR);
  const h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  const h5::Handle attr(H5Acreate_by_name(f.get(), object.c_str(), name.c_str(), H5T_STD_I64LE, space.get(),
                                          H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                        H5Aclose);
  REQUIRE(attr.valid());
  const std::vector<std::int64_t> values(n, 2);
  if (n > 0) REQUIRE(H5Awrite(attr.get(), H5T_NATIVE_INT64, values.data()) >= 0);
}

// Replaces a dataset by a chunked float32 one of the given shape whose chunks were never
// written: its declared size is unrelated to what the file stores.
void replace_by_unwritten(const fs::path& p, const std::string& name, const std::vector<hsize_t>& dims) {
  delete_link(p, name);
  const h5::Handle f = open_c(p, H5F_ACC_RDWR);
  const h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  const h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const std::vector<hsize_t> chunk(dims.size(), 8);
  REQUIRE(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) >= 0);
  const h5::Handle ds(H5Dcreate2(f.get(), name.c_str(), H5T_IEEE_F32LE, space.get(), H5P_DEFAULT, dcpl.get(),
                                 H5P_DEFAULT),
                      H5Dclose);
  REQUIRE(ds.valid());
}

std::vector<float> read_f32(const fs::path& p, const std::string& name) {
  const h5::TensorData t = h5::File::open(p.string()).read(name);
  return {t.f64.begin(), t.f64.end()};
}

void replace_f32(const fs::path& p, const std::string& name, const std::vector<std::int64_t>& shape,
                 const std::vector<float>& values) {
  delete_link(p, name);
  h5::File f = h5::File::open_rw(p.string());
  f.write_f32(name, shape, values.data());
  f.close();
}

// Replaces one element of a stored float32 dataset, keeping its shape.
void poke_f32(const fs::path& p, const std::string& name, std::size_t index, float value) {
  const std::vector<std::int64_t> shape = h5::File::open(p.string()).shape(name);
  std::vector<float> v = read_f32(p, name);
  REQUIRE(index < v.size());
  v[index] = value;
  replace_f32(p, name, shape, v);
}

// Flips one byte in the middle of the stored (filtered) first chunk of a dataset.
void flip_chunk_byte(const fs::path& p, const std::string& name) {
  haddr_t address = HADDR_UNDEF;
  hsize_t size = 0;
  {
    const h5::Handle f = open_c(p, H5F_ACC_RDONLY);
    const h5::Handle ds(H5Dopen2(f.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
    REQUIRE(ds.valid());
    const h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
    hsize_t chunks = 0;
    REQUIRE(H5Dget_num_chunks(ds.get(), space.get(), &chunks) >= 0);
    REQUIRE(chunks >= 1);
    hsize_t offset[4] = {};
    unsigned filter_mask = 0;
    REQUIRE(H5Dget_chunk_info(ds.get(), space.get(), 0, offset, &filter_mask, &address, &size) >= 0);
    REQUIRE(filter_mask == 0);  // every filter applied
    // Chunked data has no contiguous offset.
    CHECK(H5Dget_offset(ds.get()) == HADDR_UNDEF);
    H5Eclear2(H5E_DEFAULT);
  }
  REQUIRE(address != HADDR_UNDEF);
  REQUIRE(size > 8);
  std::fstream io(p, std::ios::binary | std::ios::in | std::ios::out);
  const auto at = static_cast<std::streamoff>(address + size / 2);
  io.seekg(at);
  char c = 0;
  io.read(&c, 1);
  c = static_cast<char>(c ^ 0x5a);
  io.seekp(at);
  io.write(&c, 1);
  REQUIRE(io.good());
}

// ---- assertions -------------------------------------------------------------------------

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Checks one error line: the file, the object, one of the reason words; one line.
void check_message(const std::string& msg, const fs::path& file, const std::string& object,
                   const std::vector<std::string>& reasons) {
  INFO("message: " << msg);
  CHECK_THAT(msg, Contains(file.string()));
  if (!object.empty()) CHECK_THAT(msg, Contains(object));
  CHECK(std::any_of(reasons.begin(), reasons.end(),
                    [&](const std::string& r) { return lower(msg).find(lower(r)) != std::string::npos; }));
  CHECK(msg.find('\n') == std::string::npos);
  CHECK(msg.find("HDF5-DIAG") == std::string::npos);
}

// What the process writes to stderr (file descriptor 2) while it is alive: HDF5 prints its
// error stack there when it is not silenced.
class StderrCapture {
 public:
  StderrCapture() : file_(std::tmpfile()) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(::fileno(file_), 2);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;
  ~StderrCapture() { restore(); std::fclose(file_); }
  std::string text() {
    restore();
    std::string s;
    std::rewind(file_);
    for (int c; (c = std::fgetc(file_)) != EOF;) s += static_cast<char>(c);
    return s;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  std::FILE* file_;
  int saved_ = -1;
};

// read_golden must throw one GoldenError naming file, object and reason, print nothing, and
// leave no HDF5 object open.
void require_read_fails(const fs::path& file, const std::string& object,
                        const std::vector<std::string>& reasons) {
  const std::int64_t before = h5::open_object_count();
  std::optional<std::string> error, wrong;
  StderrCapture capture;
  try {
    read_golden(file.string());
  } catch (const GoldenError& e) {
    error = e.what();
  } catch (const std::exception& e) {
    wrong = e.what();
  }
  const std::string printed = capture.text();
  if (wrong) FAIL("read_golden threw something other than GoldenError: " << *wrong);
  if (!error) FAIL("read_golden accepted the damaged golden " << file);
  check_message(*error, file, object, reasons);
  INFO("stderr: " << printed);
  CHECK(printed.empty());
  CHECK(h5::open_object_count() == before);
}

std::string sha_of(std::string_view s) {
  return sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

const GoldenCase& find_case(const GoldenFile& g, const std::string& id) {
  const auto it = std::find_if(g.cases.begin(), g.cases.end(), [&](const GoldenCase& c) { return c.id == id; });
  REQUIRE(it != g.cases.end());
  return *it;
}

}  // namespace

// ---- SHA-256 ------------------------------------------------------------------------------

TEST_CASE("SHA-256 reproduces the FIPS 180-4 test vectors, with and without the SHA extensions", "[goldens]") {
  if (!sha256_hardware_available()) WARN("this CPU has no SHA extensions: the portable code only");
  for (const Sha256Engine engine : {Sha256Engine::best, Sha256Engine::portable}) {
    INFO((engine == Sha256Engine::best ? "best engine" : "portable engine"));
    const auto digest = [&](std::string_view text) {
      Sha256 h(engine);
      h.update(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
      return to_hex(h.finish());
    };
    CHECK(digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    CHECK(digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    // One million 'a' in uneven pieces, across every position within a 64-byte block.
    const std::vector<std::uint8_t> a(1000000, 'a');
    Sha256 h(engine);
    std::size_t done = 0;
    const std::size_t pieces[] = {0, 1, 55, 56, 63, 64, 65, 119, 127, 128, 1000, 4097};
    for (std::size_t i = 0; done < a.size(); ++i) {
      const std::size_t n = std::min(pieces[i % std::size(pieces)], a.size() - done);
      h.update(std::span(a).subspan(done, n));
      done += n;
    }
    CHECK(to_hex(h.finish()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  }
  CHECK(sha_of(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256: the SHA extensions and the portable code agree on every length up to 4 blocks", "[goldens]") {
  std::mt19937 rng(11);
  std::vector<std::uint8_t> bytes(70000);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng());
  std::int64_t differ = 0;
  for (std::size_t n = 0; n <= bytes.size(); n = n < 260 ? n + 1 : n * 2 + 7) {
    Sha256 best, portable(Sha256Engine::portable);
    best.update(std::span(bytes).first(n));
    portable.update(std::span(bytes).first(n));
    differ += best.finish() != portable.finish();
  }
  CHECK(differ == 0);
}

TEST_CASE("SHA-256 of floats digests their little-endian binary32 bytes", "[goldens]") {
  const std::vector<float> v = {1.0f, -2.5f, 0.0f, -0.0f, 3.1415927f};
  std::vector<std::uint8_t> bytes;
  for (float f : v) {
    const auto u = std::bit_cast<std::uint32_t>(f);
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<std::uint8_t>(u >> (8 * k)));
  }
  CHECK(sha256_hex(std::span<const float>(v)) == sha256_hex(bytes));
  // The sign of zero is part of the digest.
  CHECK(sha256_hex(std::span<const float>(v.data() + 2, 1)) != sha256_hex(std::span<const float>(v.data() + 3, 1)));
}

// ---- round trip -----------------------------------------------------------------------------

TEST_CASE("A golden reads back bit-exactly: provenance, input sets, cases, records", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const std::int64_t baseline = h5::open_object_count();
  for (const InputMode mode : {InputMode::full, InputMode::seeded}) {
    const bool full = mode == InputMode::full;
    DYNAMIC_SECTION((full ? "full" : "seeded") << " inputs") {
      const GoldenFile& g = blessed(mode);
      REQUIRE(g.cases.size() == 4);
      REQUIRE(g.input_sets.size() == 2);
      const fs::path p = write_copy(dir, full ? "full.h5" : "seeded.h5", mode);
      CHECK(h5::open_object_count() == baseline);
      const GoldenFile r = read_golden(p.string());
      CHECK(h5::open_object_count() == baseline);

      CHECK(r.path == p.string());
      // The root holds the provenance, the schema name and where it is documented;
      // schema_version is not provenance.
      std::map<std::string, std::string> expected = g.provenance;
      expected["schema"] = k_golden_schema;
      expected["schema_doc"] = k_golden_schema_doc;
      CHECK(r.provenance == expected);

      REQUIRE(r.input_sets.size() == g.input_sets.size());
      for (const auto& [id, set] : g.input_sets) {
        INFO("input set " << id);
        REQUIRE(r.input_sets.count(id));
        const GoldenInputSet& back = r.input_sets.at(id);
        CHECK(back.id == id);
        CHECK(id == input_set_id(back.config));
        CHECK(back.config.shape.name == set.config.shape.name);
        CHECK(back.config.shape.dim == set.config.shape.dim);
        CHECK(back.config.shape.inner == set.config.shape.inner);
        CHECK(back.config.tokens == set.config.tokens);
        CHECK(back.config.seed == set.config.seed);
        CHECK(back.config.dtype == set.config.dtype);
        CHECK(back.config.outlier_channels == set.config.outlier_channels);
        CHECK(back.config.outlier_scale == set.config.outlier_scale);
        CHECK(back.mode == mode);
        CHECK(back.sha256 == set.sha256);
        CHECK(same_bits(back.reference, set.reference));
        // The digests are those of the inputs regenerated from the key.
        const FfnInputs regenerated = make_inputs(back.config);
        REQUIRE(back.sha256.size() == 5);
        for (const auto& [name, values] : named_tensors(regenerated)) CHECK(back.sha256.at(name) == sha256_hex(values));
        REQUIRE(back.tensors.has_value() == full);
        if (full) {
          const auto stored = named_tensors(*back.tensors), blessed_tensors = named_tensors(*set.tensors),
                     generated = named_tensors(regenerated);
          for (std::size_t i = 0; i < stored.size(); ++i) {
            INFO("tensor " << stored[i].first);
            CHECK(stored[i].first == blessed_tensors[i].first);
            CHECK(same_bits(stored[i].second, blessed_tensors[i].second));
            CHECK(same_bits(stored[i].second, generated[i].second));
          }
          CHECK(back.tensors->x.rows() == set.config.tokens);
          CHECK(back.tensors->weights.w_in.rows() == set.config.shape.inner);
        }
      }

      REQUIRE(r.cases.size() == g.cases.size());
      for (const GoldenCase& c : g.cases) {
        INFO("case " << c.id);
        const GoldenCase& back = find_case(r, c.id);
        CHECK(back.id == case_id(back.config));
        CHECK(back.config.name() == c.config.name());
        CHECK(back.config.tp == c.config.tp);
        CHECK(back.config.dtype == c.config.dtype);
        CHECK(back.config.allreduce == c.config.allreduce);
        CHECK(back.input_set == c.input_set);
        CHECK(back.drift_budget_scale == c.drift_budget_scale);
        CHECK(back.tolerance.rtol == c.tolerance.rtol);
        CHECK(back.tolerance.atol == c.tolerance.atol);
        CHECK(back.record.parity_rel_l2 == c.record.parity_rel_l2);
        CHECK(back.record.allgather_ref_rel_l2 == c.record.allgather_ref_rel_l2);
        CHECK(back.record.sharded_ref_rel_l2 == c.record.sharded_ref_rel_l2);
        CHECK(back.record.parity_margin == c.record.parity_margin);
        CHECK(back.record.allgather_ref_margin == c.record.allgather_ref_margin);
        CHECK(back.record.sharded_ref_margin == c.record.sharded_ref_margin);
        CHECK(same_bits(back.allgather.values(), c.allgather.values()));
        CHECK(same_bits(back.sharded.values(), c.sharded.values()));
      }
      // tp 1: both paths are the same computation.
      const GoldenCase& tp1 = find_case(r, kFp32Tp1);
      CHECK(same_bits(tp1.allgather.values(), tp1.sharded.values()));
      CHECK(temp_files_in(dir.path()).empty());
    }
  }
  CHECK(h5::open_object_count() == baseline);
}

TEST_CASE("A golden of an MLP without bias reads back without biases and checks", "[goldens]") {
  SweepConfig s;
  s.shape = *find_shape("tiny");
  s.shape.name = "tiny-nobias";
  s.shape.bias = false;
  s.tokens = 4;
  s.tps = {1, 2};
  s.precisions = {DType::bf16};
  const std::vector<CaseResult> results = run_cases(expand(s));
  for (const CaseResult& r : results) CHECK(r.pass);
  TempDir dir("ffn-goldens-test");
  for (const InputMode mode : {InputMode::full, InputMode::seeded}) {
    const fs::path p = dir.path() / (mode == InputMode::full ? "full.h5" : "seeded.h5");
    write_golden(make_golden(results, mode, current_provenance("cpu", "test device")), p.string(), false);
    const GoldenFile back = read_golden(p.string());
    REQUIRE(back.input_sets.size() == 1);
    const GoldenInputSet& set = back.input_sets.begin()->second;
    CHECK_FALSE(set.config.shape.bias);
    CHECK(set.sha256.count("proj_in.bias") == 0);
    CHECK(set.sha256.size() == 3);
    if (mode == InputMode::full) {
      REQUIRE(set.tensors);
      CHECK(set.tensors->weights.b_in.empty());
      CHECK(set.tensors->weights.b_out.empty());
    }
    for (const GoldenCaseCheck& k : check_golden(back, {})) {
      INFO(k.golden->id << ": " << k.reason);
      CHECK(k.pass);
      CHECK_FALSE(k.golden->config.shape.bias);
    }
  }
}

TEST_CASE("make_golden refuses failing results", "[goldens]") {
  std::vector<CaseResult> results = sweep_results();
  results[1].pass = false;
  results[1].reason = "parity margin 3.2";
  CHECK_THROWS_WITH(make_golden(results, InputMode::full, {}),
                    Contains(results[1].config.name()) && Contains("passing results only"));
}

// ---- writing ----------------------------------------------------------------------------------

TEST_CASE("write_golden refuses an existing file unless asked to overwrite", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const std::int64_t baseline = h5::open_object_count();
  const fs::path p = write_copy(dir, "g.h5");
  const std::vector<char> before = bytes_of(p);

  try {
    write_golden(blessed(InputMode::seeded), p.string(), false);
    FAIL("write_golden replaced an existing golden without overwrite");
  } catch (const GoldenError& e) {
    check_message(e.what(), p, "", {"exists"});
    CHECK_THAT(e.what(), Contains("--force"));
  }
  CHECK(bytes_of(p) == before);
  CHECK(temp_files_in(dir.path()).empty());

  // With overwrite it is replaced: the seeded golden stores no tensors.
  write_golden(blessed(InputMode::seeded), p.string(), true);
  CHECK(temp_files_in(dir.path()).empty());
  const GoldenFile r = read_golden(p.string());
  for (const auto& [id, set] : r.input_sets) CHECK_FALSE(set.tensors.has_value());
  CHECK(h5::open_object_count() == baseline);
}

TEST_CASE("A failed write leaves the old golden intact and no temporary file", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const std::int64_t baseline = h5::open_object_count();
  const fs::path p = write_copy(dir, "g.h5");
  const std::vector<char> before = bytes_of(p);
  const auto intact = [&] {
    CHECK(bytes_of(p) == before);
    CHECK(temp_files_in(dir.path()).empty());
    CHECK(h5::open_object_count() == baseline);
    CHECK_NOTHROW(read_golden(p.string()));
  };

  SECTION("the file system refuses the data (file size limit: a full disk)") {
    // Every write past 16 KiB fails with EFBIG, as on a full disk; SIGXFSZ would kill us.
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 16 * 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    std::optional<std::string> error;
    try {
      write_golden(blessed(), p.string(), true);
    } catch (const GoldenError& e) {
      error = e.what();
    } catch (const std::exception& e) {
      error = std::string("not a GoldenError: ") + e.what();
    }
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    REQUIRE(error.has_value());
    INFO(*error);
    CHECK_THAT(*error, Contains(p.string()));
    CHECK_THAT(*error, !Contains("not a GoldenError"));
    intact();
  }

  SECTION("the directory is not writable") {
    fs::permissions(dir.path(), fs::perms::owner_read | fs::perms::owner_exec);
    if (::access(dir.path().c_str(), W_OK) == 0) {
      // root ignores permissions; the file size limit above covers this case there.
      fs::permissions(dir.path(), fs::perms::owner_all);
      SUCCEED("running as root: directory permissions are not enforced");
    } else {
      try {
        write_golden(blessed(), p.string(), true);
        FAIL("write_golden wrote into a read-only directory");
      } catch (const GoldenError& e) {
        check_message(e.what(), p, "", {"cannot create", "permission"});
      }
      fs::permissions(dir.path(), fs::perms::owner_all);
      intact();
    }
  }

  SECTION("the golden's path is a directory") {
    const fs::path d = dir / "a-directory.h5";
    fs::create_directory(d);
    try {
      write_golden(blessed(), d.string(), true);
      FAIL("write_golden replaced a directory");
    } catch (const GoldenError& e) {
      INFO(e.what());
      CHECK_THAT(e.what(), Contains(d.string()));
    }
    CHECK(fs::is_directory(d));
    intact();
  }

  SECTION("the directory does not exist") {
    const fs::path q = dir / "no-such-dir" / "g.h5";
    try {
      write_golden(blessed(), q.string(), true);
      FAIL("write_golden wrote into a missing directory");
    } catch (const GoldenError& e) {
      check_message(e.what(), q, "", {"cannot create"});
    }
    CHECK_FALSE(fs::exists(q.parent_path()));
    intact();
  }
}

// ---- unreadable files ---------------------------------------------------------------------------

TEST_CASE("Files that are not goldens are refused with one line", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  SECTION("missing file") { require_read_fails(dir / "missing.h5", "", {"no such file"}); }
  SECTION("empty file") {
    write_bytes(dir / "empty.h5", "", 0);
    require_read_fails(dir / "empty.h5", "", {"empty"});
  }
  SECTION("a directory") {
    fs::create_directory(dir / "dir.h5");
    require_read_fails(dir / "dir.h5", "", {"directory"});
  }
  SECTION("a text file") {
    const std::string text = "schema = ffn-parity-golden\nthis is not HDF5\n";
    write_bytes(dir / "text.h5", text.data(), text.size());
    require_read_fails(dir / "text.h5", "", {"not an HDF5 file"});
  }
  SECTION("an HDF5 file that is not a golden") {
    h5::File f = h5::File::create((dir / "other.h5").string());
    f.create_group("/data");
    f.close();
    require_read_fails(dir / "other.h5", "schema", {"not an ffn-parity golden"});
  }
}

TEST_CASE("Truncated goldens are refused with one line", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const fs::path good = write_copy(dir, "good.h5");
  const std::vector<char> bytes = bytes_of(good);
  REQUIRE(bytes.size() > 1000);
  const std::size_t n = bytes.size();
  for (const std::size_t cut : {std::size_t{100}, n / 10, n / 2, n * 9 / 10, n - 1}) {
    DYNAMIC_SECTION("cut at " << cut << " of " << n << " bytes") {
      const fs::path p = dir / ("cut-" + std::to_string(cut) + ".h5");
      write_bytes(p, bytes.data(), cut);
      require_read_fails(p, "", {"truncated", "damaged"});
    }
  }
}

TEST_CASE("A flipped byte in stored chunk data fails the checksum", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  for (const std::string& object : {std::string("/cases/") + kFp32Tp2 + "/sharded",
                                   std::string("/cases/") + kBf16Tp2 + "/allgather",
                                   std::string("/input_sets/") + kBf16Set + "/x",
                                   std::string("/input_sets/") + kFp32Set + "/proj_in.weight",
                                   std::string("/input_sets/") + kFp32Set + "/reference"}) {
    DYNAMIC_SECTION(object) {
      const fs::path p = write_copy(dir, "flipped.h5");
      flip_chunk_byte(p, object);
      require_read_fails(p, object, {"checksum"});
    }
  }
}

// ---- schema and structure ------------------------------------------------------------------------

TEST_CASE("Damaged goldens are refused with one line naming object and reason", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const fs::path p = write_copy(dir, "damaged.h5");
  const std::string c2 = std::string("/cases/") + kFp32Tp2;
  const std::string bf = std::string("/cases/") + kBf16Tp2;
  const std::string set = std::string("/input_sets/") + kBf16Set;
  const std::int64_t tokens = 8, dim = 64;

  SECTION("wrong schema name") {
    set_attr(p, "/", "schema", std::string("some-other-schema"));
    require_read_fails(p, "schema", {"expected 'ffn-parity-golden'"});
  }
  SECTION("missing schema attribute") {
    delete_attr(p, "/", "schema");
    require_read_fails(p, "schema", {"missing"});
  }
  SECTION("newer schema version") {
    set_attr(p, "/", "schema_version", std::int64_t{2});
    require_read_fails(p, "schema_version", {"newer"});
  }
  SECTION("schema version 0") {
    set_attr(p, "/", "schema_version", std::int64_t{0});
    require_read_fails(p, "schema_version", {"not a valid version"});
  }
  SECTION("schema version of the wrong type") {
    set_attr(p, "/", "schema_version", std::string("1"));
    require_read_fails(p, "schema_version", {"not an integer"});
  }
  SECTION("missing dataset") {
    delete_link(p, c2 + "/sharded");
    require_read_fails(p, c2 + "/sharded", {"missing"});
  }
  SECTION("missing input tensor") {
    delete_link(p, set + "/proj_out.bias");
    require_read_fails(p, set + "/proj_out.bias", {"missing"});
  }
  SECTION("missing reference") {
    delete_link(p, set + "/reference");
    require_read_fails(p, set + "/reference", {"missing"});
  }
  SECTION("missing /cases") {
    delete_link(p, "/cases");
    require_read_fails(p, "/cases", {"missing"});
  }
  SECTION("missing /input_sets") {
    delete_link(p, "/input_sets");
    require_read_fails(p, "/input_sets", {"missing", "not in /input_sets"});
  }
  SECTION("no cases") {
    for (const GoldenCase& c : blessed().cases) delete_link(p, "/cases/" + c.id);
    require_read_fails(p, "/cases", {"no cases"});
  }
  SECTION("missing case attribute") {
    delete_attr(p, c2, "tp");
    require_read_fails(p, c2 + "@tp", {"missing attribute"});
  }
  SECTION("missing record attribute") {
    delete_attr(p, c2, "sharded_ref_rel_l2");
    require_read_fails(p, c2 + "@sharded_ref_rel_l2", {"missing attribute"});
  }
  SECTION("missing input set attribute") {
    delete_attr(p, set, "sha256:proj_in.weight");
    require_read_fails(p, set + "@sha256:proj_in.weight", {"missing attribute"});
  }
  SECTION("attribute of the wrong type") {
    set_attr(p, c2, "tp", std::string("two"));
    require_read_fails(p, c2 + "@tp", {"not an integer"});
  }
  SECTION("an attribute holding an array instead of one value") {
    set_array_attr(p, c2, "tp", 64);
    require_read_fails(p, c2 + "@tp", {"does not hold a single value"});
  }
  SECTION("an attribute holding no value") {
    set_array_attr(p, "/", "schema_version", 0);
    require_read_fails(p, "/@schema_version", {"does not hold a single value"});
  }
  SECTION("a dataset declaring far more data than it stores") {
    // 2^42 elements: reading it whole would try to allocate 32 TiB.
    replace_by_unwritten(p, c2 + "/sharded", {std::uint64_t{1} << 21, std::uint64_t{1} << 21});
    require_read_fails(p, c2 + "/sharded", {"more than its chunks can hold"});
  }
  SECTION("a dataset whose chunks were never written") {
    replace_by_unwritten(p, c2 + "/sharded", {tokens, dim});
    require_read_fails(p, c2 + "/sharded", {"more than its chunks can hold"});
  }
  SECTION("shape mismatch of an output") {
    replace_f32(p, c2 + "/sharded", {tokens, dim + 1}, std::vector<float>(tokens * (dim + 1), 0.5f));
    require_read_fails(p, c2 + "/sharded", {"shape [8, 65] does not match the expected [8, 64]"});
  }
  SECTION("rank mismatch of an input") {
    replace_f32(p, set + "/x", {tokens * dim}, std::vector<float>(tokens * dim, 0.5f));
    require_read_fails(p, set + "/x", {"does not match the expected"});
  }
  SECTION("output of an integer type") {
    delete_link(p, c2 + "/allgather");
    h5::File f = h5::File::open_rw(p.string());
    const std::vector<std::int64_t> zeros(tokens * dim, 0);
    f.write_i64(c2 + "/allgather", {tokens, dim}, zeros.data());
    f.close();
    require_read_fails(p, c2 + "/allgather", {"not a float dataset"});
  }
  SECTION("a group where a dataset belongs") {
    delete_link(p, c2 + "/sharded");
    h5::File f = h5::File::open_rw(p.string());
    f.create_group(c2 + "/sharded");
    f.close();
    require_read_fails(p, c2 + "/sharded", {"not a dataset"});
  }
  SECTION("NaN in a stored output") {
    poke_f32(p, c2 + "/sharded", 17, std::nanf(""));
    require_read_fails(p, c2 + "/sharded", {"NaN"});
  }
  SECTION("infinity in a stored output") {
    poke_f32(p, bf + "/allgather", 3, -INFINITY);
    require_read_fails(p, bf + "/allgather", {"inf"});
  }
  SECTION("non-finite reference") {
    delete_link(p, set + "/reference");
    h5::File f = h5::File::open_rw(p.string());
    std::vector<double> ref(tokens * dim, 1.0);
    ref[5] = INFINITY;
    f.write_f64(set + "/reference", {tokens, dim}, ref.data());
    f.close();
    require_read_fails(p, set + "/reference", {"non-finite"});
  }
  SECTION("reference stored as float32") {
    replace_f32(p, set + "/reference", {tokens, dim}, std::vector<float>(tokens * dim, 1.0f));
    require_read_fails(p, set + "/reference", {"expected float64"});
  }
  SECTION("a value off the bf16 grid in a bf16 output") {
    poke_f32(p, bf + "/sharded", 9, 1.0f + 0x1p-20f);
    require_read_fails(p, bf + "/sharded", {"not on the bf16 grid"});
  }
  SECTION("a value off the bf16 grid in a bf16 input") {
    poke_f32(p, set + "/proj_in.bias", 0, 0.1f);
    require_read_fails(p, set + "/proj_in.bias", {"not on the bf16 grid"});
  }
  SECTION("precision fp8") {
    set_attr(p, set, "precision", std::string("fp8"));
    require_read_fails(p, set, {"precision 'fp8' cannot be run"});
  }
  SECTION("AllReduce model nvls") {
    set_attr(p, c2, "allreduce", std::string("nvls"));
    require_read_fails(p, c2 + "@allreduce", {"'nvls' cannot be run"});
  }
  SECTION("tp that does not divide the dims") {
    set_attr(p, c2, "tp", std::int64_t{3});
    require_read_fails(p, c2 + "@tp", {"does not divide"});
  }
  SECTION("tp 0") {
    set_attr(p, c2, "tp", std::int64_t{0});
    require_read_fails(p, c2 + "@tp", {"does not divide"});
  }
  SECTION("zero tokens") {
    set_attr(p, set, "tokens", std::int64_t{0});
    require_read_fails(p, set, {"cannot be run"});
  }
  SECTION("unknown input mode") {
    set_attr(p, set, "inputs", std::string("compressed"));
    require_read_fails(p, set + "@inputs", {"unknown input mode"});
  }
  SECTION("non-positive drift budget scale") {
    set_attr(p, c2, "drift_budget_scale", 0.0);
    require_read_fails(p, c2 + "@drift_budget_scale", {"must be positive"});
  }
  SECTION("a case naming a missing input set") {
    set_attr(p, c2, "input_set", std::string("tiny_t8_fp32_s7"));
    require_read_fails(p, c2 + "@input_set", {"not in /input_sets"});
  }
  SECTION("an input set whose attributes do not match its name") {
    set_attr(p, set, "seed", std::int64_t{5});
    require_read_fails(p, set, {"does not match"});
  }
  SECTION("a stored input tensor that does not match its digest") {
    // Still on the bf16 grid: only the digest can tell.
    std::vector<float> x = read_f32(p, set + "/x");
    x[0] = -x[0];
    replace_f32(p, set + "/x", {tokens, dim}, x);
    require_read_fails(p, set + "/x", {"SHA-256"});
  }
  SECTION("a recorded digest that does not match the stored tensor") {
    set_attr(p, set, "sha256:proj_out.weight", sha_of("something else"));
    require_read_fails(p, set + "/proj_out.weight", {"SHA-256"});
  }
}

TEST_CASE("Optional root attributes a newer writer adds are ignored", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const fs::path p = write_copy(dir, "extended.h5");
  set_attr(p, "/", "gpu_count", std::int64_t{8});
  set_attr(p, "/", "comment", std::string("blessed on a Tuesday"));
  const std::int64_t baseline = h5::open_object_count();
  const GoldenFile g = read_golden(p.string());
  CHECK(g.provenance.at("comment") == "blessed on a Tuesday");
  CHECK(g.cases.size() == 4);
  CHECK(h5::open_object_count() == baseline);
}

// ---- checking ------------------------------------------------------------------------------------

TEST_CASE("check_golden passes an untouched golden with identical outputs", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const std::int64_t baseline = h5::open_object_count();
  for (const InputMode mode : {InputMode::full, InputMode::seeded}) {
    const fs::path p = write_copy(dir, mode == InputMode::full ? "full.h5" : "seeded.h5", mode);
    const GoldenFile g = read_golden(p.string());
    const std::vector<GoldenCaseCheck> checks = check_golden(g, {});
    CHECK(h5::open_object_count() == baseline);
    REQUIRE(checks.size() == 4);
    for (const GoldenCaseCheck& k : checks) {
      INFO(k.golden->id << ": " << k.reason);
      CHECK(k.pass);
      CHECK(k.reason.empty());
      CHECK(k.file == p.string());
      CHECK(k.allgather.differing == 0);
      CHECK(k.sharded.differing == 0);
      CHECK(k.allgather.max_abs == 0);
      CHECK(k.sharded.max_abs == 0);
      CHECK(k.parity_growth == 1.0);
      CHECK(k.allgather_growth == 1.0);
      CHECK(k.sharded_growth == 1.0);
      CHECK(k.reference_rel_diff == 0.0);
    }
  }
}

TEST_CASE("check_golden selects cases by id or name; names of no case select nothing", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const fs::path p = write_copy(dir, "g.h5");
  const GoldenFile g = read_golden(p.string());
  GoldenCheckOptions opt;
  opt.only_cases = {kBf16Tp2, "tiny/t8/tp1/fp32/ring/s0"};
  const auto checks = check_golden(g, opt);
  REQUIRE(checks.size() == 2);
  std::vector<std::string> ids = {checks[0].golden->id, checks[1].golden->id};
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{kBf16Tp2, kFp32Tp1});
  CHECK(checks[0].pass);
  CHECK(checks[1].pass);

  // Several files share one --case list (the command refuses a name no file has).
  opt.only_cases = {"tiny_t8_fp16_s0_tp2_ring", kFp32Tp1};
  REQUIRE(select_golden_cases(g, opt).size() == 1);
  CHECK(select_golden_cases(g, opt).front()->id == kFp32Tp1);
  opt.only_cases = {"tiny_t8_fp16_s0_tp2_ring"};
  CHECK(select_golden_cases(g, opt).empty());
  CHECK(check_golden(g, opt).empty());
  // One TP rank per process: only the cases of that tp.
  opt.only_cases = {};
  opt.only_tp = 2;
  for (const GoldenCase* c : select_golden_cases(g, opt)) CHECK(c->config.tp == 2);
}

TEST_CASE("golden check selects cases by AllReduce model and names the models it selected", "[goldens]") {
  // NCCL is pinned once per process (golden check --comm nccl): the command refuses a selection of
  // several models, and --allreduce selects one model's cases.
  TempDir dir("ffn-goldens-test");
  GoldenFile g = read_golden(write_copy(dir, "g.h5").string());
  GoldenCheckOptions opt;
  CHECK(golden_blessed_models({g}, opt) == std::vector<AllReduceModel>{AllReduceModel::ring});
  g.cases.front().config.allreduce = AllReduceModel::custom_1stage;
  CHECK(golden_blessed_models({g}, opt) ==
        std::vector<AllReduceModel>{AllReduceModel::custom_1stage, AllReduceModel::ring});
  opt.only_allreduce = AllReduceModel::ring;
  CHECK(golden_blessed_models({g}, opt) == std::vector<AllReduceModel>{AllReduceModel::ring});
  CHECK(select_golden_cases(g, opt).size() == g.cases.size() - 1);
  opt.only_allreduce = AllReduceModel::custom_1stage;
  REQUIRE(select_golden_cases(g, opt).size() == 1);
  CHECK(select_golden_cases(g, opt).front()->id == g.cases.front().id);
  opt.only_allreduce = AllReduceModel::exact;
  CHECK(golden_blessed_models({g}, opt).empty());
}

TEST_CASE("check_golden judges drift of the stored outputs against the budget", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const fs::path p = write_copy(dir, "g.h5");
  const std::string sharded = std::string("/cases/") + kFp32Tp2 + "/sharded";
  const std::vector<float> stored = read_f32(p, sharded);
  std::size_t i = 0;
  while (stored[i] == 0) ++i;
  GoldenCheckOptions opt;
  opt.only_cases = {kFp32Tp2};

  SECTION("a few ulps in one element pass") {
    float v = stored[i];
    for (int k = 0; k < 3; ++k) v = std::nextafter(v, INFINITY);
    poke_f32(p, sharded, i, v);
    const auto checks = check_golden(read_golden(p.string()), opt);
    REQUIRE(checks.size() == 1);
    INFO(checks[0].reason);
    CHECK(checks[0].pass);
    CHECK(checks[0].sharded.differing == 1);
    CHECK(checks[0].sharded.max_abs > 0);
    CHECK(checks[0].allgather.differing == 0);
  }
  SECTION("a large change fails, naming the sharded output") {
    poke_f32(p, sharded, i, stored[i] + 1.0f);
    const auto checks = check_golden(read_golden(p.string()), opt);
    REQUIRE(checks.size() == 1);
    INFO(checks[0].reason);
    CHECK_FALSE(checks[0].pass);
    CHECK_THAT(checks[0].reason, Contains("sharded output drifted"));
    CHECK_THAT(checks[0].reason, !Contains("allgather"));
    CHECK(checks[0].sharded.differing == 1);
  }
  SECTION("a recorded error half as large fails as growth") {
    const std::string grp = std::string("/cases/") + kFp32Tp2;
    const double recorded = h5::File::open(p.string()).attr_double(grp, "sharded_ref_rel_l2");
    REQUIRE(recorded > 0);
    set_attr(p, grp, "sharded_ref_rel_l2", recorded / 2);
    const auto checks = check_golden(read_golden(p.string()), opt);
    REQUIRE(checks.size() == 1);
    INFO(checks[0].reason);
    CHECK_FALSE(checks[0].pass);
    CHECK_THAT(checks[0].reason, Contains("sharded vs reference error grew"));
    CHECK(checks[0].sharded_growth == Approx(2.0));
    CHECK(checks[0].sharded.differing == 0);
  }
  SECTION("a stored reference that moved fails") {
    const std::string ref = std::string("/input_sets/") + kFp32Set + "/reference";
    h5::TensorData t = h5::File::open(p.string()).read(ref);
    for (double& v : t.f64) v *= 1.001;
    delete_link(p, ref);
    h5::File f = h5::File::open_rw(p.string());
    f.write_f64(ref, t.shape, t.f64.data());
    f.close();
    const auto checks = check_golden(read_golden(p.string()), opt);
    REQUIRE(checks.size() == 1);
    INFO(checks[0].reason);
    CHECK_FALSE(checks[0].pass);
    CHECK_THAT(checks[0].reason, Contains("reference moved"));
  }
}

TEST_CASE("check_golden reports a seeded golden whose generator changed", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const fs::path p = write_copy(dir, "seeded.h5", InputMode::seeded);
  set_attr(p, std::string("/input_sets/") + kFp32Set, "sha256:x", sha_of("another generator"));
  GoldenCheckOptions opt;
  opt.only_cases = {kFp32Tp1};
  const auto checks = check_golden(read_golden(p.string()), opt);
  REQUIRE(checks.size() == 1);
  INFO(checks[0].reason);
  CHECK_FALSE(checks[0].pass);
  CHECK_THAT(checks[0].reason, Contains("generated x differs from the blessed one"));
}

TEST_CASE("HDF5 handles are released on every path", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const std::int64_t baseline = h5::open_object_count();
  const fs::path p = write_copy(dir, "g.h5");
  CHECK(h5::open_object_count() == baseline);
  {
    const GoldenFile g = read_golden(p.string());
    CHECK(h5::open_object_count() == baseline);
    GoldenCheckOptions opt;
    opt.only_cases = {kFp32Tp1};
    check_golden(g, opt);
    CHECK(h5::open_object_count() == baseline);
  }
  {
    h5::File f = h5::File::open(p.string());
    CHECK(h5::open_object_count() > baseline);
    CHECK_THROWS_AS(f.read("/no/such/dataset"), h5::H5Error);
    CHECK_THROWS_AS(f.attr_int("/", "schema"), h5::H5Error);
    CHECK_THROWS_AS(f.attr_string("/", "no_such_attr"), h5::H5Error);
    CHECK_THROWS_AS(f.members("/cases/" + std::string(kFp32Tp1) + "/sharded"), h5::H5Error);
  }
  CHECK(h5::open_object_count() == baseline);
  {
    // Closing explicitly, then letting the destructor run, closes once.
    h5::File f = h5::File::create((dir / "h.h5").string());
    f.create_group("/a/b");
    f.close();
    f.close();
  }
  CHECK(h5::open_object_count() == baseline);
  CHECK_THROWS_AS(h5::File::open((dir / "missing.h5").string()), h5::H5Error);
  CHECK_THROWS_AS(h5::File::open_rw((dir / "missing.h5").string()), h5::H5Error);
  CHECK(h5::open_object_count() == baseline);
}

TEST_CASE("Reading on another thread prints no HDF5 error stack either", "[goldens]") {
  // HDF5 built thread-safe keeps its error-printing setting per thread.
  TempDir dir("ffn-goldens-test");
  const fs::path p = write_copy(dir, "g.h5");
  const std::string object = std::string("/cases/") + kFp32Tp2 + "/sharded";
  flip_chunk_byte(p, object);
  const std::vector<char> bytes = bytes_of(p);
  write_bytes(dir / "cut.h5", bytes.data(), bytes.size() / 2);
  std::thread reader([&] {
    require_read_fails(p, object, {"checksum"});
    require_read_fails(dir / "cut.h5", "", {"truncated"});
  });
  reader.join();
}

TEST_CASE("Provenance names the GPU libraries only for a GPU bless", "[goldens]") {
  const auto gpu = current_provenance("cuda", "1 CUDA device: NVIDIA H100 (sm_90)", "cuBLASLt 130100 (CUDA runtime 13000)");
  CHECK(gpu.at("backend") == "cuda");
  CHECK(gpu.at("device") == "1 CUDA device: NVIDIA H100 (sm_90)");
  CHECK(gpu.at("backend_libraries") == "cuBLASLt 130100 (CUDA runtime 13000)");
  const auto cpu = current_provenance("cpu", "");
  CHECK(cpu.at("backend") == "cpu");
  CHECK(cpu.count("backend_libraries") == 0);
}

// ---- the input cache ----------------------------------------------------------------------

TEST_CASE("the input cache: written once after the digest check, read back as generated, refused when damaged",
          "[goldens]") {
  TempDir dir("ffn-goldens-test");
  const GoldenFile& g = blessed(InputMode::seeded);
  const std::vector<CachedInputSet> sets = cache_golden_inputs(g, dir.path());
  REQUIRE(sets.size() == 2);
  for (const CachedInputSet& c : sets) {
    INFO(c.id);
    CHECK(c.problem.empty());
    REQUIRE(fs::exists(c.file));
    const GoldenInputSet& set = g.input_sets.at(c.id);
    CHECK(c.file == input_cache_file(dir.path(), set.sha256));
    const std::optional<FfnInputs> back = read_cached_inputs(c.file, set.config);
    REQUIRE(back);
    const FfnInputs generated = make_inputs(set.config);
    CHECK(back->x == generated.x);
    CHECK(back->weights.w_in == generated.weights.w_in);
    CHECK(back->weights.b_in == generated.weights.b_in);
    CHECK(back->weights.w_out == generated.weights.w_out);
    CHECK(back->weights.b_out == generated.weights.b_out);
  }
  CHECK_FALSE(read_cached_inputs(dir / "absent.f32", g.input_sets.at(kFp32Set).config));

  SECTION("a check that reads the cache gives the results of one that generates") {
    GoldenCheckOptions cached;
    cached.inputs_cache = dir.path().string();
    const std::vector<GoldenCaseCheck> a = check_golden(g, cached), b = check_golden(g, {});
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].pass);
      CHECK(a[i].today.allgather_out == b[i].today.allgather_out);
      CHECK(a[i].today.sharded_out == b[i].today.sharded_out);
    }
  }
  SECTION("a truncated file is refused, naming it") {
    fs::resize_file(sets[0].file, 1000);
    GoldenCheckOptions cached;
    cached.inputs_cache = dir.path().string();
    CHECK_THROWS_WITH(check_golden(g, cached),
                      Catch::Contains("--inputs-cache") && Catch::Contains(sets[0].file.string()) &&
                          Catch::Contains("1000 bytes"));
  }
  SECTION("a set whose digests no longer match is not written, and an earlier file of it is removed") {
    GoldenFile changed = g;
    GoldenInputSet& set = changed.input_sets.at(kBf16Set);
    set.config.seed = 1;  // the generator now draws other values than the recorded digests say
    const std::vector<CachedInputSet> again = cache_golden_inputs(changed, dir.path());
    for (const CachedInputSet& c : again) {
      INFO(c.id);
      CHECK(c.problem.empty() == (c.id != kBf16Set));
      CHECK(fs::exists(c.file) == (c.id != kBf16Set));
    }
  }
}

TEST_CASE("the input cache holds a quantized set's masters and quantizes them as make_inputs does", "[goldens]") {
  TempDir dir("ffn-goldens-test");
  InputConfig c;
  c.shape = *find_shape("tiny");
  c.tokens = 8;
  c.dtype = DType::bf16;
  c.scheme = QuantScheme::fp8_dynamic;
  const FfnInputs generated = make_inputs(c);
  const fs::path file = dir / "set.f32";
  write_cached_inputs(file, generated);
  const std::optional<FfnInputs> back = read_cached_inputs(file, c);
  REQUIRE(back);
  REQUIRE(back->weights.quant);
  CHECK(back->weights.quant->proj_in.weight.values == generated.weights.quant->proj_in.weight.values);
  CHECK(back->weights.quant->proj_out.weight.scales == generated.weights.quant->proj_out.weight.scales);
  CHECK(back->weights.quant->proj_out.input_scale == generated.weights.quant->proj_out.input_scale);
  CHECK_FALSE(fs::exists(dir / "set.f32.partial"));
  CHECK_THROWS_AS(write_cached_inputs(dir / "no-such-dir" / "set.f32", generated), InputCacheError);
}
