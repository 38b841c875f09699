#!/usr/bin/python3
"""`ffn-parity frames compare --ssim skimage` against scikit-image itself.

Usage: skimage_ssim_reference.py FFN_PARITY

For frame pairs of several sizes (odd and even, the 7x7 minimum, the bench's 768x512), written
as PNG directories: every frame's SSIM must lie within 1e-6 of
skimage.metrics.structural_similarity(a, b, channel_axis=-1, data_range=255) on the same uint8
RGB frames, and its MAD must equal the exact integer sum of |a - b| over the frame's size.
Frames smaller than the window: scikit-image raises ValueError, and frames compare refuses them
in one line with exit status 2. Exit 77 (a skip) when scikit-image, numpy or PIL is missing
(Debian: apt-get install -y python3-skimage).
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity
    import skimage
except ImportError as e:
    print(f"SKIP: {e.name} is missing (Debian: apt-get install -y python3-skimage)")
    sys.exit(77)

TOLERANCE = 1e-6
FRAMES = 3
# (width, height): the minimum, one row or column of windows, odd sizes, the bench size.
SIZES = [(7, 7), (8, 7), (7, 9), (13, 9), (101, 67), (64, 48), (768, 512)]
TOO_SMALL = [(6, 7), (7, 6), (5, 5), (1, 1)]


def frame_pair(width, height, t, rng):
    """A smooth gradient with an edge that moves, and the same with noise whose strength grows
    with t: structure for SSIM to judge, scores from near 1 to well below."""
    y, x = np.mgrid[0:height, 0:width]
    a = np.stack([255.0 * x / max(width - 1, 1), 255.0 * y / max(height - 1, 1),
                  64.0 + (x + y + 8 * t) % 128], axis=-1)
    a[(x > width // 3 + t) & (y < height // 2)] = (240, 30, 200)
    b = a + rng.normal(0, 2.0 + 12.0 * t, a.shape)
    return (np.clip(np.rint(a), 0, 255).astype(np.uint8), np.clip(np.rint(b), 0, 255).astype(np.uint8))


def write_pngs(frames, directory):
    os.makedirs(directory)
    for i, f in enumerate(frames):
        Image.fromarray(f, "RGB").save(os.path.join(directory, f"frame_{i:04d}.png"))


def compare(ffn, a_dir, b_dir, *extra):
    return subprocess.run([ffn, "frames", "compare", a_dir, b_dir, "--format", "json", *extra],
                          capture_output=True, text=True)


def main():
    ffn = sys.argv[1]
    rng = np.random.default_rng(20)
    failures = []
    worst = 0.0
    print(f"scikit-image {skimage.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in SIZES:
            pairs = [frame_pair(width, height, t, rng) for t in range(FRAMES)]
            a_dir, b_dir = (os.path.join(tmp, f"{side}-{width}x{height}") for side in "ab")
            write_pngs([p[0] for p in pairs], a_dir)
            write_pngs([p[1] for p in pairs], b_dir)
            run = compare(ffn, a_dir, b_dir, "--ssim", "skimage")
            if run.returncode != 0:
                failures.append(f"{width}x{height}: exit {run.returncode}: {run.stderr.strip()}")
                continue
            doc = json.loads(run.stdout)
            if doc["ssim_kind"] != "skimage":
                failures.append(f"{width}x{height}: ssim_kind {doc['ssim_kind']}")
            for i, (a, b) in enumerate(pairs):
                theirs = structural_similarity(a, b, channel_axis=-1, data_range=255)
                ours = doc["frames"][i]["ssim"]
                worst = max(worst, abs(ours - theirs))
                exact_mad = int(np.abs(a.astype(np.int64) - b.astype(np.int64)).sum()) / a.size
                line = f"{width}x{height} frame {i}: ssim ours {ours:.12f} skimage {theirs:.12f} " \
                       f"(diff {abs(ours - theirs):.1e}); mad {doc['frames'][i]['mad']:.6f}"
                print(line)
                if not abs(ours - theirs) <= TOLERANCE:
                    failures.append(line + f": SSIM differs by more than {TOLERANCE}")
                if doc["frames"][i]["mad"] != exact_mad:
                    failures.append(line + f": MAD is not the exact {exact_mad!r}")
        for width, height in TOO_SMALL:
            a, b = frame_pair(width, height, 1, rng)
            try:
                structural_similarity(a, b, channel_axis=-1, data_range=255)
                failures.append(f"{width}x{height}: scikit-image scored it; expected ValueError")
            except ValueError:
                pass
            a_dir, b_dir = (os.path.join(tmp, f"{side}-{width}x{height}") for side in "ab")
            write_pngs([a], a_dir)
            write_pngs([b], b_dir)
            run = compare(ffn, a_dir, b_dir, "--ssim", "skimage")
            lines = run.stderr.strip().splitlines()
            print(f"{width}x{height}: exit {run.returncode}: {run.stderr.strip()}")
            if run.returncode != 2 or len(lines) != 1 or "smaller than the 7x7 window" not in lines[0]:
                failures.append(f"{width}x{height}: expected exit 2 and one line about the 7x7 window, got exit "
                                f"{run.returncode}: {run.stderr!r}")
    print(f"largest SSIM difference from scikit-image: {worst:.2e} (tolerance {TOLERANCE})")
    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
