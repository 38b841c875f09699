#!/usr/bin/python3
"""Runs one suite of the Python package's tests for ctest; exit 77 (ctest: skipped) with the
reason when what it needs is missing, so a missing tool never reads as a pass.

    run_pytest.py module          python/tests (the module against the CLI and the library)
    run_pytest.py torch_example   python/examples (the stack-style example test; needs torch)
"""
import importlib.util
import os
import sys

SKIP = 77
here = os.path.dirname(os.path.abspath(__file__))
suites = {"module": here, "torch_example": os.path.join(os.path.dirname(here), "examples")}


def missing(module, package):
    if importlib.util.find_spec(module) is None:
        print(f"skipped: {module} not found for {sys.executable} (Debian {package})")
        return True
    return False


def main(argv):
    if len(argv) != 2 or argv[1] not in suites:
        print(f"usage: run_pytest.py {'|'.join(suites)}", file=sys.stderr)
        return 2
    if missing("pytest", "python3-pytest") or missing("numpy", "python3-numpy"):
        return SKIP
    if argv[1] == "torch_example" and missing("torch", "python3-torch"):
        return SKIP
    import pytest
    # -p no:cacheprovider: the source tree stays clean.
    return pytest.main(["-q", "-p", "no:cacheprovider", "-rs", suites[argv[1]]])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
