#!/usr/bin/env python3
"""PyTorch + segmentation_models_pytorch reference for `cargo xtask infer`.

The same sliding window as ftu-ensemble, written the way Kaggle notebooks
do it: tissue filter on a 1/16 thumbnail, tiles of TILE pixels (neighbours
overlapping by OVERLAP, first tile at 0 and last at the edge, evenly spaced)
resized to SIZE with INTER_AREA, ImageNet normalisation, flips TTA (identity,
h-flip, v-flip, transpose) as a mean of sigmoid probabilities, bilinear
upscaling, Gaussian-weighted accumulation (sigma = 0.125 of the side, floor
1e-3), threshold 0.4, column-major RLE. Prints one JSON line with seconds
and megapixels per second; writes `id,predicted`.

    pip install torch==2.15.0 segmentation-models-pytorch==0.6.0 tifffile opencv-python
    apt-get install -y libjemalloc2
    # random-init weights shared with ftu (smp names):
    python3 scripts/infer_reference.py --make-weights 7 --weights /tmp/unet_b0.safetensors
    LD_PRELOAD=libjemalloc.so.2 python3 scripts/infer_reference.py --threads 2 \\
        --slide SLIDE.tiff --weights /tmp/unet_b0.safetensors --out torch.csv
"""
import argparse
import json
import os
import time

import cv2
import numpy as np
import segmentation_models_pytorch as smp
import tifffile
import torch
from safetensors.torch import load_file, save_file

ARCHS = {"unet": smp.Unet, "fpn": smp.FPN, "linknet": smp.Linknet}
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def starts(length, size, overlap):
    if length <= size:
        return [0]
    stride, span = size - overlap, length - size
    n = -(-span // stride) + 1
    return [(i * span + (n - 1) // 2) // (n - 1) for i in range(n)]


def tissue_sat(thumb, saturation=40, white=220):
    mx, mn = thumb.max(2).astype(np.int32), thumb.min(2).astype(np.int32)
    t = ((mx - mn) * 255 > saturation * mx) & ~(mn > white) & (mx > 0)
    return np.pad(t.cumsum(0).cumsum(1), ((1, 0), (1, 0)))


def fraction(sat, f, x, y, w, h):
    th, tw = sat.shape[0] - 1, sat.shape[1] - 1
    cells = (-(-(x + w) // f) - x // f) * (-(-(y + h) // f) - y // f)
    x0, y0 = min(x // f, tw), min(y // f, th)
    x1, y1 = min(-(-(x + w) // f), tw), min(-(-(y + h) // f), th)
    return (sat[y1, x1] + sat[y0, x0] - sat[y0, x1] - sat[y1, x0]) / cells


def gaussian(n, sigma=0.125):
    s, c = max(sigma * n, 1e-3), (n - 1) / 2
    d = (np.arange(n, dtype=np.float32) - c) / s
    return np.maximum(np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / 2), 1e-3).astype(np.float32)


def rle(mask):
    px = np.concatenate([[0], mask.T.flatten(), [0]])
    runs = np.where(px[1:] != px[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return " ".join(map(str, runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--slide")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--make-weights", type=int, help="write random-init weights with this seed and exit")
    ap.add_argument("--arch", default="unet")
    ap.add_argument("--encoder", default="efficientnet-b0")
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--overlap", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.4)
    ap.add_argument("--out")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.make_weights is not None:
        torch.manual_seed(a.make_weights)
        m = ARCHS[a.arch](a.encoder, encoder_weights=None, classes=1)
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, a.weights)
        return
    model = ARCHS[a.arch](a.encoder, encoder_weights=None, classes=1)
    model.load_state_dict(load_file(a.weights), strict=True)
    model.eval()

    t0 = time.perf_counter()
    img = tifffile.imread(a.slide)
    img = img.reshape(img.shape[-3:]) if img.shape[-1] == 3 else np.moveaxis(img.reshape(3, *img.shape[-2:]), 0, -1)
    h, w, _ = img.shape
    f = 16
    thumb = cv2.resize(img, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_AREA)
    sat = tissue_sat(thumb)
    tiles = [(x, y) for y in starts(h, a.tile, a.overlap) for x in starts(w, a.tile, a.overlap)
             if fraction(sat, f, x, y, a.tile, a.tile) >= 0.05]
    acc = np.zeros((h, w), np.float32)
    wsum = np.zeros((h, w), np.float32)
    weight = gaussian(a.tile)
    with torch.inference_mode():
        for i in range(0, len(tiles), a.batch):
            chunk = tiles[i:i + a.batch]
            batch = []
            for x, y in chunk:
                t = np.full((a.tile, a.tile, 3), 255, np.uint8)
                win = img[y:y + a.tile, x:x + a.tile]
                t[:win.shape[0], :win.shape[1]] = win
                t = cv2.resize(t, (a.size, a.size), interpolation=cv2.INTER_AREA)
                batch.append((t.astype(np.float32) / 255 - MEAN) / STD)
            xb = torch.from_numpy(np.stack(batch).transpose(0, 3, 1, 2).copy())
            p = torch.sigmoid(model(xb))
            p = p + torch.sigmoid(model(xb.flip(3))).flip(3)
            p = p + torch.sigmoid(model(xb.flip(2))).flip(2)
            p = p + torch.sigmoid(model(xb.transpose(2, 3))).transpose(2, 3)
            p = (p / 4)[:, 0].numpy()
            for (x, y), pi in zip(chunk, p):
                up = cv2.resize(pi, (a.tile, a.tile), interpolation=cv2.INTER_LINEAR)
                hh, ww = min(a.tile, h - y), min(a.tile, w - x)
                acc[y:y + hh, x:x + ww] += up[:hh, :ww] * weight[:hh, :ww]
                wsum[y:y + hh, x:x + ww] += weight[:hh, :ww]
    prob = np.divide(acc, wsum, out=np.zeros_like(acc), where=wsum > 0)
    enc = rle((prob > a.threshold).astype(np.uint8))
    secs = time.perf_counter() - t0
    if a.out:
        ident = os.path.splitext(os.path.basename(a.slide))[0]
        with open(a.out, "w") as fh:
            fh.write(f"id,predicted\n{ident},{enc}\n")
    print(json.dumps({"seconds": round(secs, 3), "mpx_per_s": round(h * w / 1e6 / secs, 3),
                      "tiles": len(tiles), "width": w, "height": h}))


if __name__ == "__main__":
    main()
