//! TOML pipelines: every kind parses, unknown keys and bad values are errors.

use ftu_augment::{AugmentError, Pipeline, PipelineConfig};

const ALL_KINDS: &str = r#"
[[steps]]
transform = { kind = "horizontal_flip" }
[[steps]]
transform = { kind = "vertical_flip" }
[[steps]]
transform = { kind = "transpose" }
[[steps]]
transform = { kind = "random_rotate90" }
[[steps]]
transform = { kind = "shift_scale_rotate", border = "constant" }
[[steps]]
transform = { kind = "elastic_transform", alpha = 4, sigma = 10 }
[[steps]]
transform = { kind = "grid_distortion", border = "reflect101" }
[[steps]]
transform = { kind = "optical_distortion" }
[[steps]]
transform = { kind = "random_resized_crop", height = 40, width = 40, scale = [0.5, 1.0] }
[[steps]]
transform = { kind = "crop_non_empty_mask_if_exists", height = 32, width = 30 }
[[steps]]
transform = { kind = "hue_saturation_value" }
[[steps]]
transform = { kind = "random_brightness_contrast" }
[[steps]]
transform = { kind = "random_gamma" }
[[steps]]
transform = { kind = "clahe", tile_grid = 4 }
[[steps]]
transform = { kind = "stain_jitter", alpha = 0.1 }
[[steps]]
transform = { kind = "gauss_noise", per_channel = false }
[[steps]]
transform = { kind = "blur" }
[[steps]]
transform = { kind = "gaussian_blur" }
[[steps]]
transform = { kind = "median_blur" }
[[steps]]
transform = { kind = "motion_blur" }
[[steps]]
transform = { kind = "coarse_dropout", fill = 255 }
[[steps]]
p = 0.5
transform = { kind = "one_of", choices = [{ kind = "blur" }, { kind = "transpose" }], weights = [1.0, 3.0] }
"#;

#[test]
fn every_kind_parses_with_its_own_name_and_runs() {
    let p = Pipeline::from_toml_str(ALL_KINDS).unwrap();
    assert_eq!(p.steps().len(), 22);
    let text_kinds: Vec<&str> = ALL_KINDS
        .lines()
        .filter_map(|l| l.split("kind = \"").nth(1))
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    for (step, kind) in p.steps().iter().zip(&text_kinds) {
        assert_eq!(step.transform().name(), *kind);
    }
    let mut image = ndarray::Array3::from_elem((48, 48, 3), 128u8);
    let mut mask = ndarray::Array2::from_elem((48, 48), 1u8);
    p.apply_seeded(&mut image, &mut mask, 1, 2).unwrap();
    assert_eq!(mask.dim(), (32, 30));
}

fn err(text: &str) -> String {
    Pipeline::from_toml_str(text).unwrap_err().to_string()
}

#[test]
fn unknown_fields_and_kinds_are_errors_that_say_where() {
    let e = err("[[steps]]\ntransform = { kind = \"blur\", blur_limt = [3, 5] }\n");
    assert!(e.contains("blur_limt"), "{e}");
    let e = err("[[steps]]\nprob = 0.5\ntransform = { kind = \"blur\" }\n");
    assert!(e.contains("prob") && e.contains("line 2"), "{e}");
    let e = err("[[steps]]\ntransform = { kind = \"blurr\" }\n");
    assert!(e.contains("blurr"), "{e}");
    let e = err("[[stages]]\n");
    assert!(e.contains("stages"), "{e}");
}

#[test]
fn bad_values_are_errors_naming_the_step_or_field() {
    let e = err("[[steps]]\np = 1.5\ntransform = { kind = \"blur\" }\n");
    assert!(e.contains("step 0") && e.contains("1.5"), "{e}");
    let e = err("[[steps]]\ntransform = { kind = \"median_blur\", blur_limit = [3, 9] }\n");
    assert!(e.contains("median_blur") && e.contains("blur_limit"), "{e}");
    let e = err(
        "[[steps]]\ntransform = { kind = \"one_of\", choices = [{ kind = \"blur\" }], weights = [1, 2] }\n",
    );
    assert!(e.contains("weights"), "{e}");
    let e = err("[[steps]]\ntransform = { kind = \"shift_scale_rotate\", border = \"wrap\" }\n");
    assert!(e.contains("wrap"), "{e}");
}

#[test]
fn file_errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("ftu-augment-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.toml");
    let e = Pipeline::from_toml_file(&missing).unwrap_err();
    assert!(matches!(e, AugmentError::Io { .. }));
    assert!(e.to_string().contains("missing.toml"), "{e}");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[steps]]\ntransform = { kind = \"nope\" }\n").unwrap();
    let e = PipelineConfig::from_toml_file(&bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.toml") && e.contains("nope"), "{e}");
    let good = dir.join("recipe.toml");
    std::fs::write(&good, ftu_augment::config::RECIPE_TOML).unwrap();
    assert_eq!(Pipeline::from_toml_file(&good).unwrap().steps().len(), 8);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_transform_handles_tiny_and_thin_tiles() {
    // All kinds except the fixed-size crop, which rightly rejects small tiles.
    let text: String = ALL_KINDS
        .split("[[steps]]")
        .filter(|s| !s.contains("crop_non_empty") && !s.trim().is_empty())
        .map(|s| format!("[[steps]]{s}"))
        .collect();
    let p = Pipeline::from_toml_str(&text).unwrap();
    for (h, w) in [(1, 1), (2, 3), (3, 1), (1, 9), (5, 7)] {
        for step in p.steps() {
            for seed in 0..3 {
                let mut image = ndarray::Array3::from_elem((h, w, 3), 99u8);
                let mut mask = ndarray::Array2::from_elem((h, w), 1u8);
                let mut rng = Pipeline::rng_for(seed, 0);
                step.transform()
                    .apply(&mut image, &mut mask, &mut rng)
                    .unwrap_or_else(|e| panic!("{} on {h}x{w}: {e}", step.transform().name()));
                assert_eq!(image.dim().0, mask.dim().0);
                assert_eq!(image.dim().1, mask.dim().1);
            }
        }
    }
}
