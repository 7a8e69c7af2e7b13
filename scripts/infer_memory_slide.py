#!/usr/bin/env python3
"""A 40000 x 30000 tiled Deflate BigTIFF for measuring `cargo xtask infer`'s
peak memory: glass everywhere except two 600-row tissue stripes that span the full
width (middle, bottom edge), so the stitcher holds full-width rows exactly as
on a real slide, while only ~1/10 of the tiles hold tissue (the models' time
stays short; every tile is still read for the thumbnail). Written tile by tile: never the whole image in
memory.

    python3 scripts/infer_memory_slide.py /tmp/ens/big/big.tiff
"""
import sys

import numpy as np
import tifffile

W, H, T = 40000, 30000, 512
STRIPES = [(14000, 14600), (29400, 30000)]
rng = np.random.default_rng(0)
noise = rng.integers(0, 40, (T, T), dtype=np.uint8)
glass = np.full((T, T, 3), 245, np.uint8)


def tile(ty, tx):
    y0 = ty * T
    rows = np.arange(y0, y0 + T)
    tissue = np.zeros(T, bool)
    for a, b in STRIPES:
        tissue |= (rows >= a) & (rows < b)
    if not tissue.any():
        return glass
    t = glass.copy()
    pink = np.stack([170 + noise, 90 + noise, np.full_like(noise, 160)], -1)
    t[tissue] = pink[tissue]
    return t


def tiles():
    for ty in range(-(-H // T)):
        for tx in range(-(-W // T)):
            yield tile(ty, tx)


tifffile.imwrite(sys.argv[1], tiles(), shape=(H, W, 3), dtype=np.uint8, tile=(T, T),
                 photometric="rgb", compression="zlib", bigtiff=True)
