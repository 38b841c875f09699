#include "harness/tp/model_catalog.hpp"

#include <fmt/format.h>

namespace ffn {

FfnShape ModelFfn::shape() const { return {std::string(id), hidden, inner, 64, bias, activation}; }

std::string ModelFfn::summary() const {
  return fmt::format("{}: {} -> {} {}, {}", id, hidden, inner, activation_name(activation), bias ? "bias" : "no bias");
}

const std::vector<ModelFfn>& model_catalog() {
  constexpr Activation gelu_tanh{ActFn::gelu_tanh, false}, swiglu{ActFn::silu, true}, geglu{ActFn::gelu, true};
  // Verified against the published configs and model code (2026-12-06); the allowed tp sizes
  // divide the attention heads and every FFN size (the stack's ColumnParallelLinear divides
  // output_size by tp; each model file checks the heads).
  static const std::vector<ModelFfn> catalog = {
      {"ltx2-video", "LTX-2 video stream", 4096, 16384, gelu_tanh, true,
       {"proj_in.weight=transformer_blocks.{N}.ff.net.0.proj.weight", "proj_in.bias=transformer_blocks.{N}.ff.net.0.proj.bias",
        "proj_out.weight=transformer_blocks.{N}.ff.net.2.weight", "proj_out.bias=transformer_blocks.{N}.ff.net.2.bias"},
       {1, 2, 4, 8}, "Lightricks LTX-2 transformer config: 32 heads x 128, ff inner 4x; diffusers transformer_ltx2.py"},
      {"ltx2-video-nobias", "LTX-2.5 video stream (ff_bias false)", 4096, 16384, gelu_tanh, false,
       {"proj_in.weight=transformer_blocks.{N}.ff.net.0.proj.weight", "proj_out.weight=transformer_blocks.{N}.ff.net.2.weight"}, {1, 2, 4, 8},
       "LTX-2 model_configurator.py: LTX 2.5 sets ff_bias=false (video FFN only; audio keeps its bias)"},
      {"ltx2-audio", "LTX-2 audio stream", 2048, 8192, gelu_tanh, true,
       {"proj_in.weight=transformer_blocks.{N}.audio_ff.net.0.proj.weight", "proj_in.bias=transformer_blocks.{N}.audio_ff.net.0.proj.bias",
        "proj_out.weight=transformer_blocks.{N}.audio_ff.net.2.weight", "proj_out.bias=transformer_blocks.{N}.audio_ff.net.2.bias"},
       {1, 2, 4, 8}, "Lightricks LTX-2 transformer config: audio 32 heads x 64, ff inner 4x"},
      {"wan2.1-1.3b", "Wan 2.1 T2V 1.3B", 1536, 8960, gelu_tanh, true,
       {"proj_in.weight=blocks.{N}.ffn.0.weight", "proj_in.bias=blocks.{N}.ffn.0.bias", "proj_out.weight=blocks.{N}.ffn.2.weight",
        "proj_out.bias=blocks.{N}.ffn.2.bias"}, {1, 2, 4},
       "Wan2.1 wan/configs/wan_t2v_1_3B.py: dim 1536, ffn_dim 8960, num_heads 12"},
      {"wan2.2-14b", "Wan 2.2 A14B (both experts)", 5120, 13824, gelu_tanh, true,
       {"proj_in.weight=blocks.{N}.ffn.0.weight", "proj_in.bias=blocks.{N}.ffn.0.bias", "proj_out.weight=blocks.{N}.ffn.2.weight",
        "proj_out.bias=blocks.{N}.ffn.2.bias"}, {1, 2, 4, 8},
       "Wan2.2 wan/configs/wan_t2v_A14B.py: dim 5120, ffn_dim 13824, num_heads 40"},
      {"wan2.2-ti2v-5b", "Wan 2.2 TI2V 5B", 3072, 14336, gelu_tanh, true,
       {"proj_in.weight=blocks.{N}.ffn.0.weight", "proj_in.bias=blocks.{N}.ffn.0.bias", "proj_out.weight=blocks.{N}.ffn.2.weight",
        "proj_out.bias=blocks.{N}.ffn.2.bias"}, {1, 2, 4, 8},
       "Wan2.2 wan/configs/wan_ti2v_5B.py: dim 3072, ffn_dim 14336, num_heads 24"},
      {"hunyuanvideo", "HunyuanVideo double-stream img/txt MLP", 3072, 12288, gelu_tanh, true,
       {"proj_in.weight=transformer_blocks.{N}.ff.net.0.proj.weight", "proj_in.bias=transformer_blocks.{N}.ff.net.0.proj.bias",
        "proj_out.weight=transformer_blocks.{N}.ff.net.2.weight", "proj_out.bias=transformer_blocks.{N}.ff.net.2.bias"}, {1, 2, 4, 8},
       "diffusers transformer_hunyuan_video.py and SGLang hunyuanvideo.py defaults: 24 heads x 128, mlp ratio 4",
       false},
      {"flux1", "FLUX.1 double-stream ff / ff_context", 3072, 12288, gelu_tanh, true,
       {"proj_in.weight=transformer_blocks.{N}.ff.net.0.proj.weight", "proj_in.bias=transformer_blocks.{N}.ff.net.0.proj.bias",
        "proj_out.weight=transformer_blocks.{N}.ff.net.2.weight", "proj_out.bias=transformer_blocks.{N}.ff.net.2.bias"}, {1, 2, 4, 8},
       "FLUX.1-dev transformer/config.json: attention_head_dim 128, num_attention_heads 24; diffusers FeedForward 4x"},
      {"joy-image", "JoyAI-Image-Edit img/txt MLP", 4096, 16384, gelu_tanh, true,
       {"proj_in.weight=double_blocks.{N}.img_mlp.net.0.proj.weight", "proj_in.bias=double_blocks.{N}.img_mlp.net.0.proj.bias",
        "proj_out.weight=double_blocks.{N}.img_mlp.net.2.weight", "proj_out.bias=double_blocks.{N}.img_mlp.net.2.bias"}, {1, 2, 4, 8},
       "jd-opensource/JoyAI-Image transformer config.json: hidden_size 4096, mlp_width_ratio 4.0, 32 heads"},
      {"mova-audio", "MOVA audio DiT (WanAudioModel)", 1536, 6144, gelu_tanh, true,
       {"proj_in.weight=blocks.{N}.ffn.0.weight", "proj_in.bias=blocks.{N}.ffn.0.bias", "proj_out.weight=blocks.{N}.ffn.2.weight",
        "proj_out.bias=blocks.{N}.ffn.2.bias"}, {1, 2, 4},
       "SGLang configs/models/dits/mova_audio.py: dim 1536, ffn_dim 6144, num_heads 12 (checkpoint config not found)",
       false},
      {"hunyuan3d", "Hunyuan3D-2.0 shape DiT double-stream MLP", 1024, 4096, gelu_tanh, true,
       {"proj_in.weight=double_blocks.{N}.img_mlp.0.weight", "proj_in.bias=double_blocks.{N}.img_mlp.0.bias",
        "proj_out.weight=double_blocks.{N}.img_mlp.2.weight", "proj_out.bias=double_blocks.{N}.img_mlp.2.bias"}, {1, 2, 4, 8},
       "Hunyuan3D-2 DiT config: hidden_size 1024, mlp_ratio 4.0, num_heads 16"},
      {"flux2", "FLUX.2-dev double-stream ff / ff_context", 6144, 18432, swiglu, false,
       {"gate_up.weight=transformer_blocks.{N}.ff.linear_in.weight", "down.weight=transformer_blocks.{N}.ff.linear_out.weight"},
       {1, 2, 4, 8}, "diffusers convert_flux2_to_diffusers.py flux2-dev: 48 heads x 128, mlp_ratio 3.0"},
      {"z-image", "Z-Image", 3840, 10240, swiglu, false,
       {"gate.weight=layers.{N}.feed_forward.w1.weight", "up.weight=layers.{N}.feed_forward.w3.weight",
        "down.weight=layers.{N}.feed_forward.w2.weight"},
       {1, 2}, "Tongyi-MAI Z-Image transformer config: dim 3840, 30 heads; FeedForward hidden 10240"},
      {"cosmos3", "Cosmos3 (generation MLP)", 4096, 12288, swiglu, false,
       {"gate.weight=layers.{N}.mlp_moe_gen.gate_proj.weight", "up.weight=layers.{N}.mlp_moe_gen.up_proj.weight",
        "down.weight=layers.{N}.mlp_moe_gen.down_proj.weight"},
       {1, 2, 4, 8}, "diffusers and SGLang Cosmos3 defaults: 32 q / 8 kv heads x 128 (checkpoint config not found)",
       false},
      {"ideogram4", "Ideogram 4", 4608, 12288, swiglu, false,
       {"gate.weight=layers.{N}.feed_forward.w1.weight", "up.weight=layers.{N}.feed_forward.w3.weight",
        "down.weight=layers.{N}.feed_forward.w2.weight"},
       {1, 2}, "Ideogram 4 transformer config: 18 heads x 256, feed-forward 12288"},
      {"ernie-image", "ERNIE-Image", 4096, 12288, geglu, false,
       {"gate.weight=layers.{N}.mlp.gate_proj.weight", "up.weight=layers.{N}.mlp.up_proj.weight", "down.weight=layers.{N}.mlp.linear_fc2.weight"},
       {1, 2, 4, 8}, "ERNIE-Image transformer config: hidden 4096, 32 heads x 128, ffn 12288, exact GELU gate"},
  };
  return catalog;
}

const ModelFfn* find_model(std::string_view id) {
  for (const ModelFfn& m : model_catalog())
    if (m.id == id) return &m;
  return nullptr;
}

}  // namespace ffn
