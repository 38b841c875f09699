#pragma once
// A sweep's results as one self-contained HTML page (DIR/index.html) for people: where they
// came from, the summary table, plots of what the verdict compared against tp, and the worst
// frames of each precision with difference heatmaps and SSIM maps on one colour scale.
// Every image is embedded as a data URI and also written next to the page as a PNG, so the
// page renders alone, offline, without JavaScript, and the pictures can be opened one by one.
#include <string>
#include <vector>

#include "harness/case/case_result.hpp"
#include "harness/case/sweep.hpp"

namespace ffn {

// Where the results came from, for the page's header: what a golden records as provenance
// (goldens/SCHEMA.md), and the command that ran.
struct RunContext {
  std::vector<std::string> command;  // the arguments as given; the page quotes them as a shell reads them
  std::string version, commit;       // of ffn-parity
  std::string backend, device, libraries;
  std::string date;  // UTC
};

// Creates `dir` when missing and makes sure a file can be written in it, so that a run can
// refuse a bad --report before it spends its time. Throws std::runtime_error naming the
// directory and the reason.
void prepare_report_dir(const std::string& dir);

// Writes DIR/index.html and the PNGs of the worst frames (creating DIR) and removes the
// pictures an earlier report left there; returns the page's path. Throws std::runtime_error
// naming the file and the reason when something cannot be written or removed.
std::string write_html_report(const std::string& dir, const RunContext& context, const SweepConfig& sweep,
                              const std::vector<CaseResult>& results);

}  // namespace ffn
