"""numpy reference for ftu-rle's benchmark (crates/ftu-rle/benches/rle.rs).

Builds the same 20000 x 20000 mask (240 discs, same seeded xorshift placement)
and times the standard Kaggle numpy RLE encode / decode used by the recipe.
Usage: python3 scripts/rle_reference.py   (numpy 2.x)
"""
import hashlib
import time

import numpy as np

SIDE = 20_000
M64 = (1 << 64) - 1


def disc_mask():
    mask = np.zeros((SIDE, SIDE), dtype=np.uint8)
    state = 0x9E3779B97F4A7C15

    def nxt():
        nonlocal state
        state ^= (state << 13) & M64
        state ^= state >> 7
        state ^= (state << 17) & M64
        return state

    r = 126
    for gy in range(15):
        for gx in range(16):
            cy = gy * 1333 + 400 + nxt() % 500
            cx = gx * 1250 + 300 + nxt() % 500
            for y in range(max(cy - r, 0), min(cy + r + 1, SIDE)):
                dy = y - cy
                half = int(float(r * r - dy * dy) ** 0.5)
                mask[y, max(cx - half, 0):min(cx + half + 1, SIDE)] = 1
    return mask


def rle_encode(img):
    pixels = img.T.flatten()
    pixels = np.concatenate([[0], pixels, [0]])
    runs = np.where(pixels[1:] != pixels[:-1])[0] + 1
    runs[1::2] -= runs[::2]
    return " ".join(str(x) for x in runs)


def rle_decode(mask_rle, shape):
    s = mask_rle.split()
    starts, lengths = [np.asarray(x, dtype=int) for x in (s[0:][::2], s[1:][::2])]
    starts -= 1
    ends = starts + lengths
    img = np.zeros(shape[0] * shape[1], dtype=np.uint8)
    for lo, hi in zip(starts, ends):
        img[lo:hi] = 1
    return img.reshape(shape, order="F")


def best_of(n, f):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t)
    return times, out


mask = disc_mask()
print(f"foreground {mask.mean() * 100:.2f} %")
t_enc, rle = best_of(3, lambda: rle_encode(mask))
t_dec, back = best_of(3, lambda: rle_decode(rle, (SIDE, SIDE)))
assert (back == mask).all()
print(f"runs {len(rle.split()) // 2}, sha256 {hashlib.sha256(rle.encode()).hexdigest()[:16]}")
fmt = lambda ts: ", ".join(f"{t:.3f}" for t in ts)
print(f"numpy encode s: {fmt(t_enc)}; decode s: {fmt(t_dec)} (3 runs each)")
