#pragma once
// The message of the exception of type E that `f` throws; fails the Catch2 test when it throws
// nothing.
#include <catch2/catch.hpp>

#include <string>

namespace ffn::test {

template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  FAIL("no exception thrown");
  return "";
}

}  // namespace ffn::test
