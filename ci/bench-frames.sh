#!/usr/bin/env bash
# Times `ffn-parity frames compare` against ffmpeg's ssim and psnr filters on the same pair of
# lossless videos (121 frames of 768x512, B = A plus noise), best of 3 each, and prints both
# times and their ratio. The scores differ by design (ffmpeg: SSIM over 8x8 blocks at stride 4
# on its own planes; ours: DESIGN section 4); only the times are compared.
#   ci/bench-frames.sh [BUILD_DIR]     (default build/; configured and built when missing)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
command -v ffmpeg >/dev/null || { echo "bench-frames: ffmpeg not found (ci/install-deps.sh installs it)" >&2; exit 2; }
if [ ! -x "$build/harness/ffn-parity" ] || [ ! -x "$build/tests/make_test_video" ]; then
  [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja -DFFN_PARITY_CUDA=OFF >/dev/null
  cmake --build "$build" --target ffn-parity make_test_video >/dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$build/tests/make_test_video" "$work" 121 768 512

# best_of_3 NAME COMMAND...: the least wall time of three runs, in seconds; the last run's
# output is kept in $work/NAME.out.
best_of_3() {
  local name="$1" best="" start end
  shift
  for _ in 1 2 3; do
    start="$(date +%s.%N)"
    "$@" >"$work/$name.out" 2>&1
    end="$(date +%s.%N)"
    best="$(awk -v s="$start" -v e="$end" -v b="$best" 'BEGIN { d = e - s; print (b == "" || d < b) ? d : b }')"
  done
  echo "$best"
}

ours="$(best_of_3 ours "$build/harness/ffn-parity" frames compare "$work/a.avi" "$work/b.avi")"
theirs="$(best_of_3 ffmpeg ffmpeg -nostdin -hide_banner -i "$work/a.avi" -i "$work/b.avi" \
          -lavfi "[0:v][1:v]ssim;[0:v][1:v]psnr" -f null -)"
# The floor under both: decoding the two files and nothing else.
decode="$(best_of_3 decode ffmpeg -nostdin -hide_banner -i "$work/a.avi" -i "$work/b.avi" -map 0:v -map 1:v -f null -)"

echo "ffn-parity: $(grep '^psnr ' "$work/ours.out")"
echo "ffmpeg:     $(grep -o 'SSIM .*' "$work/ffmpeg.out" | tail -1)"
echo "ffmpeg:     $(grep -o 'PSNR .*' "$work/ffmpeg.out" | tail -1)"
awk -v o="$ours" -v f="$theirs" -v d="$decode" -v n="$(nproc)" 'BEGIN {
  printf "121 frames 768x512, best of 3, %d cores: ffn-parity frames compare %.2f s, ffmpeg ssim+psnr %.2f s, ratio %.2f (decoding alone: %.2f s)\n", n, o, f, o / f, d }'
