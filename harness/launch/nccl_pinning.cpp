#include "harness/launch/nccl_pinning.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace ffn {

namespace {
// NVLS reduces bf16 with multimem.ld_reduce .acc::f32 from 2.27 on (DESIGN section 2).
constexpr int k_nvls_fp32_from = 22700;
// NVLS (multimem) AllReduce first shipped in NCCL 2.17.
constexpr int k_nvls_from = 21700;
}  // namespace

std::string nccl_version_string(int code) {
  return fmt::format("{}.{}.{}", code / 10000, code / 100 % 100, code % 100);
}

std::vector<std::pair<std::string, std::string>> NcclPinning::environment() const {
  std::vector<std::pair<std::string, std::string>> env{{"NCCL_ALGO", algo}, {"NCCL_PROTO", proto}};
  if (channels > 0) {
    env.emplace_back("NCCL_MIN_NCHANNELS", std::to_string(channels));
    env.emplace_back("NCCL_MAX_NCHANNELS", std::to_string(channels));
  }
  return env;
}

std::string NcclPinning::describe(int nccl_version) const {
  std::string s = fmt::format("NCCL {};", nccl_version_string(nccl_version));
  for (const auto& [k, v] : environment()) s += fmt::format(" {}={}", k, v);
  return s;
}

AllReduceConfig nccl_run_for_blessed(AllReduceModel blessed) {
  return AllReduceConfig(blessed == AllReduceModel::ring ? AllReduceModel::nccl_ring : blessed, 1);
}

NcclPinning nccl_pinning(const AllReduceConfig& r, int version) {
  const std::string name(allreduce_model_name(r.model));
  switch (r.model) {
    // The models predict the Simple protocol's layout (nccl_ring_segments); LL and LL128 cut
    // other chunks, so the protocol is pinned too.
    case AllReduceModel::nccl_ring:
      // NCCL builds its rings in its topology search (src/graph/search.cc); the variables pinned
      // here cannot choose them, so a ring the model was given would not be the one that ran.
      if (!r.nccl_ring_orders.empty())
        throw std::invalid_argument(
            "--comm nccl: --nccl-ring-order: NCCL's rings come from its topology search and cannot be pinned "
            "through NCCL_ALGO/NCCL_PROTO/NCCL_*_NCHANNELS; drop the option");
      return {"Ring", "Simple", r.nccl_channels};
    case AllReduceModel::nccl_tree: return {"Tree", "Simple", r.nccl_channels};
    case AllReduceModel::nccl_nvls:
      if (version < k_nvls_fp32_from)
        throw std::invalid_argument(fmt::format(
            "--comm nccl: --allreduce {}: NCCL {} accumulates NVLS in bf16 (fp32 from 2.27); use nccl-nvls-bf16",
            name, nccl_version_string(version)));
      return {"NVLS", "Simple", 0};
    case AllReduceModel::nccl_nvls_bf16:
      if (version >= k_nvls_fp32_from || version < k_nvls_from)
        throw std::invalid_argument(fmt::format(
            "--comm nccl: --allreduce {}: NCCL {} has no bf16-accumulating NVLS (2.17 to 2.26 only){}", name,
            nccl_version_string(version), version >= k_nvls_fp32_from ? "; use nccl-nvls" : ""));
      return {"NVLS", "Simple", 0};
    default:
      throw std::invalid_argument(fmt::format(
          "--comm nccl: --allreduce {}: not an NCCL algorithm, NCCL cannot be pinned to it (nccl-ring, nccl-tree, "
          "nccl-nvls, nccl-nvls-bf16 can)",
          name));
  }
}

}  // namespace ffn
