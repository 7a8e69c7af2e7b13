//! The benchmark scene, shared by `benches/crf.rs` and `examples/cpu_time.rs`.

use ndarray::{Array2, Array3};

/// Discs on a 128-pixel grid with integer texture; mirrors `scene()` in
/// `scripts/crf_reference.py`.
pub fn scene(size: usize) -> (Array3<u8>, Array2<f32>) {
    let noise = |y: usize, x: usize| (x * 37 + y * 91 + (x * y) % 17) % 32;
    let inside = |y: usize, x: usize| {
        let (cx, cy) = ((x / 128) * 128 + 64, (y / 128) * 128 + 64);
        let r = 40 + ((x / 128) * 7 + (y / 128) * 13) % 20;
        let (dx, dy) = (x as i64 - cx as i64, y as i64 - cy as i64);
        dx * dx + dy * dy < (r * r) as i64
    };
    let image = Array3::from_shape_fn((size, size, 3), |(y, x, c)| {
        let n = noise(y, x);
        let rgb = if inside(y, x) {
            [190 - n, 70 + n, 130]
        } else {
            [220 + n / 4, 200 - n, 215]
        };
        rgb[c] as u8
    });
    let prob = Array2::from_shape_fn((size, size), |(y, x)| {
        let base = if inside(y, x) { 180 } else { 70 };
        (base + (noise(y, x) * 5) % 61 - 30) as f32 / 255.0
    });
    (image, prob)
}
