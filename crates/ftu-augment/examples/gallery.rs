//! Writes one PNG per transform, applied to a real HuBMAP kidney tile with the
//! glomerulus mask outlined in green, plus `index.html` to browse them.
//!
//! ```text
//! cargo run --release --example gallery -p ftu-augment -- [OUT_DIR]
//! ```
//!
//! `OUT_DIR` defaults to `target/gallery`. The tile is read by path from the
//! shared data folder and is not ours to redistribute: the images are for
//! looking at, never for committing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ftu_augment::colour::{
    Clahe, HueSaturationValue, RandomBrightnessContrast, RandomGamma, StainJitter,
};
use ftu_augment::geometry::{
    CropNonEmptyMaskIfExists, ElasticTransform, GridDistortion, HorizontalFlip, OpticalDistortion,
    RandomResizedCrop, RandomRotate90, ShiftScaleRotate, Transpose, VerticalFlip,
};
use ftu_augment::pixel::{Blur, CoarseDropout, GaussNoise, GaussianBlur, MedianBlur, MotionBlur};
use ftu_augment::{Pipeline, Transform};
use ndarray::{Array2, Array3};

/// The tile, under `shared/data` next to the checkout or inside it.
const TILE: &str = "data/hubmap-kidney-tiles/patches/0486052bb_positive_000096";
const SHARED: [&str; 2] = ["../../../shared", "../../shared"];
/// The recipe trains on tiles downscaled from 1024 px; show them at that scale.
const SIDE: usize = 512;

fn read_rgb(path: &Path) -> Result<Array3<u8>, Box<dyn std::error::Error>> {
    let img = image::open(path)?.to_rgb8();
    let (w, h) = img.dimensions();
    Ok(Array3::from_shape_vec(
        (h as usize, w as usize, 3),
        img.into_raw(),
    )?)
}

fn read_mask(path: &Path) -> Result<Array2<u8>, Box<dyn std::error::Error>> {
    let img = image::open(path)?.to_luma8();
    let (w, h) = img.dimensions();
    let raw = img
        .into_raw()
        .into_iter()
        .map(|v| u8::from(v > 0))
        .collect();
    Ok(Array2::from_shape_vec((h as usize, w as usize), raw)?)
}

/// The image with the mask's boundary painted green: labelled pixels with an
/// unlabelled pixel within two steps, so the line shows at thumbnail size.
fn outlined(image: &Array3<u8>, mask: &Array2<u8>) -> image::RgbImage {
    let (h, w, _) = image.dim();
    let mut out = image::RgbImage::new(w as u32, h as u32);
    for y in 0..h {
        for x in 0..w {
            let on = mask[[y, x]] != 0;
            let edge = on
                && (-2isize..=2).any(|dy| {
                    (-2isize..=2).any(|dx| {
                        let (yy, xx) = (y as isize + dy, x as isize + dx);
                        (0..h as isize).contains(&yy)
                            && (0..w as isize).contains(&xx)
                            && mask[[yy as usize, xx as usize]] == 0
                    })
                });
            let px = if edge {
                [0, 255, 0]
            } else {
                [image[[y, x, 0]], image[[y, x, 1]], image[[y, x, 2]]]
            };
            out.put_pixel(x as u32, y as u32, image::Rgb(px));
        }
    }
    out
}

fn transforms() -> Vec<(String, Box<dyn Transform>)> {
    let mut v: Vec<(String, Box<dyn Transform>)> = vec![
        (
            "horizontal_flip".into(),
            Box::new(HorizontalFlip::default()),
        ),
        ("vertical_flip".into(), Box::new(VerticalFlip::default())),
        ("transpose".into(), Box::new(Transpose::default())),
        (
            "random_rotate90".into(),
            Box::new(RandomRotate90::default()),
        ),
        (
            "shift_scale_rotate".into(),
            Box::new(ShiftScaleRotate::default()),
        ),
        (
            "elastic_transform".into(),
            Box::new(ElasticTransform::default()),
        ),
        (
            "grid_distortion".into(),
            Box::new(GridDistortion::default()),
        ),
        (
            "optical_distortion".into(),
            Box::new(OpticalDistortion::default()),
        ),
        (
            "random_resized_crop".into(),
            Box::new(RandomResizedCrop::new(SIDE, SIDE)),
        ),
        (
            "crop_non_empty_mask_if_exists".into(),
            Box::new(CropNonEmptyMaskIfExists {
                height: 256,
                width: 256,
            }),
        ),
        (
            "hue_saturation_value".into(),
            Box::new(HueSaturationValue::default()),
        ),
        (
            "random_brightness_contrast".into(),
            Box::new(RandomBrightnessContrast::default()),
        ),
        ("random_gamma".into(), Box::new(RandomGamma::default())),
        ("clahe".into(), Box::new(Clahe::default())),
        ("stain_jitter".into(), Box::new(StainJitter::default())),
        (
            "stain_jitter_strong".into(),
            Box::new(StainJitter {
                alpha: 0.2,
                beta: 0.2,
            }),
        ),
        ("gauss_noise".into(), Box::new(GaussNoise::default())),
        ("blur".into(), Box::new(Blur::default())),
        ("gaussian_blur".into(), Box::new(GaussianBlur::default())),
        ("median_blur".into(), Box::new(MedianBlur::default())),
        ("motion_blur".into(), Box::new(MotionBlur::default())),
        ("coarse_dropout".into(), Box::new(CoarseDropout::default())),
    ];
    for i in 0..4 {
        v.push((format!("recipe_sample_{i}"), Box::new(Pipeline::recipe())));
    }
    v
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = SHARED.iter().find_map(|shared| {
        let base = crate_dir.join(shared).join(TILE);
        let image = PathBuf::from(format!("{}_image.png", base.display()));
        let mask = PathBuf::from(format!("{}_mask.png", base.display()));
        (image.exists() && mask.exists()).then_some((image, mask))
    });
    let Some((image_path, mask_path)) = found else {
        println!(
            "gallery: tile {TILE}_image.png (and _mask.png) not found under {SHARED:?} \
             relative to {}; nothing to do",
            crate_dir.display()
        );
        return Ok(());
    };
    let out_dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/gallery"));
    std::fs::create_dir_all(&out_dir)?;
    let out_dir = out_dir.canonicalize()?;

    // Full-tile resize to SIDE x SIDE (scale and ratio fixed at 1).
    let (mut image, mut mask) = (read_rgb(&image_path)?, read_mask(&mask_path)?);
    let shrink = RandomResizedCrop {
        scale: [1.0, 1.0],
        ratio: [1.0, 1.0],
        ..RandomResizedCrop::new(SIDE, SIDE)
    };
    shrink.apply(&mut image, &mut mask, &mut Pipeline::rng_for(0, 0))?;

    let mut html = String::from(
        "<!doctype html><meta charset=utf-8><title>ftu-augment gallery</title>\n\
         <style>body{font-family:sans-serif}figure{display:inline-block;margin:6px}\
         img{width:300px}</style>\n<h1>ftu-augment gallery</h1>\n\
         <p>Tile 0486052bb_positive_000096 at 512 px; mask outline in green; \
         default parameters, seed 7.</p>\n",
    );
    let mut pages = vec![("original".to_string(), image.clone(), mask.clone())];
    for (i, (name, t)) in transforms().into_iter().enumerate() {
        let (mut im, mut m) = (image.clone(), mask.clone());
        t.validate()?;
        t.apply(&mut im, &mut m, &mut Pipeline::rng_for(7, i as u64))?;
        pages.push((name, im, m));
    }
    for (name, im, m) in &pages {
        let file = format!("{name}.png");
        outlined(im, m).save(out_dir.join(&file))?;
        writeln!(
            html,
            "<figure><img src=\"{file}\" alt=\"{name}\"><figcaption>{name}</figcaption></figure>"
        )?;
    }
    std::fs::write(out_dir.join("index.html"), html)?;
    println!(
        "gallery: wrote {} images and index.html to {}",
        pages.len(),
        out_dir.display()
    );
    Ok(())
}
