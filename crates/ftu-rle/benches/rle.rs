//! The reference workload: a 20000 x 20000 mask with ~3 % foreground
//! in 240 discs. Encode, decode (allocating, and into a reused buffer), and
//! RLE-to-RLE Dice. `scripts/rle_reference.py` times numpy on the same mask.

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use std::hint::black_box;

// As in the xtask binary: freed pages stay with the process.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SIDE: usize = 20_000;

/// 240 discs of radius 126 on a 16 x 15 grid with seeded jitter: 3.0 % fill.
pub fn disc_mask() -> Array2<u8> {
    let mut mask = Array2::<u8>::zeros((SIDE, SIDE));
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let r = 126i64;
    for gy in 0..15i64 {
        for gx in 0..16i64 {
            let cy = gy * 1333 + 400 + (next() % 500) as i64;
            let cx = gx * 1250 + 300 + (next() % 500) as i64;
            for y in (cy - r).max(0)..(cy + r + 1).min(SIDE as i64) {
                let dy = y - cy;
                let half = ((r * r - dy * dy) as f64).sqrt() as i64;
                let (x0, x1) = (
                    (cx - half).max(0) as usize,
                    ((cx + half + 1) as usize).min(SIDE),
                );
                mask.row_mut(y as usize)
                    .slice_mut(ndarray::s![x0..x1])
                    .fill(1);
            }
        }
    }
    mask
}

fn bench(c: &mut Criterion) {
    let mask = disc_mask();
    let rle = ftu_rle::encode(mask.view());
    let other = ftu_rle::encode(mask.slice(ndarray::s![.., 5..]).to_owned().view());
    let parsed = ftu_rle::Rle::parse(&rle, SIDE, SIDE).unwrap();
    let mut buffer = Array2::<u8>::zeros((SIDE, SIDE));

    let mut g = c.benchmark_group("rle 20000x20000, 240 discs");
    g.sample_size(10);
    g.bench_function("encode", |b| {
        b.iter(|| ftu_rle::encode(black_box(mask.view())))
    });
    g.bench_function("decode (allocating)", |b| {
        b.iter(|| ftu_rle::decode(black_box(&rle), SIDE, SIDE).unwrap())
    });
    g.bench_function("decode into reused buffer", |b| {
        b.iter(|| {
            ftu_rle::Rle::parse(black_box(&rle), SIDE, SIDE)
                .unwrap()
                .decode_into(buffer.view_mut())
                .unwrap()
        })
    });
    g.bench_function("window 1024x1024", |b| {
        b.iter(|| parsed.window(9000..10024, 9000..10024).unwrap())
    });
    g.bench_function("dice rle-to-rle", |b| {
        b.iter(|| ftu_rle::dice_rle(black_box(&rle), black_box(&other)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
