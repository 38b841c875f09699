// Real inputs end to end: captured activations read back (and refused when they cannot be
// used), cases run on a checkpoint's FFN against the captured output, and goldens that record
// where their inputs came from, are checked against them, and notice when they changed.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "harness/inputs/activations_file.hpp"
#include "harness/inputs/h5.hpp"
#include "harness/run/golden_check.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "tests/ffn_checkpoint_builder.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::TempDir;
using Catch::Matchers::Contains;

namespace {

// A bf16 checkpoint with block 2's FFN, and a capture of its x and y (y: the allgather path at
// tp 1, as an unsharded bf16 stack computes it).
struct RealFixture {
  TempDir dir{"real"};
  InputConfig cfg = test::tiny_config();
  FfnWeights weights = make_weights(cfg);
  Matrix<float> x, y;
  std::string checkpoint = dir.file("ckpt.safetensors"), capture = dir.file("capture.h5");

  RealFixture() {
    cfg.tokens = 6;
    x = make_x(cfg);
    SimulatedCommunicator one(1, AllReduceModel::ring);
    y = ffn_allgather(x, weights, one, DType::bf16);
    test::write_safetensors(checkpoint, test::ffn_block_tensors(weights, "transformer_blocks.2.ff."));
    write_activations(capture, 2, FfnStream::video, x, &y);
  }

  RealInputSpec spec(bool with_activations = true) const {
    RealInputSpec s;
    s.weights = checkpoint;
    s.layer = 2;
    s.names = ltx2_ffn_names(2, FfnStream::video);
    if (with_activations) s.activations = capture;
    s.tokens = with_activations ? 0 : 5;
    return s;
  }
};

std::vector<CaseConfig> cases_of(const RealInputs& real, std::vector<int> tps) {
  SweepConfig s;
  s.shape = real.shape;
  s.tokens = real.spec.tokens;
  s.tps = std::move(tps);
  s.precisions = {checkpoint_precisions(real.ffn).front()};
  return expand(s);
}

std::vector<CaseResult> run_real(const RealInputs& real, std::vector<int> tps) {
  return run_cases(cases_of(real, std::move(tps)), {},
                   [&](const CaseConfig& c) { return real_case_inputs(real, c.dtype); });
}

}  // namespace

TEST_CASE("activations file: written and read back", "[activations]") {
  RealFixture f;
  const CapturedActivations all = read_activations(f.capture, 2, FfnStream::video, 64);
  CHECK(all.group == "/video/block_2");
  CHECK(all.x == f.x);
  REQUIRE(all.y);
  CHECK(*all.y == f.y);
  const CapturedActivations first = read_activations(f.capture, 2, FfnStream::video, 64, 4);
  CHECK(first.x == f.x.row_block(0, 4));
  CHECK(*first.y == f.y.row_block(0, 4));
  // Without y.
  write_activations(f.capture, 3, FfnStream::audio, f.x, nullptr);
  CHECK_FALSE(read_activations(f.capture, 3, FfnStream::audio, 64).y);
}

TEST_CASE("activations file: what cannot be used is refused with one line", "[activations]") {
  RealFixture f;
  const auto refused = [&](const std::string& path, int layer, std::int64_t dim, std::int64_t tokens) {
    try {
      read_activations(path, layer, FfnStream::video, dim, tokens);
    } catch (const ActivationsError& e) {
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
      return std::string(e.what());
    }
    FAIL("accepted");
    return std::string();
  };
  CHECK_THAT(refused(f.dir.file("none.h5"), 2, 64, 0), Contains("none.h5: no such file"));
  CHECK_THAT(refused(f.checkpoint, 2, 64, 0), Contains("not an HDF5 file"));
  CHECK_THAT(refused(f.capture, 9, 64, 0), Contains("/video/block_9/x: missing; the file holds video blocks: block_2"));
  CHECK_THAT(refused(f.capture, 2, 32, 0), Contains("/video/block_2/x: shape [6, 64], expected [tokens, 32]"));
  CHECK_THAT(refused(f.capture, 2, 64, 7), Contains("holds 6 tokens, fewer than --tokens 7"));
  {
    h5::File h = h5::File::open_rw(f.capture);
    h.set_attr("/", "format", std::string("something-else"));
    h.close();
  }
  CHECK_THAT(refused(f.capture, 2, 64, 0), Contains("/@format: missing or not 'ffn-parity-activations'"));
  Matrix<float> bad = f.x;
  bad(1, 2) = NAN;
  std::filesystem::remove(f.capture);
  write_activations(f.capture, 2, FfnStream::video, bad, &f.y);
  CHECK_THAT(refused(f.capture, 2, 64, 0), Contains("/video/block_2/x: holds nan at flat index 66"));
  std::filesystem::remove(f.capture);
  const Matrix<float> short_y = f.y.row_block(0, 3);
  write_activations(f.capture, 2, FfnStream::video, f.x, &short_y);
  CHECK_THAT(refused(f.capture, 2, 64, 0), Contains("/video/block_2/y: holds 3 tokens, x holds 6"));
}

TEST_CASE("real inputs: captured x must lie on the grid the case runs in", "[real]") {
  RealFixture f;
  Matrix<float> fine = f.x;
  fine(0, 0) += 0x1p-20f;  // an fp32 value between bf16 neighbours
  std::filesystem::remove(f.capture);
  write_activations(f.capture, 2, FfnStream::video, fine, nullptr, "float32");
  const RealInputs real = load_real_inputs(f.spec());
  CHECK_THROWS_WITH(real_case_inputs(real, DType::bf16), Contains("/video/block_2/x: value") && Contains("not on the bf16 grid"));
  CHECK(real_case_inputs(real, DType::fp32).x == fine);
}

TEST_CASE("real inputs: each path against the captured output", "[real]") {
  RealFixture f;
  const RealInputs real = load_real_inputs(f.spec());
  CHECK(real.shape.name == "b2-video");
  CHECK(real.shape.dim == 64);
  CHECK(real.spec.tokens == 6);
  CHECK(std::filesystem::path(real.spec.weights).is_absolute());
  const std::vector<CaseResult> results = run_real(real, {1, 2, 4});
  REQUIRE(results.size() == 3);
  for (const CaseResult& r : results) {
    INFO(r.config.name());
    CHECK(r.pass);
    REQUIRE(r.allgather_captured);
    REQUIRE(r.sharded_captured);
    CHECK(r.allgather_captured->verdict.margin() < 1);
    CHECK(r.sharded_captured->verdict.margin() < 1);
  }
  // y is what the paths compute at tp 1.
  CHECK(results[0].allgather_captured->stats.max_abs == 0);
  CHECK(results[0].sharded_captured->stats.max_abs == 0);

  // A real output the emulation does not predict: the measure says so.
  Matrix<float> off = f.y;
  for (float& v : off.values()) v *= 1.05f;
  std::filesystem::remove(f.capture);
  write_activations(f.capture, 2, FfnStream::video, f.x, &off);
  const std::vector<CaseResult> wrong = run_real(load_real_inputs(f.spec()), {2});
  CHECK(wrong[0].allgather_captured->verdict.margin() > 1);
  CHECK(wrong[0].pass);  // information, not the verdict

  // Generated x on real weights: no captured output to compare with.
  const RealInputs generated = load_real_inputs(f.spec(false));
  CHECK(generated.spec.tokens == 5);
  const std::vector<CaseResult> g = run_real(generated, {2});
  CHECK(g[0].pass);
  CHECK_FALSE(g[0].allgather_captured);
  InputConfig c = f.cfg;
  c.shape = generated.shape;
  c.tokens = 5;
  c.seed = generated.spec.seed;
  CHECK(real_case_inputs(generated, DType::bf16).x == make_x(c));
}

TEST_CASE("real inputs: loading failures are one line", "[real]") {
  RealFixture f;
  RealInputSpec s = f.spec();
  s.names = ltx2_ffn_names(4, FfnStream::video);
  CHECK_THROWS_AS(load_real_inputs(s), RealInputError);
  CHECK_THROWS_WITH(load_real_inputs(s), Contains("no proj_in.weight tensor 'transformer_blocks.4.ff.net.0.proj.weight'"));
  s = f.spec();
  s.weights = f.dir.file("gone.safetensors");
  CHECK_THROWS_WITH(load_real_inputs(s), Contains("gone.safetensors: does not exist"));
  s = f.spec();
  s.layer = 5;  // the capture has no block 5
  s.names = ltx2_ffn_names(2, FfnStream::video);
  CHECK_THROWS_WITH(load_real_inputs(s), Contains("/video/block_5/x: missing"));
}

TEST_CASE("real inputs: goldens record provenance, not weights", "[real][golden]") {
  RealFixture f;
  const RealInputs real = load_real_inputs(f.spec());
  const std::vector<CaseResult> results = run_real(real, {1, 2});
  const GoldenFile g = make_golden(results, InputMode::seeded, current_provenance("cpu", ""), &real);
  const std::string path = f.dir.file("real.h5");
  write_golden(g, path, false);

  const GoldenFile back = read_golden(path);
  REQUIRE(back.input_sets.size() == 1);
  const GoldenInputSet& set = back.input_sets.begin()->second;
  CHECK(set.mode == InputMode::real);
  CHECK_FALSE(set.tensors);
  REQUIRE(set.real);
  CHECK(set.real->spec.weights == real.spec.weights);
  CHECK(set.real->spec.activations == real.spec.activations);
  CHECK(set.real->activations_group == "/video/block_2");
  CHECK(set.real->spec.layer == 2);
  CHECK(set.real->spec.names.proj_out_weight == "transformer_blocks.2.ff.net.2.weight");
  CHECK(set.real->stored_sha256 == stored_digests(real));
  CHECK(set.real->layout == "BF16 weights");
  {
    const h5::File h = h5::File::open(path);
    const std::string grp = "/input_sets/" + set.id;
    CHECK_FALSE(h.exists(grp + "/proj_in.weight"));
    CHECK_FALSE(h.exists(grp + "/x"));
    CHECK(h.attr_string(grp, "tensor:proj_in.bias") == "transformer_blocks.2.ff.net.0.proj.bias");
    CHECK(h.attr_string(grp, "file:proj_in.bias") == real.spec.weights);
  }

  const auto check = [&] { return check_golden(read_golden(path), {}); };
  for (const GoldenCaseCheck& k : check()) {
    INFO(k.reason);
    CHECK(k.pass);
  }

  // Another checkpoint under the same name: the digests notice.
  FfnWeights changed = f.weights;
  changed.b_out[3] = -changed.b_out[3] + 0.5f;
  test::write_safetensors(f.checkpoint, test::ffn_block_tensors(changed, "transformer_blocks.2.ff."));
  for (const GoldenCaseCheck& k : check()) {
    CHECK_FALSE(k.pass);
    CHECK_THAT(k.reason, Contains("checkpoint tensor proj_out.bias") && Contains("SHA-256 mismatch"));
  }
  // And a checkpoint that is gone fails the check with one line.
  std::filesystem::remove(f.checkpoint);
  CHECK_THROWS_WITH(check(), Contains("cannot load the real inputs it was blessed from") &&
                                 Contains("ckpt.safetensors: does not exist"));
}
