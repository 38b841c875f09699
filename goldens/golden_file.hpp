#pragma once
// The golden file: the blessed result of a set of cases (layout: goldens/SCHEMA.md).
// Writing is atomic (temporary file, then rename); reading validates the schema and every
// object it uses, and reports any problem as one GoldenError line naming file, object and
// reason.
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/case/sweep.hpp"
#include "harness/inputs/real_inputs.hpp"
#include "harness/verdict/frame_verdict.hpp"

namespace ffn {

inline constexpr const char* k_golden_schema = "ffn-parity-golden";
inline constexpr std::int64_t k_golden_schema_version = 1;
// The root attribute `schema_doc`: where a reader of the file finds its layout.
inline constexpr const char* k_golden_schema_doc = "goldens/SCHEMA.md";

class GoldenError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class InputMode {
  full,    // the input tensors are stored
  seeded,  // only the generator key and SHA-256 digests of the generated tensors are stored
  real,    // a checkpoint's FFN (and captured activations): where they came from and digests
};

// Where the inputs of a set blessed from real data came from.
struct RealInputRecord {
  RealInputSpec spec;  // absolute paths, the tensor names by role, layer, stream, tokens, seed
  std::string layout;  // what the checkpoint held, e.g. "fp8-static (F8_E4M3 weight ...)"
  std::vector<CheckpointTensor> tensors;       // every tensor read, with its file
  std::map<std::string, std::string> stored_sha256;  // role -> SHA-256 of the bytes as stored
  std::string activations_group;               // with spec.activations
};
RealInputRecord record_of(const RealInputs& real);


struct GoldenInputSet {
  std::string id;  // group name under /input_sets
  InputConfig config;
  InputMode mode = InputMode::seeded;
  std::map<std::string, std::string> sha256;  // tensor name -> digest
  std::optional<FfnInputs> tensors;           // full mode only
  std::optional<RealInputRecord> real;        // real mode only
  Matrix<double> reference;
};

// What a case recorded when it was blessed.
struct GoldenRecord {
  double parity_rel_l2 = 0, allgather_ref_rel_l2 = 0, sharded_ref_rel_l2 = 0;
  double parity_margin = 0, allgather_ref_margin = 0, sharded_ref_margin = 0;
};

struct GoldenCase {
  std::string id;  // group name under /cases
  CaseConfig config;
  std::string input_set;
  GoldenRecord record;
  // Today's output may differ from the blessed one by at most drift_budget_scale times its
  // error budget against the reference (both lie within one budget of the reference).
  double drift_budget_scale = 2.0;
  Tolerance tolerance;  // allclose tolerance, reported as information
  Matrix<float> allgather, sharded;
  // Blessed with --frames: the rollout's settings, thresholds, SSIM definition, the three
  // decoded videos and the parity MAD when blessed (information).
  struct Frames {
    RolloutConfig rollout;
    FrameThresholds thresholds;
    RolloutVideos videos;
    SsimKind ssim = SsimKind::gaussian;
    double parity_mad_mean = 0, parity_mad_max = 0;
  };
  std::optional<Frames> frames;
};

struct GoldenFile {
  std::string path;
  std::map<std::string, std::string> provenance;  // root attributes
  std::map<std::string, GoldenInputSet> input_sets;
  std::vector<GoldenCase> cases;
};

// Provenance of results produced by this build now: tool, git commit, backend, device,
// library versions, creation time. `backend_libraries` (the GPU libraries of a cuda bless) is
// recorded when not empty.
std::map<std::string, std::string> current_provenance(const std::string& backend,
                                                      const std::string& device,
                                                      const std::string& backend_libraries = "");

std::string input_set_id(const InputConfig& c);
std::string_view input_mode_name(InputMode m);  // the @inputs attribute: full, seeded, real
std::string case_id(const CaseConfig& c);

// Builds the golden of passing results. Throws GoldenError when a case failed.
// `real`: the cases ran on these real inputs (mode is then InputMode::real).
GoldenFile make_golden(const std::vector<CaseResult>& results, InputMode mode,
                       std::map<std::string, std::string> provenance, const RealInputs* real = nullptr);

// Atomic: builds the file in memory, writes it to PATH.tmp.<pid>, syncs it, then renames it
// over PATH; on any failure the temporary file is removed and PATH is untouched. Refuses an
// existing PATH unless overwrite.
void write_golden(const GoldenFile& golden, const std::string& path, bool overwrite);

// Reads and validates; throws GoldenError.
GoldenFile read_golden(const std::string& path);

}  // namespace ffn
