"""Reference for ftu-synth's TIFF writing: tifffile writes the same pixels.

Reads a slide written by `cargo xtask synth` (tifffile + zlib decode), then
times tifffile writing those pixels back as a 512 x 512 tiled, Deflate
(level 1, like ftu-synth) BigTIFF with its default thread pool. This covers
only encoding and writing: ftu-synth also renders every pixel in its time.

    python3 scripts/synth_tiff_reference.py SLIDE.tiff [OUT.tiff]
"""

import os
import sys
import tempfile
import time

import tifffile


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    src = sys.argv[1]
    t0 = time.perf_counter()
    pixels = tifffile.imread(src)
    t1 = time.perf_counter()
    print(f"read {src}: {pixels.shape} {pixels.dtype} in {t1 - t0:.2f} s")
    out = sys.argv[2] if len(sys.argv) == 3 else os.path.join(tempfile.gettempdir(), "synth_reference.tiff")
    t2 = time.perf_counter()
    tifffile.imwrite(out, pixels, bigtiff=True, tile=(512, 512), compression="zlib", compressionargs={"level": 1}, photometric="rgb")
    t3 = time.perf_counter()
    print(f"tifffile {tifffile.__version__} wrote {out} ({os.path.getsize(out) / 1e6:.0f} MB) in {t3 - t2:.2f} s")


if __name__ == "__main__":
    main()
