//! Pixel transforms leave the mask untouched and clamp instead of wrapping.

use ftu_augment::colour::{
    Clahe, HueSaturationValue, RandomBrightnessContrast, RandomGamma, StainJitter,
};
use ftu_augment::pixel::{Blur, CoarseDropout, GaussNoise, GaussianBlur, MedianBlur, MotionBlur};
use ftu_augment::{Pipeline, Transform};
use ndarray::{Array2, Array3};

/// Strong settings, so clamping is exercised.
fn pixel_transforms() -> Vec<Box<dyn Transform>> {
    vec![
        Box::new(HueSaturationValue {
            hue_shift_limit: 180.0,
            sat_shift_limit: 120.0,
            val_shift_limit: 120.0,
        }),
        Box::new(RandomBrightnessContrast {
            brightness_limit: 0.8,
            contrast_limit: 0.8,
        }),
        Box::new(RandomGamma {
            gamma_limit: [20.0, 400.0],
        }),
        Box::new(Clahe {
            clip_limit: [4.0, 40.0],
            tile_grid: 4,
        }),
        Box::new(StainJitter {
            alpha: 0.8,
            beta: 0.8,
        }),
        Box::new(GaussNoise {
            std_limit: [40.0, 80.0],
            per_channel: true,
        }),
        Box::new(GaussNoise {
            std_limit: [40.0, 80.0],
            per_channel: false,
        }),
        Box::new(Blur::default()),
        Box::new(GaussianBlur::default()),
        Box::new(MedianBlur::default()),
        Box::new(MotionBlur::default()),
        Box::new(CoarseDropout::default()),
    ]
}

fn tile() -> (Array3<u8>, Array2<u8>) {
    let image = Array3::from_shape_fn((40, 52, 3), |(y, x, c)| match (y / 10, c) {
        (0, _) => 255,
        (1, _) => 0,
        _ => ((x * 5 + y * 3 + c * 70) % 256) as u8,
    });
    let mask = Array2::from_shape_fn((40, 52), |(y, x)| ((x * y) % 5 == 0) as u8 * 255);
    (image, mask)
}

#[test]
fn pixel_transforms_change_the_image_but_never_the_mask() {
    for t in pixel_transforms() {
        t.validate().unwrap();
        for seed in 0..8 {
            let (mut image, mut mask) = tile();
            let (image0, mask0) = (image.clone(), mask.clone());
            t.apply(&mut image, &mut mask, &mut Pipeline::rng_for(seed, 0))
                .unwrap();
            assert_eq!(mask, mask0, "{} changed the mask", t.name());
            assert_eq!(image.dim(), image0.dim(), "{}", t.name());
            assert_ne!(image, image0, "{} seed {seed} did nothing", t.name());
        }
    }
}

/// Point operations must be monotone in the input: a wrapped (not clamped)
/// value would break the order, e.g. 250 + 20 wrapping to 14.
#[test]
fn point_operations_clamp_rather_than_wrap() {
    let ramp = Array3::from_shape_fn((1, 256, 3), |(_, x, _)| x as u8);
    let mut mask = Array2::zeros((1, 256));
    let point: Vec<Box<dyn Transform>> = vec![
        Box::new(RandomBrightnessContrast {
            brightness_limit: 0.9,
            contrast_limit: 0.9,
        }),
        Box::new(RandomGamma {
            gamma_limit: [10.0, 500.0],
        }),
        Box::new(HueSaturationValue {
            hue_shift_limit: 0.0,
            sat_shift_limit: 0.0,
            val_shift_limit: 200.0,
        }),
    ];
    for t in point {
        let mut saturated = 0;
        for seed in 0..40 {
            let mut img = ramp.clone();
            t.apply(&mut img, &mut mask, &mut Pipeline::rng_for(seed, 0))
                .unwrap();
            let row: Vec<u8> = (0..256).map(|x| img[[0, x, 0]]).collect();
            assert!(
                row.windows(2).all(|p| p[0] <= p[1]),
                "{} seed {seed} wrapped: {row:?}",
                t.name()
            );
            saturated += usize::from(row[0] == row[10] || row[245] == row[255]);
        }
        assert!(saturated > 0, "{} never reached 0 or 255", t.name());
    }
}

#[test]
fn noise_on_white_saturates_instead_of_wrapping() {
    let mut img = Array3::from_elem((32, 32, 3), 255u8);
    let mut mask = Array2::zeros((32, 32));
    let t = GaussNoise {
        std_limit: [60.0, 60.0],
        per_channel: true,
    };
    t.apply(&mut img, &mut mask, &mut Pipeline::rng_for(0, 0))
        .unwrap();
    let at_max = img.iter().filter(|&&v| v == 255).count() as f32 / img.len() as f32;
    // Half the noise is positive and clamps to 255; wrapping would give
    // values near 0 and far fewer at 255.
    assert!((0.45..0.56).contains(&at_max), "{at_max}");
    assert!(
        img.iter().all(|&v| v > 0),
        "a value wrapped or fell to zero"
    );
}
