#!/usr/bin/env bash
# The include rule of the layout: every `#include "..."` of the project's code (kernels/,
# metrics/, harness/, goldens/, python/) names a folder its own folder may include. The rule is the list
# between the layout markers of README.md ("Architecture"), read here so that the README and
# the check cannot drift apart: "X may include Y, Z" lets X include Y and Z, and whatever those
# may include in turn. A folder the list does not name may not hold code.
#
#   ci/check-layout.sh [ROOT]          check ROOT (default: this checkout): one line per
#                                      violation, "FILE:LINE: ...", exit 1; a summary, exit 0
#   ci/check-layout.sh --graph [ROOT]  the folder-to-folder include graph with counts (no rules
#                                      applied, so it also runs on a tree older than them)
#
# The rules always come from this checkout's README.md, also when ROOT is another tree (the
# ctest of a planted bad include checks a test tree against them).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
mode=check
if [ "${1:-}" = "--graph" ]; then mode=graph; shift; fi
[ $# -le 1 ] || { echo "usage: ci/check-layout.sh [--graph] [ROOT]" >&2; exit 2; }
root="${1:-$here}"
[ -d "$root" ] || { echo "check-layout: $root: not a directory" >&2; exit 2; }
readme="$here/README.md"

# Every quoted include of the checked folders as "FILE<TAB>LINE<TAB>TARGET", TARGET as written.
includes() {
  local top=() d
  for d in kernels metrics harness goldens python; do [ -d "$root/$d" ] && top+=("$d"); done
  [ ${#top[@]} -gt 0 ] || return 0
  (cd "$root" && find "${top[@]}" -type f \
      \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) |
    LC_ALL=C sort |
    while IFS= read -r f; do
      awk -v f="$f" 'match($0, /^[ \t]*#[ \t]*include[ \t]*"[^"]+"/) {
        s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s)
        printf "%s\t%d\t%s\n", f, FNR, s }' "$f"
    done)
}

# kernels/cpu/gelu.hpp -> kernels/cpu; harness/version.hpp -> harness
folder_of() { local d; d="$(dirname "$1")"; echo "$d"; }

if [ "$mode" = graph ]; then
  includes | while IFS=$'\t' read -r file _ target; do
    case "$target" in kernels/* | metrics/* | harness/* | goldens/* | python/*) ;; *) continue ;; esac
    printf '%s -> %s\n' "$(folder_of "$file")" "$(folder_of "$target")"
  done | LC_ALL=C sort | uniq -c | awk '{ printf "%5d  %-22s -> %s\n", $1, $2, $4 }'
  exit 0
fi

# The rules: lines "- `X/` may include `Y/`, `Z/`" (or "nothing") between the markers.
declare -A direct=()
rules="$(sed -n '/<!-- layout-rules:begin -->/,/<!-- layout-rules:end -->/p' "$readme")"
[ -n "$rules" ] || { echo "check-layout: $readme: no layout rules between <!-- layout-rules:begin --> and <!-- layout-rules:end -->" >&2; exit 2; }
while IFS= read -r line; do
  case "$line" in "- "*" may include "*) ;; *) continue ;; esac
  line="${line//\`/}"
  line="${line//,/ }"
  from="${line#- }"
  from="${from%% may include *}"
  from="${from%/}"
  to="${line#* may include }"
  to="${to%%:*}"  # what follows a colon is commentary
  deps=""
  for t in $to; do
    [ "$t" = nothing ] && continue
    deps+=" ${t%/}"
  done
  direct["$from"]="$deps"
done <<< "$rules"
[ ${#direct[@]} -gt 0 ] || { echo "check-layout: $readme: the layout rules block names no folder" >&2; exit 2; }

# allowed[X]: X itself, what it may include, and what those may include (closure).
declare -A allowed=()
closure() {
  local start="$1" seen=" $1 " queue="$1" x y
  while [ -n "$queue" ]; do
    x="${queue%% *}"
    [ "$queue" = "$x" ] && queue="" || queue="${queue#* }"
    for y in ${direct[$x]:-}; do
      case "$seen" in *" $y "*) ;; *) seen+="$y "; queue="${queue:+$queue }$y" ;; esac
    done
  done
  allowed["$start"]="$seen"
}
for f in "${!direct[@]}"; do
  for t in ${direct[$f]}; do
    [ -n "${direct[$t]+set}" ] || { echo "check-layout: $readme: '$f/ may include $t/': $t/ has no rule of its own" >&2; exit 2; }
  done
  closure "$f"
done

allowed_list() { local a; a="${allowed[$1]# $1 }"; a="${a% }"; echo "${a:-nothing}" | sed 's/\([^ ]*\)/\1\//g; s/ /, /g; s/nothing\//nothing/'; }

files=0 count=0 bad=0
declare -A unknown_reported=()
while IFS=$'\t' read -r file lineno target; do
  count=$((count + 1))
  from="$(folder_of "$file")"
  if [ -z "${allowed[$from]+set}" ]; then
    if [ -z "${unknown_reported[$from]+set}" ]; then
      echo "$file:$lineno: folder $from/ has no rule in README.md (add it to the layout rules)"
      unknown_reported["$from"]=1
      bad=$((bad + 1))
    fi
    continue
  fi
  case "$target" in
    kernels/* | metrics/* | harness/* | goldens/* | python/*) ;;
    *)
      echo "$file:$lineno: includes \"$target\": not rooted at the project (write it as kernels/..., metrics/..., harness/..., goldens/... or python/...)"
      bad=$((bad + 1))
      continue ;;
  esac
  to="$(folder_of "$target")"
  case "${allowed[$from]}" in
    *" $to "*) ;;
    *)
      echo "$file:$lineno: includes $target: $from/ may include $(allowed_list "$from")"
      bad=$((bad + 1)) ;;
  esac
done < <(includes)
files="$(includes | cut -f1 | LC_ALL=C sort -u | wc -l)"

if [ "$bad" -gt 0 ]; then
  echo "check-layout: $bad violation(s) in $count includes of $files files" >&2
  exit 1
fi
echo "check-layout: $count includes of $files files follow the rules of README.md (${#direct[@]} folders)"
