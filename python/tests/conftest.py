"""Shared fixtures: the CLI the module's results are held against, and the source tree."""
import json
import os
import subprocess

import pytest

SOURCE = os.environ.get("FFN_PARITY_SOURCE", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.fixture(scope="session")
def cli():
    """Runs `ffn-parity ARGS`: (exit status, stdout, stderr)."""
    path = os.environ.get("FFN_PARITY_CLI", os.path.join(SOURCE, "build-cpu", "harness", "ffn-parity"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path}: not an executable (build ffn-parity, or set FFN_PARITY_CLI)")

    def run(*args):
        p = subprocess.run([path, *map(str, args)], capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    return run


@pytest.fixture(scope="session")
def cli_json(cli):
    def run(*args):
        status, out, err = cli("run", *args, "--format", "json")
        assert status == 0, err
        return json.loads(out)

    return run


@pytest.fixture(scope="session")
def source():
    return SOURCE
