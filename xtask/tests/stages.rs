//! `stage1` / `stage2` end to end on a tiny synthetic experiment: the
//! artefacts each stage promises, resume after a kill, and the errors that
//! come before any long work.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("xtask runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Three labelled slides, one test slide (truth known), one unlabelled.
fn synth(dir: &Path) {
    for (out, train, test, seed) in [("data", "3", "1", "3"), ("extra", "0", "1", "4")] {
        let out = dir.join(out);
        let o = xtask(&[
            "synth",
            "--out",
            out.to_str().unwrap(),
            "--train",
            train,
            "--test",
            test,
            "--size",
            "768x768",
            "--seed",
            seed,
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
    }
}

fn experiment(dir: &Path, model_table: &str) -> String {
    let d = dir.display();
    format!(
        r#"
[experiment]
out_dir = "{d}/run"

[data]
competition = [{{ dir = "{d}/data" }}]
test_slides = "{d}/data/test"
test_truth = "{d}/data/test_truth.csv"
extra_slides = ["{d}/extra/test"]

[tiling]
thumbnail_factor = 16
folds = {{ k = 3, mode = "grouped", seed = 1 }}

{model_table}

[selection]
keep = 1
train_folds = [0, 1]

[infer]
tta = "flips"
thumbnail_factor = 16

[stage2]
init = "stage1"
"#
    )
}

const MODEL: &str = r#"
[[models]]
name = "linknet"
tile = 256
size = 64
infer_overlap = 64

[models.train]
epochs = 1
batch_size = 4
steps_per_epoch = 2
[models.train.model]
arch = "linknet"
encoder = "efficientnet-b0"
"#;

#[test]
fn stage2_runs_end_to_end_and_resumes_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path());
    let cfg = dir.path().join("exp.toml");
    std::fs::write(&cfg, experiment(dir.path(), MODEL)).unwrap();
    let cfg = cfg.to_str().unwrap();
    let run = dir.path().join("run");

    // Kill stage 2 once stage 1's training has finished.
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["stage2", "--config", cfg, "--quiet"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        let state = std::fs::read_to_string(run.join("state.json")).unwrap_or_default();
        if state.contains("\"stage1/train/linknet\"") {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "stage2 ended before training finished"
        );
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "training took too long"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let o = xtask(&["stage2", "--config", cfg, "--quiet"]);
    let out = text(&o.stdout);
    assert!(o.status.success(), "{}\n{}", out, text(&o.stderr));
    for step in ["stage1/preprocess/linknet", "stage1/train/linknet"] {
        assert!(
            out.contains(&format!("step {step}: finished earlier, skipped")),
            "{step} was not skipped:\n{out}"
        );
    }
    assert!(
        out.lines().last().unwrap().starts_with("mean_dice="),
        "{out}"
    );
    for artefact in [
        "state.json",
        "stage1/tiles/linknet/manifest.csv",
        "stage1/models/linknet/cv.json",
        "stage1/models/linknet/fold0/best.safetensors",
        "stage1/models/linknet/fold1/metrics.csv",
        "stage1/selection.json",
        "stage1/infer/submission.csv",
        "stage1/ablation/ablation.md",
        "stage1/report.md",
        "stage2/pseudo/test.csv",
        "stage2/pseudo/extra0.csv",
        "stage2/tiles/linknet/manifest.csv",
        "stage2/models/linknet/cv.json",
        "stage2/infer/submission.csv",
        "stage2/ablation/ablation.csv",
        "stage2/report.md",
        "stage2/compare.md",
    ] {
        assert!(run.join(artefact).is_file(), "missing {artefact}");
    }
    // Pseudo-labelled tiles joined stage 2's dataset, never stage 1's.
    let manifest = |s: &str| std::fs::read_to_string(run.join(s)).unwrap();
    assert!(!manifest("stage1/tiles/linknet/manifest.csv").contains(",pseudo,"));
    assert!(manifest("stage2/tiles/linknet/manifest.csv").contains(",pseudo,"));
    // keep = 1: one member per stage.
    let selection = manifest("stage1/selection.json");
    assert_eq!(selection.matches("\"fold\"").count(), 1, "{selection}");
    let compare = manifest("stage2/compare.md");
    assert!(compare.contains("| Stage 1 | Stage 2 |"), "{compare}");
    assert_eq!(compare.matches("Ensemble (1 fold)").count(), 4, "{compare}");

    // A rerun does nothing but report.
    let o = xtask(&["stage2", "--config", cfg, "--quiet"]);
    let out = text(&o.stdout);
    assert!(o.status.success());
    assert!(!out.contains(": running"), "{out}");
}

#[test]
fn mistakes_are_reported_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    synth(dir.path());
    let cfg = dir.path().join("exp.toml");
    let cases = [
        (
            MODEL.replace("efficientnet-b0", "efficientnet-b9"),
            "efficientnet-b9",
        ),
        (MODEL.replace("size = 64", "size = 60"), "multiple of 32"),
        (
            MODEL.replace("steps_per_epoch = 2", "steps_per_epoch = 2\nbogus = 1"),
            "bogus",
        ),
    ];
    for (model, expected) in cases {
        std::fs::write(&cfg, experiment(dir.path(), &model)).unwrap();
        let o = xtask(&["stage1", "--config", cfg.to_str().unwrap()]);
        let err = text(&o.stderr);
        assert!(!o.status.success());
        assert!(err.contains(expected), "expected `{expected}` in: {err}");
        assert!(
            !dir.path().join("run/stage1").exists(),
            "work started: {err}"
        );
    }

    // A missing truth file names itself.
    let text_cfg = experiment(dir.path(), MODEL).replace("test_truth.csv", "nope.csv");
    std::fs::write(&cfg, text_cfg).unwrap();
    let o = xtask(&["stage1", "--config", cfg.to_str().unwrap()]);
    assert!(text(&o.stderr).contains("nope.csv"), "{}", text(&o.stderr));

    // A test slide without tissue (all glass) is an error, not an empty mask.
    let glass = dir.path().join("glass");
    std::fs::create_dir_all(&glass).unwrap();
    let white = ndarray::Array3::<u8>::from_elem((256, 256, 3), 255);
    ftu_tiling::write_tiff(glass.join("white.tiff"), white.view(), &Default::default()).unwrap();
    let text_cfg = experiment(dir.path(), MODEL).replace(
        &format!("{}/data/test\"", dir.path().display()),
        &format!("{}\"", glass.display()),
    );
    std::fs::write(&cfg, text_cfg).unwrap();
    let o = xtask(&["stage1", "--config", cfg.to_str().unwrap()]);
    let err = text(&o.stderr);
    assert!(
        err.contains("white.tiff") && err.contains("no tissue"),
        "{err}"
    );
}
