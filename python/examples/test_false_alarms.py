"""The captured-output verdict raises no false alarm on correct outputs (a short run of
false_alarms.py; the documented figure comes from its full run, python/README.md)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")


def test_no_false_alarm_over_seeds():
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "false_alarms.py")
    p = subprocess.run([sys.executable, script, "--seeds", "6"], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "false alarms: 0 of 36 judgements (108 verdicts)" in p.stdout
