#!/usr/bin/env python3
"""Reference for ftu-tiling's preprocess bench: the same work with tifffile +
OpenCV, as the Kaggle notebooks of the recipe did it.

    pip install tifffile imagecodecs numpy opencv-python-headless
    cargo bench -p ftu-tiling --bench tiling -- preprocess   # writes the slide once
    python3 scripts/tiling_reference.py target/ftu-tiling-bench/synth-20000/slides/slide.tiff
    python3 scripts/tiling_reference.py --region target/ftu-tiling-bench/synth-4096/slides/slide.tiff

Work per run, like `ftu_tiling::preprocess` with tile = 1024, out_size = 256,
overlap = 0: read the slide (tifffile, whole level 0, multithreaded decode),
a 1/32 thumbnail (INTER_AREA) for the tissue test (saturation > 40, not
near-white, tissue fraction >= 0.05), then for each kept tile of the grid
(last tile aligned to the edge): INTER_AREA resize to 256, write the image PNG
and an all-zero mask PNG. Prints the best of --repeat runs, in seconds.
"""
import argparse
import pathlib
import shutil
import tempfile
import time

import cv2
import imagecodecs
import numpy as np
import tifffile

TILE, OUT, FACTOR = 1024, 256, 32
SAT, WHITE, MIN_FRACTION = 40, 220, 0.05


def starts(length, size):
    if length <= size:
        return [0]
    span = length - size
    n = -(-span // size) + 1
    return [(i * span + (n - 1) // 2) // (n - 1) for i in range(n)]


def tissue_mask(rgb):
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    return (hsv[..., 1] > SAT) & ~np.all(rgb > WHITE, axis=-1)


def run(path, out):
    img = tifffile.imread(path)  # H x W x 3, decoded with all cores
    h, w = img.shape[:2]
    thumb = cv2.resize(img, (-(-w // FACTOR), -(-h // FACTOR)), interpolation=cv2.INTER_AREA)
    tissue = tissue_mask(thumb)
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    empty = np.zeros((OUT, OUT), np.uint8)
    kept = 0
    for y in starts(h, TILE):
        for x in starts(w, TILE):
            t = tissue[y // FACTOR: -(-(y + TILE) // FACTOR), x // FACTOR: -(-(x + TILE) // FACTOR)]
            if t.mean() < MIN_FRACTION:
                continue
            tile = cv2.resize(img[y:y + TILE, x:x + TILE], (OUT, OUT), interpolation=cv2.INTER_AREA)
            cv2.imwrite(str(out / "images" / f"{x}_{y}.png"), cv2.cvtColor(tile, cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(out / "masks" / f"{x}_{y}.png"), empty)
            kept += 1
    return kept


def read_region(fh, page, x, y, w, h):
    """A window of a Deflate-tiled chunky page: decode only the overlapping
    tiles (imagecodecs zlib, as tifffile does) and copy them into place."""
    tw, th = page.tilewidth, page.tilelength
    across = -(-page.imagewidth // tw)
    out = np.empty((h, w, 3), np.uint8)
    for ty in range(y // th, (y + h - 1) // th + 1):
        for tx in range(x // tw, (x + w - 1) // tw + 1):
            i = ty * across + tx
            fh.seek(page.dataoffsets[i])
            tile = np.frombuffer(imagecodecs.zlib_decode(fh.read(page.databytecounts[i])), np.uint8).reshape(th, tw, 3)
            x0, y0 = max(x, tx * tw), max(y, ty * th)
            x1, y1 = min(x + w, (tx + 1) * tw), min(y + h, (ty + 1) * th)
            out[y0 - y:y1 - y, x0 - x:x1 - x] = tile[y0 - ty * th:y1 - ty * th, x0 - tx * tw:x1 - tx * tw]
    return out


def region_bench(path, n=100):
    with tifffile.TiffFile(path) as tif:
        page, fh = tif.pages[0], tif.filehandle
        for name, (x, y) in [("aligned", (1024, 1024)), ("unaligned", (1100, 900))]:
            read_region(fh, page, x, y, 1024, 1024)
            t0 = time.perf_counter()
            for _ in range(n):
                read_region(fh, page, x, y, 1024, 1024)
            print(f"region 1024 {name}: {(time.perf_counter() - t0) / n * 1e3:.1f} ms")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("slide")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--region", action="store_true", help="time 1024 x 1024 window reads instead")
    args = ap.parse_args()
    if args.region:
        region_bench(args.slide)
        return
    best = None
    for _ in range(args.repeat):
        out = pathlib.Path(tempfile.mkdtemp()) / "tiles"
        t0 = time.perf_counter()
        kept = run(args.slide, out)
        dt = time.perf_counter() - t0
        shutil.rmtree(out.parent)
        best = dt if best is None else min(best, dt)
        print(f"tifffile + OpenCV: {kept} tiles in {dt:.2f} s")
    print(f"best {best:.2f} s")


if __name__ == "__main__":
    main()
