#!/usr/bin/python3
"""ci/torch-bench.py on CPU at tiny dims: a row per path and tp with a finite time; --against a
harness table whose times are far off fails (exit 1, OUTSIDE); --against a file that is no bench
output and a bad --tp are refused in one line (exit 2).

    torch_bench_check.py TORCH_BENCH_PY WORK_DIR

Exit 0 good, 1 a check failed, 77 no torch in /usr/bin/python3 (ctest: skipped).
"""
import os
import subprocess
import sys

try:
    import torch  # noqa: F401
except ImportError:
    print("SKIP: torch is not installed (Debian: apt-get install -y python3-torch)")
    sys.exit(77)

bench, work = sys.argv[1:3]
os.makedirs(work, exist_ok=True)
tiny = [sys.executable, bench, "--dim", "64", "--inner", "256", "--tokens", "8", "--tp", "1,2,4", "--device", "cpu",
        "--warmup", "1", "--reps", "3"]
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}")


def run(extra):
    p = subprocess.run(tiny + extra, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


rc, out, err = run([])
print(out, end="")
rows = [l.split() for l in out.splitlines() if l.split()[:1] in (["allgather"], ["sharded"])]
check(rc == 0, f"plain run: exit {rc}: {err.strip()}")
check([(r[0], r[1]) for r in rows] == [(p, tp) for tp in ("1", "2", "4") for p in ("allgather", "sharded")],
      f"rows {[(r[0], r[1]) for r in rows]}")
check(all(float(r[2]) > 0 for r in rows), "a non-positive time")

far_off = os.path.join(work, "harness-far-off.txt")
with open(far_off, "w") as f:
    f.write("path tp ffn_ms compute_ms\n" + "".join(f"{p} {tp} 1e6 1e6\n" for tp in (1, 2, 4)
                                                       for p in ("allgather", "sharded")))
rc, out, err = run(["--against", far_off])
check(rc == 1 and out.count(" OUTSIDE") == 6 and "FAIL (6 rows outside)" in out, f"--against far off: exit {rc}")

not_bench = os.path.join(work, "not-bench.txt")
with open(not_bench, "w") as f:
    f.write("hello\n")
rc, out, err = run(["--against", not_bench])
check(rc == 2 and err.startswith(f"torch-bench: error: --against {not_bench}: no allgather/sharded rows")
      and err.count("\n") == 1, f"--against not a bench output: exit {rc}, {err!r}")
p = subprocess.run([sys.executable, bench, "--dim", "64", "--tp", "3"], capture_output=True, text=True)
check(p.returncode == 2 and p.stderr == "torch-bench: error: --tp 3: must divide dim 64 and inner 16384\n",
      f"--tp 3: exit {p.returncode}, {p.stderr!r}")
print(f"torch_bench_check: {len(failures)} failures")
sys.exit(1 if failures else 0)
