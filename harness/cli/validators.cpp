#include "harness/cli/validators.hpp"

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

std::string empty_list_element(const CLI::App& app, int argc, const char* const* argv) {
  const CLI::App* command = &app;
  std::string prefix = app.get_name();
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (!arg.starts_with('-')) {
      const auto named = command->get_subcommands([&](const CLI::App* s) { return s->get_name() == arg; });
      if (!named.empty()) command = named.front(), prefix += " " + command->get_name();
      continue;
    }
    const std::size_t equals = arg.find('=');
    const std::string name(arg.substr(0, equals));
    const CLI::Option* option = command->get_option_no_throw(name);
    if (option == nullptr || option->get_delimiter() == '\0') continue;
    const std::string_view value =
        equals != std::string_view::npos ? arg.substr(equals + 1) : i + 1 < argc ? std::string_view(argv[i + 1]) : "";
    const char d = option->get_delimiter();
    if (value.find(std::string{d, d}) != std::string_view::npos || value.starts_with(d) || value.ends_with(d))
      return fmt::format("{}: error: {}: empty element in '{}'", prefix, name, value);
  }
  return {};
}

}  // namespace ffn::cli
