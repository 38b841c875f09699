"""ffn_parity.compare_frames and ffn_parity.read_golden: the metrics of metrics/ and the golden
reader of goldens/, with their failures as the CLI's lines."""
import math
import os

import numpy as np
import pytest

import ffn_parity
from conftest import SOURCE
from helpers import golden_case


def frames(n=3, h=16, w=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def test_identical_frames():
    a = frames()
    s = ffn_parity.compare_frames(a, a.copy())
    assert s["psnr_db"] == [math.inf] * 3 and s["ssim"] == [1.0] * 3 and s["mad"] == [0.0] * 3
    assert s["psnr_mean_db"] == math.inf and s["ssim_kind"] == "gaussian"


def test_known_difference():
    a = frames(n=2)
    b = a.copy()
    b[1, 5, 7, 2] = a[1, 5, 7, 2] ^ 0x10  # one channel of one pixel moves by 16 levels
    s = ffn_parity.compare_frames(a, b)
    n = a[1].size
    assert s["psnr_db"][0] == math.inf and s["mad"][0] == 0
    assert s["psnr_db"][1] == pytest.approx(10 * math.log10(255**2 / (16**2 / n)), rel=1e-12)
    assert s["mad"][1] == pytest.approx(16 / n, rel=1e-12) and s["mad_max"] == s["mad"][1]
    assert s["ssim"][1] < 1 and s["worst_frame"] == 1 and s["ssim_min"] == s["ssim"][1]
    # One frame alone, [height, width, 3]; non-contiguous arrays are read as they are.
    assert ffn_parity.compare_frames(a[1], b[1])["psnr_db"] == s["psnr_db"][1:]
    assert ffn_parity.compare_frames(a[:, ::-1], b[:, ::-1])["psnr_db"] == s["psnr_db"]
    sk = ffn_parity.compare_frames(a, b, ssim="skimage")
    assert sk["ssim_kind"] == "skimage" and sk["psnr_db"] == s["psnr_db"] and sk["ssim"][1] != s["ssim"][1]


@pytest.mark.parametrize("a,b,kw,line", [
    (frames(n=3), frames(n=2), {}, "frame counts differ"),
    (frames(h=16), frames(h=18), {}, "16"),
    (frames(h=5, w=5), frames(h=5, w=5), {"ssim": "skimage"}, "7x7"),
    (frames().astype(np.float32), frames(), {}, "a: dtype float32: frames are 8-bit (uint8)"),
    (frames()[..., :2], frames()[..., :2], {}, "a: expected [frames, height, width, 3]"),
    (frames(), [1, 2, 3], {}, "b: expected a uint8 array [frames, height, width, 3] or a path, got list"),
    (frames(), "/nonexistent/video.mp4", {}, "/nonexistent/video.mp4"),
    (frames(), frames(), {"ssim": "ms-ssim"}, "--ssim: ms-ssim"),
])
def test_frames_refused_in_one_line(a, b, kw, line):
    with pytest.raises(ffn_parity.UsageError) as e:
        ffn_parity.compare_frames(a, b, **kw)
    message = str(e.value)
    assert message.startswith("ffn-parity frames compare: error: ") and "\n" not in message
    assert line in message, message


def test_golden_cases_inputs_outputs_provenance():
    g = ffn_parity.read_golden(os.path.join(SOURCE, "goldens", "tiny.h5"))
    assert g["provenance"]["schema"] == "ffn-parity-golden" and g["provenance"]["tool"] == "ffn-parity"
    assert len(g["cases"]) == 24 and {s["mode"] for s in g["input_sets"].values()} == {"full"}
    c = next(c for c in g["cases"] if c["name"] == "tiny/t8/tp4/bf16/ring/s0")
    s = g["input_sets"][c["input_set"]]
    assert (c["tp"], c["precision"], c["allreduce"]) == (4, "bf16", "ring")
    assert c["allgather"].shape == c["sharded"].shape == s["reference"].shape == (8, 64)
    assert s["x"].shape == (8, 64) and s["w_in"].shape == (256, 64) and s["w_out"].shape == (64, 256)
    assert s["b_in"].shape == (256,) and s["b_out"].shape == (64,) and s["input_problems"] == ""
    assert 0 < c["record"]["parity_margin"] < 1 and c["drift_budget_scale"] == 2.0


def test_seeded_inputs_are_generated_again_and_checked():
    g = ffn_parity.read_golden(os.path.join(SOURCE, "goldens", "small-quant.h5"))
    for s in g["input_sets"].values():
        assert s["mode"] == "seeded" and s["input_problems"] == "" and s["x"].shape == (8, 256)
    # Without inputs: no tensors, only what the file holds.
    lean = ffn_parity.read_golden(os.path.join(SOURCE, "goldens", "ltx2-video.h5"), inputs=False)
    assert all("x" not in s for s in lean["input_sets"].values()) and len(lean["cases"]) == 24


@pytest.mark.parametrize("name", ["small/t8/tp2/fp8-dynamic/ring/s0", "small/t8/tp2/int8/ring/s0"])
def test_quantized_golden_outputs_pass_the_judge(name):
    inputs, c = golden_case(name, "small-quant.h5")
    j = ffn_parity.judge_outputs(**inputs, old=c["allgather"], new=c["sharded"], tp=c["tp"], precision=c["precision"],
                                 allreduce=c["allreduce"])
    j.assert_passed()


def test_a_damaged_golden_is_refused_with_the_cli_line(cli, tmp_path):
    path = tmp_path / "damaged.h5"
    path.write_bytes(b"not a golden at all")
    status, _, err = cli("golden", "check", path)
    assert status == 2
    with pytest.raises(ffn_parity.UsageError) as e:
        ffn_parity.read_golden(path)
    assert str(e.value) == err.strip()
