"""The AllReduce-sum of the sharded path, emulated with PyTorch adds in the order of the harness's
models (harness/tp/allreduce_model.cpp: `model_table` gives each model's order, start and
accumulator; `reduce_sum`, `ring_chunk` and `nccl_ring_segments` the layouts). Independent of the
harness's code: the orders are written again here from the sources the table cites, so that a
mistake in either shows as a difference.

Accumulators: "wire" adds two tensors of the wire dtype (PyTorch computes in float and rounds
once: the correctly rounded __hadd2 of NCCL's FuncSum, src/device/reduce_kernel.h); "fp32" sums
in float32 and rounds once at the end (the custom all-reduce's packed_reduce, NVLS .acc::f32);
"fp64" sums in float64 and rounds once (`exact`).
"""
import torch

# model -> (order, start, accumulate); order names as in allreduce_model.cpp `Order`.
MODELS = {
    "ring": ("ring_chunks", "first", "wire"),         # generic ring: chunk c starts at rank c
    "nccl-ring": ("nccl_ring", "first", "wire"),      # NCCL runRing: chunk at position c starts at c+1
    "nccl-tree": ("chain_down", "first", "wire"),     # runTreeUpDown, one node = chain n-1 .. 0
    "nccl-nvls": ("rank_order", "first", "fp32"),     # multimem.ld_reduce .acc::f32
    "nccl-nvls-bf16": ("rank_order", "first", "wire"),
    "custom-1stage": ("rank_order", "zero", "fp32"),  # cross_device_reduce_1stage
    "custom-2stage": ("slice_owner", "first", "fp32"),  # cross_device_reduce_2stage
    "symm-mem": ("rank_order", "first", "wire"),      # one_shot_all_reduce_kernel
    "mscclpp": ("own_first", "first", "wire"),        # rank 0's result: its own value, then 1, 2, ...
    "trtllm": ("rank_order", "zero", "wire"),
    "trtllm-fp32acc": ("rank_order", "zero", "fp32"),
    "exact": ("rank_order", "first", "fp64"),
}


class NotModelled(Exception):
    pass


def _div_up(a, b):
    return (a + b - 1) // b


def nccl_ring_segments(count, elem_bytes, nranks):
    """[(begin, end, position)] of NCCL's Ring on one channel, Simple protocol, default
    NCCL_BUFFSIZE (src/device/all_reduce.h runRing): loops of nranks chunks of
    2 MiB / elem_bytes elements; the last partial loop uses
    chunkCount = alignUp(divUp(remaining, nranks), 16 / elem_bytes)."""
    chunk = (4 << 20) // 8 * 4 // elem_bytes
    segments, done = [], 0
    while done < count:
        rem = count - done
        if rem < nranks * chunk:
            chunk = _div_up(_div_up(rem, nranks), 16 // elem_bytes) * (16 // elem_bytes)
        for c in range(nranks):
            b = c * chunk
            if b >= rem:
                break
            segments.append((done + b, done + min(b + chunk, rem), c))
        done += nranks * chunk
    return segments


def _orders(order, n, count, elem_bytes, channels):
    """[(begin, end, [ranks in visiting order])] covering [0, count)."""
    rot = lambda first: [(first + k) % n for k in range(n)]
    if order == "rank_order":
        return [(0, count, list(range(n)))]
    if order == "own_first":
        return [(0, count, list(range(n)))]  # holder 0: its own value first, then ranks 1..n-1
    if order == "chain_down":
        return [(0, count, list(range(n - 1, -1, -1)))]
    if order == "ring_chunks":  # ring_chunk: the first count % n chunks one element longer
        base, extra = divmod(count, n)
        out = []
        for c in range(n):
            begin = c * base + min(c, extra)
            out.append((begin, begin + base + (1 if c < extra else 0), rot(c)))
        return out
    if order == "nccl_ring":
        if channels != 1:
            raise NotModelled(f"nccl-ring on {channels} channels (only one channel is emulated here)")
        return [(b, e, rot((p + 1) % n)) for b, e, p in nccl_ring_segments(count, elem_bytes, n)]
    if order == "slice_owner":  # 16-byte packs, rank r owns part packs from r * part, the last the rest
        pack = 16 // elem_bytes
        part = (count // pack) // n
        return [(r * part * pack, count if r == n - 1 else (r + 1) * part * pack, rot(r)) for r in range(n)]
    raise NotModelled(f"order {order}")


def all_reduce(partials, model, channels=1):
    """The sum of the rank partials (same shape and dtype), rounded as `model` does."""
    if model not in MODELS:
        raise NotModelled(f"AllReduce model {model}")
    order, start, accumulate = MODELS[model]
    n = len(partials)
    wire = partials[0].dtype
    flat = [p.reshape(-1) for p in partials]
    count = flat[0].numel()
    out = torch.empty_like(flat[0])
    acc_type = {"wire": wire, "fp32": torch.float32, "fp64": torch.float64}[accumulate]
    for begin, end, ranks in _orders(order, n, count, flat[0].element_size(), channels):
        if begin >= end:
            continue
        parts = [flat[r][begin:end].to(acc_type) for r in ranks]
        acc = torch.zeros_like(parts[0]) + parts[0] if start == "zero" else parts[0].clone()
        for p in parts[1:]:
            acc = acc + p
        out[begin:end] = acc.to(wire)
    return out.reshape(partials[0].shape)
