"""The README's Python example is the example's code: every ```python block of README.md's
"From Python" section appears, line for line, in python/examples/test_tp_parity.py (its output block is kept true by
tests/readme_examples.py)."""
import os
import re

from conftest import SOURCE


def test_readme_python_blocks_are_the_example():
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        section = f.read().split("\n## From Python\n", 1)[-1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, flags=re.S | re.M)
    with open(os.path.join(SOURCE, "python", "examples", "test_tp_parity.py"), encoding="utf-8") as f:
        example = f.read()
    assert blocks, "README.md's From Python section has no ```python block"
    for block in blocks:
        assert block in example, f"README.md's block is not in the example:\n{block}"
