#include <fmt/format.h>

#include <opencv2/core.hpp>

#include "goldens/golden_frames.hpp"
#include "metrics/frames.hpp"
#include "python/arrays.hpp"
#include "python/bindings.hpp"

namespace ffn::python {

namespace {

const std::string k_prefix = "ffn-parity frames compare";

// A uint8 array [frames, height, width, 3] (or one frame [height, width, 3]) as frames, or a
// path as `frames compare` opens it (PNG directory, golden FILE.h5[:DATASET], video file).
Video video_from(py::handle obj, const std::string& name) {
  if (py::isinstance<py::str>(obj)) {
    const std::string path = obj.cast<std::string>();
    try {
      return read_all(*open_frame_source(path));
    } catch (const std::exception& e) {
      throw usage_error(k_prefix, e.what());
    }
  }
  if (!py::isinstance<py::array>(obj))
    throw usage_error(k_prefix, fmt::format("{}: expected a uint8 array [frames, height, width, 3] or a path, got {}",
                                            name, std::string(py::str(obj.get_type().attr("__name__")))));
  const py::array a = py::reinterpret_borrow<py::array>(obj);
  if (!a.dtype().is(py::dtype::of<std::uint8_t>()))
    throw usage_error(k_prefix, fmt::format("{}: dtype {}: frames are 8-bit (uint8)", name, std::string(py::str(a.dtype()))));
  const auto u = py::array_t<std::uint8_t, py::array::c_style | py::array::forcecast>::ensure(a);
  const bool one = u.ndim() == 3;
  if ((u.ndim() != 3 && u.ndim() != 4) || u.shape(u.ndim() - 1) != 3 || u.size() == 0)
    throw usage_error(k_prefix, fmt::format("{}: expected [frames, height, width, 3] or [height, width, 3] with at "
                                            "least one pixel, got {} dimensions",
                                            name, u.ndim()));
  const py::ssize_t frames = one ? 1 : u.shape(0), h = u.shape(one ? 0 : 1), w = u.shape(one ? 1 : 2);
  Video v;
  for (py::ssize_t f = 0; f < frames; ++f) {
    cv::Mat m(static_cast<int>(h), static_cast<int>(w), CV_8UC3);
    std::memcpy(m.data, u.data() + f * h * w * 3, static_cast<std::size_t>(h * w * 3));
    v.push_back(m);
  }
  return v;
}

py::object score(double v) { return py::float_(v); }  // +inf for identical frames, as Python's float('inf')

}  // namespace

py::dict compare_frames(py::object a, py::object b, const std::string& ssim) {
  const std::optional<SsimKind> kind = parse_ssim_kind(ssim);
  if (!kind) throw usage_error(k_prefix, fmt::format("--ssim: {} not in {{gaussian, skimage}}", ssim));
  const Video va = video_from(a, "a"), vb = video_from(b, "b");
  VideoScore s;
  try {
    py::gil_scoped_release release;
    s = compare_videos(va, vb, *kind);
  } catch (const std::invalid_argument& e) {
    throw usage_error(k_prefix, e.what());
  }
  py::list psnr, ssims, mad;
  for (const FrameScore& f : s.frames) psnr.append(score(f.psnr_db)), ssims.append(score(f.ssim)), mad.append(score(f.mad));
  py::dict d;
  d["psnr_db"] = psnr;
  d["ssim"] = ssims;
  d["mad"] = mad;
  d["psnr_mean_db"] = s.psnr_mean_db;
  d["psnr_min_db"] = s.psnr_min_db;
  d["ssim_mean"] = s.ssim_mean;
  d["ssim_min"] = s.ssim_min;
  d["mad_mean"] = s.mad_mean;
  d["mad_max"] = s.mad_max;
  d["worst_frame"] = s.worst_frame;
  d["ssim_kind"] = std::string(ssim_kind_name(s.ssim_kind));
  return d;
}

}  // namespace ffn::python
