#pragma once
// What `run` leaves on disk for tools outside the harness (ci/torch-parity.py runs the serving
// stack's own computation in PyTorch on it and compares with the harness's outputs):
//   --dump-outputs DIR  DIR/<case>.{allgather,sharded}.f32: each path's output, raw little-endian
//                       float32 [tokens, dim] (written by run_command);
//   --dump-inputs DIR   per input set (the cases of one precision share it)
//                         <set>.inputs.safetensors     x [tokens, dim], proj_in.{weight,bias},
//                                                      proj_out.{weight,bias}, PyTorch layout, in
//                                                      the dtype that holds the case's values
//                                                      exactly (the activation dtype; quantized
//                                                      schemes' fp32 master weights as F32)
//                         <set>.reference.safetensors  reference [tokens, dim] F64: the fp64 reference
//                       per case
//                         <case>.budget.safetensors    allgather.bound, sharded.bound [tokens, dim]
//                                                      F32 (rounded up): each path's element bound
//                                                      against the reference
//                         <case>.case.json             the settings, the file names above and the
//                                                      budgets' norm thresholds (schema below).
// <case> is the case's name with '/' as '_'. Cases with an injected fault that does not apply
// are skipped (nothing ran).
#include <string>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/launch/backend.hpp"
#include "harness/run/case_runner.hpp"

namespace ffn::cli {

// "ltx2-video_t64_tp4_bf16_ring_s0": the case's name as a file name.
std::string case_file_stem(const CaseConfig& c);
// "<stem>.allgather.f32" / "<stem>.sharded.f32", `path` "allgather" or "sharded".
std::string output_file_name(const CaseConfig& c, const std::string& path);
// The stem of the case's input set: "ltx2-video_t64_bf16_s0".
std::string input_set_stem(const CaseConfig& c);

// Writes the --dump-inputs files of `results` into `dir` (created if missing). `source` gives
// the inputs as the run got them (empty: generated); `outputs_dir` is recorded in the JSON,
// relative to `dir` (empty: --dump-outputs not given). Throws std::runtime_error naming the file on a write error.
void dump_inputs(const std::string& dir, const std::vector<CaseResult>& results, const InputSource& source,
                 const Backend& backend, bool tf32, const std::string& outputs_dir);

}  // namespace ffn::cli
