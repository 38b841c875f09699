#pragma once
// Collects failures of a bulk comparison so millions of checks cost one assertion and a
// failure still shows concrete inputs.
#include <catch2/catch.hpp>

#include <string>

namespace ffn::test {

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
