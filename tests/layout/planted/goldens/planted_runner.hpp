#pragma once
// Planted: the golden store including the runner (the cycle the layout removed).
#include "harness/case/case_result.hpp"
#include "harness/run/case_runner.hpp"
