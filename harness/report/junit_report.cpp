#include "harness/report/junit_report.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace ffn {

void write_junit(std::ostream& out, const std::string& suite, const std::vector<JunitCase>& cases) {
  std::size_t failures = 0;
  double seconds = 0;
  for (const auto& c : cases) {
    failures += c.failure.has_value();
    seconds += c.seconds;
  }
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (cases.empty()) {
    // Nothing checked is never a pass: CI systems count tests="0" as green.
    out << "<testsuites tests=\"1\" failures=\"0\" errors=\"1\" time=\"0.000\">\n";
    out << fmt::format("  <testsuite name=\"{}\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"0.000\">\n",
                       xml_escape(suite));
    out << "    <testcase classname=\"ffn-parity\" name=\"(nothing checked)\" time=\"0.000\">\n"
           "      <error message=\"no case was checked\">no case was checked</error>\n    </testcase>\n";
    out << "  </testsuite>\n</testsuites>\n";
    return;
  }
  out << fmt::format("<testsuites tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", cases.size(), failures, seconds);
  out << fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
                     xml_escape(suite), cases.size(), failures, seconds);
  for (const auto& c : cases) {
    out << fmt::format("    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\"", xml_escape(c.classname),
                       xml_escape(c.name), c.seconds);
    if (!c.failure) {
      out << "/>\n";
      continue;
    }
    const std::string why = xml_escape(*c.failure);
    out << fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", why, why);
  }
  out << "  </testsuite>\n</testsuites>\n";
}

void write_junit_file(const std::string& path, const std::string& suite, const std::vector<JunitCase>& cases) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    write_junit(out, suite, cases);
    if (!out.flush()) throw std::runtime_error(fmt::format("{}: cannot write", path));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error(fmt::format("{}: cannot write ({})", path, ec.message()));
}

}  // namespace ffn
