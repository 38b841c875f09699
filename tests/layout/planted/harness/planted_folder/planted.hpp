#pragma once
// Planted: a folder the layout rules do not name.
#include "harness/tp/shape.hpp"
