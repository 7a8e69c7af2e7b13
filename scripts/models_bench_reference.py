#!/usr/bin/env python3
"""PyTorch + segmentation_models_pytorch reference for `cargo xtask bench-model`.

Same workload and output as the Rust command: a forward pass (eval, no grad)
and a training step (forward, BCE-with-logits + soft Dice, backward, AdamW),
median seconds after one warm-up, and the process's peak resident memory
(MiB, `ru_maxrss`), one JSON line.

    pip install torch==2.15.0 segmentation-models-pytorch==0.6.0
    apt-get install -y libjemalloc2
    LD_PRELOAD=libjemalloc.so.2 python scripts/models_bench_reference.py \\
        --arch unet --encoder efficientnet-b0 --batch 8 --size 256 --threads 2 --train
"""
import argparse
import json
import resource
import statistics
import time

import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F

ARCHS = {"unet": smp.Unet, "fpn": smp.FPN, "linknet": smp.Linknet}


def bce_dice(logits, target, smooth=1.0):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    dims = (0, 2, 3)
    dice = (2 * (p * target).sum(dims) + smooth) / (p.sum(dims) + target.sum(dims) + smooth)
    return bce + (1 - dice).mean()


def timed(iters, fn):
    fn()  # warm-up
    times = []
    for _ in range(max(iters, 1)):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True, choices=ARCHS)
    ap.add_argument("--encoder", default="efficientnet-b0")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--train", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = ARCHS[a.arch](encoder_name=a.encoder, encoder_weights=None)
    x = torch.randn(a.batch, 3, a.size, a.size)

    def forward():
        model.eval()
        with torch.no_grad():
            model(x)

    out = {"forward_s": round(timed(a.iters, forward), 4), "train_step_s": None}
    if a.train:
        target = (torch.rand(a.batch, 1, a.size, a.size) > 0.5).float()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-2)

        def step():
            model.train()
            opt.zero_grad(set_to_none=True)
            loss = bce_dice(model(x), target)
            loss.backward()
            opt.step()

        out["train_step_s"] = round(timed(a.iters, step), 4)
    # Linux reports ru_maxrss in KiB.
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
