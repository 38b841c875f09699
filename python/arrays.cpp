#include "python/arrays.hpp"

#include <fmt/format.h>

#include <cstring>

#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"

namespace ffn::python {

namespace {

std::string shape_text(const py::array& a) {
  std::string s = "[";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += fmt::format("{}{}", i ? ", " : "", a.shape(i));
  return s + "]";
}

// The values of `obj` as contiguous float32, in C order.
py::array_t<float> float_values(py::handle obj, const std::string& name, std::optional<DType> bits,
                                const std::string& prefix) {
  if (!py::isinstance<py::array>(obj))
    throw usage_error(prefix, fmt::format("{}: expected a NumPy array (or a torch tensor), got {}", name,
                                            std::string(py::str(obj.get_type().attr("__name__")))));
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  if (a.size() == 0) throw usage_error(prefix, fmt::format("{}: empty array (shape {})", name, shape_text(a)));
  if (a.dtype().is(py::dtype::of<float>()))
    return py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
  if (a.dtype().is(py::dtype::of<std::uint16_t>())) {
    if (!bits)
      throw usage_error(prefix, fmt::format("{}: uint16 array: give dtype='bf16' or dtype='fp16' to say whose bit "
                                              "patterns it holds",
                                              name));
    const auto u = py::array_t<std::uint16_t, py::array::c_style | py::array::forcecast>::ensure(a);
    std::vector<py::ssize_t> shape(u.shape(), u.shape() + u.ndim());
    py::array_t<float> out(shape);
    const std::uint16_t* in = u.data();
    float* o = out.mutable_data();
    for (py::ssize_t i = 0; i < u.size(); ++i)
      o[i] = *bits == DType::bf16 ? bf16_bits_to_float(in[i]) : fp16_bits_to_float(in[i]);
    return out;
  }
  throw usage_error(prefix, fmt::format("{}: dtype {} is not accepted: pass float32 values (bf16 and fp16 "
                                          "tensors as their values) or uint16 bit patterns with dtype='bf16' or "
                                          "'fp16'",
                                          name, std::string(py::str(a.dtype()))));
}

}  // namespace

std::optional<DType> bits_dtype(const std::optional<std::string>& name, const std::string& prefix) {
  if (!name) return std::nullopt;
  if (*name == "bf16") return DType::bf16;
  if (*name == "fp16") return DType::fp16;
  throw usage_error(prefix, fmt::format("dtype: '{}': the bit patterns of a uint16 array are bf16 or fp16", *name));
}

Matrix<float> matrix_from(py::handle obj, const std::string& name, std::optional<DType> bits, bool flatten_leading,
                          const std::string& prefix) {
  const py::array_t<float> a = float_values(obj, name, bits, prefix);
  if (a.ndim() < 2 || (a.ndim() > 2 && !flatten_leading))
    throw usage_error(prefix, fmt::format("{}: shape {}: expected {}", name, shape_text(a),
                                            flatten_leading ? "[tokens, features] (or [batch, tokens, features])"
                                                            : "a matrix [rows, cols]"));
  const std::int64_t cols = a.shape(a.ndim() - 1), rows = static_cast<std::int64_t>(a.size()) / cols;
  Matrix<float> m(rows, cols);
  std::memcpy(m.data(), a.data(), m.size() * sizeof(float));
  return m;
}

std::vector<float> vector_from(py::handle obj, const std::string& name, std::optional<DType> bits,
                               const std::string& prefix) {
  const py::array_t<float> a = float_values(obj, name, bits, prefix);
  if (a.ndim() != 1) throw usage_error(prefix, fmt::format("{}: shape {}: expected a vector", name, shape_text(a)));
  return std::vector<float>(a.data(), a.data() + a.size());
}

py::array_t<float> to_numpy(const Matrix<float>& m) {
  py::array_t<float> a({m.rows(), m.cols()});
  std::memcpy(a.mutable_data(), m.data(), m.size() * sizeof(float));
  return a;
}

py::array_t<double> to_numpy(const Matrix<double>& m) {
  py::array_t<double> a({m.rows(), m.cols()});
  std::memcpy(a.mutable_data(), m.data(), m.size() * sizeof(double));
  return a;
}

}  // namespace ffn::python
