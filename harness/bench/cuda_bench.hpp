#pragma once
// ffn-parity-bench --backend cuda: both FFN paths device-resident on one GPU, every TP rank's
// kernels run one after another on that GPU (the device-local communicator's kernels for the
// collectives). Per path and tp: time per FFN as one rank sees it (its own GEMMs and GELU plus
// the collectives), CUDA events, warm-up then the median of many; bytes each collective moves
// per rank (as over NCCL); achieved TFLOP/s of the rank's GEMMs against the bf16 GEMM peak
// measured on the same device; the share of the FFN time in AllGather and in AllReduce.
// The collectives here are on-device copies and reduction kernels, not NVLink transfers: their
// times are a lower bound; the bytes are what a real interconnect would carry.
namespace ffn::bench {

// Prints the table; returns the exit status (2 without a usable device).
int run_cuda_bench(bool quick);

}  // namespace ffn::bench
