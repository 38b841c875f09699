#!/usr/bin/python3
"""ci/torch-parity.py on CPU at tiny dims, and that it can fail:

  1. `ffn-parity run --shape tiny --tp 1,2,4 --precision bf16 --dump-inputs --dump-outputs`;
  2. every dumped safetensors file parsed with plain json + numpy (not the harness's reader, not
     ci/safetensors_np.py): 8-byte length, a header padded to a multiple of 8 bytes, tensors
     tiling the data section, the dtypes and shapes the case's JSON implies; the dumped outputs
     against the dumped reference give the relative L2 errors the JSON reports;
  3. torch-parity passes every case (table rows, verdict line, exit 0);
  4. a planted difference (one element of the tp 2 sharded output moved far beyond its bound)
     fails that case alone (exit 1);
  5. bad input: a missing directory, a truncated output: one line, exit 2.

    torch_parity_check.py FFN_PARITY TORCH_PARITY_PY WORK_DIR

Exit 0 all good, 1 a check failed (each printed), 77 no torch or numpy in /usr/bin/python3
(ctest: skipped).
"""
import glob
import json
import os
import shutil
import struct
import subprocess
import sys

try:
    import numpy as np
    import torch  # noqa: F401 - torch-parity needs it; without it the test is skipped
except ImportError as e:
    print(f"SKIP: {e.name} is not installed (Debian: apt-get install -y python3-torch python3-numpy)")
    sys.exit(77)

ffn_parity, torch_parity, work = sys.argv[1:4]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


shutil.rmtree(work, ignore_errors=True)
inputs, outputs = os.path.join(work, "in"), os.path.join(work, "out")
rc, out, err = run([ffn_parity, "run", "--shape", "tiny", "--tp", "1,2,4", "--precision", "bf16",
                    "--dump-inputs", inputs, "--dump-outputs", outputs])
check(rc == 0, f"ffn-parity run exit {rc}: {err.strip()}")

# ---- 2. the files, parsed independently -------------------------------------------------------
SIZES = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8}


def parse(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    check(n % 8 == 0, f"{path}: header length {n} is not a multiple of 8")
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    at = 0
    tensors = {}
    for name, t in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        b, e = t["data_offsets"]
        check(b == at, f"{path}: {name} starts at {b}, not {at}")
        check(e - b == int(np.prod(t["shape"])) * SIZES[t["dtype"]], f"{path}: {name}: size")
        at = e
        raw = np.frombuffer(data[b:e], dtype={"BF16": "<u2", "F16": "<f2", "F32": "<f4", "F64": "<f8"}[t["dtype"]])
        if t["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = (t["dtype"], raw.reshape(t["shape"]))
    check(at == len(data), f"{path}: the tensors cover {at} of {len(data)} data bytes")
    return tensors


cases = sorted(glob.glob(os.path.join(inputs, "*.case.json")))
check(len(cases) == 3, f"{len(cases)} case files, expected 3")
for path in cases:
    c = json.load(open(path))
    t, dim, inner = c["tokens"], c["dim"], c["inner"]
    ins = parse(os.path.join(inputs, c["inputs"]))
    want = {"x": [t, dim], "proj_in.weight": [inner, dim], "proj_in.bias": [inner],
            "proj_out.weight": [dim, inner], "proj_out.bias": [dim]}
    check({k: list(v[1].shape) for k, v in ins.items()} == want, f"{path}: input shapes {list(ins)}")
    check(all(v[0] == "BF16" for v in ins.values()), f"{path}: a bf16 case's inputs are not all BF16")
    ref = parse(os.path.join(inputs, c["reference"]))["reference"]
    check(ref[0] == "F64" and list(ref[1].shape) == [t, dim], f"{path}: reference {ref[0]} {ref[1].shape}")
    bounds = parse(os.path.join(inputs, c["budget"]))
    for p in ("allgather", "sharded"):
        b = bounds[f"{p}.bound"][1]
        check(b.shape == (t, dim) and (b > 0).all(), f"{path}: {p}.bound not positive [tokens, dim]")
        y = np.fromfile(os.path.join(outputs, c["outputs"][p]), dtype="<f4").reshape(t, dim).astype(np.float64)
        rl2 = np.linalg.norm(y - ref[1]) / np.linalg.norm(ref[1])
        check(abs(rl2 - c["harness"][p]["rel_l2"]) <= 1e-9 * rl2,
              f"{path}: {p} vs reference rel_l2 {rl2} here, {c['harness'][p]['rel_l2']} in the JSON")
        # The harness passed, so its output lies within its own bounds.
        check((np.abs(y - ref[1]) <= b).all(), f"{path}: the harness's {p} output is outside its dumped bounds")

# ---- 3. torch-parity passes ------------------------------------------------------------------
rc, out, err = run([sys.executable, torch_parity, inputs, "--device", "cpu"])
print(out, end="")
rows = [l for l in out.splitlines() if l.startswith("tiny/")]
check(rc == 0, f"torch-parity exit {rc}, expected 0: {err.strip()}")
check(len(rows) == 3 and all(r.endswith(" PASS") for r in rows), "torch-parity: not 3 PASS rows")
check("torch-parity: 3 passed, 0 failed, 0 not checked on CPU: PASS" in out, "torch-parity: no verdict line")

# ---- 4. a planted difference fails -------------------------------------------------------------
planted = os.path.join(work, "planted")
shutil.copytree(outputs, planted)
target = os.path.join(planted, "tiny_t8_tp2_bf16_ring_s0.sharded.f32")
y = np.fromfile(target, dtype="<f4")
y[17] += 0.5  # far beyond its bound (~1e-2 here); on the bf16 grid for |y| < 2
check(((y.view(np.uint32) & 0xFFFF) == 0).all(), "planted value left the bf16 grid")
y.tofile(target)
rc, out, err = run([sys.executable, torch_parity, inputs, "--device", "cpu", "--outputs", planted])
check(rc == 1, f"planted: torch-parity exit {rc}, expected 1")
fails = [l for l in out.splitlines() if l.startswith("tiny/") and l.endswith(" FAIL")]
check(len(fails) == 1 and fails[0].startswith("tiny/t8/tp2/bf16/ring/s0 "), f"planted: FAIL rows {fails}")
check("FAIL tiny/t8/tp2/bf16/ring/s0: sharded: 1 elements differ from the harness by more than twice their bound"
      in out, "planted: no reason naming the sharded path")

# ---- 5. bad input ----------------------------------------------------------------------------
rc, out, err = run([sys.executable, torch_parity, os.path.join(work, "missing")])
check(rc == 2 and err == f"torch-parity: error: {os.path.join(work, 'missing')}: no such directory\n",
      f"missing dir: exit {rc}, stderr {err!r}")
truncated = os.path.join(work, "truncated")
shutil.copytree(outputs, truncated)
victim = os.path.join(truncated, "tiny_t8_tp1_bf16_ring_s0.allgather.f32")
with open(victim, "r+b") as f:
    f.truncate(100)
rc, out, err = run([sys.executable, torch_parity, inputs, "--outputs", truncated])
check(rc == 2 and err == f"torch-parity: error: {victim}: 25 float32 values, expected 8 x 64\n",
      f"truncated output: exit {rc}, stderr {err!r}")

print(f"torch_parity_check: {len(failures)} failures")
sys.exit(1 if failures else 0)
