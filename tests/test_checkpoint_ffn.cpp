// Taking an FFN block out of a checkpoint: by LTX-2's names (video and audio streams, other
// prefixes, single overrides), the shape from the tensors, FP8/INT8 checkpoints run with their
// codes and scales exactly as stored, and every layout the harness does not know refused with
// what it found.
#include <catch2/catch.hpp>

#include "harness/inputs/checkpoint_ffn.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "tests/ffn_checkpoint_builder.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::StTensor;
using ffn::test::TempDir;
using Catch::Matchers::Contains;

namespace {

CheckpointFfn load(const std::string& path, int layer, FfnStream stream = FfnStream::video,
                   const std::string& prefix = "") {
  return load_checkpoint_ffn(safetensors::Checkpoint::open(path), ltx2_ffn_names(layer, stream, prefix));
}

std::vector<StTensor> concat(std::vector<StTensor> a, const std::vector<StTensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Both paths' outputs at tp 2 on x.
std::pair<Matrix<float>, Matrix<float>> run_paths(const Matrix<float>& x, const FfnWeights& w) {
  SimulatedCommunicator comm(2, AllReduceModel::ring);
  return {ffn_allgather(x, w, comm, DType::bf16), ffn_sharded(x, w, comm, DType::bf16)};
}

}  // namespace

TEST_CASE("checkpoint FFN: bf16 blocks by LTX-2 names, video and audio", "[checkpoint]") {
  TempDir dir("ckpt");
  const FfnWeights video = make_weights(test::tiny_config(), "video.");
  const FfnWeights audio = make_weights(test::tiny_config(), "audio.");
  const FfnWeights other = make_weights(test::tiny_config(), "other.");
  test::write_safetensors(dir.file("m.safetensors"),
                          concat(concat(test::ffn_block_tensors(other, "transformer_blocks.0.ff."),
                                        test::ffn_block_tensors(video, "transformer_blocks.1.ff.")),
                                 test::ffn_block_tensors(audio, "transformer_blocks.1.audio_ff.")));
  const CheckpointFfn v = load(dir.file("m.safetensors"), 1);
  CHECK(v.dtype == DType::bf16);
  CHECK(v.scheme == QuantScheme::none);
  CHECK(v.weights.dim() == 64);
  CHECK(v.weights.inner() == 256);
  CHECK(v.weights.w_in == video.w_in);
  CHECK(v.weights.b_in == video.b_in);
  CHECK(v.weights.w_out == video.w_out);
  CHECK(v.weights.b_out == video.b_out);
  CHECK(v.layout == "BF16 weights");
  REQUIRE(v.tensors.size() == 4);
  CHECK(v.tensors[0].name == "transformer_blocks.1.ff.net.0.proj.weight");
  CHECK(v.tensors[3].name == "transformer_blocks.1.ff.net.2.bias");
  CHECK(v.tensors[0].file == dir.file("m.safetensors"));
  const auto precisions = checkpoint_precisions(v);
  REQUIRE(precisions.size() == 2);
  CHECK(precisions[0].name == "bf16");
  CHECK(precisions[1].name == "fp32");

  const CheckpointFfn a = load(dir.file("m.safetensors"), 1, FfnStream::audio);
  CHECK(a.weights.w_in == audio.w_in);
  CHECK(a.weights.b_out == audio.b_out);
  CHECK(load(dir.file("m.safetensors"), 0).weights.w_out == other.w_out);
}

TEST_CASE("checkpoint FFN: other layouts by prefix or by single names", "[checkpoint]") {
  TempDir dir("ckpt");
  const FfnWeights w = make_weights(test::tiny_config());
  std::vector<StTensor> t = test::ffn_block_tensors(w, "model.diffusion_model.transformer_blocks.2.ff.", "F32");
  t[0].name = "blocks.2.mlp.fc1.weight";  // proj_in.weight somewhere else
  test::write_safetensors(dir.file("m.safetensors"), t);
  const safetensors::Checkpoint c = safetensors::Checkpoint::open(dir.file("m.safetensors"));
  FfnTensorNames names = ltx2_ffn_names(2, FfnStream::video, "model.diffusion_model.transformer_blocks.{N}.ff.");
  CHECK(names.proj_out_bias == "model.diffusion_model.transformer_blocks.2.ff.net.2.bias");
  CHECK_THROWS_WITH(load_checkpoint_ffn(c, names),
                    Contains("no proj_in.weight tensor 'model.diffusion_model.transformer_blocks.2.ff.net.0.proj.weight'") &&
                        Contains("model.diffusion_model.transformer_blocks.2.ff.net.0.proj.bias"));
  apply_name_map(names, {"proj_in.weight=blocks.{N}.mlp.fc1.weight"}, 2);
  const CheckpointFfn f = load_checkpoint_ffn(c, names);
  CHECK(f.dtype == DType::fp32);
  CHECK(f.weights.w_in == w.w_in);
  CHECK(checkpoint_precisions(f).size() == 1);

  CHECK_THROWS_WITH(apply_name_map(names, {"proj_in.weight"}, 2), Contains("'proj_in.weight' is not ROLE=NAME"));

  // One prefix before all of LTX-2's names is found without being named.
  test::write_safetensors(dir.file("p.safetensors"), test::ffn_block_tensors(w, "model.diffusion_model.transformer_blocks.2.ff."));
  const FfnTensorNames found =
      with_checkpoint_prefix(safetensors::Checkpoint::open(dir.file("p.safetensors")), ltx2_ffn_names(2, FfnStream::video));
  CHECK(found.proj_out_weight == "model.diffusion_model.transformer_blocks.2.ff.net.2.weight");
  const CheckpointFfn prefixed = load(dir.file("p.safetensors"), 2);
  CHECK(prefixed.weights.w_in == w.w_in);
  CHECK(prefixed.tensors[0].name == "model.diffusion_model.transformer_blocks.2.ff.net.0.proj.weight");
  // Two candidates: nothing is guessed.
  test::write_safetensors(dir.file("two.safetensors"),
                          concat(test::ffn_block_tensors(w, "a.transformer_blocks.2.ff."),
                                 test::ffn_block_tensors(w, "b.transformer_blocks.2.ff.")));
  CHECK_THROWS_WITH(load(dir.file("two.safetensors"), 2), Contains("no proj_in.weight tensor 'transformer_blocks.2.ff.net.0.proj.weight'"));
  CHECK_THROWS_WITH(apply_name_map(names, {"w1.weight=x"}, 2), Contains("unknown role 'w1.weight'"));
}

TEST_CASE("checkpoint FFN: a layout it does not know is refused with the names it found", "[checkpoint]") {
  TempDir dir("ckpt");
  const FfnWeights w = make_weights(test::tiny_config());
  test::write_safetensors(dir.file("m.safetensors"), test::ffn_block_tensors(w, "transformer_blocks.0.ff."));
  SECTION("a block that is not there") {
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 5),
                      Contains("no proj_in.weight tensor 'transformer_blocks.5.ff.net.0.proj.weight'") &&
                          Contains("no tensor under transformer_blocks.5.; it holds: transformer_blocks.0.ff.net.0.proj.bias") &&
                          Contains("--tensor-prefix"));
  }
  SECTION("an audio stream that is not there") {
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 0, FfnStream::audio),
                      Contains("'transformer_blocks.0.audio_ff.net.0.proj.weight'") &&
                          Contains("tensors under transformer_blocks.0.: transformer_blocks.0.ff.net.0.proj.bias"));
  }
  SECTION("a missing bias") {
    std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
    t.pop_back();
    test::write_safetensors(dir.file("m.safetensors"), t);
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 0), Contains("no proj_out.bias tensor 'transformer_blocks.0.ff.net.2.bias'"));
  }
  SECTION("shapes that do not fit together") {
    std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
    t[2] = test::st_matrix("transformer_blocks.0.ff.net.2.weight", "BF16", Matrix<float>(64, 128));
    test::write_safetensors(dir.file("m.safetensors"), t);
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 0),
                      Contains("proj_out.weight 'transformer_blocks.0.ff.net.2.weight' has shape [64, 128], expected [64, 256]"));
  }
  SECTION("weights stored as [in, out]") {
    std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
    Matrix<float> w_in_t(64, 256), w_out_t(256, 64);
    t[0] = test::st_matrix("transformer_blocks.0.ff.net.0.proj.weight", "BF16", w_in_t);
    t[2] = test::st_matrix("transformer_blocks.0.ff.net.2.weight", "BF16", w_out_t);
    test::write_safetensors(dir.file("m.safetensors"), t);
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 0),
                      Contains("proj_in.weight 'transformer_blocks.0.ff.net.0.proj.weight' is stored as [in, out] [64, 256]"));
  }
  SECTION("mixed weight dtypes") {
    std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
    t[2] = test::st_matrix("transformer_blocks.0.ff.net.2.weight", "F32", w.w_out);
    test::write_safetensors(dir.file("m.safetensors"), t);
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 0), Contains("proj_in.weight is BF16 but proj_out.weight is F32"));
  }
  SECTION("E5M2 weights") {
    std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
    t[0] = test::st_matrix("transformer_blocks.0.ff.net.0.proj.weight", "F8_E5M2", Matrix<float>(256, 64));
    t[2] = test::st_matrix("transformer_blocks.0.ff.net.2.weight", "F8_E5M2", Matrix<float>(64, 256));
    test::write_safetensors(dir.file("m.safetensors"), t);
    CHECK_THROWS_WITH(load(dir.file("m.safetensors"), 0), Contains("F8_E5M2 weights"));
  }
}

TEST_CASE("checkpoint FFN: quantized checkpoints run their codes and scales as stored", "[checkpoint][quant]") {
  const auto [scheme, shape] = GENERATE(table<QuantScheme, std::string>({
      {QuantScheme::fp8_static, "tiny"},
      {QuantScheme::fp8_dynamic, "tiny"},
      {QuantScheme::fp8_dynamic_tensor, "tiny"},
      {QuantScheme::fp8_block, "small"},
      {QuantScheme::int8, "tiny"},
  }));
  INFO(precision_of(DType::bf16, scheme).name);
  TempDir dir("ckpt");
  const InputConfig cfg = test::tiny_config(scheme, shape);
  const FfnWeights w = make_weights(cfg);
  test::write_safetensors(dir.file("q.safetensors"), test::ffn_block_tensors(w, "transformer_blocks.0.ff."));
  const CheckpointFfn f = load(dir.file("q.safetensors"), 0);
  CHECK(f.scheme == scheme);
  CHECK(f.dtype == DType::bf16);
  CHECK(checkpoint_precisions(f).front().name == precision_of(DType::bf16, scheme).name);
  REQUIRE(f.weights.quant);
  for (const auto& [got, want] : {std::pair{&f.weights.quant->proj_in, &w.quant->proj_in},
                                  std::pair{&f.weights.quant->proj_out, &w.quant->proj_out}}) {
    CHECK(got->scheme == want->scheme);
    CHECK(got->weight.format == want->weight.format);
    CHECK(got->weight.values == want->weight.values);
    CHECK(got->weight.scales == want->weight.scales);
    CHECK(got->weight.block_rows == want->weight.block_rows);
    CHECK(got->weight.block_cols == want->weight.block_cols);
    CHECK(got->input_scale == want->input_scale);
  }
  CHECK(f.weights.w_in == dequantize<float>(w.quant->proj_in.weight));
  // The same outputs, bit for bit, as the checkpoint that was written.
  const Matrix<float> x = make_x(cfg);
  const auto [ag, sh] = run_paths(x, f.weights);
  const auto [ag0, sh0] = run_paths(x, w);
  CHECK(ag == ag0);
  CHECK(sh == sh0);
  // Provenance lists the scales too.
  bool has_scale = false;
  for (const CheckpointTensor& t : f.tensors) has_scale |= t.role == "proj_in.weight_scale";
  CHECK(has_scale);
}

TEST_CASE("checkpoint FFN: stored scales are not recomputed from the weights", "[checkpoint][quant]") {
  TempDir dir("ckpt");
  const FfnWeights w = make_weights(test::tiny_config(QuantScheme::fp8_dynamic_tensor));
  std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
  // A weight_scale four times what amax / 448 gives: codes then stand for four times the value.
  const float scale = w.quant->proj_in.weight.scales(0, 0) * 4;
  t[1] = test::st_tensor("transformer_blocks.0.ff.net.0.proj.weight_scale", "F32", {1}, std::vector<float>{scale});
  test::write_safetensors(dir.file("q.safetensors"), t);
  const CheckpointFfn f = load(dir.file("q.safetensors"), 0);
  CHECK(f.weights.quant->proj_in.weight.scales(0, 0) == scale);
  CHECK(f.weights.w_in(3, 5) == w.quant->proj_in.weight.values(3, 5) * scale);
}

TEST_CASE("checkpoint FFN: quantized layouts it does not know are refused naming them", "[checkpoint][quant]") {
  TempDir dir("ckpt");
  const FfnWeights w = make_weights(test::tiny_config(QuantScheme::fp8_dynamic));
  std::vector<StTensor> t = test::ffn_block_tensors(w, "transformer_blocks.0.ff.");
  const std::string path = dir.file("q.safetensors");
  SECTION("per-channel weight scales with a static input scale") {
    t.push_back(test::st_tensor("transformer_blocks.0.ff.net.0.proj.input_scale", "F32", {}, std::vector<float>{0.5f}));
    test::write_safetensors(path, t);
    CHECK_THROWS_WITH(load(path, 0), Contains("proj_in.weight 'transformer_blocks.0.ff.net.0.proj': F8_E4M3 weight "
                                              "[256, 64], weight_scale [256, 1], input_scale []: no quantization scheme"));
  }
  SECTION("no weight_scale") {
    t.erase(t.begin() + 1);
    test::write_safetensors(path, t);
    CHECK_THROWS_WITH(load(path, 0), Contains("F8_E4M3 weight [256, 64], no weight_scale, no input_scale"));
  }
  SECTION("a weight_scale of a shape no scheme has") {
    t[1] = test::st_tensor("transformer_blocks.0.ff.net.0.proj.weight_scale", "F32", {2, 2}, std::vector<float>{1, 1, 1, 1});
    test::write_safetensors(path, t);
    CHECK_THROWS_WITH(load(path, 0), Contains("weight_scale [2, 2]"));
  }
  SECTION("a scale that is not positive") {
    std::vector<float> s(256, 0.01f);
    s[7] = 0;
    t[1] = test::st_tensor("transformer_blocks.0.ff.net.0.proj.weight_scale", "F32", {256, 1}, s);
    test::write_safetensors(path, t);
    CHECK_THROWS_WITH(load(path, 0), Contains("holds 0 at flat index 7: scales must be positive"));
  }
  SECTION("the two layers quantized differently") {
    const FfnWeights b = make_weights(test::tiny_config(QuantScheme::fp8_dynamic_tensor));
    const std::vector<StTensor> other = test::ffn_block_tensors(b, "transformer_blocks.0.ff.");
    for (std::size_t i = 3; i < t.size(); ++i) t[i] = other[i];
    test::write_safetensors(path, t);
    CHECK_THROWS_WITH(load(path, 0), Contains("proj_in (F8_E4M3 weight [256, 64], weight_scale [256, 1], no input_scale) "
                                              "and proj_out (F8_E4M3 weight [64, 256], weight_scale [1], no input_scale) "
                                              "are quantized differently"));
  }
}

namespace {
// A gated MLP's weights (fused [gate; up] in w_in) and its tensors named as `model` names them,
// with the gate and up halves split out when the model stores them separately.
std::vector<StTensor> gated_tensors(const FfnWeights& w, const ModelFfn& model, int layer) {
  const FfnTensorNames names = model_ffn_names(model, layer);
  const std::int64_t n = w.inner();
  std::vector<StTensor> t;
  if (names.gate_weight.empty()) {
    t.push_back(test::st_matrix(names.proj_in_weight, "BF16", w.w_in));
  } else {
    t.push_back(test::st_matrix(names.gate_weight, "BF16", w.w_in.row_block(0, n)));
    t.push_back(test::st_matrix(names.up_weight, "BF16", w.w_in.row_block(n, 2 * n)));
  }
  t.push_back(test::st_matrix(names.proj_out_weight, "BF16", w.w_out));
  return t;
}

InputConfig gated_config(const ModelFfn& m) {
  InputConfig c = test::tiny_config();
  c.shape = {std::string(m.id), 64, 128, 4, m.bias, m.activation};
  return c;
}
}  // namespace

TEST_CASE("checkpoint FFN: gated MLPs by the catalog's names, fused gate_up and separate gate and up", "[checkpoint]") {
  TempDir dir("gated");
  for (const char* id : {"flux2", "z-image", "cosmos3", "ideogram4", "ernie-image"}) {
    INFO(id);
    const ModelFfn& m = *find_model(id);
    const FfnWeights w = make_weights(gated_config(m), "w.");
    REQUIRE(w.w_in.rows() == 256);
    const std::string path = dir.file(std::string(id) + ".safetensors");
    // Another block first: the names pick block 3.
    test::write_safetensors(path, concat(gated_tensors(make_weights(gated_config(m), "other."), m, 2), gated_tensors(w, m, 3)));
    const CheckpointFfn f = load_checkpoint_ffn(safetensors::Checkpoint::open(path), model_ffn_names(m, 3));
    CHECK(f.weights.activation == m.activation);
    CHECK(f.weights.w_in == w.w_in);  // gate rows first, as the merged layer stacks them
    CHECK(f.weights.w_out == w.w_out);
    CHECK(f.weights.b_in.empty());
    CHECK(f.weights.b_out.empty());
    CHECK(f.weights.inner() == 128);
    CHECK_THAT(f.tensors.back().name, Contains("3."));
    // And it runs: both paths, tp 2.
    const auto [a, s] = run_paths(make_x(gated_config(m)), f.weights);
    CHECK(a.rows() == 4);
  }
  CHECK(model_ffn_names(*find_model("flux2"), 0).by_role().front().first == "gate_up.weight");
  CHECK(model_ffn_names(*find_model("z-image"), 0).by_role().front().first == "gate.weight");
}

TEST_CASE("checkpoint FFN: no bias tensors load as an MLP without bias; a model with biases refuses their absence",
          "[checkpoint]") {
  TempDir dir("nobias");
  InputConfig c = test::tiny_config();
  c.shape = *find_shape("ltx2-video-nobias");
  c.shape.dim = 64, c.shape.inner = 256;
  const FfnWeights w = make_weights(c, "n.");
  const std::string path = dir.file("n.safetensors");
  test::write_safetensors(path, {test::st_matrix("transformer_blocks.0.ff.net.0.proj.weight", "BF16", w.w_in),
                                 test::st_matrix("transformer_blocks.0.ff.net.2.weight", "BF16", w.w_out)});
  const CheckpointFfn f =
      load_checkpoint_ffn(safetensors::Checkpoint::open(path), model_ffn_names(*find_model("ltx2-video-nobias"), 0));
  CHECK(f.weights.b_in.empty());
  CHECK(f.weights.b_out.empty());
  CHECK(f.weights.w_in == w.w_in);
  CHECK(f.tensors.size() == 2);
  CHECK_THROWS_WITH(load_checkpoint_ffn(safetensors::Checkpoint::open(path), model_ffn_names(*find_model("ltx2-video"), 0)),
                    Contains("no proj_in.bias tensor 'transformer_blocks.0.ff.net.0.proj.bias'"));
}

TEST_CASE("checkpoint FFN: tensor-map roles of gated MLPs, and what is refused", "[checkpoint]") {
  FfnTensorNames n = ltx2_ffn_names(0, FfnStream::video);
  apply_name_map(n, {"gate.weight=m.{N}.w1.weight", "up.weight=m.{N}.w3.weight", "down.weight=m.{N}.w2.weight"}, 5);
  CHECK(n.activation.gated);
  CHECK(n.gate_weight == "m.5.w1.weight");
  CHECK(n.up_weight == "m.5.w3.weight");
  CHECK(n.proj_in_weight.empty());
  CHECK(n.proj_out_weight == "m.5.w2.weight");
  FfnTensorNames fused = ltx2_ffn_names(0, FfnStream::video);
  apply_name_map(fused, {"gate_up.weight=x.weight"}, 0);
  CHECK(fused.activation.gated);
  CHECK(fused.proj_in_weight == "x.weight");
  CHECK_THROWS_WITH(apply_name_map(n, {"gate_proj.weight=x"}, 0), Contains("unknown role 'gate_proj.weight' (roles: "));
  TempDir dir("gated-bad");
  const ModelFfn& z = *find_model("z-image");
  const FfnWeights w = make_weights(gated_config(z), "w.");
  std::vector<StTensor> t = gated_tensors(w, z, 0);
  t.erase(t.begin() + 1);  // no up
  test::write_safetensors(dir.file("z.safetensors"), t);
  CHECK_THROWS_WITH(load_checkpoint_ffn(safetensors::Checkpoint::open(dir.file("z.safetensors")), model_ffn_names(z, 0)),
                    Contains("no up.weight tensor 'layers.0.feed_forward.w3.weight'"));
  // A fused gate_up of an odd row count.
  test::write_safetensors(dir.file("odd.safetensors"),
                          {test::st_matrix("transformer_blocks.0.ff.linear_in.weight", "BF16", Matrix<float>(5, 64)),
                           test::st_matrix("transformer_blocks.0.ff.linear_out.weight", "BF16", Matrix<float>(64, 2))});
  CHECK_THROWS_WITH(
      load_checkpoint_ffn(safetensors::Checkpoint::open(dir.file("odd.safetensors")), model_ffn_names(*find_model("flux2"), 0)),
      Contains("has 5 rows, which do not split into gate and up halves"));
}
