#include "goldens/golden_writer.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "goldens/golden_file.hpp"

namespace ffn {

namespace {

// Writes `bytes` to a new file `tmp` and makes them durable; throws GoldenError naming `path`.
void write_durably(const std::string& path, const std::string& tmp, const std::vector<unsigned char>& bytes) {
  const auto fail = [&](const std::string& what) {
    throw GoldenError(fmt::format("{}: {} {}: {}", path, what, tmp, std::strerror(errno)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail("cannot create the temporary file");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno ? errno : ENOSPC;
      ::close(fd);
      errno = saved;
      fail("cannot write the temporary file");
    }
    done += static_cast<std::size_t>(n);
  }
  // The data must be on disk before the rename makes it the golden, or a crash could leave
  // an empty golden under the final name.
  if (::fsync(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    fail("cannot sync the temporary file");
  }
  if (::close(fd) != 0) fail("cannot close the temporary file");
}

void sync_directory_of(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::filesystem::path dir = parent.empty() ? std::filesystem::path(".") : parent;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the rename itself has happened
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

void write_golden_atomically(const std::string& path, bool overwrite,
                             const std::map<std::string, std::string>& provenance,
                             const std::function<void(h5::File&)>& fill) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!overwrite && (fs::exists(path, ec) || fs::is_symlink(path, ec)))
    throw GoldenError(fmt::format("{}: exists; pass --force to replace it", path));
  // The file is built in memory and written out by us: HDF5 never holds a half-written file
  // on disk that it cannot flush and therefore cannot close (a full disk would leak it).
  std::vector<unsigned char> image;
  try {
    h5::File f = h5::File::create_in_memory(path);
    f.set_attr("/", "schema", std::string(k_golden_schema));
    f.set_attr("/", "schema_version", k_golden_schema_version);
    f.set_attr("/", "schema_doc", std::string(k_golden_schema_doc));
    for (const auto& [key, value] : provenance) f.set_attr("/", key, value);
    fill(f);
    image = f.image();
    f.close();
  } catch (const h5::H5Error& e) {
    throw GoldenError(e.what());
  }
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  try {
    write_durably(path, tmp, image);
    // rename(2) replaces the old golden in one step: a reader sees the old file or the new.
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw GoldenError(fmt::format("{}: cannot rename {} over it: {}", path, tmp, std::strerror(errno)));
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  sync_directory_of(path);
}

void describe(h5::File& file, const std::string& dataset, const std::string& description) {
  file.set_attr(dataset, "description", description);
}

}  // namespace ffn
