// Writes the checkpoints and captures the CLI tests of real inputs run on (real_input_tests.cmake):
// well-formed ones (bf16 single file and sharded with an index, FP8/INT8 with scales, gated MLPs
// by two models' names), a
// capture of block 1, and one malformed file per way a safetensors file can be broken.
//   make_checkpoints DIR
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "harness/inputs/activations_file.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "tests/ffn_checkpoint_builder.hpp"

using namespace ffn;
using namespace ffn::test;

namespace {

std::vector<StTensor> concat(std::vector<StTensor> a, const std::vector<StTensor>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void quantized(const std::string& dir, const std::string& name, QuantScheme scheme, const std::string& shape) {
  const FfnWeights w = make_weights(tiny_config(scheme, shape));
  write_safetensors(dir + "/" + name + ".safetensors", ffn_block_tensors(w, "transformer_blocks.1.ff."));
}

std::vector<std::byte> header_only(const std::string& header, std::size_t data_bytes) {
  return st_image(header, std::vector<std::byte>(data_bytes, std::byte{0}));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_checkpoints DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/sharded");
  std::filesystem::create_directories(dir + "/sharded_broken");

  const InputConfig cfg = tiny_config();
  const FfnWeights b0 = make_weights(cfg, "b0."), b1 = make_weights(cfg, "b1."), a1 = make_weights(cfg, "a1.");
  const std::vector<StTensor> block0 = ffn_block_tensors(b0, "transformer_blocks.0.ff.");
  const std::vector<StTensor> block1 = ffn_block_tensors(b1, "transformer_blocks.1.ff.");
  write_safetensors(dir + "/bf16.safetensors",
                    concat(concat(block0, block1), ffn_block_tensors(a1, "transformer_blocks.1.audio_ff.")));

  // Sharded: block 1's proj_in in the first file, its proj_out in the second.
  const std::vector<StTensor> first = concat(block0, {block1[0], block1[1]}), second = {block1[2], block1[3]};
  write_safetensors(dir + "/sharded/model-00001-of-00002.safetensors", first);
  write_safetensors(dir + "/sharded/model-00002-of-00002.safetensors", second);
  const auto write_index = [](const std::string& path, const std::vector<StTensor>& a, const std::string& file_a,
                              const std::vector<StTensor>& b, const std::string& file_b) {
    nlohmann::json map = nlohmann::json::object();
    for (const auto& t : a) map[t.name] = file_a;
    for (const auto& t : b) map[t.name] = file_b;
    std::ofstream(path) << nlohmann::json{{"metadata", {{"total_size", 0}}}, {"weight_map", map}}.dump(1);
  };
  write_index(dir + "/sharded/model.safetensors.index.json", first, "model-00001-of-00002.safetensors", second,
              "model-00002-of-00002.safetensors");
  write_safetensors(dir + "/sharded_broken/model-00001-of-00002.safetensors", first);
  write_index(dir + "/sharded_broken/model.safetensors.index.json", first, "model-00001-of-00002.safetensors", second,
              "model-00002-of-00002.safetensors");  // the second file is missing
  std::ofstream(dir + "/bad.safetensors.index.json") << R"({"weight_map": {"a": )";

  quantized(dir, "fp8-static", QuantScheme::fp8_static, "tiny");
  quantized(dir, "fp8-dynamic", QuantScheme::fp8_dynamic, "tiny");
  quantized(dir, "fp8-dynamic-tensor", QuantScheme::fp8_dynamic_tensor, "tiny");
  quantized(dir, "fp8-block", QuantScheme::fp8_block, "small");
  quantized(dir, "int8", QuantScheme::int8, "tiny");
  {  // per-channel weight scales with a static input scale: no scheme has that layout
    const FfnWeights w = make_weights(tiny_config(QuantScheme::fp8_dynamic));
    std::vector<StTensor> t = ffn_block_tensors(w, "transformer_blocks.1.ff.");
    t.push_back(st_tensor("transformer_blocks.1.ff.net.0.proj.input_scale", "F32", {}, std::vector<float>{0.5f}));
    write_safetensors(dir + "/fp8-unknown.safetensors", t);
  }

  // Block 1's input and the output an unsharded bf16 stack gives.
  InputConfig xc = cfg;
  xc.tokens = 8;
  xc.seed = 3;
  const Matrix<float> x = make_x(xc);
  SimulatedCommunicator one(1, AllReduceModel::ring);
  const Matrix<float> y = ffn_allgather(x, b1, one, DType::bf16);
  write_activations(dir + "/capture.h5", 1, FfnStream::video, x, &y);
  Matrix<float> x32 = x;
  for (float& v : x32.values()) v += 0x1p-12f;
  write_activations(dir + "/capture_fp32.h5", 1, FfnStream::video, x32, nullptr, "float32");

  const std::string ok = R"("w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]})";
  write_bytes(dir + "/empty.safetensors", {});
  // Gated MLPs without bias as two catalog models name them: Z-Image's separate w1 (gate),
  // w3 (up) and w2 (down) of block 0, FLUX.2's fused linear_in (gate rows first) of block 0.
  {
    InputConfig c = tiny_config();
    c.shape = {"gated", 64, 128, 4, false, Activation{ActFn::silu, true}};
    const FfnWeights g = make_weights(c);
    write_safetensors(dir + "/z-image.safetensors",
                      {st_matrix("layers.0.feed_forward.w1.weight", "BF16", g.w_in.row_block(0, 128)),
                       st_matrix("layers.0.feed_forward.w3.weight", "BF16", g.w_in.row_block(128, 256)),
                       st_matrix("layers.0.feed_forward.w2.weight", "BF16", g.w_out)});
    write_safetensors(dir + "/flux2.safetensors", {st_matrix("transformer_blocks.0.ff.linear_in.weight", "BF16", g.w_in),
                                                   st_matrix("transformer_blocks.0.ff.linear_out.weight", "BF16", g.w_out)});
  }
  write_bytes(dir + "/short.safetensors", std::vector<std::byte>(5));
  write_bytes(dir + "/header_beyond.safetensors", st_image("{" + ok + "}", std::vector<std::byte>(4), 1000));
  write_bytes(dir + "/bad_json.safetensors", header_only("{\"w\": {\"dtype\": \"BF16\",", 4));
  write_bytes(dir + "/offsets_outside.safetensors", header_only("{" + ok + "}", 2));
  write_bytes(dir + "/overlap.safetensors",
              header_only(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                          R"( "b": {"dtype": "BF16", "shape": [2], "data_offsets": [2, 6]}})",
                          6));
  write_bytes(dir + "/size_mismatch.safetensors",
              header_only(R"({"w": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 4]}})", 4));
  write_bytes(dir + "/unknown_dtype.safetensors",
              header_only(R"({"w": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})", 2));
  return 0;
}
