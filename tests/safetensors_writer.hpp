#pragma once
// Writes small safetensors checkpoints for tests: well-formed ones from tensors, and the raw
// pieces (header length, header text, data) to build malformed ones.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/tp/ffn_paths.hpp"
#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"
#include "kernels/minifloat.hpp"

namespace ffn::test {

struct StTensor {
  std::string name;
  std::string dtype;  // "BF16", "F8_E4M3", ...
  std::vector<std::int64_t> shape;
  std::vector<std::byte> data;
};

template <class T>
void append_le(std::vector<std::byte>& out, T v) {
  const std::size_t at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &v, sizeof(T));
}

// values encoded in `dtype` (each must be representable: the encoders round to nearest).
inline StTensor st_tensor(const std::string& name, const std::string& dtype, std::vector<std::int64_t> shape,
                          std::span<const float> values) {
  StTensor t{name, dtype, std::move(shape), {}};
  for (float v : values) {
    if (dtype == "BF16") append_le(t.data, float_to_bf16_bits(v));
    else if (dtype == "F16") append_le(t.data, float_to_fp16_bits(v));
    else if (dtype == "F32") append_le(t.data, v);
    else if (dtype == "F64") append_le(t.data, double(v));
    else if (dtype == "F8_E4M3") append_le(t.data, minifloat_encode(k_e4m3, v, true));
    else if (dtype == "F8_E5M2") append_le(t.data, minifloat_encode(k_e5m2, v, true));
    else if (dtype == "I8") append_le(t.data, static_cast<std::int8_t>(v));
    else if (dtype == "U8") append_le(t.data, static_cast<std::uint8_t>(v));
    else throw std::invalid_argument("st_tensor: dtype " + dtype);
  }
  return t;
}

inline StTensor st_matrix(const std::string& name, const std::string& dtype, const Matrix<float>& m) {
  return st_tensor(name, dtype, {m.rows(), m.cols()}, m.values());
}
inline StTensor st_vector(const std::string& name, const std::string& dtype, const std::vector<float>& v) {
  return st_tensor(name, dtype, {static_cast<std::int64_t>(v.size())}, v);
}

// The JSON header of `tensors` laid out back to back in the given order.
inline nlohmann::json st_header(const std::vector<StTensor>& tensors) {
  nlohmann::json h = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const StTensor& t : tensors) {
    h[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  return h;
}

// header length (little-endian u64), header text, data.
inline std::vector<std::byte> st_image(const std::string& header, const std::vector<std::byte>& data,
                                       std::uint64_t header_length) {
  std::vector<std::byte> out;
  append_le(out, header_length);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}
inline std::vector<std::byte> st_image(const std::string& header, const std::vector<std::byte>& data) {
  return st_image(header, data, header.size());
}

inline std::vector<std::byte> st_data(const std::vector<StTensor>& tensors) {
  std::vector<std::byte> data;
  for (const StTensor& t : tensors) data.insert(data.end(), t.data.begin(), t.data.end());
  return data;
}

inline std::vector<std::byte> st_image(const std::vector<StTensor>& tensors) {
  return st_image(st_header(tensors).dump(), st_data(tensors));
}

inline void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline void write_safetensors(const std::string& path, const std::vector<StTensor>& tensors) {
  write_bytes(path, st_image(tensors));
}

}  // namespace ffn::test
