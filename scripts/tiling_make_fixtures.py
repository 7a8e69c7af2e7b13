#!/usr/bin/env python3
"""Writes small TIFFs in several layouts with tifffile (+ imagecodecs) into
fixtures/tiling/, for ftu-tiling's tests of files written by other tools.

    pip install tifffile imagecodecs numpy
    python3 scripts/tiling_make_fixtures.py

Outputs: reference.png (the RGB pixels every lossless fixture holds),
jpeg_expected.png (what tifffile + imagecodecs decode from the JPEG fixture)
and one .tiff per layout; manifest.txt lists each file and its layout.
"""
import pathlib

import imagecodecs
import numpy as np
import tifffile

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "tiling"
H, W = 200, 300


def reference():
    """Smooth gradients with sharp-edged discs: compresses well, and any
    misplaced tile, row or channel changes many pixels."""
    y, x = np.mgrid[0:H, 0:W]
    r = (x * 255 // (W - 1)).astype(np.uint8)
    g = (y * 255 // (H - 1)).astype(np.uint8)
    b = ((x + y) * 2 % 256).astype(np.uint8)
    img = np.stack([r, g, b], axis=-1)
    for cx, cy, rad, col in [(60, 50, 30, (200, 40, 120)), (210, 130, 45, (30, 180, 60)), (150, 190, 25, (250, 250, 250))]:
        img[(x - cx) ** 2 + (y - cy) ** 2 < rad**2] = col
    return img


def png(path, img):
    path.write_bytes(imagecodecs.png_encode(img))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    img = reference()
    png(OUT / "reference.png", img)
    layouts = {
        # name: (data, kwargs)
        "tiled_deflate_bigtiff.tiff": (img, dict(bigtiff=True, tile=(64, 64), compression="zlib", photometric="rgb")),
        "striped_lzw_predictor.tiff": (img, dict(rowsperstrip=16, compression="lzw", predictor=True, photometric="rgb")),
        "striped_packbits.tiff": (img, dict(rowsperstrip=37, compression="packbits", photometric="rgb")),
        "tiled_none_planar.tiff": (np.moveaxis(img, -1, 0), dict(tile=(48, 80), photometric="rgb", planarconfig="separate")),
        "striped_deflate_planar_bigtiff.tiff": (np.moveaxis(img, -1, 0), dict(bigtiff=True, rowsperstrip=25, compression="zlib", photometric="rgb", planarconfig="separate")),
        # tifffile writes a 1x1x3xHxW array as three single-channel pages.
        "pages_1x1x3xHxW.tiff": (np.moveaxis(img, -1, 0)[None, None], dict(tile=(64, 64), compression="zlib", photometric="minisblack")),
        "tiled_jpeg.tiff": (img, dict(tile=(64, 64), compression="jpeg", photometric="rgb")),
    }
    lines = []
    for name, (data, kw) in layouts.items():
        tifffile.imwrite(OUT / name, data, **kw)
        with tifffile.TiffFile(OUT / name) as tif:
            p = tif.pages[0]
            lines.append(f"{name}\tpages={len(tif.pages)}\tshape={tif.series[0].shape}\tcompression={p.compression.name}\tphotometric={p.photometric.name}\tplanar={p.planarconfig}\ttile={p.tile}")
            back = tif.asarray()
        if name == "tiled_jpeg.tiff":
            png(OUT / "jpeg_expected.png", back)
            err = np.abs(back.astype(int) - img).max()
            print(f"{name}: JPEG max abs error vs reference {err}")
        else:
            back = back.reshape(-1, H, W) if back.ndim != 3 or back.shape[-1] != 3 else back
            if back.shape[0] == 3:
                back = np.moveaxis(back, 0, -1)
            assert np.array_equal(back, img), name
    # A pyramid: level 0 plus a half-size reduced-resolution page.
    with tifffile.TiffWriter(OUT / "pyramid_tiled_deflate.tiff") as tw:
        tw.write(img, tile=(64, 64), compression="zlib", photometric="rgb", subfiletype=0)
        tw.write(img[::2, ::2], tile=(64, 64), compression="zlib", photometric="rgb", subfiletype=1)
    lines.append("pyramid_tiled_deflate.tiff\tpages=2\tlevel0 300x200, level1 150x100")
    (OUT / "manifest.txt").write_text("\n".join(lines) + "\n")
    total = sum(f.stat().st_size for f in OUT.iterdir())
    print("\n".join(lines))
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
