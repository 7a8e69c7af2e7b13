//! Peak memory of stitching a 40000 x 30000 slide: 1024-pixel patches with 256
//! overlap, predicted at 256 x 256 and upscaled, Gaussian-weighted,
//! thresholded and run-length encoded band by band.
//!
//! `cargo run --release -p ftu-tiling --example stitch_rss` prints the peak
//! resident set size (VmHWM from /proc/self/status, Linux) and the time.

use std::time::Instant;

use ftu_tiling::{RleStitcher, TileGrid, Weighting};
use ndarray::Array2;

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let (h, w) = (30_000usize, 40_000usize);
    let (tile, overlap, out) = (1024usize, 256usize, 256usize);
    let start = Instant::now();
    let grid = TileGrid::new(w as u64, h as u64, tile, overlap).expect("valid grid");
    let mut st = RleStitcher::new(h, w, Weighting::Gaussian { sigma: 0.125 }, 0.5);
    let mut max_held = 0;
    let scale = (tile / out) as f32;
    for t in grid.iter() {
        // "Predictions": discs of radius 150 on a 700-pixel lattice.
        let patch = Array2::from_shape_fn((out, out), |(r, c)| {
            let fx = t.x as f32 + (c as f32 + 0.5) * scale;
            let fy = t.y as f32 + (r as f32 + 0.5) * scale;
            let (dx, dy) = (fx % 700.0 - 350.0, fy % 700.0 - 350.0);
            (1.5 - (dx * dx + dy * dy).sqrt() / 150.0).clamp(0.0, 1.0)
        });
        st.add_scaled(t.x as i64, t.y as i64, tile, tile, patch.view())
            .expect("stitch");
        max_held = max_held.max(st.held_rows());
    }
    let rle = st.finish().expect("encode");
    let secs = start.elapsed().as_secs_f64();
    let runs = rle.split_whitespace().count() / 2;
    println!(
        "{w} x {h}: {} patches, {runs} runs, max {max_held} rows held, {secs:.1} s, peak RSS {} MiB",
        grid.len(),
        vm_hwm_kib().map_or("unknown".to_string(), |k| (k / 1024).to_string())
    );
}
