#!/usr/bin/python3
"""PyTorch's time for the FFN one rank computes, next to `ffn-parity-bench --backend cuda`: the
same per-rank work as harness/bench/cuda_bench.cpp times as `compute_ms`, with the stack's own
calls (ci/torch_stack.py):
  allgather  F.linear(x, proj_in rows r) -> GELU-tanh on the gathered [tokens, inner] tensor
             -> F.linear(A, proj_out rows r) (full K);
  sharded    F.linear(x, proj_in rows r) -> GELU-tanh on the shard -> F.linear(a_r, proj_out
             columns r, bias on rank 0).
Rank 0's kernels, collectives excluded; warm-up, then the median of the timed runs (CUDA events
on the GPU, time.perf_counter on the CPU). TFLOP/s of the rank's two GEMMs against the bf16 GEMM
peak measured in the same run the way the harness measures it (proj_in's weight times its own
transpose, real data).

    ci/torch-bench.py [--dim 4096 --inner 16384 --tokens 6144] [--tp 1,2,4,8] [--device cpu|cuda]
                      [--warmup 5 --reps 25] [--against BENCH_OUTPUT]

--against: the output of `ffn-parity-bench --backend cuda` (or `ffn-parity-device-check --bench`)
from the same device; adds the harness's compute_ms and the ratio, and checks it within 10%.
Exit status: 0 done (and within 10%); 1 a ratio outside 10%; 2 bad usage or input; 3 --device
cuda without a GPU.
"""
import argparse
import os
import statistics
import sys
import time

PROG = "torch-bench"
TOLERANCE = 0.10  # issue 19: the harness's time per FFN within 10% of PyTorch's


def die(msg, status=2):
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    sys.exit(status)


try:
    import torch
    import torch.nn.functional as F
except ImportError as e:
    die(f"{e.name} is not installed (Debian: apt-get install -y python3-torch)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_stack  # noqa: E402


def timer(device):
    """median_ms(fn, warmup, reps)."""
    def median_ms(fn, warmup, reps):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(reps):
            if device == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(times)
    return median_ms


def harness_rows(path):
    """{(path, tp): compute_ms} from ffn-parity-bench --backend cuda's table."""
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        die(f"--against {path}: cannot read ({e.strerror})")
    rows = {}
    for line in lines:
        f = line.split()
        if len(f) >= 4 and f[0] in ("allgather", "sharded") and f[1].isdigit():
            try:
                rows[(f[0], int(f[1]))] = float(f[3])
            except ValueError:
                die(f"--against {path}: row '{line}' has no compute_ms")
    if not rows:
        die(f"--against {path}: no allgather/sharded rows (not the output of ffn-parity-bench --backend cuda)")
    return rows


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, default=4096)
    ap.add_argument("--inner", type=int, default=16384)
    ap.add_argument("--tokens", type=int, default=6144, help="6144: a 121-frame 768x512 video")
    ap.add_argument("--tp", default="1,2,4,8")
    ap.add_argument("--device", choices=("cpu", "cuda"))
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--reps", type=int, default=25)
    ap.add_argument("--against")
    a = ap.parse_args()
    try:
        tps = [int(t) for t in a.tp.split(",")]
    except ValueError:
        die(f"--tp {a.tp}: not a comma-separated list of integers")
    for name in ("dim", "inner", "tokens", "reps"):
        if getattr(a, name) < 1:
            die(f"--{name} {getattr(a, name)}: must be at least 1")
    bad = [t for t in tps if t < 1 or a.dim % t or a.inner % t]
    if bad:
        die(f"--tp {bad[0]}: must divide dim {a.dim} and inner {a.inner}")
    against = harness_rows(a.against) if a.against else None
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        die("--device cuda: no usable CUDA device in this PyTorch", 3)
    g = torch.Generator().manual_seed(0)
    bf16 = torch.bfloat16
    mk = lambda *shape, scale=1.0: (torch.randn(*shape, generator=g) * scale).to(bf16).to(device)
    x = mk(a.tokens, a.dim)
    w = torch_stack.Weights(mk(a.inner, a.dim, scale=a.dim ** -0.5), mk(a.inner, scale=0.1),
                            mk(a.dim, a.inner, scale=a.inner ** -0.5), mk(a.dim, scale=0.1), gated=False)
    median_ms = timer(device)
    peak_ms = median_ms(lambda: F.linear(w.w_in, w.w_in), 1, max(3, a.reps // 2))
    peak = 2.0 * a.inner * a.inner * a.dim / (peak_ms * 1e-3) / 1e12
    dev_name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    print(f"# {PROG}: torch {torch.__version__} on {dev_name}; dim {a.dim}, inner {a.inner}, {a.tokens} tokens, bf16;")
    print(f"# rank 0's GEMMs and GELU (collectives excluded), median of {a.reps} after {a.warmup} warm-up; "
          f"bf16 GEMM peak measured here {peak:.1f} TFLOP/s")
    cols = f"{'path':<10} {'tp':>3} {'torch_ms':>9} {'TFLOP/s':>9} {'of_peak':>8}"
    if against:
        cols += f" {'harness_ms':>10} {'ratio':>6} verdict"
    print(cols)
    gelu = lambda t: torch_stack.activation(t, "gelu-tanh", False, "fused")
    failed = 0
    for tp in tps:
        w_in, b_in = w.column_in(0, tp)
        h_full = torch.cat([F.linear(x, *w.column_in(r, tp)) for r in range(tp)], dim=-1)
        w_col, b_col = w.column_out(0, tp)
        w_row, b_row = w.row_out(0, tp)
        paths = {
            "allgather": lambda: (F.linear(x, w_in, b_in), F.linear(gelu(h_full), w_col, b_col)),
            "sharded": lambda: F.linear(gelu(F.linear(x, w_in, b_in)), w_row, b_row),
        }
        flops = 2.0 * 2.0 * a.tokens * a.dim * a.inner / tp
        for name, fn in paths.items():
            ms = median_ms(fn, a.warmup, a.reps)
            tflops = flops / (ms * 1e-3) / 1e12
            line = f"{name:<10} {tp:>3} {ms:>9.3f} {tflops:>9.2f} {100 * tflops / peak:>7.1f}%"
            if against:
                h = against.get((name, tp))
                if h is None:
                    line += f" {'-':>10} {'-':>6} no harness row"
                else:
                    ok = abs(h / ms - 1) <= TOLERANCE
                    failed += not ok
                    line += f" {h:>10.3f} {h / ms:>6.3f} {'WITHIN' if ok else 'OUTSIDE'}"
            print(line, flush=True)
    if against:
        print(f"{PROG}: harness compute time within {100 * TOLERANCE:.0f}% of PyTorch's: "
              f"{'PASS' if failed == 0 else f'FAIL ({failed} rows outside)'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
