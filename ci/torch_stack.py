"""The serving stack's FFN per rank in PyTorch, as its layers compute it, for ci/torch-parity.py
and ci/torch-bench.py. Every TP rank runs in this one process on one device (the GPU machine has
one GPU; tp > 1 is emulated there), and the AllReduce is emulated with PyTorch adds in the order
of the harness's model.

What the layers do (read from the sources; DESIGN.md sections 1 and 8):
  * ColumnParallelLinear / RowParallelLinear: sglang python/sglang/srt/layers/linear.py (from
    vLLM vllm/model_executor/layers/linear.py), `forward`: each rank calls
    quant_method.apply(layer, x, bias), which for unquantized weights is
    UnquantizedLinearMethod.apply -> F.linear(x, weight, bias) (cuBLASLt with the bias in the
    fp32 epilogue on CUDA, one rounding to the activation dtype). RowParallelLinear.forward
    passes `bias_ = None if (self.tp_rank > 0 or self.skip_bias_add) else self.bias`: the bias on
    rank 0 only, then tensor_model_parallel_all_reduce when tp > 1.
  * The loader keeps each rank's shard as its own (contiguous) parameter:
    ColumnParallelLinear.weight_loader narrows dim 0, RowParallelLinear.weight_loader dim 1.
  * MergedColumnParallelLinear (gated MLPs, output_sizes=[inner, inner]): rank r holds
    [gate_r | up_r]; SiluAndMul / GeluAndMul (sglang python/sglang/srt/layers/activation.py):
    forward_native is F.silu(x[..., :d]) * x[..., d:] (two roundings in the dtype), the fused CUDA
    kernel (FlashInfer include/flashinfer/activation.cuh act_and_mul_kernel) computes
    act(float(gate)) * float(up) and rounds once.
  * GELU-tanh: F.gelu(h, approximate="tanh") on the bf16 tensor: PyTorch computes in float and
    rounds once (aten/src/ATen/native/cuda/ActivationGeluKernel.cu GeluCUDAKernelImpl with
    opmath_t = float; aten/src/ATen/native/cpu/Activation.cpp GeluKernelImpl on CPU).
  * A bf16 + bf16 tensor add is a float add rounded once to bf16 (aten's binary ops compute
    in opmath_t): the correctly rounded bf16 add that NCCL's FuncSum (__hadd2) performs.
"""
import torch
import torch.nn.functional as F

TORCH_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}

ACT_FNS = {
    "gelu-tanh": lambda t: F.gelu(t, approximate="tanh"),
    "gelu": F.gelu,
    "silu": F.silu,
}


def rounds_once(act_fn, dtype, device):
    """Whether PyTorch's act_fn on a `dtype` tensor on `device` computes in float and rounds once,
    checked exhaustively over every finite value of the 16-bit dtype. True for PyTorch 2.x
    (opmath_t = float on CUDA and CPU); Debian's CPU PyTorch 1.13 rounds inside the formula."""
    if dtype == torch.float32:
        return True
    bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16).view(dtype).to(device)
    v = bits[torch.isfinite(bits.float())]
    f = ACT_FNS[act_fn]
    try:
        return torch.equal(f(v).float(), f(v.float()).to(dtype).float())
    except RuntimeError:  # no kernel for the dtype on this device (PyTorch 1.13 CPU fp16 GELU)
        return False


# (act_fn, dtype) where the device's kernel does not round once or is missing (rounds_once);
# filled by the caller (ci/torch-parity.py) before the first case.
EMULATE_ONE_ROUNDING = set()


def apply_act(f_name, t):
    """f on a dtype tensor as the stack's GPU kernel computes it: float math, one rounding."""
    f = ACT_FNS[f_name]
    if (f_name, t.dtype) in EMULATE_ONE_ROUNDING:
        return f(t.float()).to(t.dtype)  # what GeluCUDAKernelImpl does, where this device's kernel does not
    return f(t)


def activation(h, act_fn, gated, rounding):
    """The MLP's activation on h (gated: h = [gate | up] along the last dimension)."""
    f = ACT_FNS[act_fn]
    if not gated:
        return apply_act(act_fn, h)  # float math, one rounding, for either rounding mode
    d = h.shape[-1] // 2
    gate, up = h[..., :d], h[..., d:]
    if rounding == "native":
        return apply_act(act_fn, gate) * up  # SiluAndMul.forward_native: two roundings
    return (f(gate.float()) * up.float()).to(h.dtype)  # the fused kernel: one rounding


class Weights:
    """The full checkpoint tensors (PyTorch layout) and each rank's shards, as the loader cuts
    them: w_in [inner, dim] (gated: [2 inner, dim], gate rows first), w_out [dim, inner]."""

    def __init__(self, w_in, b_in, w_out, b_out, gated):
        self.w_in, self.b_in, self.w_out, self.b_out, self.gated = w_in, b_in, w_out, b_out, gated
        self.inner = w_in.shape[0] // 2 if gated else w_in.shape[0]
        self.dim = w_in.shape[1]

    def _rows(self, t, r, tp, offset=0, total=None):
        if t is None:
            return None
        n = (total or self.inner) // tp
        return t[offset + r * n: offset + (r + 1) * n].contiguous()

    def column_in(self, r, tp, half=None):
        """proj_in's rank-r rows: of the whole (ungated), of gate (half 0) or up (half 1)."""
        off = 0 if half in (None, 0) else self.inner
        return self._rows(self.w_in, r, tp, off), self._rows(self.b_in, r, tp, off)

    def merged_in(self, r, tp):
        """MergedColumnParallelLinear's rank-r weight [gate_r | up_r] (rows side by side)."""
        (wg, bg), (wu, bu) = self.column_in(r, tp, 0), self.column_in(r, tp, 1)
        return torch.cat([wg, wu]), None if bg is None else torch.cat([bg, bu])

    def column_out(self, r, tp):
        return (self._rows(self.w_out, r, tp, 0, self.dim), self._rows(self.b_out, r, tp, 0, self.dim))

    def row_out(self, r, tp):
        k = self.inner // tp
        return self.w_out[:, r * k:(r + 1) * k].contiguous(), (self.b_out if r == 0 else None)


def allgather_path(x, w, tp, act_fn, rounding):
    """The old path: proj_in column-parallel with gather_output (gated: gate and up as two such
    layers), the activation on the gathered tensor, proj_out column-parallel with gather_output."""
    if w.gated:
        gate = torch.cat([F.linear(x, *w.column_in(r, tp, 0)) for r in range(tp)], dim=-1)
        up = torch.cat([F.linear(x, *w.column_in(r, tp, 1)) for r in range(tp)], dim=-1)
        h = torch.cat([gate, up], dim=-1)
    else:
        h = torch.cat([F.linear(x, *w.column_in(r, tp)) for r in range(tp)], dim=-1)
    a = activation(h, act_fn, w.gated, rounding)
    return torch.cat([F.linear(a, *w.column_out(r, tp)) for r in range(tp)], dim=-1)


def sharded_partials(x, w, tp, act_fn, rounding):
    """The new path up to the AllReduce: every rank's proj_out partial (bias on rank 0 only)."""
    partials = []
    for r in range(tp):
        h = F.linear(x, *(w.merged_in(r, tp) if w.gated else w.column_in(r, tp)))
        partials.append(F.linear(activation(h, act_fn, w.gated, rounding), *w.row_out(r, tp)))
    return partials
