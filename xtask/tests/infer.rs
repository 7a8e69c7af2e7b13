//! `cargo xtask infer` and `ablation` end to end on a tiny synthetic data
//! set, with a member given as a training run folder (config.toml [model] +
//! best.safetensors: the contract with the trainer).

use std::path::Path;
use std::process::{Command, Output};

use candle_core::Device;
use ftu_models::{Arch, Encoder, ModelConfig, SegmentationModel};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .expect("xtask runs")
}

fn ok(o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "xtask failed: {err}");
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn run_folder(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[train]\nepochs = 1\n\n[model]\narch = \"unet\"\nencoder = \"efficientnet-b0\"\n",
    )
    .unwrap();
    let model = SegmentationModel::new(&ModelConfig::new(Arch::Unet, Encoder::B0), &Device::Cpu, 3)
        .unwrap();
    model
        .save_safetensors(dir.join("best.safetensors"))
        .unwrap();
}

#[test]
fn infer_and_ablation_write_their_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = d.join("data");
    ok(&xtask(&[
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--train",
        "1",
        "--test",
        "1",
        "--size",
        "512x384",
        "--seed",
        "5",
    ]));
    run_folder(&d.join("runs/fold0"));
    let cfg = d.join("exp.toml");
    std::fs::write(
        &cfg,
        format!(
            "[train]\nepochs = 1\n\n[infer]\nslides = \"{}\"\ntruth = \"{}\"\nout_dir = \"{}\"\n\
             tta = \"flips\"\nbatch_size = 4\ncrf = {{ iterations = 1 }}\n\n\
             [[infer.members]]\nrun = \"{}\"\ntile = 256\nsize = 64\noverlap = 64\n",
            data.join("train").display(),
            data.join("train.csv").display(),
            d.join("out").display(),
            d.join("runs/fold0").display(),
        ),
    )
    .unwrap();
    let sub = d.join("sub.csv");
    let out = ok(&xtask(&[
        "infer",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        sub.to_str().unwrap(),
    ]));
    assert!(out.contains("mean_dice="), "{out}");
    let rows = std::fs::read_to_string(&sub).unwrap();
    assert!(rows.starts_with("id,predicted\n"), "{rows}");
    assert_eq!(rows.lines().count(), 2);
    let id = rows
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_owned();
    assert!(d.join(format!("out/overlays/{id}.png")).exists());
    assert!(d.join(format!("out/geojson/{id}.geojson")).exists());

    let table = ok(&xtask(&["ablation", "--config", cfg.to_str().unwrap()]));
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| ")).count(),
        8,
        "{table}"
    );
    assert!(d.join("out/ablation.csv").exists());

    // A config without slides is one clear line naming the file.
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "[infer]\n[[infer.members]]\nrun = \"x\"\ntile = 256\nsize = 64\noverlap = 0\n",
    )
    .unwrap();
    let o = xtask(&["infer", "--config", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.toml"));
}
