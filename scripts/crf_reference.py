#!/usr/bin/env python3
"""Time pydensecrf on the ftu-crf benchmark scene (reference for docs/PERFORMANCE.md).

Pinned versions (measured with): Python 3.11.7, numpy 2.4.6, pydensecrf2 1.1 (PyPI).

    pip install pydensecrf2==1.1 numpy
    python3 scripts/crf_reference.py [--sizes 512 1024 2048] [--repeats 5]

Times the same work as `cargo bench -p ftu-crf` (benches/crf.rs): from an RGB
image and a foreground probability map, build the 2-label unary (clip 1e-5),
add the Gaussian (sxy 3, compat 3) and bilateral (sxy 80, srgb 13, compat 10)
terms, run 5 mean-field iterations. The scene is the same integer formula as
`scene()` in benches/crf.rs. Prints the median and minimum wall time.
"""
import argparse
import time

import numpy as np
import pydensecrf.densecrf as dcrf
from pydensecrf.utils import unary_from_softmax


def scene(size):
    y, x = np.mgrid[0:size, 0:size].astype(np.int64)
    noise = (x * 37 + y * 91 + (x * y) % 17) % 32
    cx, cy = (x // 128) * 128 + 64, (y // 128) * 128 + 64
    r = 40 + ((x // 128) * 7 + (y // 128) * 13) % 20
    inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r
    rgb_in = np.stack([190 - noise, 70 + noise, np.full_like(noise, 130)], -1)
    rgb_out = np.stack([220 + noise // 4, 200 - noise, np.full_like(noise, 215)], -1)
    image = np.where(inside[..., None], rgb_in, rgb_out).astype(np.uint8)
    prob = (np.where(inside, 180, 70) + (noise * 5) % 61 - 30).astype(np.float32) / 255.0
    return np.ascontiguousarray(image), prob


def run(image, prob):
    h, w = prob.shape
    crf = dcrf.DenseCRF2D(w, h, 2)
    crf.setUnaryEnergy(unary_from_softmax(np.stack([1.0 - prob, prob]), clip=1e-5))
    crf.addPairwiseGaussian(sxy=3, compat=3, kernel=dcrf.DIAG_KERNEL,
                            normalization=dcrf.NORMALIZE_SYMMETRIC)
    crf.addPairwiseBilateral(sxy=80, srgb=13, rgbim=image, compat=10,
                             kernel=dcrf.DIAG_KERNEL, normalization=dcrf.NORMALIZE_SYMMETRIC)
    return np.array(crf.inference(5))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    for size in args.sizes:
        image, prob = scene(size)
        run(image, prob)  # warm-up
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            q = run(image, prob)
            times.append(time.perf_counter() - t)
        fg = (q[1] > q[0]).mean()
        print(f"pydensecrf {size}x{size}: median {np.median(times):.3f} s, "
              f"min {min(times):.3f} s over {args.repeats} runs (foreground {fg:.3f})")


if __name__ == "__main__":
    main()
