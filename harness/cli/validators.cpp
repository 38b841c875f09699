#include "harness/cli/validators.hpp"

#include <array>
#include <charconv>
#include <string_view>

namespace ffn::cli {

namespace {

// The value as parsed; number_check runs first, so it parses.
double value_of(const std::string& text) {
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

CLI::Validator in_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        const double v = value_of(text);
        if (v < lo || v > hi) return fmt::format("{} is not between {} and {}", text, lo, hi);
        return {};
      },
      fmt::format("in [{} - {}]", lo, hi));
}

CLI::Validator at_least(double lo, const std::string& why) {
  return CLI::Validator(
      [lo, why](std::string& text) -> std::string {
        if (value_of(text) < lo) return fmt::format("{} is below {}{}{}", text, lo, why.empty() ? "" : ": ", why);
        return {};
      },
      fmt::format(">= {}", lo));
}

std::string empty_list_element(int argc, const char* const* argv) {
  // Every option that takes a comma-separated list.
  constexpr std::array<std::string_view, 6> lists{"--tp", "--precision", "--allreduce", "--inject", "--grid",
                                                  "--tensor-map"};
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    for (std::string_view name : lists) {
      std::string_view value;
      if (arg == name && i + 1 < argc)
        value = argv[i + 1];
      else if (arg.size() > name.size() && arg.starts_with(name) && arg[name.size()] == '=')
        value = arg.substr(name.size() + 1);
      else
        continue;
      if (value.find(",,") != std::string_view::npos || value.starts_with(',') || value.ends_with(','))
        return fmt::format("{}: empty element in '{}'", name, value);
    }
  }
  return {};
}

}  // namespace ffn::cli
