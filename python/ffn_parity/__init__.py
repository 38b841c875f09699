"""ffn_parity: the harness's verdicts from Python.

The same library as the ``ffn-parity`` command, in process:

- :func:`run` runs cases as ``ffn-parity run`` does and returns its results as objects
  (verdicts, margins, statistics, outputs as NumPy arrays);
- :func:`judge_outputs` judges outputs captured from the real serving stack (the old allgather
  FFN, the new sharded one, or both) against the harness's error budgets;
- :func:`compare_frames` scores two frame sequences (PSNR, SSIM, MAD);
- :func:`read_golden` reads a golden file (cases, inputs, outputs, provenance).

Tensors are NumPy arrays: float32 values (a bf16 or fp16 tensor as its values, which float32
holds exactly) or uint16 bit patterns with ``dtype="bf16"`` or ``"fp16"``. PyTorch tensors (and
other DLPack producers) are accepted as they are: a bf16 tensor is passed as its bit patterns.

Failures raise the command line's one-line message: :class:`UsageError` (a ValueError; the CLI's
exit status 2: a bad value, an unusable input), :class:`NoDeviceError` (3), :class:`InternalError`
(4, a bug). A failed check is not an exception but a verdict (``passed`` is False).
The GIL is released while cases run.
"""
import json

import numpy as np

from . import _core
from ._core import InternalError, NoDeviceError, UsageError

__version__ = _core.version
__all__ = ["run", "judge_outputs", "compare_frames", "read_golden", "RunResult", "CaseResult", "Comparison",
           "Judgement", "Verdict", "UsageError", "NoDeviceError", "InternalError"]


def _float(v):
    """A number of the JSON (non-finite numbers are written as "inf", "-inf", "nan")."""
    return float(v) if isinstance(v, str) else v


class Comparison:
    """One comparison of a case, as ``--format json`` writes it (``json``), with the figures most
    used as attributes: ``passed``, ``margin`` (worst error over its budget; < 1 passes),
    ``over_budget`` (elements beyond their bound), ``rel_l2``, ``max_abs``, ``allclose_mismatched``
    (elements outside torch's default tolerance: information, not the verdict)."""

    def __init__(self, doc):
        self.json = doc
        self.passed = doc["pass"]
        self.margin = _float(doc["margin"])
        self.over_budget = doc["budget"]["over_budget"]
        self.rel_l2 = _float(doc["rel_l2"])
        self.max_abs = _float(doc["max_abs"])
        self.allclose_mismatched = doc["allclose"]["mismatched"]

    def __repr__(self):
        return f"Comparison(passed={self.passed}, margin={self.margin:.3g}, rel_l2={self.rel_l2:.3g})"


class CaseResult:
    """One case of a run: ``name``, ``tp``, ``precision``, ``allreduce``, ``passed``, ``reason``
    (why it failed; empty when it passed), ``margin`` (the largest of its comparisons'), the
    comparisons ``parity`` (sharded vs allgather), ``allgather_vs_reference``,
    ``sharded_vs_reference`` (:class:`Comparison`), ``json`` (the case as ``--format json``
    writes it) and the outputs ``allgather_out``, ``sharded_out`` (float32 [tokens, hidden], on the
    precision's grid) and ``reference_out`` (the fp64 reference)."""

    def __init__(self, doc, outputs):
        self.json = doc
        self.name = doc["name"]
        self.tp = doc["tp"]
        self.precision = doc["precision"]
        self.allreduce = doc["allreduce"]
        self.not_applicable = doc.get("not_applicable", "")
        self.passed = doc.get("pass", False)
        self.reason = doc.get("reason", "")
        self.allgather_out, self.sharded_out, self.reference_out = outputs
        if self.not_applicable:
            self.parity = self.allgather_vs_reference = self.sharded_vs_reference = None
            self.margin = float("nan")
            return
        self.parity = Comparison(doc["parity"])
        self.allgather_vs_reference = Comparison(doc["allgather_vs_reference"])
        self.sharded_vs_reference = Comparison(doc["sharded_vs_reference"])
        self.margin = max(c.margin for c in (self.parity, self.allgather_vs_reference, self.sharded_vs_reference))

    def __repr__(self):
        return f"CaseResult({self.name}, {'PASS' if self.passed else 'FAIL'}, margin={self.margin:.3g})"


class RunResult:
    """What :func:`run` returns: ``cases`` (:class:`CaseResult`, in the order of the CLI's table),
    ``passed`` and ``failed`` (counts), ``not_run`` (combinations the checkpoint loader refuses,
    one line each), ``ok`` (every case passed) and ``json``: the document ``ffn-parity run
    --format json`` prints for the same arguments."""

    def __init__(self, text, outputs):
        self.json = json.loads(text)
        self.cases = [CaseResult(c, o) for c, o in zip(self.json["cases"], outputs)]
        self.passed = self.json["passed"]
        self.failed = self.json["failed"]
        self.not_run = self.json["not_run"]
        self.ok = self.failed == 0 and self.passed > 0

    def __repr__(self):
        return f"RunResult({self.passed} passed, {self.failed} failed, {len(self.not_run)} not run)"


def _option(args, name, value):
    if value is None or value is False:
        return
    if value is True:
        args.append(name)
        return
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    args += [name, str(value)]


def _ring_orders(value):
    """--nccl-ring-order of a string ("0,2,1,3/3,2,1,0"), one ring ([0, 2, 1, 3]) or one per channel
    ([[0, 2, 1, 3], [3, 2, 1, 0]])."""
    if value is None or isinstance(value, str):
        return value
    rings = value if value and isinstance(value[0], (list, tuple)) else [value]
    return "/".join(",".join(str(r) for r in ring) for ring in rings)


def _sweep_args(**options):
    """`ffn-parity run` arguments of keyword arguments: tp=[1, 2] -> --tp 1,2."""
    args = []
    for key, value in options.items():
        _option(args, "--" + key.replace("_", "-"), value)
    return args


def run(shape=None, *, model=None, dims=None, activation=None, gated=False, no_bias=False, act_rounding=None,
        tokens=None, tp=None, precision=None, allreduce=None, nccl_channels=None, nccl_ring_order=None, seed=None,
        outliers=None, outlier_scale=None, weights=None, layer=None, stream=None, tensor_prefix=None,
        activations=None, backend="cpu"):
    """Runs cases as ``ffn-parity run`` does and returns a :class:`RunResult`.

    Every argument is the command's option of the same name (``ffn-parity run --help``), with the
    same defaults: ``shape`` ("ltx2-video", "tiny", "small", a model id) or ``model`` or ``dims``
    ([hidden, inner] with ``activation``, ``gated``, ``no_bias``); ``tokens``; ``tp``,
    ``precision`` and ``allreduce`` as lists (or one value); ``seed``, ``outliers``,
    ``outlier_scale``, ``nccl_channels``, ``nccl_ring_order`` (a string as the option takes it, one
    ring as a list, or a list of rings, one per channel), ``act_rounding``; real inputs with ``weights`` (a
    safetensors checkpoint), ``layer``, ``stream``, ``tensor_prefix``, ``activations`` (a capture).
    ``backend``: "cpu", or "cuda" (NoDeviceError where there is none).

    ``run()`` is the default sweep (``ffn-parity run``). The result's ``json`` equals what
    ``ffn-parity run ARGS --format json`` prints, bit for bit except each case's ``seconds``.
    Raises UsageError with the CLI's line for a bad value (``ffn-parity run: error: ...``).
    Not available here: ``--frames``, ``--inject``, ``--comm``, ``--report`` and the other outputs.
    """
    args = _sweep_args(shape=shape, model=model, dims=dims, activation=activation, gated=gated, no_bias=no_bias,
                       act_rounding=act_rounding, tokens=tokens, tp=tp, precision=precision, allreduce=allreduce,
                       nccl_channels=nccl_channels, nccl_ring_order=_ring_orders(nccl_ring_order), seed=seed,
                       outliers=outliers, outlier_scale=outlier_scale,
                       weights=weights, layer=layer, stream=stream, tensor_prefix=tensor_prefix,
                       activations=activations)
    text, outputs = _core.run_sweep(args, backend)
    return RunResult(text, outputs)


def _array(obj, what):
    """(NumPy array, the dtype its uint16 bit patterns are of, or None) of an array-like: a torch
    tensor goes through NumPy (bf16 as its bit patterns), another DLPack producer through
    numpy.from_dlpack, a float16 array becomes float32 (exactly)."""
    if obj is None:
        return None, None
    module = type(obj).__module__
    if module.startswith("torch"):
        import torch  # only when given a tensor
        t = obj.detach().cpu().contiguous()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().view(np.uint16), "bf16"
        obj = t.numpy()
    elif not isinstance(obj, np.ndarray) and hasattr(obj, "__dlpack__"):
        obj = np.from_dlpack(obj)
    if isinstance(obj, np.ndarray) and obj.dtype == np.float16:
        obj = obj.astype(np.float32)
    return obj, None


class Verdict:
    """The verdict on one captured output: ``name`` ("old vs allgather": the captured old output
    against the harness's allgather path; "new vs sharded": the captured new output against the
    harness's sharded path at the same tp and AllReduce; "new vs old": the two captured outputs
    against each other), ``passed``, ``margin`` (worst error over its budget; < 1 passes),
    ``reason`` (empty when it passed), ``worst_elements`` (dicts: row (token), col, actual,
    expected, bound, ratio = |actual - expected| / bound, worst first), ``comparison``
    (:class:`Comparison`: statistics, allclose as information)."""

    def __init__(self, doc):
        self.json = doc
        self.name = doc["name"]
        self.passed = doc["pass"]
        self.reason = doc["reason"]
        self.comparison = Comparison(doc["comparison"])
        self.margin = self.comparison.margin
        self.worst_elements = [dict(e, ratio=_float(e["ratio"])) for e in doc["worst_elements"]]

    def __repr__(self):
        return f"Verdict({self.name}: {'PASS' if self.passed else 'FAIL'}, margin {self.margin:.3g})"


class Judgement:
    """What :func:`judge_outputs` returns: ``passed`` (the harness's own case on these inputs and
    every verdict passed), ``verdicts`` (name -> :class:`Verdict`), ``harness``
    (:class:`CaseResult`: the harness's own case, with its outputs) and ``json``.
    ``assert_passed()`` raises AssertionError naming every failed verdict, for a pytest."""

    def __init__(self, text, outputs):
        self.json = json.loads(text)
        self.passed = self.json["pass"]
        self.harness = CaseResult(self.json["harness"]["cases"][0], outputs)
        self.verdicts = {v["name"]: Verdict(v) for v in self.json["verdicts"]}

    def assert_passed(self):
        """Raises AssertionError with the reason of each failed verdict (and of the harness's case)."""
        if self.passed:
            return
        reasons = [v.reason for v in self.verdicts.values() if not v.passed]
        if not self.harness.passed:
            reasons.insert(0, f"the harness's own case {self.harness.name}: {self.harness.reason}")
        raise AssertionError("; ".join(reasons))

    def __repr__(self):
        inner = ", ".join(repr(v) for v in self.verdicts.values())
        return f"Judgement({'PASS' if self.passed else 'FAIL'}: {inner})"


def judge_outputs(x, w_in=None, b_in=None, w_out=None, b_out=None, *, old=None, new=None, tp=1, precision=None,
                  allreduce="ring", activation="gelu-tanh", gated=False, act_rounding=None, nccl_channels=None,
                  nccl_ring_order=None,
                  checkpoint=None, layer=None, stream=None, model=None, tensor_prefix=None, dtype=None,
                  backend="cpu", worst_k=5):
    """Judges outputs of an FFN captured from the real stack against the harness's budgets.

    The FFN: ``x`` [tokens, hidden] (or [batch, tokens, hidden]) with either the weights as
    PyTorch holds them (``w_in`` [inner, hidden], gated [2 inner, hidden] as [gate; up]; ``b_in``;
    ``w_out`` [hidden, inner]; ``b_out``; both biases None for an MLP without bias) and its
    ``activation`` ("gelu-tanh", "gelu", "silu", or gated "swiglu", "geglu") and ``act_rounding``,
    or a safetensors ``checkpoint`` with ``layer`` (and ``stream``, ``model``, ``tensor_prefix`` as
    ``ffn-parity run --weights`` takes them). ``tp``, ``precision`` (default bf16; a checkpoint's
    own when None), ``allreduce`` (the implementation the new path reduced with),
    ``nccl_channels`` and ``nccl_ring_order`` (as in :func:`run`) describe the case.

    ``old``: the output of the allgather FFN (any tp: it does not depend on tp); ``new``: the output
    of the sharded FFN at ``tp`` with ``allreduce``. One or both; each must have x's shape with the
    last dimension hidden, on the precision's grid. The harness runs both paths and the fp64
    reference on the same inputs; each captured output is treated as another computation with the
    stack's rounding points (as ``run --activations`` treats a captured y): it and the harness's
    output of the same path each lie within that path's error budget of the reference, so they may
    differ by twice that budget; ``old`` and ``new`` together are also judged against each other
    (the sum of the two paths' budgets). Returns a :class:`Judgement`.

    Inputs (``x``, weights, biases) must be finite and on the precision's grid (weights of a
    quantized precision are fp32 masters, quantized here as the checkpoint's exporter does).
    NaN or Inf in a captured output fails its verdict. ``dtype``: "bf16" or "fp16" when arrays
    are uint16 bit patterns (torch bf16 tensors are converted to them automatically).
    Raises UsageError (``ffn_parity.judge_outputs: error: ...``) for wrong shapes, dtypes,
    off-grid or non-finite inputs and for the CLI's bad option values.
    """
    arrays = {}
    for name, value in (("x", x), ("w_in", w_in), ("b_in", b_in), ("w_out", w_out), ("b_out", b_out),
                        ("old", old), ("new", new)):
        arrays[name], bits = _array(value, name)
        if bits and dtype is None:
            dtype = bits
    args = _sweep_args(tp=tp, allreduce=allreduce, act_rounding=act_rounding, nccl_channels=nccl_channels,
                       nccl_ring_order=_ring_orders(nccl_ring_order))
    xs = arrays["x"]
    tokens = int(np.prod(xs.shape[:-1])) if isinstance(xs, np.ndarray) and xs.ndim >= 2 else 1
    _option(args, "--tokens", tokens)
    if checkpoint is not None:
        args += _sweep_args(weights=checkpoint, layer=layer, stream=stream, model=model, tensor_prefix=tensor_prefix,
                            precision=precision)
    else:
        is_gated = gated or activation in ("swiglu", "geglu")
        # hidden as most of x, w_in and w_out say, inner from w_in (or w_out): the arrays are then
        # checked against them, so that the one that disagrees is refused by its name.
        def shape(name):
            a = arrays[name]
            return a.shape if isinstance(a, np.ndarray) else ()

        said = [s[-1] for s in (shape("x"), shape("w_in")) if len(s) >= 1] + [s[0] for s in (shape("w_out"),) if len(s) == 2]
        hidden = max(said, key=said.count) if said else 1
        if len(shape("w_in")) == 2:
            inner = shape("w_in")[0] // (2 if is_gated else 1)
        elif len(shape("w_out")) == 2:
            inner = shape("w_out")[1]
        else:
            inner = 1
        dims = [hidden, max(inner, 1)]
        args += _sweep_args(dims=dims, activation=activation, gated=gated, no_bias=arrays["b_in"] is None,
                            precision=precision or "bf16")
    text, outputs = _core.judge_outputs(args, arrays["x"], arrays["w_in"], arrays["b_in"], arrays["w_out"],
                                        arrays["b_out"], arrays["old"], arrays["new"], dtype, backend, worst_k)
    return Judgement(text, outputs)


def compare_frames(a, b, *, ssim="gaussian"):
    """Scores two frame sequences per frame, as ``ffn-parity frames compare`` does.

    ``a``, ``b``: uint8 arrays [frames, height, width, 3] (or one frame [height, width, 3]), or
    paths (a directory of PNG frames, a golden ``FILE.h5[:DATASET]``, a video file). ``ssim``:
    "gaussian" (Wang et al. 2004 as OpenCV's quality module) or "skimage" (scikit-image's
    defaults, as the serving stack's CI). Returns a dict: per frame ``psnr_db`` (+inf for identical
    frames), ``ssim``, ``mad`` (mean absolute difference in 8-bit levels), and ``psnr_mean_db``
    (of the mean MSE), ``psnr_min_db``, ``ssim_mean``, ``ssim_min``, ``mad_mean``, ``mad_max``,
    ``worst_frame``, ``ssim_kind``. Raises UsageError for frames of different counts or sizes,
    unreadable files, arrays that are not 8-bit RGB.
    """
    return _core.compare_frames(a, b, ssim)


def read_golden(path, *, inputs=True):
    """Reads and validates a golden file (goldens/SCHEMA.md) and returns a dict:

    ``provenance`` (the root attributes: version, commit, backend, date...), ``input_sets``
    (id -> dict: mode, shape, dims, tokens, seed, precision, sha256 digests, the stored fp64
    ``reference``, and with ``inputs`` the tensors ``x``, ``w_in``, ``b_in``, ``w_out``, ``b_out``:
    stored, or generated again from the recorded key and checked against the digests, with
    ``input_problems`` naming any that differ; empty when none), and ``cases`` (list of dicts:
    id, name, tp, precision, allreduce, input_set, the blessed ``record`` of errors and margins,
    and the blessed outputs ``allgather``, ``sharded``). Raises UsageError with
    ``ffn-parity golden check``'s line for a missing, foreign or damaged file.
    """
    return _core.read_golden(str(path), inputs)
