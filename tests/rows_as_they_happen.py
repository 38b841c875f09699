"""`ffn-parity run` and `golden check` print each case's row as soon as the case is judged,
flushed into a pipe, not all at the end: the header comes before the first case finishes and
the rows arrive spread over the run.

    rows_as_they_happen.py FFN_PARITY GOLDEN

Exit 0: all good; 1: a check failed.
"""
import subprocess
import sys
import time


def timed_lines(cmd):
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    lines = [(time.monotonic() - start, line.rstrip("\n")) for line in proc.stdout]
    proc.wait()
    return proc.returncode, time.monotonic() - start, lines


def check(name, cmd, is_row):
    status, total, lines = timed_lines(cmd)
    rows = [t for t, line in lines if is_row(line)]
    problems = []
    if status != 0:
        problems.append(f"exit status {status}")
    if len(rows) < 6:
        problems.append(f"{len(rows)} rows, expected at least 6")
    elif rows[0] > 0.6 * total:
        # Printed at the end, the first row would arrive with the last one.
        problems.append(f"the first row arrived at {rows[0]:.2f} s of {total:.2f} s")
    elif rows[-1] - rows[0] < 0.3 * (total - rows[0]):
        problems.append(f"the rows arrived within {rows[-1] - rows[0]:.2f} s of a {total:.2f} s run")
    print(f"{name}: {len(rows)} rows, first at {rows[0] if rows else float('nan'):.2f} s, "
          f"last at {rows[-1] if rows else float('nan'):.2f} s, run {total:.2f} s"
          + ("" if not problems else ": " + "; ".join(problems)))
    return not problems


def main(argv):
    if len(argv) != 3:
        print(__doc__)
        return 2
    ffn_parity, golden = argv[1:]
    ok = check("run", [ffn_parity, "run", "--shape", "ltx2-audio", "--tokens", "4", "--tp", "1,2,4,8",
                       "--precision", "bf16,fp16", "--allreduce", "ring,oneshot"],
               lambda line: line.endswith(("PASS", "FAIL")) and not line.startswith("#"))
    ok &= check("golden check", [ffn_parity, "golden", "check", golden],
                lambda line: line.endswith(("PASS", "FAIL")) and not line.startswith("#"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
