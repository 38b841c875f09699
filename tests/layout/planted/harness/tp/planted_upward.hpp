#pragma once
// Planted: the emulated stack reaching up into the runner.
#include <vector>

#include "harness/run/case_runner.hpp"
#include "harness/tp/communicator.hpp"
