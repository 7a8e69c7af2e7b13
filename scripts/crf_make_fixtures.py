#!/usr/bin/env python3
"""Make the ftu-crf parity fixture: a synthetic binary probability-map case
and pydensecrf's marginals on it.

Pinned versions (measured with): Python 3.11.7, numpy 2.4.6, pydensecrf2 1.1
(PyPI; Krähenbühl's DenseCRF v2 built with its SSE lattice on x86-64).

    pip install pydensecrf2==1.1 numpy
    python3 scripts/crf_make_fixtures.py            # writes fixtures/crf/

Content is synthetic (seeded numpy), not derived from any external image.
Files, all raw little-endian, row-major, 128 wide x 96 high:
    binary_image.rgb   uint8  (96, 128, 3)   RGB image
    binary_prob.f32    float32 (96, 128)     foreground probability
    binary_q.f32       float32 (2, 96, 128)  pydensecrf Q after 5 iterations
Settings: unary_from_softmax([1-p, p]) (clip 1e-5), addPairwiseGaussian(sxy=3,
compat=3), addPairwiseBilateral(sxy=80, srgb=13, compat=10), both DIAG_KERNEL
and NORMALIZE_SYMMETRIC, inference(5).
"""
import os
import sys

import numpy as np
import pydensecrf.densecrf as dcrf
from pydensecrf.utils import unary_from_softmax

W, H = 128, 96
OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "crf"))


def scene(rng):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    inside = np.zeros((H, W), bool)
    # A few tissue-like blobs of random size and place.
    for _ in range(4):
        cx, cy = rng.uniform(15, W - 15), rng.uniform(15, H - 15)
        rx, ry = rng.uniform(8, 22), rng.uniform(8, 18)
        inside |= ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 < 1.0
    fg = np.array([185.0, 70.0, 135.0])
    bg = np.array([228.0, 205.0, 218.0])
    img = np.where(inside[..., None], fg, bg)
    img += 20.0 * np.sin(xx / 9.0)[..., None] * np.array([0.5, 1.0, 0.3])  # shading
    img += rng.normal(0, 9.0, img.shape)                                     # noise
    img = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    # A blurry, noisy, partly wrong network output.
    logit = np.where(inside, 1.2, -1.2) + rng.normal(0, 1.1, (H, W))
    logit[30:45, 60:80] -= 1.5  # a confidently wrong patch
    prob = (1.0 / (1.0 + np.exp(-logit))).astype(np.float32)
    return img, prob


def main():
    rng = np.random.default_rng(20240611)
    img, prob = scene(rng)
    crf = dcrf.DenseCRF2D(W, H, 2)
    crf.setUnaryEnergy(unary_from_softmax(np.stack([1.0 - prob, prob]), clip=1e-5))
    crf.addPairwiseGaussian(sxy=3, compat=3, kernel=dcrf.DIAG_KERNEL,
                            normalization=dcrf.NORMALIZE_SYMMETRIC)
    crf.addPairwiseBilateral(sxy=80, srgb=13, rgbim=np.ascontiguousarray(img), compat=10,
                             kernel=dcrf.DIAG_KERNEL, normalization=dcrf.NORMALIZE_SYMMETRIC)
    q = np.array(crf.inference(5), dtype=np.float32).reshape(2, H, W)
    os.makedirs(OUT, exist_ok=True)
    img.tofile(os.path.join(OUT, "binary_image.rgb"))
    prob.astype("<f4").tofile(os.path.join(OUT, "binary_prob.f32"))
    q.astype("<f4").tofile(os.path.join(OUT, "binary_q.f32"))
    changed = ((q[1] > q[0]) != (prob > 0.5)).mean()
    print(f"wrote {OUT}: CRF changed {changed:.1%} of thresholded labels", file=sys.stderr)


if __name__ == "__main__":
    main()
