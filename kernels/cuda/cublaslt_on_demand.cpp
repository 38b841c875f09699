// cuBLASLt, opened when the backend first calls it. Linked the usual way, its 540 MB would be
// mapped and relocated at the start of every program of this build, CPU-only runs included:
// about 0.09 s and 150 MB of resident memory per start (measured on the 2-core build machine).
// The functions the backend calls are defined here instead, with cublasLt.h's signatures, and
// forward to the library, which dlopen finds at the path CMake found it at (else by its soname
// on the loader's path).
#include <dlfcn.h>
#include <fmt/format.h>

#include "kernels/cuda/cuda_check.hpp"

namespace ffn::cuda {
namespace {

void* cublaslt_library() {
  static void* const handle = [] {
    void* h = dlopen(FFN_CUBLASLT_PATH, RTLD_NOW | RTLD_LOCAL);
    return h != nullptr ? h : dlopen(FFN_CUBLASLT_SONAME, RTLD_NOW | RTLD_LOCAL);
  }();
  if (handle == nullptr)
    throw CudaError(fmt::format("cannot load cuBLASLt ({} or {} on the loader's path): {}", FFN_CUBLASLT_PATH,
                                FFN_CUBLASLT_SONAME, dlerror()));
  return handle;
}

// The library's definition of the function `Self` stands in for, looked up once.
template <auto Self>
auto real(const char* name) {
  static const auto function = [name] {
    void* symbol = dlsym(cublaslt_library(), name);
    if (symbol == nullptr) throw CudaError(fmt::format("cuBLASLt has no {}: {}", name, dlerror()));
    return reinterpret_cast<decltype(Self)>(symbol);
  }();
  return function;
}

}  // namespace
}  // namespace ffn::cuda

// The definition of `name` with parameters `params`, calling the library's with `args`.
#define FFN_FORWARD(name, params, args) \
  auto name params -> decltype(name args) { return ffn::cuda::real<&name>(#name) args; }

using LtHandle = cublasLtHandle_t;
using Desc = cublasLtMatmulDesc_t;
using Layout = cublasLtMatrixLayout_t;
using Pref = cublasLtMatmulPreference_t;

FFN_FORWARD(cublasLtCreate, (LtHandle * handle), (handle))
FFN_FORWARD(cublasLtGetVersion, (), ())
FFN_FORWARD(cublasLtGetStatusName, (cublasStatus_t status), (status))
FFN_FORWARD(cublasLtMatmulDescCreate, (Desc * desc, cublasComputeType_t compute, cudaDataType_t scale),
            (desc, compute, scale))
FFN_FORWARD(cublasLtMatmulDescDestroy, (Desc desc), (desc))
FFN_FORWARD(cublasLtMatmulDescSetAttribute,
            (Desc desc, cublasLtMatmulDescAttributes_t attr, const void* buf, size_t size), (desc, attr, buf, size))
FFN_FORWARD(cublasLtMatrixLayoutCreate, (Layout * layout, cudaDataType type, uint64_t rows, uint64_t cols, int64_t ld),
            (layout, type, rows, cols, ld))
FFN_FORWARD(cublasLtMatrixLayoutDestroy, (Layout layout), (layout))
FFN_FORWARD(cublasLtMatrixLayoutSetAttribute,
            (Layout layout, cublasLtMatrixLayoutAttribute_t attr, const void* buf, size_t size),
            (layout, attr, buf, size))
FFN_FORWARD(cublasLtMatmulPreferenceCreate, (Pref * pref), (pref))
FFN_FORWARD(cublasLtMatmulPreferenceDestroy, (Pref pref), (pref))
FFN_FORWARD(cublasLtMatmulPreferenceSetAttribute,
            (Pref pref, cublasLtMatmulPreferenceAttributes_t attr, const void* buf, size_t size),
            (pref, attr, buf, size))
FFN_FORWARD(cublasLtMatmulAlgoGetHeuristic,
            (LtHandle handle, Desc desc, Layout a, Layout b, Layout c, Layout d, Pref pref, int requested,
             cublasLtMatmulHeuristicResult_t results[], int* returned),
            (handle, desc, a, b, c, d, pref, requested, results, returned))
FFN_FORWARD(cublasLtMatmulAlgoConfigGetAttribute,
            (const cublasLtMatmulAlgo_t* algo, cublasLtMatmulAlgoConfigAttributes_t attr, void* buf, size_t size,
             size_t* written),
            (algo, attr, buf, size, written))
FFN_FORWARD(cublasLtMatmul,
            (LtHandle handle, Desc desc, const void* alpha, const void* a, Layout a_layout, const void* b,
             Layout b_layout, const void* beta, const void* c, Layout c_layout, void* d, Layout d_layout,
             const cublasLtMatmulAlgo_t* algo, void* workspace, size_t workspace_bytes, cudaStream_t stream),
            (handle, desc, alpha, a, a_layout, b, b_layout, beta, c, c_layout, d, d_layout, algo, workspace,
             workspace_bytes, stream))
