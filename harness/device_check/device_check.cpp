// ffn-parity-device-check: both FFN paths on the CUDA backend (all TP ranks on one GPU, the
// device-local communicator) and on the CPU reference backend, on identical inputs, over TP
// sizes and precisions; per case and path, how the backends agree (harness/verdict/backend_agreement)
// and each backend's error against the fp64 reference. Prints one table; exit 0 when every
// output agrees within tolerance, 1 when one does not, 2 on bad usage, 3 without a device.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "harness/bench/cuda_bench.hpp"
#include "harness/inputs/synthetic_inputs.hpp"
#include "harness/launch/backend.hpp"
#include "harness/tp/model_catalog.hpp"
#include "harness/verdict/backend_agreement.hpp"

namespace {

using namespace ffn;

struct Options {
  std::string shape = "ltx2-video";
  std::int64_t tokens = 256;
  std::vector<int> tps{1, 2, 4};
  std::vector<std::string> precisions{"fp32", "bf16", "fp16", "int8", "fp8-dynamic", "fp8-block"};
  AllReduceModel allreduce = AllReduceModel::ring;
  std::uint64_t seed = 0;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

void usage(std::FILE* to) {
  std::fprintf(to,
               "Usage: ffn-parity-device-check [--shape NAME|all] [--tokens N] [--tp 1,2,4] [--precision LIST]\n"
               "                               [--allreduce ring|oneshot|exact] [--seed N]\n"
               "       ffn-parity-device-check --bench [--quick]   (as ffn-parity-bench --backend cuda)\n"
               "Runs both FFN paths on the cuda and the cpu backend with the same inputs and prints how they\n"
               "agree (--shape all: every model of the catalog). Defaults: ltx2-video, 256 tokens, tp 1,2,4, fp32,bf16,fp16,int8,fp8-dynamic,fp8-block, ring.\n");
}

// Relative L2 of a - e against e (fp64 reference).
double rel_l2(const Matrix<float>& a, const Matrix<double>& e) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = a.data()[i] - e.data()[i];
    num += d * d;
    den += e.data()[i] * e.data()[i];
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// One shape's table: every precision and tp, both paths, cuda against cpu.
void sweep(const FfnShape& shape, const Options& o, const Backend& gpu, std::size_t& failed, std::size_t& total) {
  const Backend& cpu = cpu_backend();
  std::printf("# %s; %s\n# %s %lld tokens, AllReduce %s; agreement: relative L2 of cuda - cpu, tolerance by "
              "precision; vs ref: relative L2 against the fp64 reference\n",
              gpu.device.c_str(), gpu.libraries.c_str(), shape.name.c_str(), static_cast<long long>(o.tokens),
              std::string(allreduce_model_name(o.allreduce)).c_str());
  std::printf("%-12s %3s %-9s %10s %9s %9s %11s %11s %8s %8s  %s\n", "precision", "tp", "path", "cuda-cpu", "tolerance",
              "identical", "cuda-vs-ref", "cpu-vs-ref", "cuda_s", "cpu_s", "verdict");
  for (const std::string& name : o.precisions) {
    const auto p = find_precision(name);  // checked by main
    const FfnInputs in = make_inputs({shape, o.tokens, o.seed, p->activation, p->scheme});
    const ReferenceResult ref = ffn_reference(in.x, in.weights);
    for (int tp : o.tps) {
      try {
        Matrix<float> out[2][2];  // [backend][path]
        double seconds[2] = {0, 0};
        const Backend* backends[2] = {&gpu, &cpu};
        for (int b = 0; b < 2; ++b) {
          const auto start = std::chrono::steady_clock::now();
          auto comm = backends[b]->communicator(tp, o.allreduce);
          out[b][0] = ffn_allgather(in.x, in.weights, *comm, p->activation, nullptr, *backends[b]->kernels);
          out[b][1] = ffn_sharded(in.x, in.weights, *comm, p->activation, nullptr, nullptr, InputScaleScope::local,
                                  ShardedPathVariant{}, *backends[b]->kernels);
          seconds[b] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        }
        for (int path = 0; path < 2; ++path) {
          const BackendAgreement a = backend_agreement(out[0][path], out[1][path], *p, false);
          ++total;
          failed += !a.pass;
          std::printf("%-12s %3d %-9s %10.3g %9.3g %8.1f%% %11.3g %11.3g %8.2f %8.2f  %s\n", name.c_str(), tp,
                      path == 0 ? "allgather" : "sharded", a.rel_l2, a.tolerance, 100 * a.identical_share,
                      rel_l2(out[0][path], ref.output), rel_l2(out[1][path], ref.output), seconds[0], seconds[1],
                      a.pass ? "AGREE" : "DIFFER");
        }
      } catch (const std::exception& e) {
        // A scheme the device cannot run (nvfp4, fp8 before sm_89) or a shape a scheme refuses.
        std::printf("%-12s %3d %-9s %s\n", name.c_str(), tp, "-", e.what());
      }
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--bench") {
    const bool quick = argc == 3 && std::string(argv[2]) == "--quick";
    if (argc > 3 || (argc == 3 && !quick)) {
      std::fprintf(stderr, "ffn-parity-device-check: error: --bench takes only --quick\n");
      return 2;
    }
    try {
      return bench::run_cuda_bench(quick);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "ffn-parity-device-check: error: --bench: %s\n", e.what());
      return 2;
    }
  }
  Options o;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        usage(stdout);
        return 0;
      }
      if (i + 1 >= argc) throw std::invalid_argument(fmt::format("{}: needs a value", arg));
      const std::string value = argv[++i];
      if (arg == "--shape") o.shape = value;
      else if (arg == "--tokens") o.tokens = std::stoll(value);
      else if (arg == "--tp") {
        o.tps.clear();
        for (const auto& t : split(value)) o.tps.push_back(std::stoi(t));
      } else if (arg == "--precision") o.precisions = split(value);
      else if (arg == "--allreduce") {
        const auto m = parse_allreduce_model(value);
        if (!m) throw std::invalid_argument(fmt::format("--allreduce: {} is not ring, oneshot or exact", value));
        o.allreduce = *m;
      } else if (arg == "--seed") o.seed = std::stoull(value);
      else throw std::invalid_argument(fmt::format("unknown option '{}'", arg));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ffn-parity-device-check: error: %s\n", e.what());
    return 2;
  }
  // --shape all: every model of the catalog (harness/tp/model_catalog.cpp), one after another.
  std::vector<FfnShape> shapes;
  if (o.shape == "all") {
    for (const ModelFfn& m : model_catalog()) shapes.push_back(m.shape());
  } else if (const auto shape = find_shape(o.shape)) {
    shapes.push_back(*shape);
  }
  if (shapes.empty() || o.tokens <= 0) {
    std::fprintf(stderr, "ffn-parity-device-check: error: --shape %s / --tokens %lld not usable\n", o.shape.c_str(),
                 static_cast<long long>(o.tokens));
    return 2;
  }
  Backend gpu;
  try {
    gpu = make_backend("cuda");
  } catch (const BackendUnavailable& e) {
    std::fprintf(stderr, "ffn-parity-device-check: error: --backend cuda: %s\n", e.what());
    return 3;
  }
  for (const std::string& name : o.precisions)
    if (!find_precision(name)) {
      std::fprintf(stderr, "ffn-parity-device-check: error: --precision: unknown %s\n", name.c_str());
      return 2;
    }
  std::size_t failed = 0, total = 0;
  for (const FfnShape& shape : shapes) sweep(shape, o, gpu, failed, total);
  std::printf("%zu of %zu outputs agree within tolerance\n", total - failed, total);
  return failed == 0 && total > 0 ? 0 : 1;
}
