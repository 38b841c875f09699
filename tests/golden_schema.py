"""goldens/SCHEMA.md as data, for the tests that hold goldens to it (schema_documented.py,
h5py_interop.py). The file's rules ("How this file is checked"):

  - the Layout table (header `| object | kind | type and shape | holds |`) has one row per
    object: its path in backticks, `group` or `dataset`, and for a dataset its element type
    first in the third cell;
  - an attribute table (header `| name | type | meaning |`) follows a bold heading naming its
    objects in backticks (paths starting with '/'), or `Every dataset`; a heading with ': ' and
    a condition after it lists attributes present only then, one without every such object has;
  - in paths and attribute names `<word>` stands for any one name.
"""
import re

import numpy as np

KINDS = ("string", "int", "real")


class SchemaError(Exception):
    pass


def pattern(text):
    """A path or attribute name of SCHEMA.md as a regular expression matching whole names."""
    return re.compile("".join("[^/]+" if part.startswith("<") else re.escape(part)
                              for part in re.split(r"(<[^>]+>)", text)) + r"\Z")


class Obj:
    def __init__(self, path, kind, dtype):
        self.path, self.kind, self.dtype = path, kind, dtype
        self.regex = pattern(path)


class AttrTable:
    def __init__(self, heading, objects, every_dataset, condition):
        self.heading = heading
        self.objects = objects            # object paths as written
        self.every_dataset = every_dataset
        self.condition = condition        # None: every such object has these attributes
        self.attrs = {}                   # name as written -> kind
        self._object_regexes = [pattern(o) for o in objects]

    def applies_to(self, path, is_dataset):
        return (self.every_dataset and is_dataset) or any(r.match(path) for r in self._object_regexes)

    def kind_of(self, name):
        """The documented kind of attribute `name`, or None."""
        for written, kind in self.attrs.items():
            if pattern(written).match(name):
                return kind
        return None


class Schema:
    def __init__(self, objects, tables):
        self.objects, self.tables = objects, tables

    def object_for(self, path):
        return next((o for o in self.objects if o.regex.match(path)), None)

    def tables_for(self, path, is_dataset):
        return [t for t in self.tables if t.applies_to(path, is_dataset)]

    def required(self, path):
        """{name as written: kind} of the unconditional tables whose heading names `path`."""
        out = {}
        for t in self.tables:
            if t.condition is None and path in t.objects:
                out.update(t.attrs)
        return out


def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _split_heading(text):
    """(objects part, condition or None): the condition follows the first ': ' outside backticks."""
    outside = re.sub(r"`[^`]*`", lambda m: "\0" * len(m.group(0)), text)
    at = outside.find(": ")
    return (text, None) if at < 0 else (text[:at], text[at + 2:].strip())


def read(path):
    """The Schema of SCHEMA.md at `path`; SchemaError (one line) when a table breaks the rules."""
    objects, tables = [], []
    heading, table = None, None  # the last bold heading; the table being read
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        where = f"{path}:{number}"
        bold = re.fullmatch(r"\*\*(.+)\*\*", line)
        if bold:
            heading = bold.group(1)
            continue
        if not line.startswith("|"):
            table = None
            continue
        cells = _cells(line)
        if table is None:  # a header row
            if cells[:2] == ["object", "kind"]:
                table = "layout"
            elif cells[:2] == ["name", "type"]:
                if heading is None:
                    raise SchemaError(f"{where}: an attribute table without a bold heading naming its objects")
                names, condition = _split_heading(heading)
                paths = [p for p in re.findall(r"`([^`]+)`", names) if p.startswith("/")]
                every = names.strip() == "Every dataset"
                if not paths and not every:
                    raise SchemaError(f"{where}: the heading '{heading}' names no object (`/...` or Every dataset)")
                table = AttrTable(heading, paths, every, condition)
                tables.append(table)
                heading = None
            else:
                table = "other"
            continue
        if set(line) <= set("|-: "):
            continue
        if table == "layout":
            paths = re.findall(r"`([^`]+)`", cells[0])
            if len(paths) != 1 or cells[1] not in ("group", "dataset"):
                raise SchemaError(f"{where}: a layout row must name one `/path` and the kind group or dataset")
            dtype = cells[2].split()[0] if cells[1] == "dataset" and cells[2] else None
            if cells[1] == "dataset" and dtype is None:
                raise SchemaError(f"{where}: the dataset {paths[0]} has no element type")
            objects.append(Obj(paths[0], cells[1], dtype))
        elif isinstance(table, AttrTable):
            names = re.findall(r"`([^`]+)`", cells[0])
            kinds = [k.strip() for k in cells[1].split(",")]
            if len(kinds) == 1:
                kinds *= len(names)
            if not names or len(kinds) != len(names) or any(k not in KINDS for k in kinds):
                raise SchemaError(f"{where}: cannot read the row '{line}' (names in backticks, one type "
                                  f"of {', '.join(KINDS)} each or one for all)")
            table.attrs.update(zip(names, kinds))
    if not objects:
        raise SchemaError(f"{path}: no layout table (header | object | kind | type and shape | holds |)")
    if not tables:
        raise SchemaError(f"{path}: no attribute table (header | name | type | meaning |)")
    return Schema(objects, tables)


def kind_of_value(value):
    """'string', 'int' or 'real' for a scalar attribute as h5py reads it; None for anything else
    (the schema's types: variable-length UTF-8 strings, int64, float64)."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, np.integer) and np.asarray(value).dtype == np.int64:
        return "int"
    if isinstance(value, np.floating) and np.asarray(value).dtype == np.float64:
        return "real"
    return None
