#pragma once
// Checks of option values that say what was expected in one line ("--tp: 'abc' is not an
// integer", "--growth: 0.5 is below 1"), with numbers as a person writes them: CLI11's own
// messages print "Could not convert" or a 309-digit maximum.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string>
#include <type_traits>

namespace ffn::cli {

// Each value (each element of a list) parses whole as a T; a floating value must be finite.
// CLI11 2.1 reads "-1" as a huge unsigned seed and "nan" as a threshold.
template <class T>
CLI::Validator number_check() {
  const char* expected = std::is_floating_point_v<T> ? "a finite number"
                         : std::is_unsigned_v<T>     ? "a non-negative integer"
                                                     : "an integer";
  return CLI::Validator(
      [expected](std::string& text) -> std::string {
        T value{};
        const char* end = text.data() + text.size();
        const auto [stop, ec] = std::from_chars(text.data(), end, value);
        if (ec == std::errc::result_out_of_range) return fmt::format("{} is out of range", text);
        if (ec != std::errc{} || stop != end) return fmt::format("'{}' is not {}", text, expected);
        if constexpr (std::is_floating_point_v<T>)
          if (!std::isfinite(value)) return fmt::format("'{}' is not {}", text, expected);
        return {};
      },
      "");
}

// A number in [lo, hi] (after number_check).
CLI::Validator in_range(double lo, double hi);
// A number >= lo, with why it must be (e.g. "a growth below 1 fails a golden against itself").
CLI::Validator at_least(double lo, const std::string& why = "");

// The first value of a list option (one with a delimiter, e.g. --tp 1,2) that has an empty
// element ("1,,2", "1,", ",2"), which CLI11 would drop silently, as the whole error line
// "ffn-parity run: error: --tp: empty element in '1,,2'"; empty when there is none. Walks argv
// before parsing, descending into the subcommands it names.
std::string empty_list_element(const CLI::App& app, int argc, const char* const* argv);

}  // namespace ffn::cli
