#pragma once
// A thin RAII layer over the HDF5 C API: every handle is closed exactly once, HDF5's own
// error stack is never printed, and every failure becomes an H5Error whose message names
// the file, the object and the reason in one line.
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ffn::h5 {

class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one hid_t and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_, closer_ = o.closer_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  // Gives up ownership without closing.
  hid_t release() {
    const hid_t id = id_;
    id_ = H5I_INVALID_HID;
    return id;
  }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// The element types a golden stores.
enum class ElementType { f64, f32, u8, i64 };

struct TensorData {
  std::vector<std::int64_t> shape;
  ElementType type = ElementType::f64;
  std::vector<double> f64;        // f64 and f32 datasets are read as double (f32 is exact)
  std::vector<std::uint8_t> u8;
  std::vector<std::int64_t> i64;
};

// Open HDF5 objects of all kinds in this process (for leak checks in tests).
std::int64_t open_object_count();

class File {
 public:
  // Creates (truncating) a file for writing.
  static File create(const std::string& path);
  // Creates a file held only in memory (HDF5's core driver, no backing store); `name` is
  // what messages call it. image() gives its bytes: the caller writes them out itself, so a
  // failing disk never leaves HDF5 holding a file it cannot flush (and so cannot close).
  static File create_in_memory(const std::string& name);
  // The complete file as bytes (flushes first).
  std::vector<unsigned char> image() const;
  // Opens an existing file read-only; a missing, empty, truncated or non-HDF5 file throws.
  static File open(const std::string& path);
  // Opens an existing file for modification (tests build damaged goldens with it).
  static File open_rw(const std::string& path);

  const std::string& path() const { return path_; }
  // Flushes and closes; errors (a full disk) throw here rather than in a destructor.
  void close();

  bool exists(const std::string& object) const;
  // Member names of a group, in name order.
  std::vector<std::string> members(const std::string& group) const;
  void create_group(const std::string& group);

  // Chunked, shuffled, deflated, Fletcher32-checksummed dataset.
  void write_f64(const std::string& name, const std::vector<std::int64_t>& shape, const double* data);
  void write_f32(const std::string& name, const std::vector<std::int64_t>& shape, const float* data);
  void write_u8(const std::string& name, const std::vector<std::int64_t>& shape, const std::uint8_t* data);
  void write_i64(const std::string& name, const std::vector<std::int64_t>& shape, const std::int64_t* data);
  // Reads a whole dataset; checksum failures and short reads throw.
  TensorData read(const std::string& name) const;
  std::vector<std::int64_t> shape(const std::string& name) const;

  void set_attr(const std::string& object, const std::string& name, const std::string& value);
  void set_attr(const std::string& object, const std::string& name, double value);
  void set_attr(const std::string& object, const std::string& name, std::int64_t value);
  bool has_attr(const std::string& object, const std::string& name) const;
  // Whether the attribute exists and holds a string.
  bool attr_is_string(const std::string& object, const std::string& name) const;
  std::string attr_string(const std::string& object, const std::string& name) const;
  double attr_double(const std::string& object, const std::string& name) const;
  std::int64_t attr_int(const std::string& object, const std::string& name) const;
  std::vector<std::string> attr_names(const std::string& object) const;

 private:
  File(std::string path, Handle file) : path_(std::move(path)), file_(std::move(file)) {}
  [[noreturn]] void fail(const std::string& object, const std::string& reason) const;
  Handle open_object(const std::string& object) const;
  Handle open_attr(const std::string& object, const std::string& name) const;
  // The element count of a dataset of this shape, after checking that the file holds data
  // for all of it.
  std::size_t checked_count(const std::string& name, hid_t dataset, const std::vector<std::int64_t>& shape,
                            std::size_t element_size) const;
  void write_dataset(const std::string& name, const std::vector<std::int64_t>& shape,
                     hid_t mem_type, hid_t file_type, const void* data);

  std::string path_;
  Handle file_;
};

// HDF5 library version, "1.10.8".
std::string library_version();

}  // namespace ffn::h5
