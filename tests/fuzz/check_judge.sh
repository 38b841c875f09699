#!/usr/bin/env bash
# ci/fuzz-judge.sh against the reports in tests/fuzz/reports/: each starts with the verdict it
# must get ("# expect: ..."). One line per report, then the number judged wrong.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
judge="$here/../../ci/fuzz-judge.sh"
wrong=0 total=0
for report in "$here"/reports/*.txt; do
  expected="$(sed -n '1s/^# expect: //p' "$report")"
  [ -n "$expected" ] || { echo "$(basename "$report"): no '# expect:' first line" >&2; exit 2; }
  got="$("$judge" "$report")"
  total=$((total + 1))
  if [ "$got" = "$expected" ]; then mark=ok; else mark=WRONG; wrong=$((wrong + 1)); fi
  printf '%-34s %-5s %s\n' "$(basename "$report")" "$mark" "$got"
done
[ "$total" -gt 0 ] || { echo "no reports in $here/reports" >&2; exit 2; }
echo "# $total reports, $wrong judged wrong"
[ "$wrong" -eq 0 ]
