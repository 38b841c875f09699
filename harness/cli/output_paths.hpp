#pragma once
// Output paths checked before the first case runs, so that minutes of work never end in "cannot
// write": a directory (--report, --dump-outputs, --frames-dir) is created if missing and must
// accept a file; a file (--junit, -o) must not be a directory, and its directory is created if
// missing and must accept a file.
#include <string>

namespace ffn::cli {

// Empty when `path` can be written, else one line "OPTION: PATH: reason". Empty paths (the
// option not given) are fine.
std::string check_output_dir(const std::string& option, const std::string& path);
std::string check_output_file(const std::string& option, const std::string& path);

}  // namespace ffn::cli
