#pragma once
// Collects failures of a bulk comparison so millions of checks cost one assertion and a
// failure still shows concrete inputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <string>

namespace ffn::test {

// A double in hexadecimal floating point: every bit shows.
inline std::string hex(double x) {
  char text[64];
  std::snprintf(text, sizeof text, "%a", x);
  return text;
}

// Same value, same sign of zero; a NaN must stay a NaN of the same sign.
inline bool same(double actual, double expected) {
  if (std::isnan(expected)) return std::isnan(actual) && std::signbit(actual) == std::signbit(expected);
  return actual == expected && std::signbit(actual) == std::signbit(expected);
}

class Mismatches {
 public:
  void add(const std::string& description) {
    if (count_ < kExamplesKept) examples_ += description + "\n";
    ++count_;
  }
  long count() const { return count_; }
  const std::string& examples() const { return examples_; }

 private:
  static constexpr long kExamplesKept = 10;
  long count_ = 0;
  std::string examples_;
};

}  // namespace ffn::test

#define REQUIRE_NO_MISMATCHES(mismatches) \
  do {                                    \
    INFO((mismatches).examples());        \
    REQUIRE((mismatches).count() == 0);   \
  } while (false)
