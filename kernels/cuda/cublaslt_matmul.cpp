#include "kernels/cuda/cublaslt_matmul.hpp"

#include <fmt/format.h>

#include <string>

#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/device_buffer.hpp"

namespace ffn::cuda {

namespace {

// One handle and one workspace for the process; created on first use, so that a process
// without a device fails only when it actually asks for a GEMM.
class LtContext {
 public:
  // Never destroyed: at exit the CUDA runtime may be unloaded before static destructors run.
  static LtContext& get() {
    static LtContext* context = new LtContext();
    return *context;
  }
  cublasLtHandle_t handle() const { return handle_; }
  void* workspace() const { return workspace_.get(); }
  std::size_t workspace_bytes() const { return workspace_.size(); }

 private:
  LtContext() : workspace_(32u << 20) { check(cublasLtCreate(&handle_), "cublasLtCreate"); }
  cublasLtHandle_t handle_ = nullptr;
  DeviceBuffer<unsigned char> workspace_;
};

template <class Handle, cublasStatus_t (*Destroy)(Handle)>
struct Owned {
  Handle h = nullptr;
  ~Owned() {
    if (h) Destroy(h);
  }
};
using MatmulDesc = Owned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using Layout = Owned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using Preference = Owned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

template <class T>
void set(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const T& v) {
  check(cublasLtMatmulDescSetAttribute(d, a, &v, sizeof v), "cublasLtMatmulDescSetAttribute");
}
template <class T>
void set(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a, const T& v) {
  check(cublasLtMatrixLayoutSetAttribute(l, a, &v, sizeof v), "cublasLtMatrixLayoutSetAttribute");
}

// Column-major rows x cols with leading dimension ld; batches `stride` elements apart.
void make_layout(Layout& l, cudaDataType_t type, std::int64_t rows, std::int64_t cols, std::int64_t ld, int batches,
                 std::int64_t stride) {
  check(cublasLtMatrixLayoutCreate(&l.h, type, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols), ld),
        "cublasLtMatrixLayoutCreate");
  if (batches > 1) {
    set(l.h, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, static_cast<std::int32_t>(batches));
    set(l.h, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, stride);
  }
}

}  // namespace

void matmul_xwt(const MatmulOperands& op, cudaStream_t stream) {
  LtContext& lt = LtContext::get();
  const bool integer = op.compute == CUBLAS_COMPUTE_32I;
  MatmulDesc desc;
  check(cublasLtMatmulDescCreate(&desc.h, op.compute, integer ? CUDA_R_32I : CUDA_R_32F), "cublasLtMatmulDescCreate");
  set(desc.h, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
  set(desc.h, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
  if (op.bias) {
    set(desc.h, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_BIAS);
    set(desc.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER, op.bias);
  }
  // Column-major view: A = w^T stored as [k, n] (ld ldw), B = x^T as [k, tokens], D = y^T as [n, tokens].
  Layout a, b, d;
  make_layout(a, op.in_type, op.k, op.n, op.ldw, op.batches, op.k);
  make_layout(b, op.in_type, op.k, op.tokens, op.ldx, op.batches, op.k);
  make_layout(d, op.out_type, op.n, op.tokens, op.n, op.batches, op.n * op.tokens);

  Preference pref;
  check(cublasLtMatmulPreferenceCreate(&pref.h), "cublasLtMatmulPreferenceCreate");
  const std::uint64_t ws = lt.workspace_bytes();
  check(cublasLtMatmulPreferenceSetAttribute(pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
        "cublasLtMatmulPreferenceSetAttribute");

  // The first algorithm whose split-K partials (if any) are summed in the compute type: an
  // output-type (bf16) reduction would round the partials, and the reference rounds once.
  constexpr int k_candidates = 16;
  cublasLtMatmulHeuristicResult_t candidates[k_candidates]{};
  int returned = 0;
  check(cublasLtMatmulAlgoGetHeuristic(lt.handle(), desc.h, a.h, b.h, d.h, d.h, pref.h, k_candidates, candidates,
                                       &returned),
        "cublasLtMatmulAlgoGetHeuristic");
  const bool narrow_output = op.out_type == CUDA_R_16BF || op.out_type == CUDA_R_16F;
  const cublasLtMatmulHeuristicResult_t* chosen = nullptr;
  for (int i = 0; i < returned && !chosen; ++i) {
    if (candidates[i].state != CUBLAS_STATUS_SUCCESS) continue;
    std::uint32_t scheme = CUBLASLT_REDUCTION_SCHEME_NONE;
    std::size_t written = 0;
    check(cublasLtMatmulAlgoConfigGetAttribute(&candidates[i].algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &scheme,
                                               sizeof scheme, &written),
          "cublasLtMatmulAlgoConfigGetAttribute");
    if (!narrow_output || scheme == CUBLASLT_REDUCTION_SCHEME_NONE || scheme == CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE)
      chosen = &candidates[i];
  }
  if (!chosen)
    throw CudaError(fmt::format("cublasLtMatmulAlgoGetHeuristic: no algorithm for [{}x{}]x[{}x{}]^T (input type {}, "
                                "output type {}) without a reduction in the output type",
                                op.tokens, op.k, op.n, op.k, static_cast<int>(op.in_type),
                                static_cast<int>(op.out_type)));
  const float alpha_f = 1, beta_f = 0;
  const std::int32_t alpha_i = 1, beta_i = 0;
  const void* alpha = integer ? static_cast<const void*>(&alpha_i) : &alpha_f;
  const void* beta = integer ? static_cast<const void*>(&beta_i) : &beta_f;
  check(cublasLtMatmul(lt.handle(), desc.h, alpha, op.w, a.h, op.x, b.h, beta, op.y, d.h, op.y, d.h, &chosen->algo,
                       lt.workspace(), lt.workspace_bytes(), stream),
        "cublasLtMatmul");
}

const char* cublaslt_version_string() {
  static const std::string s = [] {
    int runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    return fmt::format("cuBLASLt {} (CUDA runtime {})", cublasLtGetVersion(), runtime);
  }();
  return s.c_str();
}

}  // namespace ffn::cuda
