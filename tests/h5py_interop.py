#!/usr/bin/python3
"""Reads committed goldens with h5py, independently of the C++ reader, and checks them
against goldens/SCHEMA.md: root provenance, the attributes the schema's tables without a
condition list (names and types), dataset types, shapes and filters, SHA-256 digests of
stored inputs, tp 1 parity, and the bf16 / fp16 grids.

    h5py_interop.py SCHEMA.md GOLDEN.h5 [GOLDEN.h5 ...]

Exit 0: all good; 1: a check failed (each failure printed on one line); 77: python3-h5py or
python3-numpy is missing (ctest reports the test as skipped).
"""
import hashlib
import os
import re
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: {e} (install python3-h5py and python3-numpy: ci/install-deps.sh)")
    sys.exit(77)

import golden_schema

TENSORS = ["x", "proj_in.weight", "proj_in.bias", "proj_out.weight", "proj_out.bias"]
failures = []


def fail(where, why):
    failures.append(f"{where}: {why}")


def schema_tables(path):
    """{'root' | 'input_sets' | 'cases': {attribute: kind}}: what SCHEMA.md's tables without a
    condition say every such object has (tests/golden_schema.py reads them)."""
    try:
        schema = golden_schema.read(path)
    except golden_schema.SchemaError as e:
        sys.exit(str(e))
    tables = {}
    for section, obj in (("root", "/"), ("input_sets", "/input_sets/<set>"), ("cases", "/cases/<case>")):
        tables[section] = {}
        for name, kind in schema.required(obj).items():
            if name == "sha256:<tensor>":
                tables[section].update({f"sha256:{t}": kind for t in TENSORS})
            else:
                tables[section][name] = kind
        if not tables[section]:
            sys.exit(f"{path}: found no attribute table for {obj}")
    return tables


def check_attrs(where, obj, table):
    for name, kind in table.items():
        if name not in obj.attrs:
            fail(f"{where}@{name}", "missing (SCHEMA.md lists it)")
            continue
        value = obj.attrs[name]
        shape = obj.attrs.get_id(name).shape
        if shape != ():
            fail(f"{where}@{name}", f"not a scalar (shape {shape})")
        if golden_schema.kind_of_value(value) != kind:
            fail(f"{where}@{name}", f"is {type(value).__name__} {value!r}, SCHEMA.md says {kind}")


def check_dataset(where, ds, dtype, shape):
    if not isinstance(ds, h5py.Dataset):
        fail(where, "is not a dataset")
        return None
    if ds.dtype != np.dtype(dtype):
        fail(where, f"dtype {ds.dtype}, expected {np.dtype(dtype)}")
    if ds.shape != tuple(shape):
        fail(where, f"shape {list(ds.shape)}, expected {list(shape)}")
    if ds.chunks is None or int(np.prod(ds.chunks)) > 65536:
        fail(where, f"chunks {ds.chunks}: expected chunked, at most 64 Ki elements per chunk")
    if not ds.shuffle or ds.compression != "gzip" or ds.compression_opts != 6 or not ds.fletcher32:
        fail(where, f"filters shuffle={ds.shuffle} compression={ds.compression}/{ds.compression_opts} "
                    f"fletcher32={ds.fletcher32}: expected shuffle, deflate 6, fletcher32")
    return ds[...]


def check_grid(where, values, precision):
    values = np.asarray(values)
    if not np.all(np.isfinite(values)):
        fail(where, "holds non-finite values")
        return
    if precision == "bf16":
        bits = values.astype("<f4").view("<u4")
        off = np.flatnonzero(bits & 0xFFFF)
        if off.size:
            fail(where, f"{off.size} values off the bf16 grid (low 16 bits set), first at flat index {off[0]}")
    elif precision == "fp16":
        off = np.flatnonzero(values.astype(np.float16).astype(values.dtype) != values)
        if off.size:
            fail(where, f"{off.size} values off the fp16 grid, first at flat index {off[0]}")
    elif precision != "fp32":
        fail(where, f"unknown precision '{precision}'")


def check_golden(path, tables):
    name = os.path.basename(path)
    with h5py.File(path, "r") as f:
        if f.attrs.get("schema") != "ffn-parity-golden":
            fail(f"{name}:/@schema", f"is {f.attrs.get('schema')!r}, expected 'ffn-parity-golden'")
        if f.attrs.get("schema_version") != 1:
            fail(f"{name}:/@schema_version", f"is {f.attrs.get('schema_version')!r}, expected 1")
        check_attrs(f"{name}:/", f, tables["root"])
        if f.attrs.get("tool") != "ffn-parity":
            fail(f"{name}:/@tool", f"is {f.attrs.get('tool')!r}")

        sets = {}
        for set_id, g in f["input_sets"].items():
            where = f"{name}:/input_sets/{set_id}"
            check_attrs(where, g, tables["input_sets"])
            a = {k: g.attrs[k] for k in g.attrs}
            tokens, dim, inner, precision = int(a["tokens"]), int(a["dim"]), int(a["inner"]), a["precision"]
            expected_id = f"{a['shape']}_t{tokens}_{precision}_s{int(a['seed'])}"
            if int(a["outlier_channels"]) > 0:
                # fmt's shortest round-trip form of the scale, as input_set_id writes it
                scale = repr(float(a["outlier_scale"])).removesuffix(".0")
                expected_id += f"_o{int(a['outlier_channels'])}x{scale}"
            if set_id != expected_id:
                fail(where, f"group name does not match its attributes ({expected_id})")
            shapes = {"x": (tokens, dim), "proj_in.weight": (inner, dim), "proj_in.bias": (inner,),
                      "proj_out.weight": (dim, inner), "proj_out.bias": (dim,)}
            if a["inputs"] == "full":
                for t in TENSORS:
                    if t not in g:
                        fail(f"{where}/{t}", "missing in a set with full inputs")
                        continue
                    values = check_dataset(f"{where}/{t}", g[t], "<f4", shapes[t])
                    if values is None:
                        continue
                    digest = hashlib.sha256(np.ascontiguousarray(values, dtype="<f4").tobytes()).hexdigest()
                    if digest != a[f"sha256:{t}"]:
                        fail(f"{where}/{t}", f"SHA-256 {digest} does not match @sha256:{t} {a[f'sha256:{t}']}")
                    check_grid(f"{where}/{t}", values, precision)
            elif a["inputs"] == "seeded":
                stored = [t for t in TENSORS if t in g]
                if stored:
                    fail(where, f"seeded set stores tensors {stored}")
            else:
                fail(f"{where}@inputs", f"is {a['inputs']!r}, expected 'full' or 'seeded'")
            for digest_name in (f"sha256:{t}" for t in TENSORS):
                if not re.fullmatch(r"[0-9a-f]{64}", str(a.get(digest_name, ""))):
                    fail(f"{where}@{digest_name}", "is not a SHA-256 hex digest")
            ref = check_dataset(f"{where}/reference", g["reference"], "<f8", (tokens, dim))
            if ref is not None and not np.all(np.isfinite(ref)):
                fail(f"{where}/reference", "holds non-finite values")
            sets[set_id] = (tokens, dim, precision, a)

        case_ids = list(f["cases"])
        if not case_ids:
            fail(f"{name}:/cases", "no cases")
        tp1 = 0
        for case_id in case_ids:
            g = f["cases"][case_id]
            where = f"{name}:/cases/{case_id}"
            check_attrs(where, g, tables["cases"])
            set_id = g.attrs.get("input_set")
            if set_id not in sets:
                fail(f"{where}@input_set", f"names {set_id!r}, which is not in /input_sets")
                continue
            tokens, dim, precision, sa = sets[set_id]
            tp, allreduce = int(g.attrs["tp"]), g.attrs["allreduce"]
            if case_id != f"{set_id}_tp{tp}_{allreduce}":
                fail(where, f"group name does not match @input_set, @tp and @allreduce")
            expected_name = f"{sa['shape']}/t{tokens}/tp{tp}/{precision}/{allreduce}/s{int(sa['seed'])}"
            if not str(g.attrs["name"]).startswith(expected_name):
                fail(f"{where}@name", f"is {g.attrs['name']!r}, expected {expected_name!r}")
            if dim % tp:
                fail(f"{where}@tp", f"{tp} does not divide dim {dim}")
            outputs = {}
            for path_name in ("allgather", "sharded"):
                values = check_dataset(f"{where}/{path_name}", g[path_name], "<f4", (tokens, dim))
                if values is not None:
                    check_grid(f"{where}/{path_name}", values, precision)
                    outputs[path_name] = values
            if tp == 1 and len(outputs) == 2:
                tp1 += 1
                if not np.array_equal(outputs["allgather"].view("<u4"), outputs["sharded"].view("<u4")):
                    fail(where, "tp 1: allgather and sharded differ (they must be bit-identical)")
        if tp1 == 0:
            fail(f"{name}:/cases", "no tp 1 case to compare allgather and sharded on")

        manifest = path + ".cases"
        if os.path.exists(manifest):
            listed = [line.strip() for line in open(manifest) if line.strip()]
            if sorted(listed) != sorted(case_ids):
                fail(manifest, "does not list exactly the case groups of the golden")
        return len(case_ids), len(sets)


def main(argv):
    if len(argv) < 3:
        print(__doc__)
        return 2
    tables = schema_tables(argv[1])
    for path in argv[2:]:
        try:
            cases, sets = check_golden(path, tables)
            print(f"{path}: {cases} cases, {sets} input sets read with h5py {h5py.__version__}")
        except (OSError, KeyError) as e:
            fail(path, f"cannot be read with h5py: {e}")
    for line in failures:
        print(f"FAIL {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
