#pragma once
// What `--comm nccl` pins NCCL to, so that a GPU run says which implementation it ran and the
// CPU model of the same name predicts it (issue 17 item 5): the algorithm, the protocol and the
// channel count, as NCCL's environment variables, for each AllReduce model NCCL implements.
// Pure: no NCCL call; the caller passes the version of the NCCL it loaded.
#include <string>
#include <utility>
#include <vector>

#include "harness/tp/allreduce_model.hpp"

namespace ffn {

struct NcclPinning {
  std::string algo;   // NCCL_ALGO
  std::string proto;  // NCCL_PROTO
  int channels = 0;   // NCCL_MIN_NCHANNELS = NCCL_MAX_NCHANNELS; 0: not pinned (NVLS has its own)
  // The variables to set before the first communicator is created, in this order.
  std::vector<std::pair<std::string, std::string>> environment() const;
  // "NCCL 2.27.3; NCCL_ALGO=Ring NCCL_PROTO=Simple NCCL_MIN_NCHANNELS=1 NCCL_MAX_NCHANNELS=1", for
  // the report and the golden provenance.
  std::string describe(int nccl_version) const;
};

// NCCL's version code (ncclGetVersion): major * 10000 + minor * 100 + patch from 2.9 on.
std::string nccl_version_string(int code);

// The pinning of `reduction` under NCCL `nccl_version`. Throws std::invalid_argument, one line
// naming the model and why, for a model NCCL cannot be pinned to (not an NCCL algorithm, or an
// NVLS variant the loaded version does not have).
NcclPinning nccl_pinning(const AllReduceConfig& reduction, int nccl_version);

// What NCCL runs to check a golden case blessed with `blessed` (golden check --comm nccl): `ring`,
// the generic worst-case budget, is no NCCL layout, so NCCL's own Ring runs on one channel
// (nccl-ring: as many roundings per element as the ring budget counts, in NCCL's order); every
// other model as itself, which nccl_pinning then pins or refuses.
AllReduceConfig nccl_run_for_blessed(AllReduceModel blessed);

}  // namespace ffn
