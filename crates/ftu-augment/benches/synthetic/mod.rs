//! The synthetic tile timed by `benches/pipeline.rs` and
//! `examples/throughput.rs` (which includes this file by path), and rebuilt
//! by `scripts/augment_reference.py`: keep the three in step.

use ndarray::{Array2, Array3};

/// A tissue-like synthetic tile: pink background, purple blobs, a round label.
pub fn tile(n: usize) -> (Array3<u8>, Array2<u8>) {
    let c = n as f32 / 2.0;
    let mask = Array2::from_shape_fn((n, n), |(y, x)| {
        u8::from((y as f32 - c).hypot(x as f32 - c) < n as f32 / 5.0)
    });
    let image = Array3::from_shape_fn((n, n, 3), |(y, x, ch)| {
        let t = ((x * 7 + y * 3) % 23) as f32 / 23.0;
        let blob = ((x / 9 + y / 11) % 5 == 0) as u8 as f32;
        let base = [230.0, 180.0, 210.0][ch] - blob * [90.0, 100.0, 40.0][ch];
        (base - 20.0 * t) as u8
    });
    (image, mask)
}
