#include "harness/inputs/safetensors_writer.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"

namespace ffn::safetensors {

namespace {

template <class T>
void append_le(std::vector<std::byte>& out, T v) {
  static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
  const auto* p = reinterpret_cast<const std::byte*>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

std::int64_t element_count(const std::string& name, const std::vector<std::int64_t>& shape, std::size_t given) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) throw SafetensorsError(fmt::format("{}: negative dimension {}", name, d));
    n *= d;
  }
  if (static_cast<std::size_t>(n) != given)
    throw SafetensorsError(fmt::format("{}: shape holds {} elements, {} values given", name, n, given));
  return n;
}

}  // namespace

TensorToWrite encode_tensor(const std::string& name, Dtype dtype, std::vector<std::int64_t> shape,
                            std::span<const float> values) {
  element_count(name, shape, values.size());
  TensorToWrite t{name, dtype, std::move(shape), {}};
  t.data.reserve(values.size() * dtype_size(dtype));
  const auto inexact = [&](std::size_t i) {
    return SafetensorsError(fmt::format("{}: value {} at index {} is not exact in {}", name, values[i], i,
                                        dtype_name(dtype)));
  };
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    switch (dtype) {
      case Dtype::bf16: {
        const std::uint16_t b = float_to_bf16_bits(v);
        if (bf16_bits_to_float(b) != v && !std::isnan(v)) throw inexact(i);
        append_le(t.data, b);
        break;
      }
      case Dtype::f16: {
        const std::uint16_t b = float_to_fp16_bits(v);
        if (fp16_bits_to_float(b) != v && !std::isnan(v)) throw inexact(i);
        append_le(t.data, b);
        break;
      }
      case Dtype::f32: append_le(t.data, v); break;
      case Dtype::f64: append_le(t.data, static_cast<double>(v)); break;
      default:
        throw SafetensorsError(fmt::format("{}: writing {} is not supported (BF16, F16, F32, F64)", name,
                                           dtype_name(dtype)));
    }
  }
  return t;
}

TensorToWrite encode_tensor(const std::string& name, std::vector<std::int64_t> shape, std::span<const double> values) {
  element_count(name, shape, values.size());
  TensorToWrite t{name, Dtype::f64, std::move(shape), {}};
  t.data.reserve(values.size() * sizeof(double));
  for (double v : values) append_le(t.data, v);
  return t;
}

void write_file(const std::string& path, const std::vector<TensorToWrite>& tensors,
                const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  std::set<std::string> names;
  for (const TensorToWrite& t : tensors) {
    if (!names.insert(t.name).second || t.name == "__metadata__")
      throw SafetensorsError(fmt::format("{}: tensor name '{}' used twice", path, t.name));
    header[t.name] = {{"dtype", dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.data.size()}}};
    offset += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    std::vector<std::byte> length;
    append_le(length, static_cast<std::uint64_t>(text.size()));
    out.write(reinterpret_cast<const char*>(length.data()), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const TensorToWrite& t : tensors)
      out.write(reinterpret_cast<const char*>(t.data.data()), static_cast<std::streamsize>(t.data.size()));
    if (!out.flush()) {
      std::remove(tmp.c_str());
      throw SafetensorsError(fmt::format("{}: cannot write", path));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw SafetensorsError(fmt::format("{}: cannot write ({})", path, ec.message()));
  }
}

}  // namespace ffn::safetensors
