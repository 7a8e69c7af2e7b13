//! `cargo xtask train`: a run killed mid-epoch and resumed with `--resume`
//! ends exactly where an uninterrupted run with the same seed ends (same
//! metrics, same weights).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    // Same thread count in every run: candle's CPU kernels are then deterministic.
    c.env("RAYON_NUM_THREADS", "2");
    c
}

fn ok(c: &mut Command) -> String {
    let o = c.output().expect("xtask runs");
    let text =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{text}");
    text
}

fn config(dir: &Path, out: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{out}.toml"));
    let text = format!(
        r#"
[preprocess]
out_dir = "{tiles}"
tile = 128
out_size = 32
[preprocess.tissue]
min_fraction = 0.0
[preprocess.folds]
k = 2
mode = "grouped"
seed = 1
[[preprocess.sources]]
kind = "competition"
dir = "{synth}"
labels = "csv"

[train]
out_dir = "{out}"
epochs = 2
batch_size = 4
steps_per_epoch = 4
checkpoint_every = 2
loader_threads = 1
schedule = {{ kind = "warmup_cosine", lr_max = 1e-3, warmup = 2, per = "step" }}
[train.model]
arch = "linknet"
encoder = "efficientnet-b0"
"#,
        tiles = dir.join("tiles").display(),
        synth = dir.join("synth").display(),
        out = dir.join(out).display(),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// metrics.csv without the wall-clock column.
fn metrics(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("fold0/metrics.csv"))
        .unwrap()
        .lines()
        .map(|l| l.rsplit_once(',').unwrap().0.to_string())
        .collect()
}

fn weights(path: &Path) -> Vec<(String, Vec<f32>)> {
    let tensors = candle_core::safetensors::load(path, &candle_core::Device::Cpu).unwrap();
    let mut out: Vec<(String, Vec<f32>)> = tensors
        .into_iter()
        .filter(|(_, t)| t.dtype().is_float())
        .map(|(k, t)| (k, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn killed_mid_epoch_and_resumed_matches_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(xtask().args(["synth", "--out"]).arg(d.join("synth")).args([
        "--train", "4", "--test", "1", "--size", "512x512", "--seed", "3",
    ]));
    let whole = config(d, "whole");
    ok(xtask().args(["preprocess", "--config"]).arg(&whole));
    ok(xtask()
        .args(["train", "--quiet", "--folds", "0", "--config"])
        .arg(&whole));

    // Kill as soon as the first mid-epoch checkpoint is written.
    let parts = config(d, "parts");
    let mut child = xtask()
        .args(["train", "--quiet", "--folds", "0", "--config"])
        .arg(&parts)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen += &line;
        seen.push('\n');
        if line.contains("epoch 0 batch 2: checkpoint") {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the run was not killed mid-epoch:\n{seen}"
    );
    assert!(
        !d.join("parts/fold0/metrics.csv").exists(),
        "killed after epoch 0:\n{seen}"
    );
    // Without --resume the checkpoint is protected.
    let o = xtask()
        .args(["train", "--quiet", "--folds", "0", "--config"])
        .arg(&parts)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("last.safetensors"));
    let log = ok(xtask()
        .args(["train", "--quiet", "--resume", "--folds", "0", "--config"])
        .arg(&parts));
    assert!(log.contains("starting at epoch 0"), "{log}");

    assert_eq!(metrics(&d.join("whole")), metrics(&d.join("parts")));
    assert_eq!(metrics(&d.join("whole")).len(), 3); // header + 2 epochs
    for f in ["best.safetensors", "last.safetensors"] {
        let (a, b) = (
            weights(&d.join("whole/fold0").join(f)),
            weights(&d.join("parts/fold0").join(f)),
        );
        assert_eq!(a.len(), b.len());
        for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
            assert_eq!(ka, kb);
            assert!(va == vb, "{f}: {ka} differs");
        }
    }
    let cv = std::fs::read_to_string(d.join("parts/cv.json")).unwrap();
    assert!(cv.contains("\"mean_dice\""), "{cv}");
}
