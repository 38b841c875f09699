#pragma once
// safetensors checkpoints (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header mapping each tensor name to its dtype, shape and
// [begin, end) byte offsets into the data section that follows (plus an optional
// `__metadata__` object of strings), then the raw little-endian tensor data.
//
// The header is validated completely before any tensor is touched: every entry's offsets lie
// inside the data section, no two tensors overlap, and each byte range holds exactly
// shape x dtype-size bytes. Reading a tensor afterwards is a bounds-checked view of a
// read-only memory mapping, so only the pages of the tensors asked for are ever read.
// Every problem is a SafetensorsError whose message is one line naming the file and the reason.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ffn::safetensors {

class SafetensorsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Dtype { bf16, f16, f32, f64, f8_e4m3, f8_e5m2, i8, u8 };

// The header's spelling ("BF16", "F8_E4M3", ...), and back; unknown names give nullopt.
std::string_view dtype_name(Dtype d);
std::optional<Dtype> parse_dtype(std::string_view name);
std::size_t dtype_size(Dtype d);

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::f32;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;  // byte offsets into the data section

  std::int64_t numel() const;
};

struct Header {
  std::map<std::string, TensorInfo> tensors;
  std::map<std::string, std::string> metadata;  // `__metadata__`
  std::uint64_t data_offset = 0;  // where the data section starts in the file: 8 + header length
};

// Parses and validates the header of a whole safetensors file held in `bytes` (the fuzzing
// entry point: any input either parses or throws SafetensorsError, and nothing outside
// [bytes, bytes + size) is read). `what` names the file in messages.
Header parse_header(const std::byte* bytes, std::size_t size, const std::string& what = "safetensors");

// One safetensors file, memory-mapped read-only.
class File {
 public:
  // Throws SafetensorsError for a missing, unreadable or malformed file.
  static File open(const std::string& path);

  const std::string& path() const { return path_; }
  const Header& header() const { return header_; }
  bool contains(const std::string& name) const { return header_.tensors.count(name) != 0; }
  // Throws SafetensorsError naming the tensor when it is not in the file.
  const TensorInfo& info(const std::string& name) const;
  // The tensor's raw little-endian bytes, inside the mapping.
  std::span<const std::byte> bytes(const std::string& name) const;

 private:
  struct Mapping;
  File(std::string path, std::shared_ptr<const Mapping> m, Header h)
      : path_(std::move(path)), mapping_(std::move(m)), header_(std::move(h)) {}
  std::string path_;
  std::shared_ptr<const Mapping> mapping_;
  Header header_;
};

// The values of a tensor as floats, decoded from its dtype (BF16, F16, E4M3, E5M2, I8, U8
// convert exactly; F64 is refused unless every value is exact in float). A NaN or infinite
// value is refused with its flat index: checkpoint tensors are finite. `what` names the
// tensor in messages.
void decode_to_float(const TensorInfo& info, std::span<const std::byte> bytes, const std::string& what,
                     std::span<float> out);
std::vector<float> decode_to_float(const TensorInfo& info, std::span<const std::byte> bytes,
                                   const std::string& what);

// A checkpoint of one or more files: PATH is a `.safetensors` file, a
// `*.safetensors.index.json` (its `weight_map` names the file of each tensor, relative to the
// index), or a directory holding exactly one of either. Files are opened (mapped and their
// headers validated) only when a tensor they hold is asked for.
class Checkpoint {
 public:
  static Checkpoint open(const std::string& path);

  const std::string& path() const { return path_; }
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const;
  // The file holding `name`; throws SafetensorsError when no file holds it.
  const File& file_of(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const { return file_of(name).info(name); }
  std::vector<float> read_float(const std::string& name) const;
  // Decodes into `out`, which must hold exactly the tensor's elements (a weight's matrix).
  void read_float(const std::string& name, std::span<float> out) const;

 private:
  std::string path_;
  std::string index_;                            // the index file, empty for a single file
  std::map<std::string, std::string> weight_map;  // tensor -> file path (with an index)
  mutable std::map<std::string, std::shared_ptr<File>> files_;  // opened files by path
  std::shared_ptr<File> single_;
};

}  // namespace ffn::safetensors
