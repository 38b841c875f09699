#!/usr/bin/env bash
# Times `ffn-parity frames compare` against ffmpeg's ssim and psnr filters on the same pairs of
# 121-frame 768x512 videos (B = A plus Gaussian noise of sigma 4), best of 3 each, and prints
# one line per encoding of the pair, then a verdict against the target (<= 3 s and faster than
# ffmpeg). The encodings pull in opposite directions:
#   ffv1     lossless, as OpenCV writes it: decoding (single-threaded FFV1) is most of the time
#   png-avi  lossless PNG in AVI (transcoded by ffmpeg, the same frames): cheap to decode, so
#            the metrics are most of the time
#   h264     what a video generator hands out (libx264, crf 18, yuv420p): cheap to decode, lossy
# The scores differ by design (ffmpeg: SSIM over 8x8 blocks at stride 4 on its own planes;
# ours: DESIGN section 4, 11x11 Gaussian on the RGB channels); only the times are compared.
# "decode" is ffmpeg decoding the two files and nothing else: the floor under both tools.
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
"$build/tests/make_test_video" "$work" 121 768 512 >/dev/null
for side in a b; do
  ffmpeg -nostdin -v error -i "$work/$side.avi" -c:v png -pix_fmt rgb24 "$work/$side.png.avi"
  ffmpeg -nostdin -v error -i "$work/$side.avi" -c:v libx264 -preset medium -crf 18 -pix_fmt yuv420p "$work/$side.h264.mp4"
done

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

printf '# 121 frames 768x512, best of 3, %d cores; ratio = ffn-parity / ffmpeg\n' "$(nproc)"
printf '%-8s %9s %9s %6s %9s  %s\n' pair ours_s ffmpeg_s ratio decode_s "ours: psnr / ssim"
met=0
for pair in ffv1:avi png-avi:png.avi h264:h264.mp4; do
  name="${pair%%:*}" ext="${pair#*:}"
  a="$work/a.$ext" b="$work/b.$ext"
  ours="$(best_of_3 ours "$build/harness/ffn-parity" frames compare "$a" "$b")"
  theirs="$(best_of_3 ffmpeg ffmpeg -nostdin -hide_banner -i "$a" -i "$b" -lavfi "[0:v][1:v]ssim;[0:v][1:v]psnr" -f null -)"
  decode="$(best_of_3 decode ffmpeg -nostdin -hide_banner -i "$a" -i "$b" -map 0:v -map 1:v -f null -)"
  scores="$(sed -n 's/^psnr \([0-9.]*\) dB.*ssim mean \([0-9.]*\).*/\1 dB \/ \2/p' "$work/ours.out")"
  awk -v n="$name" -v o="$ours" -v f="$theirs" -v d="$decode" -v s="$scores" \
    'BEGIN { printf "%-8s %9.2f %9.2f %6.2f %9.2f  %s\n", n, o, f, o / f, d, s }'
  if awk -v o="$ours" -v f="$theirs" 'BEGIN { exit !(o <= 3 && o < f) }'; then met=$((met + 1)); fi
done
echo "target (<= 3 s and faster than ffmpeg on the same pair): met on $met of 3 pairs"
