#include "goldens/golden_file.hpp"

#include <cblas.h>
#include <opencv2/core/version.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "goldens/golden_frames.hpp"
#include "goldens/golden_writer.hpp"
#include "harness/inputs/h5.hpp"
#include "harness/inputs/sha256.hpp"
#include "harness/version.hpp"
#include "kernels/rounding.hpp"

namespace ffn {

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown CPU";
}

std::string utc_now() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(
                                                  std::chrono::system_clock::now())));
}

template <class T>
std::vector<std::int64_t> shape_of(const Matrix<T>& m) {
  return {m.rows(), m.cols()};
}
std::vector<std::int64_t> shape_of(const std::vector<float>& v) { return {static_cast<std::int64_t>(v.size())}; }

}  // namespace

std::map<std::string, std::string> current_provenance(const std::string& backend,
                                                      const std::string& device,
                                                      const std::string& backend_libraries) {
  std::map<std::string, std::string> p = {{"tool", "ffn-parity"},
          {"tool_version", k_version},
          {"git_commit", FFN_PARITY_GIT_COMMIT},
          {"backend", backend},
          {"device", device.empty() ? cpu_model() : device},
          {"openblas_version", openblas_get_config()},
          {"hdf5_version", h5::library_version()},
          {"opencv_version", CV_VERSION},
          {"created_utc", utc_now()}};
  if (!backend_libraries.empty()) p["backend_libraries"] = backend_libraries;
  return p;
}

std::string_view input_mode_name(InputMode m) {
  switch (m) {
    case InputMode::full: return "full";
    case InputMode::seeded: return "seeded";
    case InputMode::real: return "real";
  }
  return "?";
}

std::string input_set_id(const InputConfig& c) {
  std::string id = fmt::format("{}_t{}_{}_s{}", c.shape.name, c.tokens, precision_of(c.dtype, c.scheme).name, c.seed);
  if (c.shape.activation.rounding == ActRounding::native) id += "_native";
  if (c.outlier_channels > 0) id += fmt::format("_o{}x{}", c.outlier_channels, c.outlier_scale);
  return id;
}

std::string case_id(const CaseConfig& c) {
  return fmt::format("{}_tp{}_{}", input_set_id(c.inputs()), c.tp, allreduce_model_name(c.allreduce));
}

RealInputRecord record_of(const RealInputs& real) {
  RealInputRecord r;
  r.spec = real.spec;
  r.layout = real.ffn.layout;
  r.tensors = real.ffn.tensors;
  r.stored_sha256 = stored_digests(real);
  r.activations_group = real.activations_group;
  return r;
}

GoldenFile make_golden(const std::vector<CaseResult>& results, InputMode mode,
                       std::map<std::string, std::string> provenance, const RealInputs* real) {
  // Digests of multi-hundred-MiB tensors: once, not per input set.
  const std::optional<RealInputRecord> record = real ? std::optional(record_of(*real)) : std::nullopt;
  GoldenFile g;
  g.provenance = std::move(provenance);
  for (const CaseResult& r : results) {
    if (!r.pass)
      throw GoldenError(fmt::format("case {} fails its verdict ({}): a golden is blessed from "
                                    "passing results only",
                                    r.config.name(), r.reason));
    const InputConfig ic = r.config.inputs();
    const std::string set_id = input_set_id(ic);
    if (!g.input_sets.count(set_id)) {
      GoldenInputSet set;
      set.id = set_id;
      set.config = ic;
      set.mode = real ? InputMode::real : mode;
      FfnInputs inputs = real ? real_case_inputs(*real, ic.dtype) : make_inputs(ic);
      for (const auto& [name, values] : named_tensors(inputs)) set.sha256[name] = sha256_hex(values);
      if (set.mode == InputMode::full) set.tensors = std::move(inputs);
      set.real = record;
      set.reference = *r.reference_out;
      g.input_sets.emplace(set_id, std::move(set));
    }
    GoldenCase c;
    c.id = case_id(r.config);
    c.config = r.config;
    c.input_set = set_id;
    c.record = {std::sqrt(r.parity.stats.nmse),       std::sqrt(r.allgather_ref.stats.nmse),
                std::sqrt(r.sharded_ref.stats.nmse),  r.parity.verdict.margin(),
                r.allgather_ref.verdict.margin(),     r.sharded_ref.verdict.margin()};
    c.tolerance = default_tolerance(r.config.dtype);
    c.allgather = r.allgather_out;
    c.sharded = r.sharded_out;
    if (r.frames)
      c.frames = GoldenCase::Frames{r.frames->rollout,         r.frames->thresholds,      r.frames->videos,
                                    r.frames->parity.ssim_kind, r.frames->parity.mad_mean, r.frames->parity.mad_max};
    g.cases.push_back(std::move(c));
  }
  return g;
}

namespace {

void write_real_record(h5::File& f, const std::string& grp, const RealInputRecord& r) {
  f.set_attr(grp, "weights", r.spec.weights);
  f.set_attr(grp, "layer", std::int64_t{r.spec.layer});
  f.set_attr(grp, "stream", std::string(stream_name(r.spec.stream)));
  f.set_attr(grp, "checkpoint_layout", r.layout);
  f.set_attr(grp, "activations", r.spec.activations);
  f.set_attr(grp, "activations_group", r.activations_group);
  for (const CheckpointTensor& t : r.tensors) {
    f.set_attr(grp, "tensor:" + t.role, t.name);
    f.set_attr(grp, "file:" + t.role, t.file);
    f.set_attr(grp, "sha256_stored:" + t.role, r.stored_sha256.at(t.role));
  }
}

// A tensor dataset with its description (float64 for the reference, float32 for the rest).
void write_tensor(h5::File& f, const std::string& name, const Matrix<double>& m, const std::string& description) {
  f.write_f64(name, shape_of(m), m.data());
  describe(f, name, description);
}

template <class Tensor>
void write_tensor(h5::File& f, const std::string& name, const Tensor& t, const std::string& description) {
  f.write_f32(name, shape_of(t), t.data());
  describe(f, name, description);
}

void write_contents(const GoldenFile& g, h5::File& f) {
  for (const auto& [id, set] : g.input_sets) {
    const std::string grp = "/input_sets/" + id;
    f.create_group(grp);
    const InputConfig& c = set.config;
    f.set_attr(grp, "shape", c.shape.name);
    f.set_attr(grp, "dim", c.shape.dim);
    f.set_attr(grp, "inner", c.shape.inner);
    // Written for an MLP without bias only, so goldens of MLPs with biases stay as they were.
    if (!c.shape.bias) f.set_attr(grp, "bias", std::int64_t{0});
    // Likewise the activation, for MLPs other than GELU-tanh with fused rounding.
    if (c.shape.activation != Activation{}) {
      f.set_attr(grp, "activation", activation_name(c.shape.activation));
      f.set_attr(grp, "act_rounding", std::string(act_rounding_name(c.shape.activation.rounding)));
    }
    f.set_attr(grp, "tokens", c.tokens);
    f.set_attr(grp, "seed", static_cast<std::int64_t>(c.seed));
    f.set_attr(grp, "precision", precision_of(c.dtype, c.scheme).name);
    f.set_attr(grp, "outlier_channels", static_cast<std::int64_t>(c.outlier_channels));
    f.set_attr(grp, "outlier_scale", c.outlier_scale);
    f.set_attr(grp, "inputs", std::string(input_mode_name(set.mode)));
    if (set.real) write_real_record(f, grp, *set.real);
    for (const auto& [name, digest] : set.sha256) f.set_attr(grp, "sha256:" + name, digest);
    if (set.tensors) {
      const FfnInputs& in = *set.tensors;
      // A quantized checkpoint is stored as its fp32 masters: a reader quantizes them again.
      const std::string layout = std::string("nn.Linear layout, y = x W^T + b") +
                                 (c.scheme == QuantScheme::none ? "" : "; the fp32 master, quantized on reading");
      write_tensor(f, grp + "/x", in.x, "FFN input x [tokens, dim]");
      const bool gated = c.shape.activation.gated;
      write_tensor(f, grp + "/proj_in.weight", in.weights.w_in,
                   (gated ? "proj_in weight [2 inner, dim]: the fused [gate; up], gate rows first, "
                          : "proj_in weight [inner, dim], ") + layout);
      if (c.shape.bias)
        write_tensor(f, grp + "/proj_in.bias", in.weights.b_in, gated ? "proj_in bias [2 inner]" : "proj_in bias [inner]");
      write_tensor(f, grp + "/proj_out.weight", in.weights.w_out, "proj_out weight [dim, inner], " + layout);
      if (c.shape.bias) write_tensor(f, grp + "/proj_out.bias", in.weights.b_out, "proj_out bias [dim]");
    }
    write_tensor(f, grp + "/reference", set.reference, "fp64 reference: the FFN output on these inputs [tokens, dim]");
  }

  for (const GoldenCase& c : g.cases) {
    const std::string grp = "/cases/" + c.id;
    f.create_group(grp);
    f.set_attr(grp, "name", c.config.name());
    f.set_attr(grp, "input_set", c.input_set);
    f.set_attr(grp, "tp", static_cast<std::int64_t>(c.config.tp));
    f.set_attr(grp, "allreduce", std::string(allreduce_model_name(c.config.allreduce)));
    f.set_attr(grp, "rtol", c.tolerance.rtol);
    f.set_attr(grp, "atol", c.tolerance.atol);
    f.set_attr(grp, "drift_budget_scale", c.drift_budget_scale);
    f.set_attr(grp, "parity_rel_l2", c.record.parity_rel_l2);
    f.set_attr(grp, "allgather_ref_rel_l2", c.record.allgather_ref_rel_l2);
    f.set_attr(grp, "sharded_ref_rel_l2", c.record.sharded_ref_rel_l2);
    f.set_attr(grp, "parity_margin", c.record.parity_margin);
    f.set_attr(grp, "allgather_ref_margin", c.record.allgather_ref_margin);
    f.set_attr(grp, "sharded_ref_margin", c.record.sharded_ref_margin);
    write_tensor(f, grp + "/allgather", c.allgather, "output of the allgather path when blessed [tokens, dim]");
    write_tensor(f, grp + "/sharded", c.sharded, "output of the sharded path when blessed [tokens, dim]");
    if (c.frames) {
      const RolloutConfig& r = c.frames->rollout;
      f.set_attr(grp, "rollout_layers", std::int64_t{r.layers});
      f.set_attr(grp, "rollout_grid", fmt::format("{}x{}x{}", r.frames, r.height, r.width));
      f.set_attr(grp, "rollout_patch", std::int64_t{r.patch});
      f.set_attr(grp, "frames_min_psnr_db", c.frames->thresholds.min_psnr_db);
      f.set_attr(grp, "frames_min_ssim", c.frames->thresholds.min_ssim);
      f.set_attr(grp, "frames_ssim", std::string(ssim_kind_name(c.frames->ssim)));
      if (c.frames->thresholds.max_mad) f.set_attr(grp, "frames_max_mad", *c.frames->thresholds.max_mad);
      f.set_attr(grp, "frames_parity_mad_mean", c.frames->parity_mad_mean);
      f.set_attr(grp, "frames_parity_mad_max", c.frames->parity_mad_max);
      const auto frames = [&](const char* which, const Video& video) {
        write_frames(f, fmt::format("{}/frames_{}", grp, which), video, k_rollout_fps,
                     fmt::format("decoded frames of the {} rollout, uint8 RGB [frames, height, width, 3]", which));
      };
      frames("allgather", c.frames->videos.allgather);
      frames("sharded", c.frames->videos.sharded);
      frames("reference", c.frames->videos.reference);
    }
  }
}

}  // namespace

void write_golden(const GoldenFile& g, const std::string& path, bool overwrite) {
  write_golden_atomically(path, overwrite, g.provenance, [&](h5::File& f) { write_contents(g, f); });
}

namespace {

class Reader {
 public:
  explicit Reader(const std::string& path) : path_(path), f_(open(path)) {}

  GoldenFile read() {
    GoldenFile g;
    g.path = path_;
    check_schema();
    // Provenance is every string attribute of the root; attributes of other types are
    // optional additions of a newer writer, which this reader ignores (SCHEMA.md).
    std::vector<std::string> set_ids, case_ids;
    try {
      for (const auto& name : f_.attr_names("/"))
        if (name != "schema_version" && f_.attr_is_string("/", name))
          g.provenance[name] = f_.attr_string("/", name);
      if (!frames_only()) {
        set_ids = f_.members("/input_sets");
        case_ids = f_.members("/cases");
      }
    } catch (const h5::H5Error& e) {
      throw GoldenError(e.what());
    }
    for (const auto& id : set_ids) g.input_sets.emplace(id, read_set(id));
    for (const auto& id : case_ids) g.cases.push_back(read_case(id, g));
    if (g.cases.empty() && !frames_only()) fail("/cases", "no cases");
    return g;
  }

 private:
  static h5::File open(const std::string& path) {
    try {
      return h5::File::open(path);
    } catch (const h5::H5Error& e) {
      throw GoldenError(e.what());
    }
  }

  [[noreturn]] void fail(const std::string& object, const std::string& reason) const {
    throw GoldenError(fmt::format("{}: {}: {}", path_, object, reason));
  }

  // A golden of frames alone (`ffn-parity frames bless`) has no cases.
  bool frames_only() const { return !f_.exists("/cases") && f_.exists("/frames"); }

  // Every HDF5 failure below becomes one line naming the object.
  template <class F>
  auto guarded(F&& f) const {
    try {
      return f();
    } catch (const h5::H5Error& e) {
      throw GoldenError(e.what());
    }
  }

  void check_schema() const {
    if (!f_.has_attr("/", "schema")) fail("/", "missing attribute 'schema': not an ffn-parity golden");
    const std::string schema = guarded([&] { return f_.attr_string("/", "schema"); });
    if (schema != k_golden_schema)
      fail("/@schema", fmt::format("is '{}', expected '{}'", schema, k_golden_schema));
    const std::int64_t v = guarded([&] { return f_.attr_int("/", "schema_version"); });
    if (v > k_golden_schema_version)
      fail("/@schema_version", fmt::format("{} is newer than this build reads ({}): upgrade ffn-parity", v,
                                           k_golden_schema_version));
    if (v < 1) fail("/@schema_version", fmt::format("{} is not a valid version", v));
  }

  // A float dataset of the expected shape whose values lie on the grid of `grid`.
  std::vector<float> read_values(const std::string& name, const std::vector<std::int64_t>& shape,
                                 DType grid) const {
    const h5::TensorData t = guarded([&] { return f_.read(name); });
    if (t.type != h5::ElementType::f32 && t.type != h5::ElementType::f64)
      fail(name, "is not a float dataset");
    if (t.shape != shape)
      fail(name, fmt::format("shape [{}] does not match the expected [{}]", fmt::join(t.shape, ", "),
                             fmt::join(shape, ", ")));
    std::vector<float> v(t.f64.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const double x = t.f64[i];
      if (std::isnan(x)) fail(name, fmt::format("holds NaN at flat index {}", i));
      if (std::isinf(x)) fail(name, fmt::format("holds {}inf at flat index {}", x < 0 ? "-" : "+", i));
      if (!is_representable(grid, x))
        fail(name, fmt::format("value {} at flat index {} is not on the {} grid", x, i, dtype_name(grid)));
      v[i] = static_cast<float>(x);
    }
    return v;
  }

  Matrix<float> read_matrix(const std::string& name, std::int64_t rows, std::int64_t cols, DType grid) const {
    const std::vector<float> v = read_values(name, {rows, cols}, grid);
    Matrix<float> m(rows, cols);
    std::copy(v.begin(), v.end(), m.data());
    return m;
  }

  GoldenInputSet read_set(const std::string& id) const {
    const std::string grp = "/input_sets/" + id;
    return guarded([&] {
      GoldenInputSet s;
      s.id = id;
      InputConfig& c = s.config;
      c.shape.name = f_.attr_string(grp, "shape");
      c.shape.dim = f_.attr_int(grp, "dim");
      c.shape.inner = f_.attr_int(grp, "inner");
      if (f_.has_attr(grp, "bias")) {
        const std::int64_t bias = f_.attr_int(grp, "bias");
        if (bias != 0 && bias != 1) fail(grp + "@bias", fmt::format("{} is neither 0 nor 1", bias));
        c.shape.bias = bias == 1;
      }
      if (f_.has_attr(grp, "activation")) {
        const std::string name = f_.attr_string(grp, "activation");
        const auto a = parse_activation(name);
        if (!a) fail(grp + "@activation", fmt::format("unknown activation '{}'", name));
        const std::string rounding = f_.attr_string(grp, "act_rounding");
        const auto r = parse_act_rounding(rounding);
        if (!r) fail(grp + "@act_rounding", fmt::format("unknown rounding '{}'", rounding));
        c.shape.activation = *a;
        c.shape.activation.rounding = *r;
      }
      c.tokens = f_.attr_int(grp, "tokens");
      c.seed = static_cast<std::uint64_t>(f_.attr_int(grp, "seed"));
      const std::string precision = f_.attr_string(grp, "precision");
      const auto p = find_precision(precision);
      if (!p) fail(grp, fmt::format("precision '{}' cannot be run by this build", precision));
      c.dtype = p->activation;
      c.scheme = p->scheme;
      // Quantized checkpoints are stored as their fp32 masters and quantized on reading.
      const DType weight_grid = p->quantized() ? DType::fp32 : c.dtype;
      c.outlier_channels = static_cast<int>(f_.attr_int(grp, "outlier_channels"));
      c.outlier_scale = f_.attr_double(grp, "outlier_scale");
      if (c.shape.dim <= 0 || c.shape.inner <= 0 || c.tokens <= 0)
        fail(grp, fmt::format("dims {}x{} with {} tokens cannot be run", c.shape.dim, c.shape.inner, c.tokens));
      // The group name is the key cases are run by (check_golden looks a case's inputs up
      // by input_set_id): attributes that disagree with it describe other inputs.
      if (input_set_id(c) != id)
        fail(grp, fmt::format("group name does not match its attributes, which describe '{}'", input_set_id(c)));
      const std::string mode = f_.attr_string(grp, "inputs");
      if (mode != "full" && mode != "seeded" && mode != "real")
        fail(grp + "@inputs", fmt::format("unknown input mode '{}'", mode));
      s.mode = mode == "full" ? InputMode::full : mode == "real" ? InputMode::real : InputMode::seeded;
      if (s.mode == InputMode::real) s.real = read_real_record(grp, c);
      for (const char* name : {"x", "proj_in.weight", "proj_in.bias", "proj_out.weight", "proj_out.bias"})
        if (c.shape.bias || !std::string_view(name).ends_with(".bias"))
          s.sha256[name] = f_.attr_string(grp, std::string("sha256:") + name);
      if (s.mode == InputMode::full) {
        FfnInputs in;
        in.x = read_matrix(grp + "/x", c.tokens, c.shape.dim, c.dtype);
        const std::int64_t in_rows = c.shape.proj_in_rows();
        in.weights.activation = c.shape.activation;
        in.weights.w_in = read_matrix(grp + "/proj_in.weight", in_rows, c.shape.dim, weight_grid);
        if (c.shape.bias) in.weights.b_in = read_values(grp + "/proj_in.bias", {in_rows}, c.dtype);
        in.weights.w_out = read_matrix(grp + "/proj_out.weight", c.shape.dim, c.shape.inner, weight_grid);
        if (c.shape.bias) in.weights.b_out = read_values(grp + "/proj_out.bias", {c.shape.dim}, c.dtype);
        // The digests guard against a file that is well-formed but holds other tensors.
        for (const auto& [name, values] : named_tensors(in))
          if (sha256_hex(values) != s.sha256.at(name))
            fail(grp + "/" + name, "SHA-256 of the stored tensor does not match its recorded digest");
        if (p->quantized()) quantize_checkpoint(in.weights, c);
        s.tensors = std::move(in);
      }
      const h5::TensorData ref = f_.read(grp + "/reference");
      if (ref.type != h5::ElementType::f64 || ref.shape != std::vector<std::int64_t>{c.tokens, c.shape.dim})
        fail(grp + "/reference", fmt::format("expected float64 [{}, {}]", c.tokens, c.shape.dim));
      s.reference = Matrix<double>(c.tokens, c.shape.dim);
      for (std::size_t i = 0; i < ref.f64.size(); ++i) {
        if (!std::isfinite(ref.f64[i])) fail(grp + "/reference", fmt::format("non-finite value at flat index {}", i));
        s.reference.data()[i] = ref.f64[i];
      }
      return s;
    });
  }

  RealInputRecord read_real_record(const std::string& grp, const InputConfig& c) const {
    RealInputRecord r;
    RealInputSpec& spec = r.spec;
    spec.weights = f_.attr_string(grp, "weights");
    spec.layer = static_cast<int>(f_.attr_int(grp, "layer"));
    const std::string stream = f_.attr_string(grp, "stream");
    if (stream != "video" && stream != "audio") fail(grp + "@stream", fmt::format("unknown stream '{}'", stream));
    spec.stream = stream == "audio" ? FfnStream::audio : FfnStream::video;
    spec.activations = f_.attr_string(grp, "activations");
    spec.tokens = c.tokens;
    spec.seed = c.seed;
    r.layout = f_.attr_string(grp, "checkpoint_layout");
    r.activations_group = f_.attr_string(grp, "activations_group");
    for (const std::string& name : f_.attr_names(grp)) {
      if (!name.starts_with("tensor:")) continue;
      const std::string role = name.substr(7);
      CheckpointTensor t;
      t.role = role;
      t.name = f_.attr_string(grp, name);
      t.file = f_.attr_string(grp, "file:" + role);
      r.stored_sha256[role] = f_.attr_string(grp, "sha256_stored:" + role);
      r.tensors.push_back(std::move(t));
    }
    const auto name_of = [&](const std::string& role) {
      for (const CheckpointTensor& t : r.tensors)
        if (t.role == role) return t.name;
      fail(grp, fmt::format("a set of real inputs without the attribute 'tensor:{}'", role));
    };
    spec.names.proj_in_weight = name_of("proj_in.weight");
    spec.names.proj_in_bias = name_of("proj_in.bias");
    spec.names.proj_out_weight = name_of("proj_out.weight");
    spec.names.proj_out_bias = name_of("proj_out.bias");
    return r;
  }

  GoldenCase read_case(const std::string& id, const GoldenFile& g) const {
    const std::string grp = "/cases/" + id;
    return guarded([&] {
      GoldenCase c;
      c.id = id;
      c.input_set = f_.attr_string(grp, "input_set");
      const auto set = g.input_sets.find(c.input_set);
      if (set == g.input_sets.end())
        fail(grp + "@input_set", fmt::format("names '{}', which is not in /input_sets", c.input_set));
      const InputConfig& ic = set->second.config;
      CaseConfig& cc = c.config;
      cc.shape = ic.shape, cc.tokens = ic.tokens, cc.dtype = ic.dtype, cc.scheme = ic.scheme, cc.seed = ic.seed;
      cc.outlier_channels = ic.outlier_channels, cc.outlier_scale = ic.outlier_scale;
      cc.tp = static_cast<int>(f_.attr_int(grp, "tp"));
      if (cc.tp < 1 || ic.shape.dim % cc.tp != 0 || ic.shape.inner % cc.tp != 0)
        fail(grp + "@tp", fmt::format("tp {} does not divide the dims {}x{}", cc.tp, ic.shape.dim, ic.shape.inner));
      const std::string model = f_.attr_string(grp, "allreduce");
      const auto m = parse_allreduce_model(model);
      if (!m) fail(grp + "@allreduce", fmt::format("AllReduce model '{}' cannot be run by this build", model));
      cc.allreduce = *m;
      c.tolerance = {f_.attr_double(grp, "rtol"), f_.attr_double(grp, "atol")};
      c.drift_budget_scale = f_.attr_double(grp, "drift_budget_scale");
      if (!(c.drift_budget_scale > 0)) fail(grp + "@drift_budget_scale", "must be positive");
      c.record = {f_.attr_double(grp, "parity_rel_l2"),   f_.attr_double(grp, "allgather_ref_rel_l2"),
                  f_.attr_double(grp, "sharded_ref_rel_l2"), f_.attr_double(grp, "parity_margin"),
                  f_.attr_double(grp, "allgather_ref_margin"), f_.attr_double(grp, "sharded_ref_margin")};
      c.allgather = read_matrix(grp + "/allgather", ic.tokens, ic.shape.dim, ic.dtype);
      c.sharded = read_matrix(grp + "/sharded", ic.tokens, ic.shape.dim, ic.dtype);
      if (f_.exists(grp + "/frames_allgather")) c.frames = read_case_frames(grp);
      return c;
    });
  }

  GoldenCase::Frames read_case_frames(const std::string& grp) const {
    GoldenCase::Frames fr;
    RolloutConfig& r = fr.rollout;
    r.layers = static_cast<int>(f_.attr_int(grp, "rollout_layers"));
    r.patch = static_cast<int>(f_.attr_int(grp, "rollout_patch"));
    const std::string grid = f_.attr_string(grp, "rollout_grid");
    if (std::sscanf(grid.c_str(), "%dx%dx%d", &r.frames, &r.height, &r.width) != 3 || r.layers < 1 || r.patch < 1 ||
        r.frames < 1 || r.height < 1 || r.width < 1)
      fail(grp + "@rollout_grid", fmt::format("'{}' with {} layers and patch {} is not a rollout", grid, r.layers, r.patch));
    fr.thresholds = {f_.attr_double(grp, "frames_min_psnr_db"), f_.attr_double(grp, "frames_min_ssim")};
    // Goldens blessed before --ssim and MAD scored frames with the Gaussian SSIM and had no MAD.
    if (f_.has_attr(grp, "frames_ssim")) {
      const std::string name = f_.attr_is_string(grp, "frames_ssim") ? f_.attr_string(grp, "frames_ssim") : "";
      const std::optional<SsimKind> kind = parse_ssim_kind(name);
      if (!kind) fail(grp + "@frames_ssim", fmt::format("'{}' is not an SSIM definition (gaussian, skimage)", name));
      fr.ssim = *kind;
    }
    if (f_.has_attr(grp, "frames_max_mad")) fr.thresholds.max_mad = f_.attr_double(grp, "frames_max_mad");
    if (f_.has_attr(grp, "frames_parity_mad_mean")) {
      fr.parity_mad_mean = f_.attr_double(grp, "frames_parity_mad_mean");
      fr.parity_mad_max = f_.attr_double(grp, "frames_parity_mad_max");
    }
    fr.videos = {read_frames(f_, grp + "/frames_allgather"), read_frames(f_, grp + "/frames_sharded"),
                 read_frames(f_, grp + "/frames_reference")};
    for (const Video* v : {&fr.videos.allgather, &fr.videos.sharded, &fr.videos.reference})
      // In 64 bits: the attributes are the file's, and their product may not fit an int.
      if (v->size() != static_cast<std::size_t>(r.frames) ||
          v->front().rows != static_cast<std::int64_t>(r.height) * r.patch ||
          v->front().cols != static_cast<std::int64_t>(r.width) * r.patch)
        fail(grp, fmt::format("stored frames do not match the rollout grid {} with patch {}", grid, r.patch));
    return fr;
  }

  std::string path_;
  h5::File f_;
};

}  // namespace

GoldenFile read_golden(const std::string& path) { return Reader(path).read(); }

}  // namespace ffn
