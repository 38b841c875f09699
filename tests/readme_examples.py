#!/usr/bin/python3
"""The README's example outputs are what their commands print today.

    readme_examples.py [--update] README.md FFN_PARITY

An example is a line "Output of `ffn-parity ARGS`:" followed by a fenced block: the command
is run with FFN_PARITY for `ffn-parity` (in an empty temporary directory) and its stdout
compared with the block. "Output of `python3 SCRIPT ARGS`:" runs SCRIPT (a path from the
README's folder) with this Python and the build's package on PYTHONPATH (FFN_PARITY's build
folder, python/: the ffn_parity module); an example whose module or script cannot be imported
there (no pybind11, no torch) is skipped with a line saying so. Numbers are not compared (timings move, and the numerics have their
own tests): every number reads N on both sides, the structure must match:
  - the comment lines (starting with '#'), the table's column names among them, word for word;
  - the other lines (data rows, the summary): how many, and each one's words (cells that are
    not numbers: precisions, AllReduce models, '-' for no value, verdicts).

--update rewrites each block from the real output instead.

Exit 0: every example matches (or was rewritten); 1: a mismatch, one line each, naming the
example; 2: bad usage, or a README without a well-formed example.
"""
import difflib
import os
import re
import shlex
import subprocess
import sys
import tempfile

MARKER = re.compile(r"^Output of `((?:ffn-parity|python3) [^`]+)`:$")
FENCE = "```"
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:inf|nan|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![\w.])")


class BadReadme(Exception):
    pass


class Example:
    def __init__(self, line, command, first, last):
        self.line = line      # 1-based line number of the "Output of" line
        self.command = command
        self.first = first    # 0-based index of the block's first line
        self.last = last      # 0-based index one past its last line (the closing fence)


def find_examples(path, lines):
    examples = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("Output of `"):
            i += 1
            continue
        m = MARKER.match(lines[i])
        if not m:
            raise BadReadme(f"{path}:{i + 1}: an example line must read \"Output of `ffn-parity ARGS`:\" "
                            "or \"Output of `python3 SCRIPT ARGS`:\"")
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j == len(lines) or lines[j] != FENCE:
            raise BadReadme(f"{path}:{i + 1}: no fenced block ({FENCE}) follows the example line")
        end = j + 1
        while end < len(lines) and lines[end] != FENCE:
            end += 1
        if end == len(lines):
            raise BadReadme(f"{path}:{j + 1}: the example's block is never closed")
        examples.append(Example(i + 1, m.group(1), j + 1, end))
        i = end + 1
    if not examples:
        raise BadReadme(f"{path}: no example (a line \"Output of `ffn-parity ARGS`:\" before a fenced block)")
    return examples


# A Python example that cannot run here (ModuleNotFoundError: no module built, no torch).
SKIPPED = -1


def run(binary, command, readme_dir):
    """(exit status, stdout lines, stderr) of the example's command."""
    words = shlex.split(command)
    env = None
    if words[0] == "python3":
        build = os.path.dirname(os.path.dirname(binary))  # FFN_PARITY is BUILD/harness/ffn-parity
        env = dict(os.environ, PYTHONPATH=os.path.join(build, "python"))
        argv = [sys.executable, os.path.join(readme_dir, words[1])] + words[2:]
    else:
        argv = [binary] + words[1:]
    with tempfile.TemporaryDirectory(prefix="readme-example-") as cwd:
        p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    if env is not None and p.returncode != 0 and "ModuleNotFoundError" in p.stderr:
        return SKIPPED, [], p.stderr.strip().splitlines()[-1]
    return p.returncode, p.stdout.splitlines(), p.stderr


def words(line):
    return [w for w in line.split() if w not in ("#", "|")]


def similarity(a, b):
    return difflib.SequenceMatcher(a=words(a), b=words(b), autojunk=False).ratio()


def pair_up(shown, printed):
    """Lines of two differing runs paired by likeness, so that a changed header is compared with
    its new form and an added line stands alone: (shown or None, printed or None) in order."""
    pairs, free = [], list(printed)
    for a in shown:
        best = max(free, key=lambda b: similarity(a, b), default=None)
        if best is not None and similarity(a, best) >= 0.5:
            free.remove(best)
            pairs.append((a, best))
        else:
            pairs.append((a, None))
    return pairs + [(None, b) for b in free]


def comment_mismatch(a, b):
    if b is None:
        return f"comment line only in the README: '{a}'"
    if a is None:
        return f"comment line only in the output: '{b}'"
    only_a = [w for w in words(a) if w not in words(b)]
    only_b = [w for w in words(b) if w not in words(a)]
    what = "; ".join(f"{side} has {', '.join(f'`{w}`' for w in ws)}"
                     for side, ws in (("the README", only_a), ("the output", only_b)) if ws)
    return f"comment line '{a}' differs: {what or 'spacing or word order'}"


def structure(line):
    """The line with its spacing collapsed and every number read as N."""
    return NUMBER.sub("N", " ".join(line.split()))


def structure_mismatches(shown, printed):
    """What differs between a README block and today's output, one string each."""
    found = []
    comments = [[structure(l) for l in lines if l.startswith("#")] for lines in (shown, printed)]
    ops = difflib.SequenceMatcher(a=comments[0], b=comments[1], autojunk=False).get_opcodes()
    for op, a0, a1, b0, b1 in ops:
        if op != "equal":
            found += [comment_mismatch(a, b) for a, b in pair_up(comments[0][a0:a1], comments[1][b0:b1])]
    rows = [[structure(l) for l in lines if l.strip() and not l.startswith("#")]
            for lines in (shown, printed)]
    if len(rows[0]) != len(rows[1]):
        found.append(f"{len(rows[0])} data lines in the README, {len(rows[1])} in the output")
    differing = [(a, b) for a, b in zip(*rows) if a != b]
    if differing:
        a, b = differing[0]
        more = f" (and {len(differing) - 1} more)" if len(differing) > 1 else ""
        found.append(f"data line reads '{a}' in the README, '{b}' in the output{more}")
    return found


def main(argv):
    args = argv[1:]
    update = bool(args) and args[0] == "--update"
    if update:
        args = args[1:]
    if len(args) != 2:
        print("usage: readme_examples.py [--update] README.md FFN_PARITY", file=sys.stderr)
        return 2
    readme, binary = args[0], os.path.abspath(args[1])  # the commands run elsewhere
    if not os.access(binary, os.X_OK):
        print(f"readme_examples: {binary}: not an executable (build ffn-parity first)", file=sys.stderr)
        return 2
    try:
        with open(readme, encoding="utf-8") as f:
            lines = f.read().splitlines()
        examples = find_examples(readme, lines)
    except (OSError, BadReadme) as e:
        print(f"readme_examples: {e}", file=sys.stderr)
        return 2

    failures, outputs = [], {}
    for ex in examples:
        where = f"{readme}:{ex.line}: `{ex.command}`"
        status, printed, err = run(binary, ex.command, os.path.dirname(os.path.abspath(readme)))
        if status == SKIPPED:
            print(f"{where}: skipped: {err}")
            outputs[ex.line] = lines[ex.first:ex.last]
            continue
        if status not in (0, 1):  # 0 all cases pass, 1 a case fails: both are outputs to show
            first = err.strip().splitlines()[0] if err.strip() else "no message"
            failures.append(f"{where}: exits {status}: {first}")
            continue
        outputs[ex.line] = printed
        if not update:
            failures += [f"{where}: {m}" for m in structure_mismatches(lines[ex.first:ex.last], printed)]

    if update and not failures:
        # From the last example up, so the line numbers of the earlier ones stay valid.
        for ex in reversed(examples):
            lines[ex.first:ex.last] = outputs[ex.line]
        with open(readme, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        print(f"{readme}: {len(examples)} example blocks rewritten from their commands' output")
    for line in failures:
        print(line)
    if not failures and not update:
        print(f"{readme}: {len(examples)} examples match their commands' output")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
