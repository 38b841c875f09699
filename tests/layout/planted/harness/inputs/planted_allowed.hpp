#pragma once
// Allowed: inputs may include tp, and (through tp) kernels/cpu and kernels.
#include "harness/tp/ffn_paths.hpp"
#  include "kernels/dtype.hpp"
#include <cstdint>
