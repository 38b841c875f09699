#pragma once
// How every golden reaches the disk, whatever it holds (cases, frames): built in memory,
// then written atomically.
#include <functional>
#include <map>
#include <string>

#include "harness/inputs/h5.hpp"

namespace ffn {

// Builds the file in memory (the root attributes of every golden: schema, schema_version,
// schema_doc and `provenance`; then whatever `fill` writes), writes it to PATH.tmp.<pid>,
// syncs it, then renames it over PATH; on any failure the temporary file is removed and PATH
// is untouched. Refuses an existing PATH unless overwrite. Throws GoldenError.
void write_golden_atomically(const std::string& path, bool overwrite,
                             const std::map<std::string, std::string>& provenance,
                             const std::function<void(h5::File&)>& fill);

// Every dataset of a golden carries a string attribute `description`, a few words on what it
// holds, so that whoever opens the file with h5dump or h5py needs no other document for that.
void describe(h5::File& file, const std::string& dataset, const std::string& description);

}  // namespace ffn
