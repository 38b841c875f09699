#include "harness/cli/output_paths.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <stdexcept>

#include "harness/report/html_report.hpp"

namespace ffn::cli {

namespace fs = std::filesystem;

std::string check_output_dir(const std::string& option, const std::string& path) {
  if (path.empty()) return {};
  try {
    prepare_report_dir(path);  // creates it and writes a probe file in it
    return {};
  } catch (const std::runtime_error& e) {
    return fmt::format("{}: {}", option, e.what());
  }
}

std::string check_output_file(const std::string& option, const std::string& path) {
  if (path.empty()) return {};
  std::error_code ec;
  if (fs::is_directory(path, ec)) return fmt::format("{}: {}: is a directory, not a file", option, path);
  const fs::path parent = fs::path(path).parent_path();
  return check_output_dir(option, parent.empty() ? "." : parent.string());
}

}  // namespace ffn::cli
