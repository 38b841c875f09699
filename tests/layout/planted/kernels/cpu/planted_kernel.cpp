// Planted: a reference kernel reaching into the harness.
#include "kernels/cpu/gelu.hpp"
#include "harness/tp/precision.hpp"
