#include "harness/launch/nccl_communicator.hpp"

#include <cuda_runtime.h>
#include <fmt/format.h>
#include <nccl.h>

#include <cstdint>
#include <cstring>

#include "kernels/bf16.hpp"
#include "kernels/fp16.hpp"

namespace ffn {

namespace {

void check_cuda(cudaError_t e, const char* call) {
  if (e != cudaSuccess) throw NcclError(fmt::format("CUDA: {} failed: {}", call, cudaGetErrorString(e)));
}

void check_nccl(ncclResult_t r, const char* call) {
  if (r != ncclSuccess) throw NcclError(fmt::format("NCCL: {} failed: {}", call, ncclGetErrorString(r)));
}

// Host values on the wire dtype's grid, as the bytes NCCL moves, and back.
std::size_t wire_bytes(DType wire) { return wire == DType::fp32 ? 4 : 2; }

ncclDataType_t nccl_type(DType wire) {
  switch (wire) {
    case DType::bf16: return ncclBfloat16;
    case DType::fp16: return ncclFloat16;
    case DType::fp32: return ncclFloat32;
    default: throw NcclError(fmt::format("NCCL: no AllReduce in {}", dtype_name(wire)));
  }
}

void to_wire(DType wire, std::span<const float> in, std::vector<std::uint8_t>& out) {
  out.resize(in.size() * wire_bytes(wire));
  if (wire == DType::fp32) {
    std::memcpy(out.data(), in.data(), out.size());
    return;
  }
  auto* bits = reinterpret_cast<std::uint16_t*>(out.data());
  for (std::size_t i = 0; i < in.size(); ++i)
    bits[i] = wire == DType::bf16 ? float_to_bf16_bits(in[i]) : float_to_fp16_bits(in[i]);
}

void from_wire(DType wire, const std::vector<std::uint8_t>& in, std::span<float> out) {
  if (wire == DType::fp32) {
    std::memcpy(out.data(), in.data(), in.size());
    return;
  }
  const auto* bits = reinterpret_cast<const std::uint16_t*>(in.data());
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = wire == DType::bf16 ? bf16_bits_to_float(bits[i]) : fp16_bits_to_float(bits[i]);
}

}  // namespace

int cuda_device_count() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);  // leaves count unwritten without a driver
  if (e != cudaSuccess) throw NcclError(fmt::format("no CUDA device ({})", cudaGetErrorString(e)));
  if (count < 1) throw NcclError("no CUDA device");
  return count;
}

int nccl_loaded_version() {
  int version = 0;
  check_nccl(ncclGetVersion(&version), "ncclGetVersion");
  return version;
}

struct NcclCommunicator::Rank {
  int device = 0;
  cudaStream_t stream = nullptr;
  ncclComm_t comm = nullptr;
  void* send = nullptr;
  void* recv = nullptr;
  std::size_t capacity = 0;  // bytes of each buffer
  std::vector<std::uint8_t> host_send, host_recv;

  ~Rank() {
    // No throwing from a destructor: a failure here cannot be reported to anyone.
    cudaSetDevice(device);
    if (comm) ncclCommDestroy(comm);
    if (send) cudaFree(send);
    if (recv) cudaFree(recv);
    if (stream) cudaStreamDestroy(stream);
  }
  void reserve(std::size_t bytes) {
    if (bytes <= capacity) return;
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    if (send) check_cuda(cudaFree(send), "cudaFree");
    if (recv) check_cuda(cudaFree(recv), "cudaFree");
    send = recv = nullptr;
    check_cuda(cudaMalloc(&send, bytes), "cudaMalloc");
    check_cuda(cudaMalloc(&recv, bytes), "cudaMalloc");
    capacity = bytes;
  }
  // host_send -> the device's send buffer, on this rank's stream (the collective follows on it).
  void upload() {
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    check_cuda(cudaMemcpyAsync(send, host_send.data(), host_send.size(), cudaMemcpyHostToDevice, stream),
               "cudaMemcpyAsync");
  }
  void download() {
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    check_cuda(cudaMemcpyAsync(host_recv.data(), recv, host_recv.size(), cudaMemcpyDeviceToHost, stream),
               "cudaMemcpyAsync");
    check_cuda(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  }
};

NcclCommunicator::NcclCommunicator(int size, std::vector<int> ranks, AllReduceConfig observed_model)
    : size_(size), ranks_(std::move(ranks)), observed_model_(observed_model) {}

NcclCommunicator::~NcclCommunicator() = default;

std::unique_ptr<NcclCommunicator> NcclCommunicator::per_process(int rank, int world, int device,
                                                                const Broadcast& broadcast,
                                                                AllReduceConfig observed_model) {
  std::unique_ptr<NcclCommunicator> c(new NcclCommunicator(world, {rank}, observed_model));
  ncclUniqueId id;
  if (rank == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  broadcast(&id, static_cast<int>(sizeof id));
  auto r = std::make_unique<Rank>();
  r->device = device;
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  check_cuda(cudaStreamCreate(&r->stream), "cudaStreamCreate");
  check_nccl(ncclCommInitRank(&r->comm, world, id, rank), "ncclCommInitRank");
  c->local_.push_back(std::move(r));
  return c;
}

std::unique_ptr<NcclCommunicator> NcclCommunicator::single_process(int tp, AllReduceConfig observed_model) {
  std::vector<int> ranks;
  for (int r = 0; r < tp; ++r) ranks.push_back(r);
  std::unique_ptr<NcclCommunicator> c(new NcclCommunicator(tp, ranks, observed_model));
  std::vector<ncclComm_t> comms(static_cast<std::size_t>(tp));
  check_nccl(ncclCommInitAll(comms.data(), tp, ranks.data()), "ncclCommInitAll");
  for (int r = 0; r < tp; ++r) {
    auto rank = std::make_unique<Rank>();
    rank->device = r;
    rank->comm = comms[r];
    check_cuda(cudaSetDevice(r), "cudaSetDevice");
    check_cuda(cudaStreamCreate(&rank->stream), "cudaStreamCreate");
    c->local_.push_back(std::move(rank));
  }
  return c;
}

void NcclCommunicator::check_local(const RankTensors& local, const char* op) const {
  if (local.size() != local_.size())
    throw std::invalid_argument(fmt::format("{}: got tensors of {} ranks, this process holds {}", op,
                                            local.size(), local_.size()));
  for (const auto& t : local)
    if (t.rows() != local[0].rows() || t.cols() != local[0].cols())
      throw std::invalid_argument(fmt::format("{}: ranks disagree on the buffer shape", op));
}

// Every rank must pass the same shape: NCCL moves the same count from each rank (the FFN's
// shards are equal, tp divides the sharded dimension).
RankTensors NcclCommunicator::all_gather_cols(const RankTensors& local) {
  check_local(local, "all_gather");
  const std::int64_t rows = local[0].rows(), cols = local[0].cols();
  const std::size_t n = local[0].size();
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  for (std::size_t i = 0; i < local_.size(); ++i) {
    Rank& r = *local_[i];
    r.reserve(n * size_ * sizeof(float));
    to_wire(DType::fp32, local[i].values(), r.host_send);
    r.upload();
    check_nccl(ncclAllGather(r.send, r.recv, n, ncclFloat32, r.comm, r.stream), "ncclAllGather");
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  RankTensors out;
  for (auto& rp : local_) {
    Rank& r = *rp;
    r.host_recv.resize(n * size_ * sizeof(float));
    r.download();
    // NCCL concatenates the ranks' buffers; the columns of rank q go to [q*cols, (q+1)*cols).
    const auto* all = reinterpret_cast<const float*>(r.host_recv.data());
    Matrix<float> full(rows, cols * size_);
    for (int q = 0; q < size_; ++q)
      for (std::int64_t row = 0; row < rows; ++row)
        std::memcpy(&full(row, q * cols), all + q * n + row * cols, static_cast<std::size_t>(cols) * sizeof(float));
    out.push_back(std::move(full));
  }
  return out;
}

void NcclCommunicator::all_reduce_sum(RankTensors& local, DType wire, RoundingObserver* observer) {
  check_local(local, "all_reduce");
  if (size_ == 1) return;  // a group of one reduces nothing and rounds nothing
  if (observer) {
    // The model's roundings on the same partials: every rank's partials, gathered.
    const Matrix<float> all = all_gather_cols(local).front();
    const std::int64_t cols = local[0].cols();
    std::vector<Matrix<float>> parts;
    std::vector<std::span<const float>> inputs;
    for (int q = 0; q < size_; ++q) parts.push_back(all.col_block(q * cols, (q + 1) * cols));
    for (const auto& p : parts) inputs.push_back(p.values());
    std::vector<float> predicted(local[0].size());
    reduce_sum(observed_model_, wire, inputs, predicted, observer);
  }
  const std::size_t n = local[0].size();
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  for (std::size_t i = 0; i < local_.size(); ++i) {
    Rank& r = *local_[i];
    r.reserve(n * wire_bytes(wire));
    to_wire(wire, local[i].values(), r.host_send);
    r.upload();
    check_nccl(ncclAllReduce(r.send, r.recv, n, nccl_type(wire), ncclSum, r.comm, r.stream), "ncclAllReduce");
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  for (std::size_t i = 0; i < local_.size(); ++i) {
    Rank& r = *local_[i];
    r.host_recv.resize(n * wire_bytes(wire));
    r.download();
    from_wire(wire, r.host_recv, local[i].values());
  }
}

void NcclCommunicator::all_reduce_max(RankTensors& local) {
  check_local(local, "all_reduce_max");
  const std::size_t n = local[0].size();
  check_nccl(ncclGroupStart(), "ncclGroupStart");
  for (std::size_t i = 0; i < local_.size(); ++i) {
    Rank& r = *local_[i];
    r.reserve(n * sizeof(float));
    to_wire(DType::fp32, local[i].values(), r.host_send);
    r.upload();
    check_nccl(ncclAllReduce(r.send, r.recv, n, ncclFloat32, ncclMax, r.comm, r.stream), "ncclAllReduce");
  }
  check_nccl(ncclGroupEnd(), "ncclGroupEnd");
  for (std::size_t i = 0; i < local_.size(); ++i) {
    Rank& r = *local_[i];
    r.host_recv.resize(n * sizeof(float));
    r.download();
    from_wire(DType::fp32, r.host_recv, local[i].values());
  }
}

}  // namespace ffn
