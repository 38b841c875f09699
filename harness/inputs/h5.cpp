#include "harness/inputs/h5.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <filesystem>
#include <fstream>

namespace ffn::h5 {

namespace {

// HDF5 prints its error stack to stderr by default; we translate errors ourselves. A
// thread-safe HDF5 (Debian's is) keeps this setting per thread, so every thread that calls
// into HDF5 through File turns it off for itself: every File entry point that can fail
// inside HDF5 calls this first (exists() covers the object and attribute lookups).
void silence_hdf5() {
  thread_local const bool done = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)done;
}

// The innermost message on HDF5's error stack: the most specific reason it gave.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* out) -> herr_t {
        auto* r = static_cast<std::string*>(out);
        if (n == 0 && e->desc) *r = e->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  // Some descriptions span lines (a failed write quotes ctime(), newline included); an
  // error is reported in one line.
  std::string line;
  for (const char c : reason) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space && (line.empty() || line.back() == ' ')) continue;
    line += space ? ' ' : c;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

Handle lcpl_with_parents() {
  Handle p(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(p.get(), 1);
  return p;
}

std::vector<hsize_t> to_hsize(const std::vector<std::int64_t>& shape) {
  return {shape.begin(), shape.end()};
}

// Chunks of at most 64 Ki elements, whole trailing rows where they fit.
std::vector<hsize_t> chunk_dims(const std::vector<hsize_t>& dims) {
  std::vector<hsize_t> chunk(dims.size());
  hsize_t budget = 65536;
  for (std::size_t i = dims.size(); i-- > 0;) {
    chunk[i] = std::max<hsize_t>(1, std::min(dims[i], budget));
    budget = std::max<hsize_t>(1, budget / chunk[i]);
  }
  return chunk;
}

}  // namespace

std::int64_t open_object_count() {
  return static_cast<std::int64_t>(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL));
}

std::string library_version() {
  unsigned major = 0, minor = 0, release = 0;
  H5get_libversion(&major, &minor, &release);
  return fmt::format("{}.{}.{}", major, minor, release);
}

void File::fail(const std::string& object, const std::string& reason) const {
  std::string detail = hdf5_reason();
  throw H5Error(fmt::format("{}: {}: {}{}", path_, object, reason,
                            detail.empty() ? "" : " (" + detail + ")"));
}

File File::create(const std::string& path) {
  silence_hdf5();
  Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!f.valid())
    throw H5Error(fmt::format("{}: cannot create the file ({})", path, hdf5_reason()));
  return File(path, std::move(f));
}

File File::create_in_memory(const std::string& name) {
  silence_hdf5();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.valid() || H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/0) < 0)
    throw H5Error(fmt::format("{}: cannot set up an in-memory file ({})", name, hdf5_reason()));
  // Not `name` itself: HDF5 first tries to open an existing file of that name, which the
  // core driver would read into memory in full.
  const std::string memory_name = name + " (in memory)";
  Handle f(H5Fcreate(memory_name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
  if (!f.valid())
    throw H5Error(fmt::format("{}: cannot create the file in memory ({})", name, hdf5_reason()));
  return File(name, std::move(f));
}

std::vector<unsigned char> File::image() const {
  silence_hdf5();
  if (H5Fflush(file_.get(), H5F_SCOPE_LOCAL) < 0) fail("/", "flush failed");
  const ssize_t size = H5Fget_file_image(file_.get(), nullptr, 0);
  if (size < 0) fail("/", "cannot get the file image");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  if (H5Fget_file_image(file_.get(), bytes.data(), bytes.size()) != size)
    fail("/", "cannot get the file image");
  return bytes;
}

File File::open_rw(const std::string& path) {
  silence_hdf5();
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  if (!f.valid()) throw H5Error(fmt::format("{}: cannot open for writing ({})", path, hdf5_reason()));
  return File(path, std::move(f));
}

File File::open(const std::string& path) {
  silence_hdf5();
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw H5Error(fmt::format("{}: no such file", path));
  if (fs::is_directory(path, ec)) throw H5Error(fmt::format("{}: is a directory, not a golden file", path));
  if (!std::ifstream(path)) throw H5Error(fmt::format("{}: cannot be read (permission denied?)", path));
  if (fs::file_size(path, ec) == 0) throw H5Error(fmt::format("{}: empty file", path));
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw H5Error(fmt::format("{}: not an HDF5 file (no HDF5 signature)", path));
  }
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.valid())
    throw H5Error(fmt::format("{}: cannot open: damaged or truncated HDF5 file ({})", path,
                              hdf5_reason()));
  return File(path, std::move(f));
}

void File::close() {
  if (!file_.valid()) return;
  silence_hdf5();
  if (H5Fflush(file_.get(), H5F_SCOPE_LOCAL) < 0) fail("/", "flush failed");
  // Closed here rather than by the handle, so that a failure is reported.
  if (H5Fclose(file_.release()) < 0) throw H5Error(fmt::format("{}: close failed ({})", path_, hdf5_reason()));
}

bool File::exists(const std::string& object) const {
  silence_hdf5();
  if (object.empty() || object == "/") return true;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = object.find('/', pos + 1);
    const std::string prefix = object.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    const htri_t e = H5Lexists(file_.get(), prefix.c_str(), H5P_DEFAULT);
    if (e <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
  }
  return true;
}

Handle File::open_object(const std::string& object) const {
  if (!exists(object)) fail(object, "missing");
  Handle o(H5Oopen(file_.get(), object.c_str(), H5P_DEFAULT), H5Oclose);
  if (!o.valid()) fail(object, "cannot be opened");
  return o;
}

std::vector<std::string> File::members(const std::string& group) const {
  Handle g = open_object(group);
  H5G_info_t info{};
  if (H5Gget_info(g.get(), &info) < 0) fail(group, "is not a group");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0,
                                         H5P_DEFAULT);
    if (n < 0) fail(group, "cannot list members");
    std::string name(static_cast<std::size_t>(n), '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

void File::create_group(const std::string& group) {
  if (exists(group)) return;
  const Handle lcpl = lcpl_with_parents();
  Handle g(H5Gcreate2(file_.get(), group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
  if (!g.valid()) fail(group, "cannot create group");
}

void File::write_dataset(const std::string& name, const std::vector<std::int64_t>& shape,
                         hid_t mem_type, hid_t file_type, const void* data) {
  silence_hdf5();
  const std::vector<hsize_t> dims = to_hsize(shape);
  Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  if (!space.valid()) fail(name, "cannot create dataspace");
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  const std::vector<hsize_t> chunk = chunk_dims(dims);
  if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0 ||
      H5Pset_shuffle(dcpl.get()) < 0 || H5Pset_deflate(dcpl.get(), 6) < 0 ||
      H5Pset_fletcher32(dcpl.get()) < 0)
    fail(name, "cannot set the chunk filters (shuffle, deflate, fletcher32)");
  const Handle lcpl = lcpl_with_parents();
  Handle ds(H5Dcreate2(file_.get(), name.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(),
                       H5P_DEFAULT),
            H5Dclose);
  if (!ds.valid()) fail(name, "cannot create dataset");
  std::size_t count = 1;
  for (hsize_t d : dims) count *= d;
  if (count > 0 && H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    fail(name, "write failed");
}

void File::write_f64(const std::string& name, const std::vector<std::int64_t>& shape, const double* data) {
  write_dataset(name, shape, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, data);
}
void File::write_f32(const std::string& name, const std::vector<std::int64_t>& shape, const float* data) {
  write_dataset(name, shape, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, data);
}
void File::write_u8(const std::string& name, const std::vector<std::int64_t>& shape, const std::uint8_t* data) {
  write_dataset(name, shape, H5T_NATIVE_UINT8, H5T_STD_U8LE, data);
}
void File::write_i64(const std::string& name, const std::vector<std::int64_t>& shape, const std::int64_t* data) {
  write_dataset(name, shape, H5T_NATIVE_INT64, H5T_STD_I64LE, data);
}

std::size_t File::checked_count(const std::string& name, hid_t dataset, const std::vector<std::int64_t>& shape,
                                std::size_t element_size) const {
  // The shape is whatever the file declares; it is checked against the data the file
  // actually holds before anything is allocated for it. Chunks are at most deflated, and
  // deflate shrinks data at most 1032-fold (zlib's limit), so a dataset holds at most 1032
  // times the bytes stored for it, and those lie within the file.
  constexpr std::uint64_t k_max_inflation = 1032;
  std::uint64_t count = 1, bytes = element_size;
  for (const std::int64_t d : shape) {
    const auto n = static_cast<std::uint64_t>(d);
    if (n != 0 && (count > UINT64_MAX / n || bytes > UINT64_MAX / n))
      fail(name, fmt::format("declares a shape [{}] too large to address", fmt::join(shape, ", ")));
    count *= n, bytes *= n;
  }
  hsize_t file_size = 0;
  if (H5Fget_filesize(file_.get(), &file_size) < 0) fail("/", "cannot get the file size");
  const std::uint64_t stored = std::min<std::uint64_t>(H5Dget_storage_size(dataset), file_size);
  if (bytes > k_max_inflation * stored)
    fail(name, fmt::format("declares {} bytes of data [{}] but stores {}: more than its chunks can hold", bytes,
                           fmt::join(shape, ", "), stored));
  return static_cast<std::size_t>(count);
}

std::vector<std::int64_t> File::shape(const std::string& name) const {
  Handle ds = open_object(name);
  Handle space(H5Dget_space(ds.get()), H5Sclose);
  if (!space.valid()) fail(name, "is not a dataset");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail(name, "has no simple dataspace");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

TensorData File::read(const std::string& name) const {
  TensorData t;
  t.shape = shape(name);
  Handle ds(H5Dopen2(file_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) fail(name, "is not a dataset");
  Handle type(H5Dget_type(ds.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  const std::size_t size = H5Tget_size(type.get());
  const std::size_t count = checked_count(name, ds.get(), t.shape, size);
  herr_t status = 0;
  if (cls == H5T_FLOAT) {
    t.type = size == 8 ? ElementType::f64 : ElementType::f32;
    t.f64.resize(count);
    if (count) status = H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.f64.data());
  } else if (cls == H5T_INTEGER && size == 1 && H5Tget_sign(type.get()) == H5T_SGN_NONE) {
    t.type = ElementType::u8;
    t.u8.resize(count);
    if (count) status = H5Dread(ds.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.u8.data());
  } else if (cls == H5T_INTEGER) {
    t.type = ElementType::i64;
    t.i64.resize(count);
    if (count) status = H5Dread(ds.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.i64.data());
  } else {
    fail(name, "has an element type that is neither float nor integer");
  }
  if (status < 0) fail(name, "read failed: data corrupt (checksum or decompression error)");
  return t;
}

void File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  silence_hdf5();
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0)
    H5Adelete_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT);
  Handle attr(H5Acreate_by_name(file_.get(), object.c_str(), name.c_str(), type.get(), space.get(),
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.valid()) fail(object + "@" + name, "cannot create attribute");
  const char* s = value.c_str();
  if (H5Awrite(attr.get(), type.get(), &s) < 0) fail(object + "@" + name, "cannot write attribute");
}

namespace {
template <class T>
void set_numeric_attr(hid_t file, const std::string& object, const std::string& name, hid_t file_type,
                      hid_t mem_type, T value, const std::function<void(const std::string&)>& fail) {
  silence_hdf5();
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0)
    H5Adelete_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT);
  Handle attr(H5Acreate_by_name(file, object.c_str(), name.c_str(), file_type, space.get(),
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), mem_type, &value) < 0) fail("cannot write attribute");
}
}  // namespace

void File::set_attr(const std::string& object, const std::string& name, double value) {
  set_numeric_attr(file_.get(), object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, value,
                   [&](const std::string& why) { fail(object + "@" + name, why); });
}

void File::set_attr(const std::string& object, const std::string& name, std::int64_t value) {
  set_numeric_attr(file_.get(), object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, value,
                   [&](const std::string& why) { fail(object + "@" + name, why); });
}

bool File::has_attr(const std::string& object, const std::string& name) const {
  if (!exists(object)) return false;
  const htri_t e = H5Aexists_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT);
  if (e < 0) H5Eclear2(H5E_DEFAULT);
  return e > 0;
}

Handle File::open_attr(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) fail(object + "@" + name, "missing attribute");
  Handle attr(H5Aopen_by_name(file_.get(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.valid()) fail(object + "@" + name, "cannot open attribute");
  // Every attribute is read into a buffer for one value, and H5Aread writes all of an
  // array's elements: an attribute that is not a single value would overrun it.
  const Handle space(H5Aget_space(attr.get()), H5Sclose);
  if (!space.valid() || H5Sget_simple_extent_npoints(space.get()) != 1)
    fail(object + "@" + name, "does not hold a single value");
  return attr;
}

bool File::attr_is_string(const std::string& object, const std::string& name) const {
  if (!has_attr(object, name)) return false;
  Handle attr = open_attr(object, name);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  return type.valid() && H5Tget_class(type.get()) == H5T_STRING;
}

std::string File::attr_string(const std::string& object, const std::string& name) const {
  const std::string where = object + "@" + name;
  Handle attr = open_attr(object, name);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) fail(where, "is not a string attribute");
  if (H5Tis_variable_str(type.get()) > 0) {
    char* s = nullptr;
    if (H5Aread(attr.get(), type.get(), &s) < 0 || !s) fail(where, "cannot read attribute");
    std::string value(s);
    H5free_memory(s);
    return value;
  }
  std::string value(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), value.data()) < 0) fail(where, "cannot read attribute");
  value.resize(std::strlen(value.c_str()));
  return value;
}

double File::attr_double(const std::string& object, const std::string& name) const {
  const std::string where = object + "@" + name;
  Handle attr = open_attr(object, name);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) fail(where, "is not a numeric attribute");
  double v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &v) < 0) fail(where, "cannot read attribute");
  return v;
}

std::int64_t File::attr_int(const std::string& object, const std::string& name) const {
  const std::string where = object + "@" + name;
  Handle attr = open_attr(object, name);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER) fail(where, "is not an integer attribute");
  std::int64_t v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) fail(where, "cannot read attribute");
  return v;
}

std::vector<std::string> File::attr_names(const std::string& object) const {
  Handle o = open_object(object);
  H5O_info_t info{};
  if (H5Oget_info2(o.get(), &info, H5O_INFO_NUM_ATTRS) < 0) fail(object, "cannot list attributes");
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    const ssize_t n = H5Aget_name_by_idx(o.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n < 0) fail(object, "cannot list attributes");
    std::string name(static_cast<std::size_t>(n), '\0');
    H5Aget_name_by_idx(o.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1, H5P_DEFAULT);
    names.push_back(std::move(name));
  }
  return names;
}

}  // namespace ffn::h5
