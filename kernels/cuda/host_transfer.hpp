#pragma once
// Host matrices (views with rows `ld` apart) to packed device buffers and back. Host code
// only: matrix.hpp is C++20, device code is compiled as C++17.
#include "kernels/cuda/device_buffer.hpp"
#include "kernels/matrix.hpp"

namespace ffn::cuda {

// A host matrix view (rows `ld` apart) copied into a packed device matrix.
template <class T>
DeviceBuffer<T> upload(MatrixView<T> m) {
  DeviceBuffer<T> d(static_cast<std::size_t>(m.rows * m.cols));
  if (m.rows > 0 && m.cols > 0)
    check(cudaMemcpy2D(d.get(), m.cols * sizeof(T), m.data, m.ld * sizeof(T), m.cols * sizeof(T), m.rows,
                       cudaMemcpyHostToDevice),
          "cudaMemcpy2D (to device)");
  return d;
}

template <class T>
Matrix<T> download(const DeviceBuffer<T>& d, std::int64_t rows, std::int64_t cols) {
  Matrix<T> m(rows, cols);
  d.download(m.data(), m.size());
  return m;
}

}  // namespace ffn::cuda
