//! Command-line contracts of `rle encode`, `rle decode` and `eval`: scripts
//! outside the project call these exactly.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn xtask(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xtask runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn rle_decode_then_encode_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    let png = png.to_str().unwrap();
    let o = xtask(
        &[
            "rle", "decode", "--width", "3", "--height", "4", "--out", png,
        ],
        "1 3 7 2\n",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let img = image::open(png).unwrap().into_luma8();
    assert_eq!(img.dimensions(), (3, 4));
    // Column-major: column 0 rows 0..3, column 1 rows 2..4.
    assert_eq!(img.get_pixel(0, 2).0[0], 255);
    assert_eq!(img.get_pixel(1, 1).0[0], 0);
    assert_eq!(img.get_pixel(1, 3).0[0], 255);
    let o = xtask(&["rle", "encode", png], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "1 3 7 2\n");
}

#[test]
fn bad_input_is_one_line_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("m.png");
    let o = xtask(
        &[
            "rle",
            "decode",
            "--width",
            "3",
            "--height",
            "4",
            "--out",
            png.to_str().unwrap(),
        ],
        "1 3 x 2",
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("<stdin>") && err.contains("token 3"), "{err}");
    assert!(!png.exists(), "nothing is written on error");

    let o = xtask(&["rle", "encode", "/nonexistent/mask.png"], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("/nonexistent/mask.png"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn eval_scores_and_prints_mean_last() {
    let dir = tempfile::tempdir().unwrap();
    let truth = dir.path().join("truth.csv");
    let pred = dir.path().join("pred.csv");
    std::fs::write(&truth, "id,encoding\na,1 4 10 2\nb,\nc,5 5\n").unwrap();
    std::fs::write(&pred, "id,predicted\na,1 4\nb,\n").unwrap();
    let (t, p) = (truth.to_str().unwrap(), pred.to_str().unwrap());
    let o = xtask(&["eval", "--truth", t, "--pred", p], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    // a: 2*4/(6+4) = 0.8; b: both empty = 1; c: missing => empty prediction = 0.
    assert_eq!(
        lines,
        [
            "a 0.800000",
            "b 1.000000",
            "c 0.000000",
            "mean_dice=0.600000"
        ]
    );

    std::fs::write(&pred, "id,predicted\nzz,1 4\n").unwrap();
    let o = xtask(&["eval", "--truth", t, "--pred", p], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("pred.csv") && stderr(&o).contains("zz"),
        "{}",
        stderr(&o)
    );

    std::fs::write(&pred, "id,predicted\na,1 4 9\n").unwrap();
    let o = xtask(&["eval", "--truth", t, "--pred", p], "");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("pred.csv") && stderr(&o).contains("odd number"),
        "{}",
        stderr(&o)
    );
}
