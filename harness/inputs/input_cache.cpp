#include "harness/inputs/input_cache.hpp"

#include <fmt/format.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "harness/inputs/sha256.hpp"

namespace ffn {

namespace {
static_assert(std::endian::native == std::endian::little, "cache files hold little-endian floats");

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace

std::filesystem::path input_cache_file(const std::filesystem::path& dir, const std::map<std::string, std::string>& sha256) {
  std::string lines;
  for (const auto& [name, digest] : sha256) lines += name + "=" + digest + "\n";
  const std::string key = sha256_hex(std::span(reinterpret_cast<const std::uint8_t*>(lines.data()), lines.size()));
  return dir / (key + ".f32");
}

std::optional<FfnInputs> read_cached_inputs(const std::filesystem::path& file, const InputConfig& config) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::nullopt;
  FfnInputs in;
  in.x = Matrix<float>(config.tokens, config.shape.dim);
  in.weights = weights_to_fill(config.shape);
  std::uintmax_t expected = 0;
  for (const auto& [name, values] : named_tensors(in)) expected += values.size_bytes();
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) throw InputCacheError(fmt::format("{}: cannot read its size: {}", file.string(), ec.message()));
  if (size != expected)
    throw InputCacheError(fmt::format("{}: {} bytes, but the input set it stands for has {} (truncated or another set)",
                                      file.string(), size, expected));
  const File f(std::fopen(file.c_str(), "rb"));
  if (!f) throw InputCacheError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
  for (const auto& [name, values] : named_tensors(in))
    if (std::fread(values.data(), sizeof(float), values.size(), f.get()) != values.size())
      throw InputCacheError(fmt::format("{}: cannot read {}", file.string(), name));
  if (config.scheme != QuantScheme::none) quantize_checkpoint(in.weights, config);
  return in;
}

void write_cached_inputs(const std::filesystem::path& file, const FfnInputs& inputs) {
  const std::filesystem::path temporary = file.string() + ".partial";
  {
    const File f(std::fopen(temporary.c_str(), "wb"));
    if (!f) throw InputCacheError(fmt::format("{}: cannot create: {}", temporary.string(), std::strerror(errno)));
    for (const auto& [name, values] : named_tensors(inputs))
      if (std::fwrite(values.data(), sizeof(float), values.size(), f.get()) != values.size())
        throw InputCacheError(fmt::format("{}: cannot write {}: {}", temporary.string(), name, std::strerror(errno)));
    if (std::fflush(f.get()) != 0)
      throw InputCacheError(fmt::format("{}: cannot write: {}", temporary.string(), std::strerror(errno)));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  if (ec) throw InputCacheError(fmt::format("{}: cannot move into place: {}", file.string(), ec.message()));
}

}  // namespace ffn
