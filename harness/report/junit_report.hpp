#pragma once
// JUnit XML, the report CI systems (GitHub Actions, GitLab, Jenkins) show per test case:
// one <testsuite> of one <testcase> per case, a <failure> with the reason for each failing
// one. Text is escaped for XML 1.0; characters XML 1.0 cannot carry become U+FFFD. No cases
// make one testcase in error, never an empty suite that CI would count as passed.
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "harness/report/xml_escape.hpp"

namespace ffn {

struct JunitCase {
  std::string classname;  // the group CI shows the case under, e.g. the golden file
  std::string name;
  double seconds = 0;
  std::optional<std::string> failure;  // the reason, when it failed
};

void write_junit(std::ostream& out, const std::string& suite, const std::vector<JunitCase>& cases);
// Written atomically (temporary file, rename); throws std::runtime_error naming the file.
void write_junit_file(const std::string& path, const std::string& suite, const std::vector<JunitCase>& cases);

}  // namespace ffn
