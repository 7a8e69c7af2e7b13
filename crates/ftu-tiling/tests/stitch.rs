//! Stitching copies of one map reproduces it exactly, at any overlap and with
//! any weighting; bands come in order and memory stays at a few patch heights.

use ftu_tiling::{RleStitcher, Stitcher, TileGrid, Weighting};
use ndarray::{Array2, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_map(h: usize, w: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_simple_fn((h, w), || rng.random::<f32>())
}

#[test]
fn copies_of_one_map_stitch_back_exactly() {
    let (h, w) = (157, 211);
    let map = random_map(h, w, 7);
    let weightings = [
        Weighting::Uniform,
        Weighting::Gaussian { sigma: 0.125 },
        Weighting::Ramp { width: 8 },
    ];
    for weighting in weightings {
        for overlap in [0, 1, 7, 16, 40, 63] {
            let grid = TileGrid::new(w as u64, h as u64, 64, overlap).unwrap();
            let mut st = Stitcher::new(h, w, weighting);
            let mut out = Array2::<f32>::from_elem((h, w), -1.0);
            let mut next_row = 0;
            let mut take = |band: ftu_tiling::Band, next_row: &mut usize| {
                assert_eq!(band.y, *next_row, "bands in order");
                let n = band.probs.nrows();
                out.slice_mut(s![band.y..band.y + n, ..])
                    .assign(&band.probs);
                *next_row += n;
            };
            let mut max_held = 0;
            for t in grid.iter() {
                let (x, y) = (t.x as usize, t.y as usize);
                let patch = map.slice(s![y..(y + 64).min(h), x..(x + 64).min(w)]);
                if let Some(band) = st.add(x as i64, y as i64, patch).unwrap() {
                    take(band, &mut next_row);
                }
                max_held = max_held.max(st.held_rows());
            }
            if let Some(band) = st.finish() {
                take(band, &mut next_row);
            }
            assert_eq!(next_row, h);
            assert!(out == map, "{weighting:?}, overlap {overlap}: not exact");
            assert!(max_held <= 64 + (64 - overlap), "held {max_held} rows");
        }
    }
}

#[test]
fn rle_stitcher_matches_encoding_the_whole_thresholded_map() {
    let (h, w) = (120, 90);
    // Smooth blobs so the mask has real runs.
    let map = Array2::from_shape_fn((h, w), |(y, x)| {
        let d = ((x as f32 - 40.0).powi(2) + (y as f32 - 60.0).powi(2)).sqrt();
        (1.0 - d / 35.0).max(0.0)
    });
    let grid = TileGrid::new(w as u64, h as u64, 32, 8).unwrap();
    let mut st = RleStitcher::new(h, w, Weighting::Gaussian { sigma: 0.125 }, 0.5);
    for t in grid.iter() {
        let (x, y) = (t.x as usize, t.y as usize);
        // Patches predicted at half scale, upscaled by the stitcher.
        let full = map.slice(s![y..y + 32, x..x + 32]);
        let half = Array2::from_shape_fn((16, 16), |(r, c)| full[[2 * r, 2 * c]]);
        st.add_scaled(x as i64, y as i64, 32, 32, half.view())
            .unwrap();
    }
    let rle = st.finish().unwrap();
    let want = ftu_rle::encode(map.mapv(|p| u8::from(p > 0.5)).view());
    let dice = ftu_rle::dice_rle(&rle, &want).unwrap();
    assert!(dice > 0.97, "dice {dice}");

    // Exact patches through the RLE path give exactly the encoded mask.
    let mut st = RleStitcher::new(h, w, Weighting::Uniform, 0.5);
    for t in grid.iter() {
        let (x, y) = (t.x as usize, t.y as usize);
        st.add(x as i64, y as i64, map.slice(s![y..y + 32, x..x + 32]))
            .unwrap();
    }
    assert_eq!(st.finish().unwrap(), want);
}
