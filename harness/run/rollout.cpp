#include "harness/run/rollout.hpp"

#include <fmt/format.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "harness/inputs/counter_rng.hpp"
#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

namespace {

constexpr double k_rms_eps = 1e-6;

void check(const RolloutConfig& r) {
  if (r.layers < 1 || r.frames < 1 || r.height < 1 || r.width < 1 || r.patch < 1)
    throw std::invalid_argument(fmt::format("rollout: layers {}, grid {}x{}x{} and patch {} must all be positive",
                                            r.layers, r.frames, r.height, r.width, r.patch));
}

std::int64_t token_count(const RolloutConfig& r) {
  return std::int64_t{r.frames} * r.height * r.width;
}

// RMSNorm without a learned scale, in fp32 on the stored values, rounded once to the dtype.
Matrix<float> rmsnorm(const Matrix<float>& x, DType dtype) {
  Matrix<float> y(x.rows(), x.cols());
  for (std::int64_t t = 0; t < x.rows(); ++t) {
    float sum_sq = 0;
    for (std::int64_t c = 0; c < x.cols(); ++c) sum_sq += x(t, c) * x(t, c);
    const float inv = 1.0f / std::sqrt(sum_sq / static_cast<float>(x.cols()) + static_cast<float>(k_rms_eps));
    for (std::int64_t c = 0; c < x.cols(); ++c) y(t, c) = x(t, c) * inv;
  }
  round_inplace(dtype, y.values());
  return y;
}

Matrix<double> rmsnorm(const Matrix<double>& x) {
  Matrix<double> y(x.rows(), x.cols());
  for (std::int64_t t = 0; t < x.rows(); ++t) {
    double sum_sq = 0;
    for (std::int64_t c = 0; c < x.cols(); ++c) sum_sq += x(t, c) * x(t, c);
    const double inv = 1.0 / std::sqrt(sum_sq / static_cast<double>(x.cols()) + k_rms_eps);
    for (std::int64_t c = 0; c < x.cols(); ++c) y(t, c) = x(t, c) * inv;
  }
  return y;
}

// The residual add: fp32, rounded once to the dtype.
void add_residual(Matrix<float>& x, const Matrix<float>& f, DType dtype) {
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] += f.data()[i];
  round_inplace(dtype, x.values());
}

}  // namespace

Matrix<double> rollout_latents(const CaseConfig& c, const RolloutConfig& r) {
  check(r);
  const std::int64_t dim = c.shape.dim;
  const CounterRng rng(c.seed, "rollout.latent");
  Matrix<double> x(token_count(r), dim);
  for (std::int64_t ch = 0; ch < dim; ++ch) {
    // Per channel: a smooth wave over the grid, drifting over frames, plus a sharp edge
    // along a random line: pictures with structure for SSIM to see.
    const auto u = [&](int k) { return rng.uniform(static_cast<std::uint64_t>(ch * 16 + k)); };
    const double amplitude = 0.5 + u(0), edge = 0.5 + u(1);
    const double kh = u(2), kw = u(3), phase = 2 * std::numbers::pi * u(4);  // under one period per frame
    // Three edges shared by all channels, so that they add up into visible contours.
    const std::uint64_t line_id = static_cast<std::uint64_t>(ch % 3);
    const double angle = 2 * std::numbers::pi * rng.uniform(1'000'000 + 2 * line_id);
    const double offset = 0.6 * (rng.uniform(1'000'001 + 2 * line_id) - 0.5), sign = u(7) < 0.5 ? -1 : 1;
    for (int f = 0; f < r.frames; ++f)
      for (int h = 0; h < r.height; ++h)
        for (int w = 0; w < r.width; ++w) {
          const double yh = (h + 0.5) / r.height - 0.5, yw = (w + 0.5) / r.width - 0.5;
          const double wave = amplitude * std::sin(2 * std::numbers::pi * (kh * yh + kw * yw) + phase + 0.3 * f);
          const double line = std::cos(angle) * yh + std::sin(angle) * yw - offset + 0.05 * f;
          const double v = wave + sign * edge * std::tanh(12 * line);
          x((std::int64_t{f} * r.height + h) * r.width + w, ch) = round_to(c.dtype, v);
        }
  }
  return x;
}

Video decode_frames(const Matrix<double>& hidden, const CaseConfig& c, const RolloutConfig& r) {
  check(r);
  const std::int64_t dim = c.shape.dim, p = r.patch;
  if (hidden.rows() != token_count(r) || hidden.cols() != dim)
    throw std::invalid_argument("decode_frames: hidden states do not match the latent grid");
  // The projection: each channel paints a low-frequency cosine pattern over the patch in
  // a colour of its own, so patches are smooth and neighbouring tokens blend.
  const CounterRng rng(c.seed, "rollout.decoder");
  Matrix<double> proj(p * p * 3, dim);
  for (std::int64_t ch = 0; ch < dim; ++ch) {
    const double fy = std::floor(2 * rng.uniform(ch * 8)), fx = std::floor(2 * rng.uniform(ch * 8 + 1));
    double colour[3];
    for (int k = 0; k < 3; ++k) colour[k] = 2 * rng.uniform(ch * 8 + 2 + k) - 1;
    for (std::int64_t py = 0; py < p; ++py)
      for (std::int64_t px = 0; px < p; ++px) {
        const double pattern = 1 + 0.3 * std::cos(std::numbers::pi * fy * (py + 0.5) / p) *
                                       std::cos(std::numbers::pi * fx * (px + 0.5) / p);
        for (int k = 0; k < 3; ++k)
          proj((py * p + px) * 3 + k, ch) = 1.5 * pattern * colour[k] / std::sqrt(static_cast<double>(dim));
      }
  }
  const Matrix<double> pixels = cpu::gemm_xwt(hidden, proj);  // [tokens, p*p*3]
  Video video;
  for (int f = 0; f < r.frames; ++f) {
    cv::Mat frame(r.height * r.patch, r.width * r.patch, CV_8UC3);
    for (int h = 0; h < r.height; ++h)
      for (int w = 0; w < r.width; ++w) {
        const std::int64_t t = (std::int64_t{f} * r.height + h) * r.width + w;
        for (std::int64_t py = 0; py < p; ++py)
          for (std::int64_t px = 0; px < p; ++px) {
            cv::Vec3b& bgr = frame.at<cv::Vec3b>(static_cast<int>(h * p + py), static_cast<int>(w * p + px));
            for (int k = 0; k < 3; ++k) {
              const double v = pixels(t, (py * p + px) * 3 + k);
              // RGB channel k lands in OpenCV's BGR slot 2 - k.
              bgr[2 - k] = static_cast<std::uint8_t>(std::nearbyint(255.0 / (1.0 + std::exp(-v))));
            }
          }
      }
    video.push_back(frame);
  }
  return video;
}

double rollout_peak_bytes(const FfnShape& shape, const RolloutConfig& r) {
  const double tokens = double(r.frames) * r.height * r.width, dim = double(shape.dim), inner = double(shape.inner);
  const double pixels = double(r.patch) * r.patch * 3;  // per token
  // Latents and the reference's state in fp64, the two paths' in fp32; a layer's hidden and
  // activation for each path (fp32) and the reference (fp64); its weights; the decoder's fp64
  // pixels and the three uint8 videos.
  return tokens * (dim * (8 + 8 + 4 + 4) + inner * (4 * 3 + 8 * 2) + pixels * (8 + 3 * 1)) + 2 * dim * inner * 4;
}

RolloutVideos rollout(const CaseConfig& c, const RolloutConfig& r) {
  check(r);
  const DType dtype = c.dtype;
  const Matrix<double> latents = rollout_latents(c, r);
  Matrix<float> x_old = convert<float>(latents), x_new = x_old;
  Matrix<double> x_ref = latents;
  SimulatedCommunicator comm(c.tp, c.allreduce);
  InputConfig ic = c.inputs();
  ic.tokens = 1;
  for (int l = 0; l < r.layers; ++l) {
    const FfnWeights w = make_weights(ic, fmt::format("layer{}.", l));
    add_residual(x_old, ffn_allgather(rmsnorm(x_old, dtype), w, comm, dtype), dtype);
    add_residual(x_new, ffn_sharded(rmsnorm(x_new, dtype), w, comm, dtype), dtype);
    const Matrix<double> f = ffn_reference(rmsnorm(x_ref), w).output;
    for (std::size_t i = 0; i < x_ref.size(); ++i) x_ref.data()[i] += f.data()[i];
  }
  return {decode_frames(convert<double>(x_old), c, r), decode_frames(convert<double>(x_new), c, r),
          decode_frames(x_ref, c, r)};
}

}  // namespace ffn
