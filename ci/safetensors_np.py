"""A safetensors reader in plain json + numpy, for ci/torch-parity.py and the tests: no
`safetensors` package needed (Debian has none; the GPU machine's would do the same).

The format (https://github.com/huggingface/safetensors, README "Format"): 8 bytes little-endian
u64 N, N bytes of JSON header {name: {dtype, shape, data_offsets: [begin, end]}, optional
"__metadata__"}, then the data section; offsets are relative to its start. Every problem raises
SafetensorsError with one line naming the file and the reason.
"""
import json

import numpy as np

# dtype name -> (numpy dtype of the stored bits, bytes per element). BF16 has no numpy type:
# its bits are read as uint16 and reinterpreted by the caller (torch: .view(torch.bfloat16)).
DTYPES = {
    "BF16": (np.uint16, 2),
    "F16": (np.float16, 2),
    "F32": (np.float32, 4),
    "F64": (np.float64, 8),
}


class SafetensorsError(Exception):
    pass


def read_header(path):
    """(header dict without __metadata__, metadata dict, data offset, file size), validated: the
    tensors tile the data section exactly, each holding shape x dtype-size bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) != 8:
                raise SafetensorsError(f"{path}: shorter than the 8-byte header length")
            n = int.from_bytes(head, "little")
            f.seek(0, 2)
            size = f.tell()
            if 8 + n > size:
                raise SafetensorsError(f"{path}: header length {n} runs past the end of the file ({size} bytes)")
            f.seek(8)
            text = f.read(n)
    except OSError as e:
        raise SafetensorsError(f"{path}: cannot read ({e.strerror})") from None
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    spans = []
    for name, t in header.items():
        try:
            dtype, shape, (begin, end) = t["dtype"], t["shape"], t["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{path}: tensor '{name}': needs dtype, shape and data_offsets") from None
        if dtype not in DTYPES:
            raise SafetensorsError(f"{path}: tensor '{name}': dtype {dtype} not read here ({', '.join(DTYPES)})")
        numel = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if end - begin != numel * DTYPES[dtype][1]:
            raise SafetensorsError(f"{path}: tensor '{name}': {end - begin} bytes for shape {shape} of {dtype}")
        spans.append((begin, end, name))
    at = 0
    for begin, end, name in sorted(spans):
        if begin != at:
            raise SafetensorsError(f"{path}: tensor '{name}' starts at {begin}, expected {at} (gap or overlap)")
        at = end
    if 8 + n + at != size:
        raise SafetensorsError(f"{path}: data section holds {size - 8 - n} bytes, the tensors {at}")
    return header, metadata, 8 + n, size


def load(path):
    """{name: (dtype name, numpy array of the stored values or BF16 bits, shaped)}."""
    header, _, offset, _ = read_header(path)
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, t in header.items():
        np_type, _ = DTYPES[t["dtype"]]
        begin, end = t["data_offsets"]
        values = np.frombuffer(raw[offset + begin:offset + end], dtype=np.dtype(np_type).newbyteorder("<"))
        out[name] = (t["dtype"], values.reshape(t["shape"]))
    return out
