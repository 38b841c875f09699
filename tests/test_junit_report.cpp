// JUnit XML: the exact document for a small report (hand-written below), escaping of the
// five XML specials and of characters XML 1.0 cannot carry, the file written atomically.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "harness/report/junit_report.hpp"
#include "tests/temp_dir.hpp"

using namespace ffn;
using ffn::test::TempDir;
using Catch::Matchers::Equals;

TEST_CASE("one testcase per case, a failure element with the reason", "[junit]") {
  std::ostringstream out;
  write_junit(out, "ffn-parity run",
              {{"tiny", "tiny/t8/tp1/bf16/ring/s0", 0.25, std::nullopt},
               {"tiny", "tiny/t8/tp2/bf16/ring/s0", 1.5, "parity: 3 of 512 elements over budget"}});
  CHECK_THAT(out.str(),
             Equals("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<testsuites tests=\"2\" failures=\"1\" time=\"1.750\">\n"
                    "  <testsuite name=\"ffn-parity run\" tests=\"2\" failures=\"1\" errors=\"0\" time=\"1.750\">\n"
                    "    <testcase classname=\"tiny\" name=\"tiny/t8/tp1/bf16/ring/s0\" time=\"0.250\"/>\n"
                    "    <testcase classname=\"tiny\" name=\"tiny/t8/tp2/bf16/ring/s0\" time=\"1.500\">\n"
                    "      <failure message=\"parity: 3 of 512 elements over budget\">parity: 3 of 512 elements "
                    "over budget</failure>\n"
                    "    </testcase>\n"
                    "  </testsuite>\n"
                    "</testsuites>\n"));
}

TEST_CASE("no cases: one testcase in error, never tests=\"0\" that CI counts as passed", "[junit]") {
  std::ostringstream out;
  write_junit(out, "s", {});
  CHECK_THAT(out.str(), Equals("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                               "<testsuites tests=\"1\" failures=\"0\" errors=\"1\" time=\"0.000\">\n"
                               "  <testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"1\" time=\"0.000\">\n"
                               "    <testcase classname=\"ffn-parity\" name=\"(nothing checked)\" time=\"0.000\">\n"
                               "      <error message=\"no case was checked\">no case was checked</error>\n"
                               "    </testcase>\n"
                               "  </testsuite>\n"
                               "</testsuites>\n"));
}

TEST_CASE("XML specials and control characters are escaped", "[junit]") {
  CHECK_THAT(xml_escape("a<b & c>\"d\" 'e'"), Equals("a&lt;b &amp; c&gt;&quot;d&quot; &apos;e&apos;"));
  CHECK_THAT(xml_escape("tab\tnl\ncr\r"), Equals("tab\tnl\ncr\r"));
  CHECK_THAT(xml_escape(std::string("nul\0bel\x07", 8)), Equals("nul\xEF\xBF\xBD" "bel\xEF\xBF\xBD"));
  CHECK_THAT(xml_escape("\xC3\xA9t\xC3\xA9"), Equals("\xC3\xA9t\xC3\xA9"));  // UTF-8 passes through
  std::ostringstream out;
  write_junit(out, "s<", {{"f&.h5", "x\"y", 0, "growth > 1.25 & <drift>"}});
  const std::string xml = out.str();
  CHECK_THAT(xml, Catch::Contains("name=\"s&lt;\""));
  CHECK_THAT(xml, Catch::Contains("classname=\"f&amp;.h5\" name=\"x&quot;y\""));
  CHECK_THAT(xml, Catch::Contains(">growth &gt; 1.25 &amp; &lt;drift&gt;</failure>"));
}

TEST_CASE("the file is written whole, or an error names it", "[junit]") {
  TempDir dir("junit");
  const std::string path = dir.file("report.xml");
  write_junit_file(path, "s", {{"c", "n", 0, std::nullopt}});
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK_THAT(text.str(), Catch::Contains("<testcase classname=\"c\" name=\"n\" time=\"0.000\"/>"));
  const std::string missing = dir.file("missing/report.xml");
  CHECK_THROWS_WITH(write_junit_file(missing, "s", {}), Catch::StartsWith(missing + ": cannot write"));
}
