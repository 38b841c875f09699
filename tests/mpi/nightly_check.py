#!/usr/bin/env python3
"""ci/nightly-multi-gpu.sh on CPU ranks (COMM=mpi, GPUS=2): the job a GPU node runs with NCCL,
here with MPI, on a tiny shape. Checks what it leaves behind: JSON that parses with every case
passed, well-formed JUnit XML with one testcase per case, the HTML reports, exit 0; then again
with a damaged golden among the files: exit 1, and the JUnit names the file in a <failure>;
then with the default MODELS (every model of the catalog) on one rank and one
token: one passing run per model.

usage: nightly_check.py SCRIPT FFN_PARITY MPIRUN WORK GOLDEN [tiny|every]
  tiny: the two-rank runs and the damaged golden only; every: the every-model run only (one
  process at a time, so ctest runs it beside other tests); neither: both."""
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

script, binary, mpirun, work, golden = sys.argv[1:6]
part = sys.argv[6] if len(sys.argv) > 6 else "both"
if part not in ("tiny", "every", "both"):
    sys.exit(f"nightly_check.py: unknown part '{part}' (tiny, every)")


def run(out, goldens, **settings):
    env = dict(os.environ, GPUS="2", COMM="mpi", MODELS="tiny", TOKENS="4", PRECISIONS="bf16,fp8-dynamic",
               GOLDENS=goldens, FFN_PARITY=binary, LAUNCH=mpirun + " -np {np}")
    env.update(settings)
    env = {k: v for k, v in env.items() if v is not None}
    p = subprocess.run(["bash", script, out], env=env, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def testcases(path):
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == "testsuites", root.tag
    cases = root.findall("./testsuite/testcase")
    assert int(root.get("tests")) == len(cases), (path, root.get("tests"), len(cases))
    return cases


shutil.rmtree(work, ignore_errors=True)
os.makedirs(work, exist_ok=True)
catalog = []
if part in ("tiny", "both"):
    good = os.path.join(work, "good")
    rc, log = run(good, golden)
    assert rc == 0, f"exit {rc}\n{log}"
    for tp in (1, 2):
        doc = json.load(open(os.path.join(good, f"run-tiny-tp{tp}.json")))
        assert doc["failed"] == 0 and doc["passed"] == 2, (tp, doc["passed"], doc["failed"])
        run_cases = testcases(os.path.join(good, f"run-tiny-tp{tp}.xml"))
        assert sorted(c.get("name") for c in run_cases) == sorted(
            f"tiny/t4/tp{tp}/{p}/ring/s0" for p in ("bf16", "fp8-dynamic")), [c.get("name") for c in run_cases]
        assert all(c.find("failure") is None for c in run_cases)
        golden_cases = testcases(os.path.join(good, f"golden-tp{tp}.xml"))
        assert golden_cases and all(f"/tp{tp}/" in c.get("name") for c in golden_cases), [c.get("name") for c in golden_cases]
        assert all(c.find("failure") is None for c in golden_cases)
        assert os.path.getsize(os.path.join(good, f"report-tiny-tp{tp}", "index.html")) > 0
    assert not os.path.exists(os.path.join(good, "run-tiny-tp4.json")), "tp 4 ran on 2 GPUs"

    damaged = os.path.join(work, "damaged.h5")
    os.makedirs(work, exist_ok=True)
    with open(damaged, "wb") as f:
        f.write(b"not an HDF5 file & <nothing> else")
    bad = os.path.join(work, "bad")
    rc, log = run(bad, f"{golden} {damaged}")
    assert rc == 1, f"exit {rc} with a damaged golden\n{log}"
    failures = [c for c in testcases(os.path.join(bad, "golden-tp1.xml")) if c.find("failure") is not None]
    assert len(failures) == 1 and failures[0].get("classname") == damaged, [(c.get("classname"), c.get("name")) for c in failures]
    assert "damaged.h5" in failures[0].find("failure").get("message")
if part in ("every", "both"):
    every = os.path.join(work, "every")
    rc, log = run(every, golden, MODELS=None, GPUS="1", TOKENS="1", PRECISIONS="bf16")
    assert rc == 0, f"exit {rc} with every model\n{log}"
    catalog = [line.split()[0] for line in subprocess.run([binary, "list", "models"], capture_output=True, text=True,
                                                          check=True).stdout.splitlines()
               if len(line.split()) > 6 and line.split()[1].isdigit()]
    assert len(catalog) >= 16, catalog
    for model in catalog:
        doc = json.load(open(os.path.join(every, f"run-{model}-tp1.json")))
        assert doc["shape"]["name"] == model and doc["failed"] == 0 and doc["passed"] == 1, (model, doc["passed"])
print(f"nightly-multi-gpu.sh on CPU ranks ({part}): outputs complete and well-formed"
      + ("; a damaged golden fails the job" if part != "every" else "")
      + (f"; MODELS=all ran {len(catalog)} models" if part != "tiny" else ""))
