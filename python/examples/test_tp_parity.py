"""TP parity of a feed-forward block, as the serving stack's own test suite would write it.

A PyTorch model of the block runs at TP=1 (the reference layout) and TP=2 (column-parallel
proj_in, the activation on each shard, row-parallel proj_out with its bias on rank 0, an
AllReduce); ffn_parity judges both outputs with one call, against error budgets that do not cry
wolf where torch.testing.assert_close flags a few percent of a correct bf16 output.

    PYTHONPATH=build/python python3 -m pytest python/examples/test_tp_parity.py
    PYTHONPATH=build/python python3 python/examples/test_tp_parity.py   # prints the verdicts
"""
import math

import pytest

torch = pytest.importorskip("torch")
import ffn_parity  # noqa: E402

HIDDEN, INNER, TOKENS = 256, 1024, 16


def make_block(seed, hidden=HIDDEN, inner=INNER, tokens=TOKENS):
    """bf16 inputs and weights, initialised as nn.Linear initialises them."""
    g = torch.Generator().manual_seed(seed)

    def uniform(*shape, fan_in):
        return ((torch.rand(*shape, generator=g) * 2 - 1) / math.sqrt(fan_in)).bfloat16()

    x = torch.randn(tokens, hidden, generator=g).bfloat16()
    return x, dict(w_in=uniform(inner, hidden, fan_in=hidden), b_in=uniform(inner, fan_in=hidden),
                   w_out=uniform(hidden, inner, fan_in=inner), b_out=uniform(hidden, fan_in=inner))


def linear(x, w, b=None, split_k=1):
    """A Linear as the stack's GEMMs compute it: fp32 accumulation, fp32 bias, one rounding
    (split_k > 1: the reduction dimension in that many slices summed in fp32, as a split-K kernel
    accumulates)."""
    y = sum(xs.float() @ ws.float().t() for xs, ws in zip(x.chunk(split_k, dim=1), w.chunk(split_k, dim=1)))
    if b is not None:
        y = y + b.float()
    return y.to(x.dtype)


def ffn(x, w_in, b_in, w_out, b_out, tp, bias_on_every_rank=False, split_k=1):
    """The sharded FFN at `tp` (at tp 1, the plain block): each rank's partial rounded to bf16,
    then summed in rank order, each add in fp32 rounded to bf16 (the AllReduce)."""
    shard = w_in.shape[0] // tp
    partials = []
    for r in range(tp):
        rows = slice(r * shard, (r + 1) * shard)
        h = linear(x, w_in[rows], b_in[rows], split_k)
        a = torch.nn.functional.gelu(h.float(), approximate="tanh").to(x.dtype)
        partials.append(linear(a, w_out[:, rows], b_out if r == 0 or bias_on_every_rank else None, split_k))
    y = partials[0]
    for p in partials[1:]:
        y = (y.float() + p.float()).to(x.dtype)
    return y


def judge(x, w, y_tp1, y_tp2, tp=2):
    # The reduction above adds in bf16 from rank 0 upward: PyTorch symmetric memory's order.
    return ffn_parity.judge_outputs(x, **w, old=y_tp1, new=y_tp2, tp=tp, precision="bf16", allreduce="symm-mem")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tp2_matches_tp1(seed):
    x, w = make_block(seed)
    judge(x, w, ffn(x, **w, tp=1), ffn(x, **w, tp=2)).assert_passed()


def test_bias_added_on_every_rank_is_caught():
    x, w = make_block(0)
    j = judge(x, w, ffn(x, **w, tp=1), ffn(x, **w, tp=2, bias_on_every_rank=True))
    assert not j.passed
    assert not j.verdicts["new vs sharded"].passed and not j.verdicts["new vs old"].passed
    assert j.verdicts["old vs allgather"].passed


def test_dropped_token_is_caught():
    x, w = make_block(0)
    # The middle token lost on the way: the later ones move up, the last row is empty.
    dropped = torch.cat([x[: TOKENS // 2], x[TOKENS // 2 + 1:], torch.zeros(1, HIDDEN, dtype=x.dtype)])
    j = judge(x, w, ffn(x, **w, tp=1), ffn(dropped, **w, tp=2))
    assert not j.passed
    worst = j.verdicts["new vs sharded"].worst_elements[0]
    assert worst["row"] >= TOKENS // 2


if __name__ == "__main__":
    x, w = make_block(0)
    y_tp1, y_tp2 = ffn(x, **w, tp=1), ffn(x, **w, tp=2)
    close = torch.isclose(y_tp2.float(), y_tp1.float(), rtol=1.6e-2, atol=1e-5)
    print(f"allclose (torch's bf16 defaults): {(~close).sum().item()} of {close.numel()} elements mismatched")
    for title, y_new in (("correct TP=2", y_tp2), ("bias on every rank", ffn(x, **w, tp=2, bias_on_every_rank=True))):
        j = judge(x, w, y_tp1, y_new)
        print(f"{title}: {'PASS' if j.passed else 'FAIL'}")
        for v in j.verdicts.values():
            e = v.worst_elements[0]
            print(f"  {v.name:<16} {'PASS' if v.passed else 'FAIL'} margin {v.margin:.3f}  rel_l2 "
                  f"{v.comparison.rel_l2:.2e}  worst ({e['row']}, {e['col']}): {e['ratio']:.2f} of its bound")
