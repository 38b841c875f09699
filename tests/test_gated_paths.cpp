// Gated MLPs (SwiGLU, GEGLU) and MLPs without bias through both paths: the merged
// column-parallel layer's shard layout against the loader's rule, the paths against an
// independent fp64 evaluation, quantized merged linears, the gate/up faults, and the
// elementwise invariant catching an activation typo shared by both paths under quantization.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/run/case_runner.hpp"
#include "harness/tp/ffn_paths.hpp"
#include "harness/tp/parallel_linear.hpp"
#include "harness/tp/simulated_communicator.hpp"
#include "harness/verdict/elementwise_invariant.hpp"
#include "kernels/cpu/activation.hpp"
#include "kernels/forwarding_kernels.hpp"
#include "kernels/rounding.hpp"

using namespace ffn;

namespace {

FfnShape gated_shape(ActFn fn, bool bias = false) {
  return {"gated-test", 64, 96, 4, bias, Activation{fn, true}};
}

// An independent fp64 evaluation of act(x G^T + b_g) * (x U^T + b_u), then the down projection,
// from the fused tensor's halves read element by element.
Matrix<double> gated_mlp_fp64(const Matrix<float>& x, const FfnWeights& w) {
  const std::int64_t n = w.inner(), dim = w.dim();
  Matrix<double> y(x.rows(), dim);
  for (std::int64_t t = 0; t < x.rows(); ++t) {
    std::vector<double> a(static_cast<std::size_t>(n));
    for (std::int64_t k = 0; k < n; ++k) {
      double g = w.b_in.empty() ? 0.0 : w.b_in[k], u = w.b_in.empty() ? 0.0 : w.b_in[n + k];
      for (std::int64_t j = 0; j < dim; ++j) {
        g += double(x(t, j)) * w.w_in(k, j);
        u += double(x(t, j)) * w.w_in(n + k, j);
      }
      a[k] = cpu::act(w.activation.fn, g) * u;
    }
    for (std::int64_t j = 0; j < dim; ++j) {
      double s = w.b_out.empty() ? 0.0 : w.b_out[j];
      for (std::int64_t k = 0; k < n; ++k) s += a[k] * w.w_out(j, k);
      y(t, j) = s;
    }
  }
  return y;
}

// The tiny shape, 8 tokens, tp 1 and 2, in `precisions`.
SweepConfig tiny_sweep(std::initializer_list<const char*> precisions) {
  SweepConfig sweep;
  sweep.shape = *find_shape("tiny");
  sweep.tokens = 8;
  sweep.tps = {1, 2};
  sweep.precisions.clear();
  for (const char* p : precisions) sweep.precisions.push_back(*find_precision(p));
  return sweep;
}

// A backend computing with `kernels` (faulty ones) and the CPU's communicators.
Backend backend_with(std::shared_ptr<const Kernels> kernels, const char* name) {
  Backend b = cpu_backend();
  b.name = name;
  b.kernels = std::move(kernels);
  return b;
}

double rel_l2(const Matrix<float>& a, const Matrix<double>& e) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a.data()[i] - e.data()[i]) * (a.data()[i] - e.data()[i]);
    den += e.data()[i] * e.data()[i];
  }
  return std::sqrt(num / den);
}

}  // namespace

TEST_CASE("MergedColumnParallelLinear: rank r computes [gate_r | up_r], each half sharded on its own", "[gated]") {
  // Weight rows numbered by value: row i of the fused [gate; up] holds i in column 0.
  const std::int64_t n = 8, in = 3;
  Matrix<float> w(2 * n, in);
  for (std::int64_t i = 0; i < 2 * n; ++i) w(i, 0) = float(i);
  Matrix<float> x(1, in);
  x(0, 0) = 1;
  for (int tp : {1, 2, 4}) {
    SimulatedCommunicator comm(tp, AllReduceModel::ring);
    const RankTensors y = MergedColumnParallelLinear("proj_in", w, {}, comm, DType::fp32).forward(RankTensors(tp, x));
    REQUIRE(y.size() == std::size_t(tp));
    for (int r = 0; r < tp; ++r) {
      INFO("tp " << tp << " rank " << r);
      const std::int64_t rows = n / tp;
      REQUIRE(y[r].cols() == 2 * rows);
      for (std::int64_t k = 0; k < rows; ++k) {
        CHECK(y[r](0, k) == float(r * rows + k));             // gate row r*rows + k
        CHECK(y[r](0, rows + k) == float(n + r * rows + k));  // up row n + r*rows + k
      }
    }
    // The gate/up-swapped fault puts up first.
    const RankTensors s =
        MergedColumnParallelLinear("proj_in", w, {}, comm, DType::fp32, nullptr, cpu_kernels(), true).forward(RankTensors(tp, x));
    CHECK(s[0](0, 0) == float(n));
  }
  SimulatedCommunicator three(3, AllReduceModel::ring);
  CHECK_THROWS_WITH(MergedColumnParallelLinear("proj_in", w, {}, three, DType::fp32),
                    Catch::Matchers::Contains("proj_in: output (of gate and of up, each) size 8 is not divisible by tp 3"));
  Matrix<float> odd(5, in);
  CHECK_THROWS_WITH(MergedColumnParallelLinear("proj_in", odd, {}, three, DType::fp32),
                    Catch::Matchers::Contains("5 rows do not split into gate and up halves"));
}

TEST_CASE("gated paths: both paths at every tp against an independent fp64 evaluation; tp 1 bit-identical",
          "[gated]") {
  for (ActFn fn : {ActFn::silu, ActFn::gelu, ActFn::gelu_tanh})
    for (bool bias : {false, true}) {
      const FfnInputs in = make_inputs({gated_shape(fn, bias), 4, 7, DType::bf16});
      REQUIRE(in.weights.w_in.rows() == 2 * 96);
      const Matrix<double> expected = gated_mlp_fp64(in.x, in.weights);
      const ReferenceResult ref = ffn_reference(in.x, in.weights);
      CHECK(rel_l2(convert<float>(ref.output), expected) < 1e-6);
      for (int tp : {1, 2, 4, 8}) {
        INFO(act_fn_name(fn) << " bias " << bias << " tp " << tp);
        SimulatedCommunicator comm(tp, AllReduceModel::ring);
        FfnTrace ta, ts;
        const Matrix<float> a = ffn_allgather(in.x, in.weights, comm, DType::bf16, &ta);
        const Matrix<float> s = ffn_sharded(in.x, in.weights, comm, DType::bf16, nullptr, &ts);
        CHECK(rel_l2(a, expected) < 2e-2);
        CHECK(rel_l2(s, expected) < 2e-2);
        // The traces hold the logical [gate | up] layout on both paths: the same proj_in outputs.
        CHECK(ta.hidden == ts.hidden);
        CHECK(ta.activation == ts.activation);
        if (tp == 1) CHECK(a == s);
      }
    }
}

TEST_CASE("gated paths: native rounding rounds the activation before the product", "[gated]") {
  FfnShape shape = gated_shape(ActFn::silu);
  const FfnInputs fused = make_inputs({shape, 4, 3, DType::bf16});
  shape.activation.rounding = ActRounding::native;
  const FfnInputs native = make_inputs({shape, 4, 3, DType::bf16});
  CHECK(fused.weights.w_in == native.weights.w_in);  // the same checkpoint
  SimulatedCommunicator comm(2, AllReduceModel::ring);
  FfnTrace tf, tn;
  ffn_sharded(fused.x, fused.weights, comm, DType::bf16, nullptr, &tf);
  ffn_sharded(native.x, native.weights, comm, DType::bf16, nullptr, &tn);
  CHECK(tf.hidden == tn.hidden);
  CHECK(tf.activation != tn.activation);
  CHECK(cpu::activation(tn.hidden, native.weights.activation, DType::bf16) == tn.activation);
}

TEST_CASE("gated quantized: every scheme runs, one scale per logical weight for per-tensor schemes", "[gated]") {
  FfnShape shape{"gated-q", 256, 256, 4, false, Activation{ActFn::silu, true}};
  for (const char* name : {"fp8-static", "fp8-dynamic-tensor"}) {
    INFO(name);
    const Precision p = *find_precision(name);
    const FfnInputs in = make_inputs({shape, 4, 1, DType::bf16, p.scheme});
    const QuantizedMatrix& q = in.weights.quant->proj_in.weight;
    // Per-row scales: gate rows share the gate's per-tensor scale, up rows the up's, and they differ.
    REQUIRE(q.block_rows == 1);
    CHECK(q.scales(0, 0) == q.scales(255, 0));
    CHECK(q.scales(256, 0) == q.scales(511, 0));
    CHECK(q.scales(0, 0) != q.scales(256, 0));
  }
  SweepConfig sweep;
  sweep.shape = shape;
  sweep.tokens = 4;
  sweep.tps = {1, 2};
  for (const Precision& p : precision_presets())
    if (p.quantized()) sweep.precisions.push_back(p);
  const std::vector<CaseResult> results = run_cases(expand(sweep));
  CHECK(results.size() == sweep.precisions.size() * 2);
  for (const CaseResult& r : results) {
    INFO(r.config.name() << ": " << r.reason);
    CHECK(r.pass);
    CHECK(r.sharded_activation_op.pass());
  }
}

namespace {
// The CPU kernels with a typo in GELU-tanh's fp32 constant sqrt(2/pi) = 0.79788..., written
// 0.8000 (0.27% off), shared by both paths as a wrong kernel would be. (0.7980 is invisible
// even to the invariant at this size: bf16 rounding absorbs it on all 2048 elements.)
class TypoKernels final : public ForwardingKernels {
 public:
  TypoKernels() : ForwardingKernels(cpu_kernels()) {}
  Matrix<float> activation(const Matrix<float>& h, const Activation& a, DType out) const override {
    if (a.gated) throw std::logic_error("ungated only");
    Matrix<float> y(h.rows(), h.cols());
    for (std::size_t i = 0; i < h.size(); ++i) {
      const float v = h.data()[i];
      y.data()[i] = round_to(out, 0.5f * v * (1.0f + std::tanh(0.8000f * (v + 0.044715f * v * v * v))));
    }
    return y;
  }
};
}  // namespace

TEST_CASE("an activation typo shared by both paths hides below quantization error but fails the op invariant",
          "[gated][invariant]") {
  const Backend typo = backend_with(std::make_shared<TypoKernels>(), "typo");
  for (const CaseResult& r :
       run_cases(expand(tiny_sweep({"fp8-dynamic", "int8", "nvfp4"})), {}, {}, nullptr, {}, typo)) {
    INFO(r.config.name() << ": " << r.reason);
    // Every other check passes: parity (the typo is shared), each path against the reference
    // (the error hides below the quantization budget), the activations against the reference...
    CHECK(r.parity.verdict.pass);
    CHECK(r.allgather_ref.verdict.pass);
    CHECK(r.sharded_ref.verdict.pass);
    // ...and the invariant does not.
    CHECK_FALSE(r.allgather_activation_op.pass());
    CHECK_FALSE(r.sharded_activation_op.pass());
    CHECK_FALSE(r.pass);
    CHECK_THAT(r.reason, Catch::Matchers::Contains("activation op: "));
  }
}

TEST_CASE("quantization steps judged on their own inputs: scales from the block amax, codes within the rounding",
          "[invariant]") {
  Matrix<float> x(4, 64);
  for (std::size_t i = 0; i < x.size(); ++i) x.data()[i] = round_to(DType::bf16, std::sin(0.37 * double(i)) * 3.0);
  for (const Precision& p : precision_presets()) {
    if (!p.quantized()) continue;
    INFO(p.name);
    const SchemeLayout l = scheme_layout(p.scheme);
    if (l.static_input && !l.input.two_level) {
      const QuantizedMatrix q = cpu_kernels().quantize_static(x.view(), l.input.format, 0.0125f);
      CHECK(check_quantize_static_op(x.view(), q, 0.0125f).pass());
      CHECK_FALSE(check_quantize_static_op(x.view(), q, 0.0126f).pass());  // another scale than the layer's
      continue;
    }
    const float global = l.input.two_level ? 0.004f : 1.0f;
    QuantizedMatrix q = cpu_kernels().quantize(x.view(), l.input, global, nullptr);
    const ElementwiseCheck ok = check_quantize_op(x.view(), q, l.input, global, nullptr);
    CHECK(ok.pass());
    CHECK(ok.checked == std::int64_t(x.size()));
    // A code one step off, and a scale from a mistyped maximum.
    QuantizedMatrix code = q;
    code.values(1, 5) = code.values(1, 5) + (l.input.format == QuantFormat::int8 ? 1.0f : code.values(1, 5) * 0.25f + 0.5f);
    CHECK_FALSE(check_quantize_op(x.view(), code, l.input, global, nullptr).pass());
    QuantizedMatrix scale = q;
    scale.scales(0, 0) *= 448.0f / 447.0f;
    CHECK_FALSE(check_quantize_op(x.view(), scale, l.input, global, nullptr).pass());
  }
}

namespace {
// The CPU kernels with a dynamic quantization step that truncates its codes toward zero instead
// of rounding to nearest, shared by both paths as a wrong kernel would be.
class TruncatingQuantizeKernels final : public ForwardingKernels {
 public:
  TruncatingQuantizeKernels() : ForwardingKernels(cpu_kernels()) {}
  QuantizedMatrix quantize(MatrixView<float> x, const ScaleLayout& l, float g, const Matrix<float>* amax) const override {
    QuantizedMatrix q = inner().quantize(x, l, g, amax);
    for (std::int64_t i = 0; i < x.rows; ++i)
      for (std::int64_t j = 0; j < x.cols; ++j) {
        const float s = q.scale(i, j);
        if (s == 0) continue;
        // The grid point toward zero from x / s: the format's rounding of the value mirrored
        // around x / s when rounding went away from zero.
        const float exact = x(i, j) / s, r = q.values(i, j);
        if (std::fabs(r) > std::fabs(exact)) q.values(i, j) = quantize_value(q.format, exact - (r - exact));
      }
    return q;
  }
};
}  // namespace

TEST_CASE("a quantization step that truncates, shared by both paths, fails the quantization invariant",
          "[gated][invariant]") {
  const Backend wrong = backend_with(std::make_shared<TruncatingQuantizeKernels>(), "truncating-quantize");
  SweepConfig sweep = tiny_sweep({"fp8-dynamic", "int8"});
  for (const CaseResult& r : run_cases(expand(sweep), {}, {}, nullptr, {}, wrong)) {
    INFO(r.config.name() << ": " << r.reason);
    CHECK(r.parity.verdict.pass);  // shared by both paths: the parity cannot see it
    REQUIRE(r.sharded_quantize_op);
    CHECK_FALSE(r.allgather_quantize_op->pass());
    CHECK_FALSE(r.sharded_quantize_op->pass());
    CHECK_FALSE(r.pass);
    CHECK_THAT(r.reason, Catch::Matchers::Contains("quantization steps: "));
  }
  // The correct kernels pass it, and an unquantized case has nothing to judge there.
  for (const CaseResult& r : run_cases(expand(sweep))) {
    INFO(r.config.name());
    CHECK(r.pass);
    CHECK(r.sharded_quantize_op->pass());
  }
  sweep.precisions = {*find_precision("bf16")};
  CHECK_FALSE(run_cases(expand(sweep)).front().sharded_quantize_op);
}
