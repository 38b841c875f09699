#pragma once
// A directory of generated input sets, one file each, named by the SHA-256 digests of its
// tensors as a golden records them. The test suite's fixture (`golden inputs --cache`) generates
// each set of a golden once per run and checks its digests; the golden's cases then read the set
// back (`golden check --inputs-cache`) instead of each generating and hashing it again: at the
// LTX-2 dims a set is 537 MB, at FLUX.2's 1.4 GB.
//
// A file holds the set's tensors as little-endian float32, in named_tensors order, and nothing
// else: its shapes come from the set's InputConfig, and a file of any other size is refused.
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "harness/inputs/synthetic_inputs.hpp"

namespace ffn {

// A cache file that cannot be read or written; what() names the file and the reason.
class InputCacheError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The file of the set whose tensors have these digests (name -> hex SHA-256): the SHA-256 of
// the "name=digest" lines, so that another set never shares a name.
std::filesystem::path input_cache_file(const std::filesystem::path& dir, const std::map<std::string, std::string>& sha256);

// The set's tensors (quantized as `config` says, as make_inputs does), or nothing when the file
// does not exist.
std::optional<FfnInputs> read_cached_inputs(const std::filesystem::path& file, const InputConfig& config);

// Writes the set through a temporary file renamed into place, so that a reader never sees
// half a file.
void write_cached_inputs(const std::filesystem::path& file, const FfnInputs& inputs);

}  // namespace ffn
