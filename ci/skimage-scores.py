#!/usr/bin/python3
"""scikit-image's own numbers on two directories of PNG frames, for ci/bench-frames.sh: the mean
and minimum over frames of structural_similarity(a, b, channel_axis=-1, data_range=255) on the
uint8 RGB frames (what the serving stack's CI computes, and what `frames compare --ssim skimage`
reproduces), and the mean and maximum of the mean absolute difference.

    ci/skimage-scores.py A_DIR B_DIR

Exit 2 with one line when scikit-image is missing (Debian: apt-get install -y python3-skimage).
"""
import os
import sys

try:
    import numpy as np
    from PIL import Image
    from skimage.metrics import structural_similarity
    import skimage
except ImportError as e:
    print(f"skimage-scores: {e.name} is missing (Debian: apt-get install -y python3-skimage)", file=sys.stderr)
    sys.exit(2)


def frames(directory):
    names = sorted(n for n in os.listdir(directory) if n.endswith(".png"))
    return [np.asarray(Image.open(os.path.join(directory, n)).convert("RGB")) for n in names]


def main():
    a, b = frames(sys.argv[1]), frames(sys.argv[2])
    if len(a) != len(b) or not a:
        print(f"skimage-scores: {len(a)} vs {len(b)} frames", file=sys.stderr)
        return 2
    ssim = [structural_similarity(x, y, channel_axis=-1, data_range=255) for x, y in zip(a, b)]
    mad = [np.abs(x.astype(np.int64) - y.astype(np.int64)).sum() / x.size for x, y in zip(a, b)]
    print(f"ssim mean {np.mean(ssim):.6f}, min {min(ssim):.6f}; mad mean {np.mean(mad):.6f}, max {max(mad):.6f} "
          f"(scikit-image {skimage.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
