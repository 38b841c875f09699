"""Inputs and outputs the judge tests share: a golden's case (inputs and blessed outputs of the
harness itself), bf16 rounding in NumPy, and a safetensors writer for checkpoint inputs."""
import json
import os
import struct

import numpy as np

from conftest import SOURCE

import ffn_parity


def golden_case(name, golden="tiny.h5"):
    """(inputs dict, case dict) of a case of a committed golden, by name."""
    g = ffn_parity.read_golden(os.path.join(SOURCE, "goldens", golden))
    case = next(c for c in g["cases"] if c["name"] == name)
    s = g["input_sets"][case["input_set"]]
    return {k: s[k] for k in ("x", "w_in", "b_in", "w_out", "b_out")}, case


def bf16(a):
    """float32 values rounded to the nearest bf16 (ties to even), as float32."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def bf16_bits(a):
    return (np.ascontiguousarray(a, dtype=np.float32).view(np.uint32) >> 16).astype(np.uint16)


def write_safetensors(path, tensors):
    """bf16 tensors (float32 values on the bf16 grid) into a .safetensors file."""
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        blob = bf16_bits(value).tobytes()
        header[name] = {"dtype": "BF16", "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
