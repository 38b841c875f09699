#!/usr/bin/env bash
# Times `ffn-parity frames compare` against ffmpeg's ssim and psnr filters on the same pairs of
# 121-frame 768x512 videos (B = A plus Gaussian noise of sigma 4), and prints one line per
# encoding of the pair, then a verdict against the target (<= 3 s and at most 1.1x ffmpeg). The
# encodings pull in opposite directions:
#   ffv1     lossless, as OpenCV writes it: decoding (single-threaded FFV1) is most of the time
#   png-avi  lossless PNG in AVI (transcoded by ffmpeg, the same frames): cheap to decode, so
#            the metrics are most of the time
#   h264     what a video generator hands out (libx264, crf 18, yuv420p): cheap to decode, lossy
# The scores differ by design (ffmpeg: SSIM over 8x8 blocks at stride 4 on its own planes;
# ours: DESIGN section 4, 11x11 Gaussian on the RGB channels); only the times are compared.
# "ffmpeg" is its plain command, which scores the planes the decoder gives (YUV for h264);
# "ffmpeg_rgb" converts both sides to planar RGB first, the pixels we score (information: the
# verdict is against the plain command). "decode" is ffmpeg decoding the two files and nothing
# else: the floor under both tools. "ours_1f" and "ffmpeg_1f" are both tools on the pair's first
# frame alone (copied out of each file): what a run costs before its second frame, starting the
# program and loading its libraries included.
# The machine is shared and its speed drifts over seconds: the commands of a pair run in turns,
# five rounds, and each one's least wall time counts.
# Then the scores of the pair's frames (lossless, as PNG) by both SSIM definitions and the MAD,
# next to scikit-image's own numbers on the same frames (ci/skimage-scores.py; skipped, saying
# so, without python3-skimage).
# Then the CPU per frame of the metrics alone, both SSIMs among them, against the OpenCV
# routines they replace (tests/bench_frame_metrics.cpp).
#   ci/bench-frames.sh [BUILD_DIR]     (default build/; configured when missing, then built)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
command -v ffmpeg >/dev/null || { echo "bench-frames: ffmpeg not found (ci/install-deps.sh installs it)" >&2; exit 2; }
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -G Ninja -DFFN_PARITY_CUDA=OFF >/dev/null
cmake --build "$build" --target ffn-parity make_test_video bench_frame_metrics >/dev/null

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$build/tests/make_test_video" "$work" 121 768 512 >/dev/null
for side in a b; do
  ffmpeg -nostdin -v error -i "$work/$side.avi" -c:v png -pix_fmt rgb24 "$work/$side.png.avi"
  ffmpeg -nostdin -v error -i "$work/$side.avi" -c:v libx264 -preset medium -crf 18 -pix_fmt yuv420p "$work/$side.h264.mp4"
  for ext in avi png.avi h264.mp4; do
    ffmpeg -nostdin -v error -i "$work/$side.$ext" -frames:v 1 -c copy "$work/${side}1.$ext"
  done
done

# wall NAME COMMAND...: the wall time of one run, in seconds; the output is kept in $work/NAME.out.
# A command that fails stops the script: a failed run's time means nothing.
wall() {
  local name="$1" start end
  shift
  start="$(date +%s.%N)"
  "$@" >"$work/$name.out" 2>&1 || { echo "bench-frames: $name failed: $*" >&2; tail -n 3 "$work/$name.out" >&2; return 1; }
  end="$(date +%s.%N)"
  awk -v s="$start" -v e="$end" 'BEGIN { print e - s }'
}
least() { printf '%s\n' "$@" | sort -g | head -1; }

rounds=5
printf '# 121 frames 768x512, least of %d rounds in turns, %d cores; ratio = ffn-parity / ffmpeg\n' "$rounds" "$(nproc)"
printf '%-8s %7s %9s %6s %12s %9s %10s %12s  %s\n' pair ours_s ffmpeg_s ratio ffmpeg_rgb_s decode_s ours_1f_s ffmpeg_1f_s \
  "ours: psnr / ssim"
met=0
for pair in ffv1:avi png-avi:png.avi h264:h264.mp4; do
  name="${pair%%:*}" ext="${pair#*:}"
  a="$work/a.$ext" b="$work/b.$ext"
  ours=() theirs=() theirs_rgb=() decode=() ours1=() theirs1=()
  for _ in $(seq "$rounds"); do
    ours+=("$(wall ours "$build/harness/ffn-parity" frames compare "$a" "$b")")
    ours1+=("$(wall ours1 "$build/harness/ffn-parity" frames compare "$work/a1.$ext" "$work/b1.$ext")")
    theirs1+=("$(wall ffmpeg1 ffmpeg -nostdin -hide_banner -i "$work/a1.$ext" -i "$work/b1.$ext" \
      -lavfi "[0:v][1:v]ssim;[0:v][1:v]psnr" -f null -)")
    theirs+=("$(wall ffmpeg ffmpeg -nostdin -hide_banner -i "$a" -i "$b" -lavfi "[0:v][1:v]ssim;[0:v][1:v]psnr" -f null -)")
    theirs_rgb+=("$(wall ffmpeg_rgb ffmpeg -nostdin -hide_banner -i "$a" -i "$b" -lavfi \
      "[0:v]format=gbrp,split[a1][a2];[1:v]format=gbrp,split[b1][b2];[a1][b1]ssim;[a2][b2]psnr" -f null -)")
    decode+=("$(wall decode ffmpeg -nostdin -hide_banner -i "$a" -i "$b" -map 0:v -map 1:v -f null -)")
  done
  o="$(least "${ours[@]}")" f="$(least "${theirs[@]}")" r="$(least "${theirs_rgb[@]}")" d="$(least "${decode[@]}")"
  o1="$(least "${ours1[@]}")" f1="$(least "${theirs1[@]}")"
  scores="$(sed -n 's/^psnr \([0-9.]*\) dB.*ssim mean \([0-9.]*\).*/\1 dB \/ \2/p' "$work/ours.out")"
  awk -v n="$name" -v o="$o" -v f="$f" -v r="$r" -v d="$d" -v o1="$o1" -v f1="$f1" -v s="$scores" \
    'BEGIN { printf "%-8s %7.2f %9.2f %6.2f %12.2f %9.2f %10.2f %12.2f  %s\n", n, o, f, o / f, r, d, o1, f1, s }'
  if awk -v o="$o" -v f="$f" 'BEGIN { exit !(o <= 3 && o <= 1.1 * f) }'; then met=$((met + 1)); fi
done
echo "target (<= 3 s and at most 1.1x ffmpeg on the same pair): met on $met of 3 pairs"
echo

for side in a b; do
  mkdir "$work/${side}_rgb"
  ffmpeg -nostdin -v error -i "$work/$side.avi" -pix_fmt rgb24 "$work/${side}_rgb/frame_%04d.png"
done
printf '# scores of the pair (121 PNG frames each), mean and worst over frames\n'
for ssim in gaussian skimage; do
  printf '%-28s ' "ffn-parity --ssim $ssim"
  "$build/harness/ffn-parity" frames compare "$work/a_rgb" "$work/b_rgb" --ssim "$ssim" --format json |
    /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print(f\"ssim mean {d['ssim_mean']:.6f}, \
min {d['ssim_min']:.6f}; mad mean {d['mad_mean']:.6f}, max {d['mad_max']:.6f}\")"
done
printf '%-28s ' "scikit-image itself"
"$root/ci/skimage-scores.py" "$work/a_rgb" "$work/b_rgb" 2>&1 || true
echo
"$build/tests/bench_frame_metrics"
