#!/usr/bin/env bash
# ci/check-layout.sh on a tree of planted includes (tests/layout/planted: an upward include,
# the golden store including the runner, an include not rooted at the project, a folder the
# rules do not name, a reference kernel including the harness, and allowed includes beside
# them) must name exactly the planted violations, one line each, and exit 1.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$("$here/../../ci/check-layout.sh" "$here/planted" 2>/tmp/check-layout.$$.err)"
status=$?
err="$(cat /tmp/check-layout.$$.err)"; rm -f /tmp/check-layout.$$.err
fail=0
[ "$status" -eq 1 ] || { echo "exit status $status, expected 1"; fail=1; }
if ! diff -u "$here/planted.expected" <(printf '%s\n' "$out"); then
  echo "stdout differs from tests/layout/planted.expected"; fail=1
fi
[ "$err" = "check-layout: 5 violation(s) in 10 includes of 6 files" ] || { echo "stderr: '$err'"; fail=1; }
[ "$fail" -eq 0 ] && echo "check-layout names the 5 planted violations and exits 1"
exit "$fail"
