#include "harness/tp/allreduce_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "kernels/rounding.hpp"

namespace ffn {

std::string_view allreduce_model_name(AllReduceModel m) {
  switch (m) {
    case AllReduceModel::ring: return "ring";
    case AllReduceModel::oneshot: return "oneshot";
    case AllReduceModel::exact: return "exact";
  }
  return "?";
}

const std::vector<AllReduceModel>& allreduce_models() {
  static const std::vector<AllReduceModel> all{AllReduceModel::ring, AllReduceModel::oneshot, AllReduceModel::exact};
  return all;
}

std::string_view allreduce_model_description(AllReduceModel m) {
  switch (m) {
    case AllReduceModel::ring: return "NCCL ring: fp32 add rounded to the wire dtype at every hop";
    case AllReduceModel::oneshot: return "one-shot custom all-reduce: fp32 sum in rank order, one rounding";
    case AllReduceModel::exact: return "fp64 sum, one rounding: the best any implementation can do";
  }
  return "?";
}

std::optional<AllReduceModel> parse_allreduce_model(std::string_view name) {
  for (auto m : allreduce_models())
    if (allreduce_model_name(m) == name) return m;
  return std::nullopt;
}

std::pair<std::size_t, std::size_t> ring_chunk(std::size_t n, int parts, int c) {
  const std::size_t p = static_cast<std::size_t>(parts), k = static_cast<std::size_t>(c);
  const std::size_t base = n / p, extra = n % p;
  const std::size_t begin = k * base + std::min(k, extra);
  return {begin, begin + base + (k < extra ? 1 : 0)};
}

void ring_hop(DType wire, std::span<float> acc, std::span<const float> own) {
  if (acc.size() != own.size()) throw std::invalid_argument("ring_hop: chunk sizes differ");
  for (std::size_t i = 0; i < acc.size(); ++i)
    // fp32 add, then the wire dtype (__hadd2). The fp32 sum of two bf16/fp16 values is
    // exact, or the smaller one lies far below half a wire ulp of the larger, so this is
    // the correctly rounded wire-dtype add: one rounding per hop.
    acc[i] = round_to(wire, acc[i] + own[i]);
}

namespace {

void reduce_ring(DType wire, std::span<const std::span<const float>> in, std::span<float> out,
                 RoundingObserver* obs) {
  const int tp = static_cast<int>(in.size());
  for (int c = 0; c < tp; ++c) {
    const auto [begin, end] = ring_chunk(out.size(), tp, c);
    const std::span<float> acc = out.subspan(begin, end - begin);
    std::copy(in[c].begin() + begin, in[c].begin() + end, acc.begin());
    for (int hop = 1; hop < tp; ++hop) {
      ring_hop(wire, acc, in[(c + hop) % tp].subspan(begin, end - begin));
      if (obs)
        for (std::size_t i = 0; i < acc.size(); ++i) obs->rounded(begin + i, acc[i], wire);
    }
  }
}

void reduce_oneshot(DType wire, std::span<const std::span<const float>> in, std::span<float> out,
                    RoundingObserver* obs) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    float acc = in[0][i];
    for (std::size_t r = 1; r < in.size(); ++r) {
      acc += in[r][i];
      if (obs) obs->rounded(i, acc, DType::fp32);
    }
    out[i] = round_to(wire, acc);
    if (obs && wire != DType::fp32) obs->rounded(i, out[i], wire);
  }
}

void reduce_exact(DType wire, std::span<const std::span<const float>> in, std::span<float> out,
                  RoundingObserver* obs) {
  // The fp64 sum of tp values on a <= 24-bit grid is exact unless their exponents spread
  // over more than ~29 binades, so in practice the rounding below is the only one.
  for (std::size_t i = 0; i < out.size(); ++i) {
    // Starting from the first value, not +0, keeps the sign of an all-negative-zero sum.
    double acc = in[0][i];
    for (std::size_t r = 1; r < in.size(); ++r) acc += in[r][i];
    out[i] = static_cast<float>(round_to(wire, acc));
    if (obs) obs->rounded(i, out[i], wire);
  }
}

}  // namespace

void reduce_sum(AllReduceModel model, DType wire, std::span<const std::span<const float>> inputs,
                std::span<float> out, RoundingObserver* observer) {
  if (wire == DType::fp64) throw std::invalid_argument("reduce_sum: the wire dtype cannot be fp64");
  if (inputs.empty()) throw std::invalid_argument("reduce_sum: no inputs");
  for (const auto& part : inputs)
    if (part.size() != out.size())
      throw std::invalid_argument("reduce_sum: input and output sizes differ");
  switch (model) {
    case AllReduceModel::ring: return reduce_ring(wire, inputs, out, observer);
    case AllReduceModel::oneshot: return reduce_oneshot(wire, inputs, out, observer);
    case AllReduceModel::exact: return reduce_exact(wire, inputs, out, observer);
  }
}

}  // namespace ffn
