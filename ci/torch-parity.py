#!/usr/bin/python3
"""Does the harness predict what the serving stack computes? Runs the stack's own computation
of each dumped case in PyTorch (ci/torch_stack.py: F.linear per rank, the row-parallel bias on
rank 0 only, the activation on the dtype tensor, the AllReduce emulated in the case's model
order by ci/torch_allreduce.py), both paths, and compares each path with the harness's output:

  ident%   share of elements bit-identical to the harness's output
  ulp      largest distance in units of the output dtype between them
  rl2      relative L2 of (PyTorch - harness), next to `par_rl2`, the case's parity error
           (harness sharded vs allgather), and `t_par`, PyTorch's own sharded vs allgather
  margin   PyTorch's output against the fp64 reference, judged by the harness's budget for that
           path (the element bounds and norm threshold the harness dumped): < 1 lies within it
  verdict  PASS when, for both paths, PyTorch lies within the harness's budget, no element of it
           differs from the harness's by more than twice its bound (both lie within the bound of
           the reference when both are right), and the two agree within the tolerance the harness
           allows between two backends of the precision (`agreement_tolerance`,
           harness/verdict/backend_agreement.hpp)

    build/harness/ffn-parity run --shape tiny --tp 1,2,4 --precision bf16 \\
        --dump-inputs DIR/in --dump-outputs DIR/out
    ci/torch-parity.py DIR/in [--outputs DIR] [--device cpu|cuda] [--case SUBSTRING]

Quantized precisions are listed as not modelled (the stack's FP8 GEMMs are not F.linear).
Exit status: 0 every case passed; 1 a check failed; 2 bad usage or unusable input (one line
naming it), or nothing to check; 3 --device cuda without a usable GPU.
"""
import argparse
import glob
import json
import os
import sys
import time

PROG = "torch-parity"


def die(msg, status=2):
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    sys.exit(status)


try:
    import numpy as np
    import torch
except ImportError as e:
    die(f"{e.name} is not installed (Debian: apt-get install -y python3-torch python3-numpy)")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_np  # noqa: E402
import torch_allreduce  # noqa: E402
import torch_stack  # noqa: E402

SCHEMA = "ffn-parity dump-inputs 1"
# Bits of the integer that orders a dtype's values (sign-magnitude -> monotone integer).
ORDER_BITS = {torch.bfloat16: (torch.int16, 15), torch.float16: (torch.int16, 15), torch.float32: (torch.int32, 31)}


def tensor(dtype_name, array, device):
    """A dumped array as a torch tensor (BF16 bits reinterpreted)."""
    if dtype_name == "BF16":  # torch takes no uint16 arrays: the same bits as int16
        return torch.from_numpy(np.ascontiguousarray(array).view(np.int16).copy()).view(torch.bfloat16).to(device)
    t = torch.from_numpy(np.ascontiguousarray(array).copy())
    return t.to(device)


def ordered(t):
    """Integers that order t's values, adjacent representable values differing by one; +-0 equal."""
    int_type, sign_bit = ORDER_BITS[t.dtype]
    i = t.contiguous().view(int_type).to(torch.int64)
    magnitude = i & ((1 << sign_bit) - 1)
    return torch.where(i < 0, -magnitude, magnitude)


def compare(torch_out, harness_out, reference, bound, norm_threshold):
    """The figures of one path (harness_out and torch_out in the output dtype)."""
    same = (torch_out.float().view(torch.int32) == harness_out.float().view(torch.int32))
    diff = torch_out.double() - harness_out.double()
    h_norm = harness_out.double().norm().item()
    rl2 = diff.norm().item() / h_norm if h_norm > 0 else float(diff.norm().item() > 0) * float("inf")
    d = (torch_out.double() - reference).abs()
    elem = torch.where(d == 0, torch.zeros_like(d), d / bound.double())
    norm_sq = (d * d).sum().item()
    norm_ratio = (norm_sq / norm_threshold) ** 0.5 if norm_sq > 0 else 0.0
    finite = bool(torch.isfinite(torch_out.float()).all().item())
    return {
        "ident": same.double().mean().item(),
        "ulp": (ordered(torch_out) - ordered(harness_out)).abs().max().item(),
        "rl2": rl2,
        "margin": max(elem.max().item(), norm_ratio) if finite else float("inf"),
        "over": int((elem > 1).sum().item()),
        # Both outputs lie within the bound of the reference when both are right, so no element of
        # theirs may differ by more than twice it: what catches a harness output that is off.
        "apart": int((diff.abs() > 2 * bound.double()).sum().item()),
    }


def load_case(path, outputs_override, device):
    try:
        with open(path) as f:
            c = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        die(f"{path}: not a readable case file ({e})")
    if c.get("schema") != SCHEMA:
        die(f"{path}: schema {c.get('schema')!r}, expected {SCHEMA!r} (written by another ffn-parity version?)")
    base = os.path.dirname(path)
    out_dir = outputs_override or (os.path.join(base, c["outputs"]["dir"]) if c["outputs"]["dir"] else None)
    if out_dir is None:
        die(f"{path}: the run had no --dump-outputs; give --outputs DIR")
    c["_files"] = {k: os.path.join(base, c[k]) for k in ("inputs", "reference", "budget")}
    c["_files"].update({p: os.path.join(out_dir, c["outputs"][p]) for p in ("allgather", "sharded")})
    return c


def read_output(path, tokens, dim, dtype, device):
    try:
        a = np.fromfile(path, dtype="<f4")
    except OSError as e:
        die(f"{path}: cannot read ({e.strerror})")
    if a.size != tokens * dim:
        die(f"{path}: {a.size} float32 values, expected {tokens} x {dim}")
    t = torch.from_numpy(a.reshape(tokens, dim)).to(device)
    if not torch.equal(t.to(dtype).float(), t):
        die(f"{path}: values off the {dtype} grid: not an output of this case's dtype")
    return t.to(dtype)


def load_tensors(path, device):
    try:
        return {k: tensor(d, a, device) for k, (d, a) in safetensors_np.load(path).items()}
    except safetensors_np.SafetensorsError as e:
        die(str(e))


def run_case(c, device, cache):
    dtype = torch_stack.TORCH_DTYPES[c["dtype"]]
    tp, tokens, dim = c["tp"], c["tokens"], c["dim"]
    if c["_files"]["inputs"] not in cache:
        cache.clear()  # one input set at a time (LTX-2 weights are large)
        t = load_tensors(c["_files"]["inputs"], device)
        missing = [n for n in ("x", "proj_in.weight", "proj_out.weight") if n not in t]
        if missing:
            die(f"{c['_files']['inputs']}: no tensor {missing[0]}")
        cache[c["_files"]["inputs"]] = t
        cache["reference"] = load_tensors(c["_files"]["reference"], device)["reference"]
    t = cache[c["_files"]["inputs"]]
    w = torch_stack.Weights(*(t.get(n).to(dtype) if n in t else None
                              for n in ("proj_in.weight", "proj_in.bias", "proj_out.weight", "proj_out.bias")),
                            gated=c["gated"])
    x = t["x"].to(dtype)
    budget = load_tensors(c["_files"]["budget"], device)
    ag = torch_stack.allgather_path(x, w, tp, c["act_fn"], c["act_rounding"])
    partials = torch_stack.sharded_partials(x, w, tp, c["act_fn"], c["act_rounding"])
    sh = torch_allreduce.all_reduce(partials, c["allreduce"], c["nccl_channels"])
    result = {}
    for path, out in (("allgather", ag), ("sharded", sh)):
        harness = read_output(c["_files"][path], tokens, dim, dtype, device)
        result[path] = compare(out, harness, cache["reference"], budget[f"{path}.bound"],
                               c["harness"][path]["norm_threshold"])
    diff = (sh.double() - ag.double()).norm().item()
    ag_norm = ag.double().norm().item()
    result["t_par"] = diff / ag_norm if ag_norm > 0 else 0.0
    return result


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", help="the directory of `ffn-parity run --dump-inputs`")
    ap.add_argument("--outputs", help="the directory of `--dump-outputs` (default: the one the JSON names)")
    ap.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when a GPU is usable, else cpu")
    ap.add_argument("--case", default="", help="only cases whose name contains this")
    a = ap.parse_args()
    if not os.path.isdir(a.inputs):
        die(f"{a.inputs}: no such directory")
    if a.outputs and not os.path.isdir(a.outputs):
        die(f"--outputs {a.outputs}: no such directory")
    device = a.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        die("--device cuda: no usable CUDA device in this PyTorch", 3)
    paths = sorted(glob.glob(os.path.join(a.inputs, "*.case.json")))
    if not paths:
        die(f"{a.inputs}: no *.case.json (write them with ffn-parity run --dump-inputs)")
    cases = [load_case(p, a.outputs, device) for p in paths]
    cases = [c for c in cases if a.case in c["case"]]
    if not cases:
        die(f"--case {a.case}: names no case in {a.inputs}")
    # Keep cases of one input set together, tp ascending.
    cases.sort(key=lambda c: (c["inputs"], c["tp"], c["case"]))
    dev_name = torch.cuda.get_device_name() if device == "cuda" else "CPU"
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 cases: true fp32 GEMMs, as the harness's
    # cuBLAS may reduce split-K partial sums of bf16 GEMMs in bf16 unless this is off; the stack
    # runs with PyTorch's default (on), so this does too, and says so.
    reduced = device == "cuda" and torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction
    print(f"# {PROG}: torch {torch.__version__} on {dev_name}"
          + ("; cuBLAS bf16 reduced-precision reduction allowed (PyTorch default)" if reduced else ""))
    for act_fn, dtype_name in sorted({(c["act_fn"], c["dtype"]) for c in cases}):
        dtype = torch_stack.TORCH_DTYPES[dtype_name]
        if not torch_stack.rounds_once(act_fn, dtype, device):
            torch_stack.EMULATE_ONE_ROUNDING.add((act_fn, dtype))
            print(f"# PyTorch's {act_fn} on a {dtype_name} tensor on {device} does not round once or is missing "
                  f"(checked on every {dtype_name} value): computed as f(h.float()).to({dtype_name}), as the "
                  f"stack's CUDA kernel does")
    print("# per path: ident% = bit-identical to the harness, ulp = largest distance, rl2 = |torch - harness| / "
          "|harness|; margin = torch vs fp64 reference within the harness's budget (< 1)")
    hdr = (f"{'case':<40} | {'ag_ident%':>9} {'ag_ulp':>6} {'ag_rl2':>9} {'ag_mrg':>7} | {'sh_ident%':>9} "
           f"{'sh_ulp':>6} {'sh_rl2':>9} {'sh_mrg':>7} | {'par_rl2':>9} {'t_par':>9} {'tol':>8} {'time_s':>6} verdict")
    print(hdr)
    failed, skipped, checked = 0, [], 0
    cache = {}
    for c in cases:
        if c["quantized"] or c["fault"] != "none":
            skipped.append(f"{c['case']}: {'quantized GEMMs are not F.linear' if c['quantized'] else 'injected fault'}")
            continue
        start = time.time()
        try:
            r = run_case(c, device, cache)
        except torch_allreduce.NotModelled as e:
            skipped.append(f"{c['case']}: {e} not modelled")
            continue
        except RuntimeError as e:  # a kernel this PyTorch lacks (1.13 CPU: no fp16 addmm)
            if "not implemented" not in str(e):
                raise
            skipped.append(f"{c['case']}: this PyTorch on {device} cannot run it ({str(e).splitlines()[0]})")
            continue
        if device == "cuda":
            torch.cuda.synchronize()
        checked += 1
        reasons = []
        for p in ("allgather", "sharded"):
            if r[p]["margin"] > 1:
                reasons.append(f"{p}: PyTorch outside the harness's budget (margin {r[p]['margin']:.3g}, "
                               f"{r[p]['over']} elements over)")
            if r[p]["apart"]:
                reasons.append(f"{p}: {r[p]['apart']} elements differ from the harness by more than twice their "
                               f"bound")
            if not r[p]["rl2"] <= c["agreement_tolerance"]:
                reasons.append(f"{p}: PyTorch and the harness differ by rel_l2 {r[p]['rl2']:.3g} > "
                               f"{c['agreement_tolerance']:.3g}")
        ok = not reasons
        failed += not ok
        ag, sh = r["allgather"], r["sharded"]
        print(f"{c['case']:<40} | {100 * ag['ident']:>9.3f} {ag['ulp']:>6d} {ag['rl2']:>9.2e} {ag['margin']:>7.3f} | "
              f"{100 * sh['ident']:>9.3f} {sh['ulp']:>6d} {sh['rl2']:>9.2e} {sh['margin']:>7.3f} | "
              f"{c['harness']['parity']['rel_l2']:>9.2e} {r['t_par']:>9.2e} {c['agreement_tolerance']:>8.2e} "
              f"{time.time() - start:>6.2f} {'PASS' if ok else 'FAIL'}", flush=True)
        for why in reasons:
            print(f"  FAIL {c['case']}: {why}")
    for s in skipped:
        print(f"# not checked: {s}")
    if checked == 0:
        die("nothing checked: every case is quantized, faulted or not modelled")
    print(f"{PROG}: {checked - failed} passed, {failed} failed, {len(skipped)} not checked on {dev_name}: "
          f"{'PASS' if failed == 0 else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - anything unexpected is a bug: say so, exit 4
        print(f"{PROG}: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(4)
