#pragma once
// A dense row-major matrix: rows are tokens, columns are features, as in y = x W^T + b.
#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ffn {

// std::allocator, but an element made without a value is default-initialized: for float and
// double, not written. A matrix about to be overwritten whole (a GEMM's output, weights being
// drawn) is then first written, and its fresh pages first touched, by the code that fills it,
// on as many threads as that code runs, instead of by a zero fill on one.
template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// Tag: a Matrix whose elements the caller writes, every one, before reading any.
struct Unfilled {};

// A read-only window onto a matrix: `rows` x `cols` elements, consecutive rows `ld` apart.
// A rank's shard of a checkpoint tensor is a view of the full tensor, not a copy.
template <class T>
struct MatrixView {
  const T* data = nullptr;
  std::int64_t rows = 0, cols = 0, ld = 0;

  const T& operator()(std::int64_t r, std::int64_t c) const { return data[r * ld + c]; }
};

template <class T>
class Matrix {
 public:
  Matrix() = default;
  Matrix(std::int64_t rows, std::int64_t cols, T fill = T{})
      : rows_(rows), cols_(cols), data_(checked_size(rows, cols), fill) {}
  Matrix(std::int64_t rows, std::int64_t cols, Unfilled) : rows_(rows), cols_(cols), data_(checked_size(rows, cols)) {}

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  std::size_t size() const { return data_.size(); }
  bool empty() const { return data_.empty(); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  std::span<T> values() { return data_; }
  std::span<const T> values() const { return data_; }

  T& operator()(std::int64_t r, std::int64_t c) { return data_[r * cols_ + c]; }
  const T& operator()(std::int64_t r, std::int64_t c) const { return data_[r * cols_ + c]; }

  MatrixView<T> view() const { return {data_.data(), rows_, cols_, cols_}; }
  MatrixView<T> row_view(std::int64_t r0, std::int64_t r1) const {
    check_range(r0, r1, rows_, "row");
    return {data_.data() + r0 * cols_, r1 - r0, cols_, cols_};
  }
  MatrixView<T> col_view(std::int64_t c0, std::int64_t c1) const {
    check_range(c0, c1, cols_, "column");
    return {data_.data() + c0, rows_, c1 - c0, cols_};
  }
  operator MatrixView<T>() const { return view(); }

  // Copies of a block of rows [r0, r1) or of columns [c0, c1).
  Matrix row_block(std::int64_t r0, std::int64_t r1) const {
    check_range(r0, r1, rows_, "row");
    Matrix out(r1 - r0, cols_, Unfilled{});
    std::copy(data_.begin() + r0 * cols_, data_.begin() + r1 * cols_, out.data_.begin());
    return out;
  }
  Matrix col_block(std::int64_t c0, std::int64_t c1) const {
    check_range(c0, c1, cols_, "column");
    Matrix out(rows_, c1 - c0, Unfilled{});
    for (std::int64_t r = 0; r < rows_; ++r)
      std::copy(data_.begin() + r * cols_ + c0, data_.begin() + r * cols_ + c1,
                out.data_.begin() + r * (c1 - c0));
    return out;
  }

  bool operator==(const Matrix&) const = default;

 private:
  static std::size_t checked_size(std::int64_t rows, std::int64_t cols) {
    if (rows < 0 || cols < 0) throw std::invalid_argument("Matrix: negative dimension");
    return static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  }
  static void check_range(std::int64_t a, std::int64_t b, std::int64_t n, const char* what) {
    if (a < 0 || b < a || b > n)
      throw std::out_of_range(std::string("Matrix: ") + what + " block out of range");
  }

  std::int64_t rows_ = 0, cols_ = 0;
  std::vector<T, DefaultInitAllocator<T>> data_;
};

template <class To, class From>
Matrix<To> convert(const Matrix<From>& m) {
  Matrix<To> out(m.rows(), m.cols(), Unfilled{});
  for (std::size_t i = 0; i < m.size(); ++i) out.data()[i] = static_cast<To>(m.data()[i]);
  return out;
}

}  // namespace ffn
