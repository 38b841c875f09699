#!/usr/bin/python3
"""False-alarm rate of the captured-output verdict (ffn_parity.judge_outputs).

Correct outputs of an independent model of the block (PyTorch, python/examples/test_tp_parity.py:
the plain block as the old output, the sharded block at tp as the new one, each Linear
accumulated in one GEMM or split-K in fp32 slices) are judged over many seeds; every FAIL is a
false alarm. Prints, per tp and verdict, the margins (median, p99, max; < 1 passes) and the
false alarms, and exits 1 if there was any.

    PYTHONPATH=build-cpu/python python3 python/examples/false_alarms.py [--seeds 200] [--tp 2,4,8]
        [--dims 256,1024] [--tokens 16] [--split-k 1,4]
"""
import argparse
import sys

import numpy as np

from test_tp_parity import ffn, judge, make_block


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=200)
    p.add_argument("--tp", default="2,4,8")
    p.add_argument("--dims", default="256,1024")
    p.add_argument("--tokens", type=int, default=16)
    p.add_argument("--split-k", default="1,4")
    a = p.parse_args()
    tps = [int(t) for t in a.tp.split(",")]
    hidden, inner = (int(d) for d in a.dims.split(","))
    splits = [int(s) for s in a.split_k.split(",")]
    margins, alarms = {}, 0
    for seed in range(a.seeds):
        x, w = make_block(seed, hidden, inner, a.tokens)
        for split_k in splits:
            old = ffn(x, **w, tp=1, split_k=split_k)
            for tp in tps:
                j = judge(x, w, old, ffn(x, **w, tp=tp, split_k=split_k), tp=tp)
                for v in j.verdicts.values():
                    margins.setdefault((tp, v.name), []).append(v.margin)
                if not j.passed:
                    alarms += 1
                    print(f"false alarm: seed {seed} split-k {split_k} tp {tp}: {j}")
    cases = a.seeds * len(splits) * len(tps)
    print(f"# captured-output verdicts of correct outputs: dims {hidden},{inner}, {a.tokens} tokens, bf16, "
          f"{a.seeds} seeds, split-k {a.split_k}")
    print(f"# {'tp':>3} {'verdict':<17} {'median':>8} {'p99':>8} {'max':>8}")
    for (tp, name), m in sorted(margins.items()):
        m = np.array(m)
        print(f"  {tp:>3} {name:<17} {np.median(m):8.3f} {np.quantile(m, 0.99):8.3f} {m.max():8.3f}")
    print(f"false alarms: {alarms} of {cases} judgements ({3 * cases} verdicts)")
    return 1 if alarms else 0


if __name__ == "__main__":
    sys.exit(main())
