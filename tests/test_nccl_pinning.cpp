// What `--comm nccl` pins NCCL to for each AllReduce model (issue 17 item 5): pure, so tested
// without a GPU; the bit-for-bit check against NCCL itself is the `gpu` test of nccl-ring.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

#include "harness/launch/nccl_pinning.hpp"

using namespace ffn;
using Catch::Matchers::Contains;

TEST_CASE("nccl pinning: every NCCL model pins algorithm, protocol and channels", "[nccl]") {
  const NcclPinning ring = nccl_pinning({AllReduceModel::nccl_ring, 4}, 22703);
  CHECK(ring.describe(22703) == "NCCL 2.27.3; NCCL_ALGO=Ring NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=4 NCCL_MAX_NCHANNELS=4");
  CHECK(nccl_pinning(AllReduceModel::nccl_tree, 21803).algo == "Tree");
  const NcclPinning nvls = nccl_pinning(AllReduceModel::nccl_nvls, 22900);
  CHECK(nvls.algo == "NVLS");
  CHECK(nvls.environment().size() == 2u);  // NVLS channels are its own (NCCL_NVLS_NCHANNELS)
  CHECK(nccl_pinning(AllReduceModel::nccl_nvls_bf16, 22603).algo == "NVLS");
  CHECK(nccl_version_string(23007) == "2.30.7");
}

TEST_CASE("nccl pinning: a model NCCL cannot be pinned to is refused with the reason", "[nccl]") {
  for (AllReduceModel m : allreduce_models()) {
    const std::string name(allreduce_model_name(m));
    if (name.rfind("nccl-", 0) == 0) continue;
    INFO(name);
    CHECK_THROWS_WITH(nccl_pinning(m, 22703), Contains("--allreduce " + name) && Contains("not an NCCL algorithm"));
  }
  CHECK_THROWS_WITH(nccl_pinning(AllReduceModel::nccl_nvls, 22603), Contains("bf16") && Contains("nccl-nvls-bf16"));
  CHECK_THROWS_WITH(nccl_pinning(AllReduceModel::nccl_nvls_bf16, 22703), Contains("use nccl-nvls"));
  CHECK_THROWS_AS(nccl_pinning(AllReduceModel::nccl_nvls_bf16, 21600), std::invalid_argument);
  // NCCL's rings cannot be pinned through its variables: a given ring order is refused.
  AllReduceConfig ringed(AllReduceModel::nccl_ring, 2);
  ringed.nccl_ring_orders = {{1, 0}};
  CHECK_THROWS_WITH(nccl_pinning(ringed, 22703), Contains("--nccl-ring-order") && Contains("topology search"));
}

TEST_CASE("golden check --comm nccl: what NCCL runs for a case blessed with each model", "[nccl]") {
  // ring, the generic worst-case budget, is no NCCL layout: NCCL's Ring on one channel runs for it.
  const AllReduceConfig ring = nccl_run_for_blessed(AllReduceModel::ring);
  CHECK(ring.model == AllReduceModel::nccl_ring);
  CHECK(ring.nccl_channels == 1);
  CHECK(nccl_pinning(ring, 22803).describe(22803) ==
        "NCCL 2.28.3; NCCL_ALGO=Ring NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1");
  // NCCL's own models as themselves; the others are refused by nccl_pinning in one line.
  CHECK(nccl_run_for_blessed(AllReduceModel::nccl_tree).model == AllReduceModel::nccl_tree);
  CHECK(nccl_pinning(nccl_run_for_blessed(AllReduceModel::nccl_tree), 22803).algo == "Tree");
  CHECK_THROWS_WITH(nccl_pinning(nccl_run_for_blessed(AllReduceModel::custom_1stage), 22803),
                    Contains("--allreduce custom-1stage") && Contains("not an NCCL algorithm"));
}
