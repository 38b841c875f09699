#pragma once
// What the HTML report's header says about a run: the command, and the provenance a golden
// blessed by the same build on the same backend would record.
#include <string>
#include <vector>

#include "harness/launch/backend.hpp"
#include "harness/report/html_report.hpp"

namespace ffn::cli {

RunContext run_context(std::vector<std::string> command, const Backend& backend);

}  // namespace ffn::cli
