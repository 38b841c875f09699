#include "harness/inputs/safetensors.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"
#include "kernels/minifloat.hpp"

namespace ffn::safetensors {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

using nlohmann::json;

struct DtypeEntry {
  Dtype dtype;
  std::string_view name;
  std::size_t size;
};
constexpr DtypeEntry k_dtypes[] = {
    {Dtype::bf16, "BF16", 2},    {Dtype::f16, "F16", 2},         {Dtype::f32, "F32", 4},
    {Dtype::f64, "F64", 8},      {Dtype::f8_e4m3, "F8_E4M3", 1}, {Dtype::f8_e5m2, "F8_E5M2", 1},
    {Dtype::i8, "I8", 1},        {Dtype::u8, "U8", 1},
};

// JSON text quoted into a one-line message: control bytes would break the line.
std::string printable(std::string_view s, std::size_t limit = 60) {
  std::string out;
  for (char c : s.substr(0, limit)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  if (s.size() > limit) out += "...";
  return out;
}

[[noreturn]] void fail(const std::string& what, const std::string& reason) {
  throw SafetensorsError(fmt::format("{}: {}", what, reason));
}

std::uint64_t read_u64_le(const std::byte* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

TensorInfo parse_entry(const std::string& what, const std::string& name, const json& e) {
  const std::string where = fmt::format("tensor '{}'", printable(name));
  if (!e.is_object()) fail(what, fmt::format("{}: header entry is {}, not an object", where, e.type_name()));
  TensorInfo t;
  t.name = name;
  const auto dtype = e.find("dtype");
  if (dtype == e.end() || !dtype->is_string()) fail(what, fmt::format("{}: no \"dtype\" string", where));
  const auto d = parse_dtype(dtype->get_ref<const std::string&>());
  if (!d)
    fail(what, fmt::format("{}: unknown dtype '{}' (known: BF16, F16, F32, F64, F8_E4M3, F8_E5M2, I8, U8)", where,
                           printable(dtype->get_ref<const std::string&>())));
  t.dtype = *d;
  const auto shape = e.find("shape");
  if (shape == e.end() || !shape->is_array()) fail(what, fmt::format("{}: no \"shape\" array", where));
  for (const json& s : *shape) {
    if (!s.is_number_unsigned() || s.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      fail(what, fmt::format("{}: shape entry {} is not a non-negative integer", where, printable(s.dump())));
    t.shape.push_back(s.get<std::int64_t>());
  }
  const auto offsets = e.find("data_offsets");
  if (offsets == e.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail(what, fmt::format("{}: \"data_offsets\" is not a pair of non-negative integers", where));
  t.begin = (*offsets)[0].get<std::uint64_t>();
  t.end = (*offsets)[1].get<std::uint64_t>();
  if (t.begin > t.end) fail(what, fmt::format("{}: data_offsets [{}, {}] end before they begin", where, t.begin, t.end));
  // shape x dtype size, without overflow.
  std::uint64_t bytes = dtype_size(t.dtype);
  for (std::int64_t s : t.shape)
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(s), &bytes))
      fail(what, fmt::format("{}: shape [{}] overflows the size of any file", where, fmt::join(t.shape, ", ")));
  if (bytes != t.end - t.begin)
    fail(what, fmt::format("{}: {} [{}] needs {} bytes but data_offsets [{}, {}] hold {}", where, dtype_name(t.dtype),
                           fmt::join(t.shape, ", "), bytes, t.begin, t.end, t.end - t.begin));
  return t;
}

}  // namespace

std::string_view dtype_name(Dtype d) {
  for (const auto& e : k_dtypes)
    if (e.dtype == d) return e.name;
  return "?";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (const auto& e : k_dtypes)
    if (e.name == name) return e.dtype;
  return std::nullopt;
}

std::size_t dtype_size(Dtype d) {
  for (const auto& e : k_dtypes)
    if (e.dtype == d) return e.size;
  return 0;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (std::int64_t s : shape) n *= s;  // validated: fits, as its byte size does
  return n;
}

Header parse_header(const std::byte* bytes, std::size_t size, const std::string& what) {
  if (size < 8) fail(what, fmt::format("short header: {} bytes, the 8-byte header length does not fit", size));
  const std::uint64_t n = read_u64_le(bytes);
  if (n > size - 8)
    fail(what, fmt::format("header length {} runs beyond the end of the file ({} bytes after the length)", n, size - 8));
  Header h;
  h.data_offset = 8 + n;
  const char* text = reinterpret_cast<const char*>(bytes + 8);
  json doc;
  try {
    doc = json::parse(text, text + n);
  } catch (const json::exception& e) {
    fail(what, fmt::format("header is not valid JSON: {}", printable(e.what(), 200)));
  }
  if (!doc.is_object()) fail(what, fmt::format("header is a JSON {}, not an object", doc.type_name()));
  for (const auto& [name, entry] : doc.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(what, "__metadata__ is not an object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          fail(what, fmt::format("__metadata__ entry '{}' is not a string", printable(key)));
        h.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    h.tensors.emplace(name, parse_entry(what, name, entry));
  }
  const std::uint64_t data_size = size - h.data_offset;
  std::vector<const TensorInfo*> by_begin;
  for (const auto& [name, t] : h.tensors) {
    if (t.end > data_size)
      fail(what, fmt::format("tensor '{}': data_offsets [{}, {}] lie outside the {}-byte data section", printable(name),
                             t.begin, t.end, data_size));
    if (t.end > t.begin) by_begin.push_back(&t);
  }
  std::sort(by_begin.begin(), by_begin.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  const TensorInfo* furthest = nullptr;  // of the tensors so far, the one that ends last
  for (const TensorInfo* t : by_begin) {
    if (furthest && t->begin < furthest->end)
      fail(what, fmt::format("tensors '{}' [{}, {}] and '{}' [{}, {}] overlap", printable(furthest->name),
                             furthest->begin, furthest->end, printable(t->name), t->begin, t->end));
    if (!furthest || t->end > furthest->end) furthest = t;
  }
  return h;
}

// ---- File ------------------------------------------------------------------------------

struct File::Mapping {
  const std::byte* data = nullptr;
  std::size_t size = 0;
  Mapping(const std::byte* d, std::size_t s) : data(d), size(s) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() {
    if (data) ::munmap(const_cast<std::byte*>(data), size);
  }
};

File File::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(path, fmt::format("cannot open: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail(path, "is not a regular file");
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  std::shared_ptr<const Mapping> m;
  if (size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) fail(path, fmt::format("cannot map: {}", std::strerror(err)));
    m = std::make_shared<const Mapping>(static_cast<const std::byte*>(p), size);
  } else {
    ::close(fd);
    m = std::make_shared<const Mapping>(nullptr, 0);
  }
  Header h = parse_header(m->data, m->size, path);
  return File(path, std::move(m), std::move(h));
}

const TensorInfo& File::info(const std::string& name) const {
  const auto it = header_.tensors.find(name);
  if (it == header_.tensors.end()) fail(path_, fmt::format("no tensor '{}'", name));
  return it->second;
}

std::span<const std::byte> File::bytes(const std::string& name) const {
  const TensorInfo& t = info(name);
  // parse_header checked begin <= end <= the data section's size.
  return {mapping_->data + header_.data_offset + t.begin, static_cast<std::size_t>(t.end - t.begin)};
}

// ---- decoding ----------------------------------------------------------------------------

namespace {

// Threads pay off only on weight-sized tensors.
constexpr std::size_t k_parallel_elements = 1 << 16;

template <class Code, class Decode>
void decode_codes(std::span<const std::byte> bytes, std::span<float> out, Decode decode) {
#pragma omp parallel for schedule(static) if (out.size() >= k_parallel_elements)
  for (std::size_t i = 0; i < out.size(); ++i) {
    Code c;
    std::memcpy(&c, bytes.data() + i * sizeof(Code), sizeof(Code));
    out[i] = decode(c);
  }
}

}  // namespace

std::vector<float> decode_to_float(const TensorInfo& t, std::span<const std::byte> bytes, const std::string& what) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  decode_to_float(t, bytes, what, out);
  return out;
}

void decode_to_float(const TensorInfo& t, std::span<const std::byte> bytes, const std::string& what,
                     std::span<float> out) {
  const auto n = static_cast<std::size_t>(t.numel());
  if (bytes.size() != n * dtype_size(t.dtype) || out.size() != n)
    fail(what, fmt::format("{} bytes into {} floats for {} {} elements", bytes.size(), out.size(), n,
                           dtype_name(t.dtype)));
  switch (t.dtype) {
    case Dtype::bf16: decode_codes<std::uint16_t>(bytes, out, bf16_bits_to_float); break;
    case Dtype::f16: decode_codes<std::uint16_t>(bytes, out, fp16_bits_to_float); break;
    case Dtype::f32: decode_codes<float>(bytes, out, [](float v) { return v; }); break;
    case Dtype::f8_e4m3:
      decode_codes<std::uint8_t>(bytes, out, [](std::uint8_t c) { return minifloat_decode(k_e4m3, c); });
      break;
    case Dtype::f8_e5m2:
      decode_codes<std::uint8_t>(bytes, out, [](std::uint8_t c) { return minifloat_decode(k_e5m2, c); });
      break;
    case Dtype::i8: decode_codes<std::int8_t>(bytes, out, [](std::int8_t c) { return float(c); }); break;
    case Dtype::u8: decode_codes<std::uint8_t>(bytes, out, [](std::uint8_t c) { return float(c); }); break;
    case Dtype::f64: {
      std::size_t inexact = n;
#pragma omp parallel for schedule(static) reduction(min : inexact) if (n >= k_parallel_elements)
      for (std::size_t i = 0; i < n; ++i) {
        double v;
        std::memcpy(&v, bytes.data() + i * 8, 8);
        out[i] = static_cast<float>(v);
        if (std::isfinite(v) && double(out[i]) != v) inexact = std::min(inexact, i);
      }
      if (inexact < n)
        fail(what, fmt::format("F64 value at flat index {} is not exact in fp32 (the harness computes in fp32 at most)",
                               inexact));
      break;
    }
  }
  std::size_t bad = n;
#pragma omp parallel for schedule(static) reduction(min : bad) if (n >= k_parallel_elements)
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(out[i])) bad = std::min(bad, i);
  if (bad < n) fail(what, fmt::format("holds {} at flat index {}", out[bad], bad));
}

// ---- Checkpoint --------------------------------------------------------------------------

namespace {

std::vector<std::filesystem::path> files_ending(const std::filesystem::path& dir, std::string_view suffix) {
  std::vector<std::filesystem::path> found;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && name.size() > suffix.size() && name.ends_with(suffix)) found.push_back(e.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

Checkpoint Checkpoint::open(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "does not exist");
  fs::path file = path;
  if (fs::is_directory(path, ec)) {
    const auto indexes = files_ending(path, ".safetensors.index.json");
    const auto singles = files_ending(path, ".safetensors");
    if (indexes.size() == 1)
      file = indexes.front();
    else if (indexes.empty() && singles.size() == 1)
      file = singles.front();
    else
      fail(path, fmt::format("directory holds {} *.safetensors.index.json and {} *.safetensors files: name the "
                             "checkpoint file or index",
                             indexes.size(), singles.size()));
  }
  Checkpoint c;
  c.path_ = path;
  if (file.string().ends_with(".json")) {
    c.index_ = file.string();
    std::ifstream in(file);
    if (!in) fail(c.index_, "cannot read the index");
    json doc;
    try {
      doc = json::parse(in);
    } catch (const json::exception& e) {
      fail(c.index_, fmt::format("index is not valid JSON: {}", printable(e.what(), 200)));
    }
    if (!doc.is_object() || !doc.contains("weight_map") || !doc["weight_map"].is_object())
      fail(c.index_, "index has no \"weight_map\" object");
    for (const auto& [name, target] : doc["weight_map"].items()) {
      if (!target.is_string() || target.get_ref<const std::string&>().empty())
        fail(c.index_, fmt::format("weight_map entry '{}' does not name a file", printable(name)));
      c.weight_map[name] = (file.parent_path() / target.get<std::string>()).string();
    }
    if (c.weight_map.empty()) fail(c.index_, "weight_map is empty");
  } else {
    c.single_ = std::make_shared<File>(File::open(file.string()));
  }
  return c;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  if (single_)
    for (const auto& [name, t] : single_->header().tensors) out.push_back(name);
  else
    for (const auto& [name, f] : weight_map) out.push_back(name);
  return out;  // both maps are sorted
}

bool Checkpoint::contains(const std::string& name) const {
  return single_ ? single_->contains(name) : weight_map.count(name) != 0;
}

const File& Checkpoint::file_of(const std::string& name) const {
  if (single_) {
    single_->info(name);  // throws naming the tensor when it is missing
    return *single_;
  }
  const auto it = weight_map.find(name);
  if (it == weight_map.end()) fail(index_, fmt::format("no tensor '{}' in the weight_map", name));
  auto& f = files_[it->second];
  if (!f) f = std::make_shared<File>(File::open(it->second));
  if (!f->contains(name))
    fail(it->second, fmt::format("holds no tensor '{}', which the index {} places there", name, index_));
  return *f;
}

std::vector<float> Checkpoint::read_float(const std::string& name) const {
  std::vector<float> out(static_cast<std::size_t>(info(name).numel()));
  read_float(name, out);
  return out;
}

void Checkpoint::read_float(const std::string& name, std::span<float> out) const {
  const File& f = file_of(name);
  decode_to_float(f.info(name), f.bytes(name), fmt::format("{}: tensor '{}'", f.path(), name), out);
}

}  // namespace ffn::safetensors
