"""The README's Python code is the example's code: every ```python block of README.md appears,
line for line, in python/examples/test_tp_parity.py (its output block is kept true by
tests/readme_examples.py)."""
import os
import re

from conftest import SOURCE


def test_readme_python_blocks_are_the_example():
    with open(os.path.join(SOURCE, "README.md"), encoding="utf-8") as f:
        blocks = re.findall(r"^```python\n(.*?)^```$", f.read(), flags=re.S | re.M)
    with open(os.path.join(SOURCE, "python", "examples", "test_tp_parity.py"), encoding="utf-8") as f:
        example = f.read()
    assert blocks, "README.md has no ```python block"
    for block in blocks:
        assert block in example, f"README.md's block is not in the example:\n{block}"
