#include "harness/inputs/activations_file.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <filesystem>

#include "harness/inputs/h5.hpp"

namespace ffn {

std::string activations_group(int layer, FfnStream stream) {
  return fmt::format("/{}/block_{}", stream_name(stream), layer);
}

namespace {

Matrix<float> read_rows(const h5::File& f, const std::string& name, std::int64_t dim, std::int64_t tokens) {
  const auto fail = [&](const std::string& why) {
    throw ActivationsError(fmt::format("{}: {}: {}", f.path(), name, why));
  };
  const h5::TensorData t = f.read(name);
  if (t.type != h5::ElementType::f32 && t.type != h5::ElementType::f64) fail("is not a float dataset");
  if (t.shape.size() != 2 || t.shape[0] < 1 || t.shape[1] != dim)
    fail(fmt::format("shape [{}], expected [tokens, {}] (the checkpoint's hidden size)", fmt::join(t.shape, ", "), dim));
  const std::int64_t rows = tokens > 0 ? tokens : t.shape[0];
  if (rows > t.shape[0]) fail(fmt::format("holds {} tokens, fewer than --tokens {}", t.shape[0], tokens));
  Matrix<float> m(rows, dim);
  for (std::size_t i = 0; i < m.size(); ++i) {
    const double v = t.f64[i];
    if (!std::isfinite(v)) fail(fmt::format("holds {} at flat index {}", v, i));
    m.data()[i] = static_cast<float>(v);
    if (double(m.data()[i]) != v) fail(fmt::format("value {} at flat index {} is not exact in fp32", v, i));
  }
  return m;
}

}  // namespace

CapturedActivations read_activations(const std::string& path, int layer, FfnStream stream, std::int64_t dim,
                                     std::int64_t tokens) {
  const auto fail = [&](const std::string& object, const std::string& why) {
    throw ActivationsError(fmt::format("{}: {}: {}", path, object, why));
  };
  try {
    const h5::File f = h5::File::open(path);
    if (!f.attr_is_string("/", "format") || f.attr_string("/", "format") != k_activations_format)
      fail("/@format", fmt::format("missing or not '{}': not a capture file", k_activations_format));
    const std::int64_t version = f.attr_int("/", "format_version");
    if (version != k_activations_format_version)
      fail("/@format_version",
           fmt::format("{} is not the version this build reads ({})", version, k_activations_format_version));
    CapturedActivations c;
    c.group = activations_group(layer, stream);
    if (!f.exists(c.group + "/x")) {
      const std::string root = fmt::format("/{}", stream_name(stream));
      const std::vector<std::string> blocks = f.exists(root) ? f.members(root) : std::vector<std::string>{};
      fail(c.group + "/x", fmt::format("missing; the file holds {} blocks: {}", stream_name(stream),
                                       blocks.empty() ? std::string("none") : fmt::format("{}", fmt::join(blocks, ", "))));
    }
    c.x = read_rows(f, c.group + "/x", dim, tokens);
    if (f.exists(c.group + "/y")) {
      const std::vector<std::int64_t> xs = f.shape(c.group + "/x"), ys = f.shape(c.group + "/y");
      if (ys.size() == 2 && ys[0] != xs[0]) fail(c.group + "/y", fmt::format("holds {} tokens, x holds {}", ys[0], xs[0]));
      c.y = read_rows(f, c.group + "/y", dim, c.x.rows());
    }
    return c;
  } catch (const h5::H5Error& e) {
    throw ActivationsError(e.what());
  }
}

void write_activations(const std::string& path, int layer, FfnStream stream, const Matrix<float>& x,
                       const Matrix<float>* y, const std::string& dtype) {
  h5::File f = std::filesystem::exists(path) ? h5::File::open_rw(path) : h5::File::create(path);
  f.set_attr("/", "format", std::string(k_activations_format));
  f.set_attr("/", "format_version", k_activations_format_version);
  const std::string g = activations_group(layer, stream);
  f.create_group(g);
  f.set_attr(g, "module", fmt::format("transformer_blocks.{}.{}", layer, stream == FfnStream::audio ? "audio_ff" : "ff"));
  f.set_attr(g, "dtype", dtype);
  f.set_attr(g, "call", std::int64_t{0});
  f.write_f32(g + "/x", {x.rows(), x.cols()}, x.data());
  if (y) f.write_f32(g + "/y", {y->rows(), y->cols()}, y->data());
  f.close();
}

}  // namespace ffn
