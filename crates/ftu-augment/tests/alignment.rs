//! Geometric transforms keep image and mask aligned: the mask is painted into
//! the image's red channel, and after the transform the red channel must still
//! agree with the mask everywhere except at interpolated edges.

use ftu_augment::geometry::{
    CropNonEmptyMaskIfExists, ElasticTransform, GridDistortion, HorizontalFlip, OpticalDistortion,
    RandomResizedCrop, RandomRotate90, ShiftScaleRotate, Transpose, VerticalFlip,
};
use ftu_augment::{Border, Pipeline, Transform};
use ndarray::{Array2, Array3};

/// A mask of two discs and a bar on an odd-by-even tile, painted red into an image
/// whose green and blue carry a gradient.
fn painted(h: usize, w: usize) -> (Array3<u8>, Array2<u8>) {
    let mask = Array2::from_shape_fn((h, w), |(y, x)| {
        let (fy, fx) = (y as f32, x as f32);
        let d1 = (fy - 0.3 * h as f32).powi(2) + (fx - 0.35 * w as f32).powi(2);
        let d2 = (fy - 0.7 * h as f32).powi(2) + (fx - 0.75 * w as f32).powi(2);
        let bar = (y * 10 / h == 8) && x < w / 2;
        u8::from(d1 < (0.18 * h as f32).powi(2) || d2 < (0.12 * w as f32).powi(2) || bar)
    });
    let image = Array3::from_shape_fn((h, w, 3), |(y, x, c)| match c {
        0 => 255 * mask[[y, x]],
        1 => (x * 255 / w) as u8,
        _ => (y * 255 / h) as u8,
    });
    (image, mask)
}

/// Fails if a pixel whose red is clearly on one side (not an interpolated
/// edge value) disagrees with the mask, or if edges cover too much.
fn assert_aligned(name: &str, image: &Array3<u8>, mask: &Array2<u8>) {
    assert_eq!(image.dim().0, mask.dim().0, "{name}: heights differ");
    assert_eq!(image.dim().1, mask.dim().1, "{name}: widths differ");
    let mut edge = 0;
    for ((y, x), &m) in mask.indexed_iter() {
        let r = image[[y, x, 0]];
        if (48..=207).contains(&r) {
            edge += 1;
            continue;
        }
        assert_eq!(
            u8::from(r > 127),
            m,
            "{name}: pixel ({y}, {x}) red {r} but mask {m}"
        );
    }
    let frac = edge as f32 / mask.len() as f32;
    assert!(frac < 0.06, "{name}: {frac} of pixels are edge values");
    assert!(mask.iter().any(|&m| m == 1), "{name}: the label vanished");
}

fn geometric() -> Vec<Box<dyn Transform>> {
    vec![
        Box::new(HorizontalFlip::default()),
        Box::new(VerticalFlip::default()),
        Box::new(Transpose::default()),
        Box::new(RandomRotate90::default()),
        Box::new(ShiftScaleRotate::default()),
        Box::new(ShiftScaleRotate {
            shift_limit: 0.2,
            scale_limit: 0.4,
            rotate_limit: 90.0,
            border: Border::Constant,
        }),
        Box::new(ShiftScaleRotate {
            border: Border::Reflect101,
            ..ShiftScaleRotate::default()
        }),
        Box::new(ElasticTransform::default()),
        Box::new(ElasticTransform {
            alpha: 15.0,
            sigma: 8.0,
            border: Border::Reflect,
        }),
        Box::new(GridDistortion::default()),
        Box::new(OpticalDistortion {
            distort_limit: 0.5,
            ..OpticalDistortion::default()
        }),
        Box::new(RandomResizedCrop::new(40, 56)),
        Box::new(CropNonEmptyMaskIfExists {
            height: 33,
            width: 40,
        }),
    ]
}

#[test]
fn every_geometric_transform_keeps_image_and_mask_aligned() {
    for (h, w) in [(63, 80), (64, 49)] {
        for t in geometric() {
            t.validate().unwrap();
            for seed in 0..6 {
                let (mut image, mut mask) = painted(h, w);
                let mut rng = Pipeline::rng_for(seed, 0);
                t.apply(&mut image, &mut mask, &mut rng).unwrap();
                assert_aligned(
                    &format!("{} seed {seed} on {h}x{w}", t.name()),
                    &image,
                    &mask,
                );
            }
        }
    }
}

#[test]
fn transforms_move_pixels_not_just_copy_them() {
    // Guards the alignment test against transforms that silently do nothing.
    let (image, mask) = painted(63, 80);
    for t in geometric() {
        let moved = (0..6).any(|seed| {
            let (mut i, mut m) = (image.clone(), mask.clone());
            t.apply(&mut i, &mut m, &mut Pipeline::rng_for(seed, 0))
                .unwrap();
            m != mask
        });
        assert!(moved, "{} never changed the mask", t.name());
    }
}

#[test]
fn flips_are_exact_permutations() {
    let (image, mask) = painted(7, 10);
    let (mut i, mut m) = (image.clone(), mask.clone());
    let mut rng = Pipeline::rng_for(0, 0);
    HorizontalFlip::default()
        .apply(&mut i, &mut m, &mut rng)
        .unwrap();
    for y in 0..7 {
        for x in 0..10 {
            assert_eq!(m[[y, x]], mask[[y, 9 - x]]);
            assert_eq!(i[[y, x, 1]], image[[y, 9 - x, 1]]);
        }
    }
    Transpose::default()
        .apply(&mut i, &mut m, &mut rng)
        .unwrap();
    assert_eq!(i.dim(), (10, 7, 3));
    assert_eq!(m[[2, 5]], mask[[5, 9 - 2]]);
}

#[test]
fn size_mismatch_is_an_error_naming_both_shapes() {
    let (mut image, _) = painted(20, 30);
    let mut mask = Array2::zeros((20, 31));
    let err = ShiftScaleRotate::default()
        .apply(&mut image, &mut mask, &mut Pipeline::rng_for(0, 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("20 x 30") && err.contains("20 x 31"), "{err}");
    let mut grey = Array3::zeros((20, 30, 1));
    let mut mask = Array2::zeros((20, 30));
    let err = HorizontalFlip::default()
        .apply(&mut grey, &mut mask, &mut Pipeline::rng_for(0, 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("x 1"), "{err}");
}
