#!/usr/bin/env python3
"""PyTorch + segmentation_models_pytorch reference for the ftu-train step
throughput (`cargo run --release -p ftu-train --example train_step`).

The same loop on the same tiles: a background thread decodes the PNGs of the
next batches (PIL) and normalises them with the ImageNet mean/std, two
batches ahead; the model runs forward in train mode, BCE-with-logits + soft
Dice (smooth 1, over the batch), backward, AdamW (lr 1e-3, weight decay
0.01). One warm-up step, then `--steps` timed ones; one JSON line.

    LD_PRELOAD=libjemalloc.so.2 python scripts/train_reference.py \\
        --data data/tiles-synth-1024-256 --arch unet --batch 8 --steps 3 --threads 2
"""
import argparse
import csv
import json
import os
import queue
import threading
import time

import numpy as np
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from PIL import Image

ARCHS = {"unet": smp.Unet, "fpn": smp.FPN, "linknet": smp.Linknet}
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def bce_dice(logits, target, smooth=1.0):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dims = (0, 2, 3)
    dice = (2 * (p * target).sum(dims) + smooth) / (p.sum(dims) + target.sum(dims) + smooth)
    return bce + (1 - dice).mean()


def load_batch(data, ids):
    images, masks = [], []
    for i in ids:
        rgb = np.asarray(Image.open(os.path.join(data, "images", f"{i}.png")).convert("RGB"), np.float32)
        images.append(((rgb / 255.0 - MEAN) / STD).transpose(2, 0, 1))
        m = np.asarray(Image.open(os.path.join(data, "masks", f"{i}.png")).convert("L"))
        masks.append((m != 0).astype(np.float32)[None])
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--arch", default="unet", choices=ARCHS)
    ap.add_argument("--encoder", default="efficientnet-b0")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(os.path.join(a.data, "manifest.csv")) as f:
        ids = [r["tile_id"] for r in csv.DictReader(f)]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(ids))
    plan = [[ids[order[(b * a.batch + k) % len(ids)]] for k in range(a.batch)] for b in range(a.steps + 1)]
    q = queue.Queue(maxsize=2)

    def feed():
        for batch in plan:
            q.put(load_batch(a.data, batch))

    threading.Thread(target=feed, daemon=True).start()
    model = ARCHS[a.arch](encoder_name=a.encoder, encoder_weights=None)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    start = None
    for step in range(a.steps + 1):
        if step == 1:
            start = time.perf_counter()
        x, y = q.get()
        opt.zero_grad(set_to_none=True)
        loss = bce_dice(model(x), y)
        loss.backward()
        opt.step()
    seconds = (time.perf_counter() - start) / a.steps
    print(json.dumps({
        "arch": a.arch, "encoder": a.encoder, "batch": a.batch, "size": x.shape[-1],
        "step_s": round(seconds, 3), "tiles_per_s": round(a.batch / seconds, 2),
        "threads": a.threads, "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
