//! The committed example config parses.

#[test]
fn example_config_parses() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/infer-example.toml");
    let cfg = ftu_ensemble::InferConfig::from_file(&path).unwrap();
    assert_eq!(cfg.members.len(), 3);
    assert_eq!(cfg.members[2].geometry(), (2560, 1280, 640));
    assert_eq!(cfg.threshold, 0.4);
}
