#!/usr/bin/env python3
"""Reference timing for ftu-augment: albumentations running the same default
training pipeline as `ftu_augment::Pipeline::recipe()` on the same synthetic
256x256 and 512x512 tiles as `crates/ftu-augment/benches/synthetic/mod.rs`, on one
thread.

    pip install albumentations
    python3 scripts/augment_reference.py [--iters N]

Parameter mapping (ftu-augment -> albumentations 2.x):
  * hue shift in degrees -> OpenCV half-degrees (20 deg -> 10).
  * elastic: ftu-augment normalises the field to an RMS displacement of
    alpha px (6 px, sigma 16); albumentations scales a blurred, max-normalised
    noise field by alpha, so alpha is calibrated here to give the same RMS.
  * optical distortion: ftu-augment normalises radius to 1 at the edge
    midpoints, albumentations to 0.5; k = 0.1 there is about k = 0.32 here
    (same displacement at the edge midpoints). No centre shift in albumentations 2.
  * Gaussian noise std 3..12 (0..255 units) -> std_range (3/255, 12/255).
"""

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(1)


def tile(n):
    """The bench's synthetic tile: pink background, purple blobs, a round label."""
    y, x = np.mgrid[0:n, 0:n]
    c = n / 2.0
    mask = (np.hypot(y - c, x - c) < n / 5.0).astype(np.uint8)
    t = ((x * 7 + y * 3) % 23) / 23.0
    blob = (((x // 9 + y // 11) % 5) == 0).astype(np.float32)
    base = np.array([230.0, 180.0, 210.0], np.float32)
    dark = np.array([90.0, 100.0, 40.0], np.float32)
    img = base[None, None, :] - blob[..., None] * dark[None, None, :] - 20.0 * t[..., None]
    return img.astype(np.uint8), mask


def elastic_alpha(n, rms_px=6.0, sigma=16.0, trials=8):
    """alpha giving albumentations' field the RMS displacement ftu-augment uses."""
    rng = np.random.default_rng(0)
    rms = []
    for _ in range(trials):
        f = rng.standard_normal((n, n), dtype=np.float32)
        f /= np.abs(f).max()
        cv2.GaussianBlur(f, (0, 0), sigma, dst=f, borderType=cv2.BORDER_REPLICATE)
        rms.append(float(np.sqrt((f * f).mean())))
    return rms_px / float(np.mean(rms))


def recipe(n):
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=0.5),
            A.ShiftScaleRotate(
                shift_limit=0.0625,
                scale_limit=0.2,
                rotate_limit=15,
                border_mode=cv2.BORDER_REFLECT,
                p=0.75,
            ),
            A.OneOf(
                [
                    A.ElasticTransform(alpha=elastic_alpha(n), sigma=16, p=1.0),
                    A.GridDistortion(num_steps=5, distort_limit=0.3, p=1.0),
                    A.OpticalDistortion(distort_limit=0.32, p=1.0),
                ],
                p=0.3,
            ),
            A.HueSaturationValue(
                hue_shift_limit=10, sat_shift_limit=15, val_shift_limit=10, p=0.5
            ),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
            A.OneOf(
                [
                    A.Blur(blur_limit=(3, 5), p=1.0),
                    A.MedianBlur(blur_limit=(3, 3), p=1.0),
                    A.GaussNoise(std_range=(3 / 255, 12 / 255), p=1.0),
                ],
                p=0.25,
            ),
        ],
        seed=0,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=2000)
    args = ap.parse_args()
    print(f"albumentations {A.__version__}, OpenCV {cv2.__version__}, numpy {np.__version__}")
    for n in (256, 512):
        img, mask = tile(n)
        aug = recipe(n)
        iters = args.iters if n == 256 else max(1, args.iters // 4)
        for _ in range(50):  # warm-up
            aug(image=img, mask=mask)
        # Wall clock and this thread's on-CPU time, like
        # `cargo run --release --example throughput -p ftu-augment`.
        t0, c0 = time.perf_counter(), time.thread_time()
        for _ in range(iters):
            out = aug(image=img, mask=mask)
        wall = (time.perf_counter() - t0) / iters
        cpu = (time.thread_time() - c0) / iters
        assert out["image"].shape == img.shape
        print(
            f"{n}x{n}: wall {wall * 1e3:.3f} ms/tile ({1.0 / wall:.0f} tiles/s), "
            f"on-CPU {cpu * 1e3:.3f} ms/tile ({1.0 / cpu:.0f} tiles/s)"
        )


if __name__ == "__main__":
    main()
