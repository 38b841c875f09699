"""Captures what the feed-forward modules of a PyTorch model see and produce, in the HDF5
layout `ffn-parity run --activations FILE.h5` reads (harness/inputs/activations_file.hpp):

    /                        @format = "ffn-parity-activations", @format_version = 1
    /<stream>/block_<N>/x    float32 [tokens, dim]   the module's input (batch rows flattened)
    /<stream>/block_<N>/y    float32 [tokens, dim]   the module's output
    group attributes         @module, @dtype (the torch dtype of x), @call

Usage, around one real generation:

    import sys; sys.path.insert(0, "harness")
    from capture_ffn_activations import FfnCapture
    with FfnCapture(transformer, "capture.h5", blocks=[0, 24, 47], call=10):
        pipeline(prompt, ...)      # hooks record call 10 (a denoising step) of each FF module

then `ffn-parity run --weights ltx-2.safetensors --layer 24 --activations capture.h5`.

Modules are found by name: `transformer_blocks.<N>.ff` (stream video) and
`transformer_blocks.<N>.audio_ff` (stream audio), under any prefix; `pattern` changes that, and
`MODEL_PATTERNS[id]` holds the FF module of each model of ffn-parity's catalog (gated ones
included: the hook sees the whole MLP, gate, up, activation and down), recorded as stream
video, so that `ffn-parity run --weights W --model ID --layer N --activations FILE.h5` reads it.
bf16 and fp16 tensors are stored exactly in float32. Needs torch, h5py and numpy.
"""
import re

import h5py
import numpy as np
import torch

FORMAT = "ffn-parity-activations"
FORMAT_VERSION = 1
LTX2_PATTERN = r"(?:.*\.)?transformer_blocks\.(?P<block>\d+)\.(?P<module>ff|audio_ff)$"
STREAMS = {"ff": "video", "audio_ff": "audio"}


def _module_pattern(blocks, module):
    return rf"(?:.*\.)?{blocks}\.(?P<block>\d+)\.(?P<module>{module})$"


# The FF module of each model of the catalog (harness/tp/model_catalog.cpp, its tensor maps).
MODEL_PATTERNS = {
    "ltx2-video": _module_pattern("transformer_blocks", "ff"),
    "ltx2-video-nobias": _module_pattern("transformer_blocks", "ff"),
    "ltx2-audio": _module_pattern("transformer_blocks", "audio_ff"),
    "wan2.1-1.3b": _module_pattern("blocks", "ffn"),
    "wan2.2-14b": _module_pattern("blocks", "ffn"),
    "wan2.2-ti2v-5b": _module_pattern("blocks", "ffn"),
    "mova-audio": _module_pattern("blocks", "ffn"),
    "hunyuanvideo": _module_pattern("transformer_blocks", "ff"),
    "flux1": _module_pattern("transformer_blocks", "ff"),
    "joy-image": _module_pattern("double_blocks", "img_mlp"),
    "hunyuan3d": _module_pattern("double_blocks", "img_mlp"),
    "flux2": _module_pattern("transformer_blocks", "ff"),
    "z-image": _module_pattern("layers", "feed_forward"),
    "ideogram4": _module_pattern("layers", "feed_forward"),
    "cosmos3": _module_pattern("layers", "mlp_moe_gen"),
    "ernie-image": _module_pattern("layers", "mlp"),
}


class FfnCapture:
    """Forward hooks on the FF modules of `model`, recording call number `call` (0-based) of
    each selected block; the file is written when the `with` block ends (also on error, with
    what was recorded). `blocks`: block indices to keep (None: all)."""

    def __init__(self, model, path, blocks=None, call=0, pattern=LTX2_PATTERN):
        self.model, self.path, self.call = model, path, call
        self.blocks = None if blocks is None else set(blocks)
        self.pattern = re.compile(pattern)
        self.handles, self.calls, self.records = [], {}, {}

    def __enter__(self):
        for name, module in self.model.named_modules():
            m = self.pattern.match(name)
            if not m or (self.blocks is not None and int(m.group("block")) not in self.blocks):
                continue
            group = f"/{STREAMS.get(m.group('module'), 'video')}/block_{int(m.group('block'))}"
            self.handles.append(module.register_forward_hook(self._hook(name, group)))
        if not self.handles:
            raise ValueError(f"no module of the model matches {self.pattern.pattern!r}")
        return self

    def _hook(self, name, group):
        def hook(module, inputs, output):
            seen = self.calls.get(group, 0)
            self.calls[group] = seen + 1
            if seen != self.call:
                return
            if not inputs or not torch.is_tensor(inputs[0]):
                raise ValueError(f"{name}: called without a positional input tensor; hooks of torch < 2 "
                                 "see positional arguments only")
            x = inputs[0].detach()
            y = output.detach()
            dim = x.shape[-1]
            self.records[group] = {
                "module": name,
                "dtype": str(x.dtype).removeprefix("torch."),
                "x": x.reshape(-1, dim).to(torch.float32).cpu().numpy(),
                "y": y.reshape(-1, y.shape[-1]).to(torch.float32).cpu().numpy(),
            }
        return hook

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()
        self.handles = []
        self.write()
        return False

    def write(self):
        with h5py.File(self.path, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = np.int64(FORMAT_VERSION)
            for group, r in sorted(self.records.items()):
                g = f.create_group(group)
                g.attrs["module"] = r["module"]
                g.attrs["dtype"] = r["dtype"]
                g.attrs["call"] = np.int64(self.call)
                g.create_dataset("x", data=r["x"], dtype="<f4")
                g.create_dataset("y", data=r["y"], dtype="<f4")
        return sorted(self.records)
