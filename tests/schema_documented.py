#!/usr/bin/python3
"""Every group, dataset and attribute of freshly blessed goldens is documented in
goldens/SCHEMA.md, with the type it has there, and every dataset carries a `description`.

    schema_documented.py SCHEMA.md GOLDEN.h5 [GOLDEN.h5 ...]

Fails on an object the Layout table does not list or lists as another kind or element type,
on an attribute no table names for its object or of another type, on a missing attribute of
an unconditional table, on a dataset without a non-empty string `description`, and on a
Layout row none of the goldens holds (the goldens are one of each kind, so such a row is
stale). How SCHEMA.md is read: tests/golden_schema.py.

Exit 0: all documented; 1: a failure, one line each; 2: bad usage or a SCHEMA.md that breaks
its own rules; 77: python3-h5py or python3-numpy is missing (ctest reports a skip).
"""
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: {e} (install python3-h5py and python3-numpy: ci/install-deps.sh)")
    sys.exit(77)

import golden_schema


def objects_of(f):
    """(path, h5py object) of the root and everything below it."""
    found = [("/", f)]
    f.visititems(lambda name, obj: found.append(("/" + name, obj)))
    return found


def attribute_failures(path, obj, schema):
    """(attribute or '', why) for each way the attributes of the object at `path` break SCHEMA.md."""
    found = []
    is_dataset = isinstance(obj, h5py.Dataset)
    tables = schema.tables_for(path, is_dataset)
    for name in obj.attrs:
        kinds = {t.kind_of(name) for t in tables} - {None}
        if not kinds:
            found.append((name, "no attribute table of SCHEMA.md names it for this object"))
            continue
        if obj.attrs.get_id(name).shape != ():
            found.append((name, "not a scalar"))
        kind = golden_schema.kind_of_value(obj.attrs[name])
        if kind not in kinds:
            found.append((name, f"is {kind or type(obj.attrs[name]).__name__}, SCHEMA.md says {' or '.join(sorted(kinds))}"))
    for t in tables:
        if t.condition is None and not t.every_dataset:
            for written in t.attrs:
                if not any(golden_schema.pattern(written).match(name) for name in obj.attrs):
                    found.append((written, f"missing (the table '{t.heading}' lists it for every such object)"))
    if is_dataset:
        description = obj.attrs.get("description")
        if not isinstance(description, str) or not description.strip():
            found.append(("", "a dataset without a `description` attribute"))
    return found


def failures_of(path, schema, seen):
    """(where, why, object path) of every way the golden at `path` breaks SCHEMA.md; `where`
    names the object by its documented pattern, so that one line covers all its instances."""
    name = os.path.basename(path)
    found = []
    with h5py.File(path, "r") as f:
        for object_path, obj in objects_of(f):
            kind = "dataset" if isinstance(obj, h5py.Dataset) else "group"
            doc = schema.object_for(object_path)
            if doc is None:
                found.append((f"{name}:{object_path}", f"a {kind} the Layout table of SCHEMA.md does not list", object_path))
                continue
            seen.add(doc.path)
            where = f"{name}:{doc.path}"
            if doc.kind != kind:
                found.append((where, f"a {kind}, SCHEMA.md says {doc.kind}", object_path))
            elif kind == "dataset" and obj.dtype != np.dtype(doc.dtype):
                found.append((where, f"element type {obj.dtype}, SCHEMA.md says {doc.dtype}", object_path))
            found += [(f"{where}@{attr}" if attr else where, why, object_path)
                      for attr, why in attribute_failures(object_path, obj, schema)]
    return found


def main(argv):
    if len(argv) < 3:
        print("usage: schema_documented.py SCHEMA.md GOLDEN.h5 [GOLDEN.h5 ...]", file=sys.stderr)
        return 2
    try:
        schema = golden_schema.read(argv[1])
    except (OSError, golden_schema.SchemaError) as e:
        print(f"schema_documented: {e}", file=sys.stderr)
        return 2
    found, seen = [], set()
    for path in argv[2:]:
        try:
            found += failures_of(path, schema, seen)
        except OSError as e:
            found.append((path, f"cannot be read with h5py: {e}", path))
    found += [("SCHEMA.md", f"the Layout table lists {o.path}, which none of the goldens holds", "")
              for o in schema.objects if o.path not in seen]
    objects = {}  # (where, why) -> the objects it was found on, in order
    for where, why, object_path in found:
        objects.setdefault((where, why), []).append(object_path)
    for (where, why), paths in objects.items():
        instances = f" ({len(paths)} objects, e.g. {paths[0]})" if len(paths) > 1 else ""
        print(f"FAIL {where}: {why}{instances}")
    if not objects:
        print(f"{len(argv) - 2} goldens: every object and attribute is documented in {argv[1]}")
    return 1 if objects else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
