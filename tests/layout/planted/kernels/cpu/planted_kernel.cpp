// Planted: a reference kernel reaching into the harness.
#include "harness/tp/precision.hpp"
#include "kernels/cpu/activation.hpp"
