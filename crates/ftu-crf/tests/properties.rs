//! Behaviour that holds whatever the input: limits of the model, equivalences
//! between its parts, determinism, tiling and input validation.

use ftu_crf::{
    BinaryCrfParams, CrfError, DenseCrf2d, Tiling, argmax, refine_foreground,
    unary_from_foreground, unary_from_softmax,
};
use ndarray::{Array2, Array3, Axis};

/// Blobs with texture and a noisy probability map of them; `w * h` may
/// exceed one lattice chunk (65536 pixels).
fn scene(w: usize, h: usize) -> (Array3<u8>, Array2<f32>) {
    let inside = |y: usize, x: usize| {
        ((x / 40) + (y / 30)).is_multiple_of(2) && (x % 40) > 6 && (y % 30) > 5
    };
    let image = Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        let t = ((x * 13 + y * 7) % 19) as u8;
        if inside(y, x) {
            [180u8, 60, 120][c] + t
        } else {
            [225u8, 200, 215][c] + t
        }
    });
    let prob = Array2::from_shape_fn((h, w), |(y, x)| {
        let noise = ((x * 31 + y * 17 + x * y) % 29) as f32 / 29.0 - 0.5;
        (if inside(y, x) { 0.68 } else { 0.32 } + 0.6 * noise).clamp(0.0, 1.0)
    });
    (image, prob)
}

fn binary_crf(image: &Array3<u8>, prob: &Array2<f32>) -> DenseCrf2d {
    let (h, w) = prob.dim();
    let mut crf = DenseCrf2d::new(w, h, 2).unwrap();
    crf.set_unary_energy(
        unary_from_foreground(prob.view(), Some(1e-5))
            .unwrap()
            .view(),
    )
    .unwrap();
    crf.add_pairwise_gaussian(3.0, 3.0).unwrap();
    crf.add_pairwise_bilateral(40.0, 13.0, image.view(), 10.0)
        .unwrap();
    crf
}

#[test]
fn without_pairwise_terms_the_map_is_the_unary_argmax() {
    let p = Array3::from_shape_fn((4, 20, 30), |(l, y, x)| {
        ((l * 7 + x * 3 + y * 5) % 11 + 1) as f32
    });
    let p = &p / &p.sum_axis(Axis(0)).insert_axis(Axis(0));
    let unary = unary_from_softmax(p.view(), None, Some(1e-5)).unwrap();
    let mut crf = DenseCrf2d::new(30, 20, 4).unwrap();
    crf.set_unary_energy(unary.view()).unwrap();
    let q = crf.inference(5).unwrap();
    assert_eq!(argmax(&q), argmax(&p));
    // And Q is exactly softmax(-U) = p (up to rounding).
    let worst = q
        .iter()
        .zip(p.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "{worst}");
}

#[test]
fn bilateral_on_a_uniform_image_acts_like_the_gaussian() {
    let (_, prob) = scene(96, 72);
    let uniform = Array3::from_elem((72, 96, 3), 128u8);
    let unary = unary_from_foreground(prob.view(), Some(1e-5)).unwrap();
    let solve = |bilateral: bool| {
        let mut crf = DenseCrf2d::new(96, 72, 2).unwrap();
        crf.set_unary_energy(unary.view()).unwrap();
        if bilateral {
            crf.add_pairwise_bilateral(4.0, 13.0, uniform.view(), 3.0)
                .unwrap();
        } else {
            crf.add_pairwise_gaussian(4.0, 3.0).unwrap();
        }
        crf.inference(5).unwrap()
    };
    let (qb, qg) = (solve(true), solve(false));
    let mean_diff = qb
        .iter()
        .zip(qg.iter())
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / qb.len() as f32;
    let (mb, mg) = (argmax(&qb), argmax(&qg));
    let agree = mb.iter().zip(mg.iter()).filter(|(a, b)| a == b).count();
    // Different lattices (5-D vs 2-D) approximate the same Gaussian.
    assert!(
        mean_diff < 0.02,
        "mean |Q_bilateral - Q_gaussian| = {mean_diff}"
    );
    assert!(
        agree as f64 > 0.99 * mb.len() as f64,
        "labels agree on {agree} of {}",
        mb.len()
    );
    // Both really smoothed: far from the unary argmax.
    let unary_map = prob.mapv(|p| u32::from(p > 0.5));
    assert!(
        mb.iter()
            .zip(unary_map.iter())
            .filter(|(a, b)| a != b)
            .count()
            > 100
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (image, prob) = scene(320, 240); // 76800 pixels: two lattice chunks
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let binary = binary_crf(&image, &prob).inference(3).unwrap();
            let p3 = Array3::from_shape_fn((3, 240, 320), |(l, y, x)| {
                if l == 0 {
                    prob[[y, x]]
                } else {
                    (1.0 - prob[[y, x]]) / 2.0
                }
            });
            let mut crf3 = DenseCrf2d::new(320, 240, 3).unwrap();
            crf3.set_unary_energy(
                unary_from_softmax(p3.view(), None, Some(1e-5))
                    .unwrap()
                    .view(),
            )
            .unwrap();
            crf3.add_pairwise_bilateral(30.0, 13.0, image.view(), 5.0)
                .unwrap();
            (binary, crf3.inference(2).unwrap())
        })
    };
    let (one, two) = (run(1), run(2));
    assert!(
        one.0
            .iter()
            .zip(two.0.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    assert!(
        one.1
            .iter()
            .zip(two.1.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
}

#[test]
fn tiled_inference_matches_whole_image_inference() {
    let (image, prob) = scene(200, 150);
    let crf = binary_crf(&image, &prob);
    let whole = crf.inference(5).unwrap();
    // One tile covering everything is the whole-image computation.
    let single = crf
        .inference_tiled(
            5,
            Tiling {
                tile: 256,
                overlap: 16,
            },
        )
        .unwrap();
    assert_eq!(whole, single);
    // Small tiles with context agree on almost every label.
    let tiled = crf
        .inference_tiled(
            5,
            Tiling {
                tile: 64,
                overlap: 48,
            },
        )
        .unwrap();
    let (a, b) = (argmax(&whole), argmax(&tiled));
    let agree = a.iter().zip(b.iter()).filter(|(x, y)| x == y).count();
    assert!(
        agree as f64 > 0.99 * a.len() as f64,
        "{agree} of {}",
        a.len()
    );
    let sums_ok = (0..150)
        .all(|y| (0..200).all(|x| (tiled[[0, y, x]] + tiled[[1, y, x]] - 1.0).abs() < 1e-5));
    assert!(sums_ok, "every pixel written by exactly one tile");
}

#[test]
fn refine_foreground_uses_defaults_and_tiling() {
    let (image, prob) = scene(120, 90);
    let q = refine_foreground(image.view(), prob.view(), &BinaryCrfParams::default()).unwrap();
    assert_eq!(q.dim(), (90, 120));
    assert!(q.iter().all(|v| (0.0..=1.0).contains(v)));
    let tiled = BinaryCrfParams {
        tiling: Some(Tiling {
            tile: 1000,
            overlap: 0,
        }),
        ..BinaryCrfParams::default()
    };
    assert_eq!(
        refine_foreground(image.view(), prob.view(), &tiled).unwrap(),
        q
    );
}

#[test]
fn mismatched_sizes_are_errors() {
    let (image, prob) = scene(40, 30);
    let mut crf = DenseCrf2d::new(40, 30, 2).unwrap();
    let wrong_image = Array3::<u8>::zeros((30, 41, 3));
    assert!(matches!(
        crf.add_pairwise_bilateral(80.0, 13.0, wrong_image.view(), 10.0),
        Err(CrfError::ShapeMismatch {
            what: "bilateral image",
            ..
        })
    ));
    let wrong_unary = Array3::<f32>::zeros((3, 30, 40));
    let err = crf.set_unary_energy(wrong_unary.view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unary energy: expected shape [2, 30, 40], found [3, 30, 40]"
    );
    let small_prob = Array2::<f32>::zeros((30, 39));
    assert!(matches!(
        refine_foreground(image.view(), small_prob.view(), &BinaryCrfParams::default()),
        Err(CrfError::ShapeMismatch { .. })
    ));
    assert!(refine_foreground(image.view(), prob.view(), &BinaryCrfParams::default()).is_ok());
}

#[test]
fn invalid_parameters_are_errors() {
    assert!(DenseCrf2d::new(0, 10, 2).is_err());
    assert!(DenseCrf2d::new(10, 10, 0).is_err());
    let mut crf = DenseCrf2d::new(10, 10, 2).unwrap();
    assert!(crf.add_pairwise_gaussian(0.0, 3.0).is_err());
    assert!(crf.add_pairwise_gaussian(3.0, f32::NAN).is_err());
    let image = Array3::<u8>::zeros((10, 10, 3));
    assert!(
        crf.add_pairwise_bilateral(80.0, -1.0, image.view(), 10.0)
            .is_err()
    );
    let mut unary = Array3::<f32>::zeros((2, 10, 10));
    unary[[1, 4, 7]] = f32::INFINITY;
    assert!(matches!(
        crf.set_unary_energy(unary.view()),
        Err(CrfError::NonFinite {
            label: 1,
            row: 4,
            col: 7,
            ..
        })
    ));
    assert!(
        crf.inference_tiled(
            1,
            Tiling {
                tile: 0,
                overlap: 0
            }
        )
        .is_err()
    );
}
