#!/usr/bin/env python3
"""Parity fixtures for crates/ftu-models (tests never need Python).

Pinned versions (what produced the committed fixtures):
    torch==2.15.0  segmentation-models-pytorch==0.6.0  safetensors==0.8.0  numpy==2.4.6

    pip install torch==2.15.0 segmentation-models-pytorch==0.6.0 safetensors==0.8.0
    python scripts/models_make_fixtures.py            # writes fixtures/models/

Training cases run in float64 (see below). Weights are not stored: every floating-point state_dict() entry is filled by
`fill()` below from its name and element index, and the Rust tests
(crates/ftu-models/tests/parity.rs) compute the same formula. Stored per case:
the input, smp's eval-mode logits (and aux logits), and for the training cases
the loss, gradients of a few named parameters and updated running stats.
`manifest.json` lists smp's state_dict keys/shapes/dtypes per case and the
parameter counts of every arch x efficientnet-b0..b7.
"""
import json
import math
import os
import sys

import numpy as np
import safetensors.torch
import segmentation_models_pytorch as smp
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "models")
ARCHS = {"unet": smp.Unet, "fpn": smp.FPN, "linknet": smp.Linknet}


def name_hash(name: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) % 1000


def fill(name: str, shape) -> np.ndarray:
    """The deterministic value of every element of state_dict()[name]."""
    n = int(np.prod(shape)) if len(shape) else 1
    j = np.arange(n, dtype=np.float64)
    base = np.sin(j * 0.7 + name_hash(name) * 0.013 + 0.5)
    if name.endswith("running_var"):
        v = 1.0 + 0.5 * (0.5 + 0.5 * base)
    elif name.endswith("running_mean"):
        v = 0.1 * base
    elif len(shape) == 1 and name.endswith("weight"):
        v = 1.0 + 0.1 * base
    elif len(shape) == 1:
        v = 0.1 * base
    else:
        fan_in = n // shape[0]
        v = base / math.sqrt(fan_in)
    return v.astype(np.float32).reshape(shape)


def model_input(shape) -> torch.Tensor:
    n = int(np.prod(shape))
    j = np.arange(n, dtype=np.float64)
    x = np.sin(j * 0.013 + 0.2) + 0.3 * np.cos(j * 0.071)
    return torch.from_numpy(x.astype(np.float32).reshape(shape))


def target(shape) -> torch.Tensor:
    n = int(np.prod(shape))
    j = np.arange(n, dtype=np.float64)
    return torch.from_numpy((np.sin(j * 0.05) > 0).astype(np.float32).reshape(shape))


def build(case):
    kwargs = dict(encoder_name=case["encoder"], encoder_weights=None, classes=case.get("classes", 1))
    if case.get("attention"):
        kwargs["decoder_attention_type"] = case["attention"]
    if case.get("aux"):
        kwargs["aux_params"] = {"classes": case["aux"], "dropout": 0.2}
    if case["arch"] == "fpn" and "decoder_dropout" in case:
        kwargs["decoder_dropout"] = case["decoder_dropout"]
    model = ARCHS[case["arch"]](**kwargs)
    if "drop_connect_rate" in case:
        model.encoder._drop_connect_rate = case["drop_connect_rate"]
    sd = model.state_dict()
    filled = {k: (torch.from_numpy(fill(k, tuple(v.shape))) if v.is_floating_point() else torch.zeros_like(v))
              for k, v in sd.items()}
    model.load_state_dict(filled, strict=True)
    keys = [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()]
    return model, keys


CASES = [
    dict(name="unet_b0", arch="unet", encoder="efficientnet-b0", aux=1, batch=1, size=64),
    dict(name="fpn_b0", arch="fpn", encoder="efficientnet-b0", batch=1, size=64),
    dict(name="linknet_b0", arch="linknet", encoder="efficientnet-b0", classes=2, batch=1, size=64),
    dict(name="unet_b4_scse", arch="unet", encoder="efficientnet-b4", attention="scse", batch=1, size=64),
    dict(name="fpn_b4", arch="fpn", encoder="efficientnet-b4", batch=1, size=64),
    # Training mode: batch statistics; dropout and drop-connect off (random).
    dict(name="train_unet_b0", arch="unet", encoder="efficientnet-b0", drop_connect_rate=0.0, batch=2, size=64,
         train=True, grads=["encoder._conv_stem.weight", "encoder._bn0.weight", "encoder._blocks.3._depthwise_conv.weight",
                            "encoder._blocks.10._se_reduce.bias", "encoder._blocks.14._se_expand.weight",
                            "decoder.blocks.3.conv1.0.weight", "decoder.blocks.4.conv2.1.bias",
                            "segmentation_head.0.weight"],
         stats=["encoder._bn0.running_mean", "encoder._blocks.15._bn2.running_var", "decoder.blocks.2.conv1.1.running_var"]),
    dict(name="train_fpn_b0", arch="fpn", encoder="efficientnet-b0", drop_connect_rate=0.0, decoder_dropout=0.0,
         batch=2, size=64, train=True,
         grads=["encoder._blocks.5._depthwise_conv.weight", "decoder.p5.weight", "decoder.p3.skip_conv.bias",
                "decoder.seg_blocks.0.block.0.block.1.weight", "decoder.seg_blocks.3.block.0.block.1.bias",
                "segmentation_head.0.bias"],
         stats=["encoder._blocks.8._bn1.running_mean"]),
    dict(name="train_linknet_b0", arch="linknet", encoder="efficientnet-b0", drop_connect_rate=0.0, batch=2, size=64,
         train=True,
         grads=["encoder._blocks.1._expand_conv.weight", "decoder.blocks.0.block.1.0.weight",
                "decoder.blocks.4.block.1.1.weight", "decoder.blocks.2.block.2.0.weight", "segmentation_head.0.weight"],
         stats=["decoder.blocks.0.block.1.1.running_mean"]),
]


def main():
    torch.manual_seed(0)
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    manifest = {"versions": {"torch": torch.__version__, "smp": smp.__version__}, "cases": {}, "parameter_counts": {}}
    for case in CASES:
        model, keys = build(case)
        x = model_input((case["batch"], 3, case["size"], case["size"]))
        out = {"input": x}
        if case.get("train"):
            # float64 on both sides: a training step on a 64x64 batch of two
            # is ill-conditioned (batch norm over 8 values at stride 32), so
            # float32 results differ from exact ones by more than the
            # tolerance in PyTorch itself; float64 checks the same maths.
            model.double().train()
            x = x.double()
            out = {"input": x}
            logits = model(x)
            loss = ((logits - target(tuple(logits.shape)).double()) ** 2).mean()
            loss.backward()
            params = dict(model.named_parameters())
            buffers = dict(model.named_buffers())
            out["output"] = logits.detach()
            out["loss"] = loss.detach().reshape(1)
            for g in case["grads"]:
                out["grad." + g] = params[g].grad.detach().clone()
            for s in case["stats"]:
                out["stat." + s] = buffers[s].detach().clone()
        else:
            model.eval()
            with torch.no_grad():
                y = model(x)
            if isinstance(y, tuple):
                out["output"], out["label"] = y
            else:
                out["output"] = y
        out = {k: v.contiguous() for k, v in out.items()}
        safetensors.torch.save_file(out, os.path.join(OUT, case["name"] + ".safetensors"))
        o = out["output"]
        print(f"{case['name']}: output {tuple(o.shape)} mean {o.mean():.4f} std {o.std():.4f} "
              f"max|.| {o.abs().max():.4f}", file=sys.stderr)
        manifest["cases"][case["name"]] = {k: v for k, v in case.items() if k != "name"} | {"keys": keys}
    for arch, cls in ARCHS.items():
        for b in range(8):
            m = cls(encoder_name=f"efficientnet-b{b}", encoder_weights=None)
            manifest["parameter_counts"][f"{arch}/efficientnet-b{b}"] = sum(p.numel() for p in m.parameters())
            del m
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=0)
    print(json.dumps(manifest["parameter_counts"], indent=1), file=sys.stderr)


if __name__ == "__main__":
    main()
