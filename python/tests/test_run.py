"""ffn_parity.run against `ffn-parity run`: the same JSON bit for bit, the same error lines."""
import os
import threading
import time

import numpy as np
import pytest

import ffn_parity

SWEEPS = [  # (keyword arguments, the same as CLI arguments)
    (dict(shape="tiny", tp=[1, 2, 4], precision=["fp32", "bf16"], allreduce=["ring", "custom-1stage"]),
     ["--shape", "tiny", "--tp", "1,2,4", "--precision", "fp32,bf16", "--allreduce", "ring,custom-1stage"]),
    (dict(shape="small", tp=[1, 2], precision=["fp8-dynamic", "int8", "nvfp4"], seed=3),
     ["--shape", "small", "--tp", "1,2", "--precision", "fp8-dynamic,int8,nvfp4", "--seed", "3"]),
    (dict(dims=[64, 96], activation="swiglu", no_bias=True, tp=[1, 2], precision="bf16", tokens=5,
          act_rounding="native", allreduce="nccl-ring", nccl_channels=2),
     ["--dims", "64,96", "--activation", "swiglu", "--no-bias", "--tp", "1,2", "--precision", "bf16", "--tokens", "5",
      "--act-rounding", "native", "--allreduce", "nccl-ring", "--nccl-channels", "2"]),
    (dict(shape="tiny", tp=4, precision="bf16", allreduce="nccl-ring", nccl_channels=2,
          nccl_ring_order=[[0, 2, 1, 3], [3, 2, 1, 0]]),
     ["--shape", "tiny", "--tp", "4", "--precision", "bf16", "--allreduce", "nccl-ring", "--nccl-channels", "2",
      "--nccl-ring-order", "0,2,1,3/3,2,1,0"]),
    (dict(shape="small", tp=[1, 4], precision=["bf16", "fp8-block"], outliers=2, outlier_scale=16),
     ["--shape", "small", "--tp", "1,4", "--precision", "bf16,fp8-block", "--outliers", "2", "--outlier-scale", "16"]),
]


def without_seconds(doc):
    for case in doc["cases"]:
        case.pop("seconds", None)
    return doc


@pytest.mark.parametrize("kwargs,args", SWEEPS, ids=[" ".join(a) for _, a in SWEEPS])
def test_json_equals_the_cli_bit_for_bit(cli_json, kwargs, args):
    # json.loads reads the shortest round-trip decimal back into the same double: equal
    # documents are equal bits.
    assert without_seconds(ffn_parity.run(**kwargs).json) == without_seconds(cli_json(*args))


def test_outputs_equal_the_cli_dump_bit_for_bit(cli, tmp_path):
    status, _, err = cli("run", "--shape", "tiny", "--tp", "1,2,4", "--precision", "bf16", "--dump-outputs", tmp_path)
    assert status == 0, err
    result = ffn_parity.run("tiny", tp=[1, 2, 4], precision="bf16")
    for case in result.cases:
        stem = os.path.join(tmp_path, case.name.replace("/", "_"))
        for path, out in (("allgather", case.allgather_out), ("sharded", case.sharded_out)):
            dumped = np.fromfile(f"{stem}.{path}.f32", dtype=np.float32).reshape(out.shape)
            assert out.dtype == np.float32 and out.flags.c_contiguous
            assert np.array_equal(out.view(np.uint32), dumped.view(np.uint32))
        assert case.reference_out.dtype == np.float64 and case.reference_out.shape == case.sharded_out.shape


def test_result_objects():
    r = ffn_parity.run("tiny", tp=[1, 2], precision="bf16", allreduce="ring")
    assert r.ok and r.passed == 2 and r.failed == 0 and r.not_run == []
    tp1, tp2 = r.cases
    assert (tp1.tp, tp1.precision, tp1.allreduce, tp1.passed, tp1.reason) == (1, "bf16", "ring", True, "")
    # At tp 1 both paths agree bit for bit.
    assert np.array_equal(tp1.allgather_out, tp1.sharded_out) and tp1.parity.margin == 0
    assert 0 < tp2.parity.margin < 1 and tp2.margin == max(tp2.parity.margin, tp2.allgather_vs_reference.margin,
                                                          tp2.sharded_vs_reference.margin)
    assert tp2.parity.rel_l2 > 0 and tp2.parity.allclose_mismatched >= 0


def test_combinations_the_loader_refuses_are_listed(cli_json):
    r = ffn_parity.run("small", tp=[1, 4], precision="fp8-block")
    assert r.not_run == cli_json("--shape", "small", "--tp", "1,4", "--precision", "fp8-block")["not_run"]
    assert len(r.not_run) == 1 and "fp8-block at tp 4" in r.not_run[0] and [c.tp for c in r.cases] == [1]


ERRORS = [  # keyword arguments and the same CLI arguments: the same line, the same exit status
    (dict(shape="tiny", tp=3), ["--shape", "tiny", "--tp", "3"]),
    (dict(shape="tiny", precision="bf17"), ["--shape", "tiny", "--precision", "bf17"]),
    (dict(shape="huge"), ["--shape", "huge"]),
    (dict(shape="tiny", tokens=0), ["--shape", "tiny", "--tokens", "0"]),
    (dict(shape="tiny", allreduce="nccl-ring", nccl_channels=65), ["--shape", "tiny", "--allreduce", "nccl-ring",
                                                                    "--nccl-channels", "65"]),
    (dict(shape="tiny", outlier_scale=1e300), ["--shape", "tiny", "--outlier-scale", "1e300"]),
    (dict(shape="tiny", model="flux2"), ["--shape", "tiny", "--model", "flux2"]),
    (dict(model="no-such-model"), ["--model", "no-such-model"]),
    (dict(dims=[64, 0]), ["--dims", "64,0"]),
    (dict(shape="tiny", gated=True), ["--shape", "tiny", "--gated"]),
    (dict(shape="small", tp=4, precision="fp8-block"), ["--shape", "small", "--tp", "4", "--precision", "fp8-block"]),
    (dict(weights="/nonexistent/model.safetensors", layer=0), ["--weights", "/nonexistent/model.safetensors",
                                                               "--layer", "0"]),
    (dict(backend="cuda", shape="tiny"), ["--backend", "cuda", "--shape", "tiny"]),
]


@pytest.mark.parametrize("kwargs,args", ERRORS, ids=[" ".join(a) for _, a in ERRORS])
def test_errors_carry_the_cli_line(cli, kwargs, args):
    status, out, err = cli("run", *args)
    assert status in (2, 3) and out == "", err
    with pytest.raises((ffn_parity.UsageError, ffn_parity.NoDeviceError)) as e:
        ffn_parity.run(**kwargs)
    assert str(e.value) == err.strip() and e.value.exit_status == status
    assert isinstance(e.value, ValueError if status == 2 else RuntimeError)


def test_the_gil_is_released_while_cases_run():
    done = threading.Event()
    result = []

    def work():
        result.append(ffn_parity.run("small", tokens=64, tp=[1, 2, 4, 8], precision=["bf16", "fp16", "fp32"]))
        done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    ticks = 0
    while not done.is_set():
        ticks += 1  # this thread runs Python while the other one computes
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - start
    assert result[0].ok
    assert elapsed < 0.05 or ticks >= 10, f"{ticks} ticks in {elapsed:.3f} s: the GIL was held"
