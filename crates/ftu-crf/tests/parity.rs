//! Agreement with pydensecrf: on the upstream example images (read from
//! `../shared/data/pydensecrf` when present) and on the committed synthetic
//! probability-map fixture made by `scripts/crf_make_fixtures.py`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use ftu_crf::{DenseCrf2d, argmax, unary_from_foreground, unary_from_labels};
use ndarray::{Array2, Array3};

fn shared_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/pydensecrf")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/crf")
}

fn read_rgb(path: &Path) -> Array3<u8> {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let (w, h) = img.dimensions();
    Array3::from_shape_vec((h as usize, w as usize, 3), img.into_raw()).unwrap()
}

/// Colours packed as `r + g << 8 + b << 16`, as upstream `inference.py` does.
fn packed_colours(img: &Array3<u8>) -> Array2<u32> {
    let (h, w, _) = img.dim();
    Array2::from_shape_fn((h, w), |(y, x)| {
        img[[y, x, 0]] as u32 | (img[[y, x, 1]] as u32) << 8 | (img[[y, x, 2]] as u32) << 16
    })
}

/// Runs the upstream example settings on `im{image}.png` / `anno{anno}.png`
/// and returns the fraction of pixels whose label matches `out{anno}.png`.
fn example_agreement(dir: &Path, image: &str, anno: &str) -> f64 {
    let img = read_rgb(&dir.join(format!("im{image}.png")));
    let anno_colours = packed_colours(&read_rgb(&dir.join(format!("anno{anno}.png"))));
    let reference = packed_colours(&read_rgb(&dir.join(format!("out{anno}.png"))));
    let (h, w, _) = img.dim();

    // Label = index among the sorted distinct colours; colour 0 is "unknown".
    let colours: Vec<u32> = anno_colours
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let has_unknown = colours[0] == 0;
    let labels = anno_colours.mapv(|c| colours.binary_search(&c).unwrap() as u32);
    let label_colours = if has_unknown {
        &colours[1..]
    } else {
        &colours[..]
    };
    let n_labels = label_colours.len();

    let mut crf = DenseCrf2d::new(w, h, n_labels).unwrap();
    let unary = unary_from_labels(labels.view(), n_labels, 0.7, has_unknown).unwrap();
    crf.set_unary_energy(unary.view()).unwrap();
    crf.add_pairwise_gaussian(3.0, 3.0).unwrap();
    crf.add_pairwise_bilateral(80.0, 13.0, img.view(), 10.0)
        .unwrap();
    let map = crf.map(5).unwrap();

    let agree = map
        .iter()
        .zip(reference.iter())
        .filter(|&(&l, &c)| label_colours[l as usize] == c)
        .count();
    agree as f64 / (w * h) as f64
}

#[test]
fn agrees_with_pydensecrf_on_upstream_examples() {
    let dir = shared_data();
    if !dir.join("im1.png").exists() {
        eprintln!(
            "skipping: pydensecrf example images not found at {}",
            dir.display()
        );
        return;
    }
    for (image, anno) in [("1", "1"), ("2", "2"), ("3", "3"), ("1", "1-b")] {
        let agreement = example_agreement(&dir, image, anno);
        eprintln!(
            "im{image} / anno{anno}: {:.4}% of pixels agree",
            agreement * 100.0
        );
        assert!(
            agreement >= 0.995,
            "im{image}/anno{anno}: only {:.4}% agree",
            agreement * 100.0
        );
    }
}

fn read_f32(path: &Path, len: usize) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(bytes.len(), len * 4, "{}: wrong size", path.display());
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn agrees_with_pydensecrf_on_probability_map_fixture() {
    let (w, h) = (128, 96);
    let dir = fixtures();
    let rgb = std::fs::read(dir.join("binary_image.rgb")).unwrap();
    let image = Array3::from_shape_vec((h, w, 3), rgb).unwrap();
    let prob =
        Array2::from_shape_vec((h, w), read_f32(&dir.join("binary_prob.f32"), w * h)).unwrap();
    let expected =
        Array3::from_shape_vec((2, h, w), read_f32(&dir.join("binary_q.f32"), 2 * w * h)).unwrap();

    let mut crf = DenseCrf2d::new(w, h, 2).unwrap();
    crf.set_unary_energy(
        unary_from_foreground(prob.view(), Some(1e-5))
            .unwrap()
            .view(),
    )
    .unwrap();
    crf.add_pairwise_gaussian(3.0, 3.0).unwrap();
    crf.add_pairwise_bilateral(80.0, 13.0, image.view(), 10.0)
        .unwrap();
    let q = crf.inference(5).unwrap();

    let worst = q
        .iter()
        .zip(expected.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    let (ours, theirs) = (argmax(&q), argmax(&expected));
    let agree = ours
        .iter()
        .zip(theirs.iter())
        .filter(|(a, b)| a == b)
        .count();
    eprintln!(
        "max |Q - Q_pydensecrf| = {worst:e}, labels agree on {agree}/{}",
        w * h
    );
    assert!(worst < 1e-5, "marginals differ by up to {worst}");
    assert!(
        agree as f64 >= 0.999 * (w * h) as f64,
        "labels agree on {agree} of {}",
        w * h
    );
    // The CRF really did something: it changed many thresholded labels.
    let changed = ours
        .iter()
        .zip(prob.iter())
        .filter(|&(&l, &p)| (l == 1) != (p > 0.5))
        .count();
    assert!(changed > w * h / 20, "CRF changed only {changed} labels");
}
