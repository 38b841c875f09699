#pragma once
// NumPy arrays in and out of the module. In: float32 values (bf16 and fp16 tensors as their
// values, exact in float32) or uint16 bit patterns with a dtype saying which; any layout
// (non-contiguous arrays are copied). Out: float32 (float64 for the fp64 reference) arrays the
// caller owns. Anything else is a UsageError naming the argument ("<prefix>: error: x: ..."),
// never a crash.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "kernels/dtype.hpp"
#include "kernels/matrix.hpp"
#include "python/errors.hpp"

namespace ffn::python {

namespace py = pybind11;

// What a uint16 array holds: "bf16" or "fp16" bit patterns; nullopt: none was said.
std::optional<DType> bits_dtype(const std::optional<std::string>& name, const std::string& prefix);

// A [rows, cols] matrix from `obj`. `flatten_leading`: an array of more than two dimensions is
// read as [product of the leading ones, last] (x and outputs as [batch, tokens, hidden]).
Matrix<float> matrix_from(py::handle obj, const std::string& name, std::optional<DType> bits, bool flatten_leading,
                          const std::string& prefix);
// A vector (a bias) from a one-dimensional array.
std::vector<float> vector_from(py::handle obj, const std::string& name, std::optional<DType> bits,
                               const std::string& prefix);

py::array_t<float> to_numpy(const Matrix<float>& m);
py::array_t<double> to_numpy(const Matrix<double>& m);

}  // namespace ffn::python
