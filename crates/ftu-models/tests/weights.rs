//! Weight files: strict loading with listed problems, encoder-only loading,
//! save/load round trips, and the input-size contract.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use ftu_models::{Arch, Encoder, ModelConfig, ModelError, SegmentationModel};

fn model(arch: Arch, seed: u64) -> SegmentationModel {
    SegmentationModel::new(&ModelConfig::new(arch, Encoder::B0), &Device::Cpu, seed).unwrap()
}

fn same(a: &Tensor, b: &Tensor) -> bool {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
        == 0.0
}

#[test]
fn strict_load_lists_missing_unexpected_and_misshaped_tensors() {
    let m = model(Arch::Linknet, 1);
    let mut sd = m.state_dict().unwrap();
    sd.remove("decoder.blocks.0.block.0.0.weight").unwrap();
    sd.remove("encoder._bn0.num_batches_tracked").unwrap(); // allowed to be absent
    sd.insert(
        "decoder.extra.weight".into(),
        Tensor::zeros(3, DType::F32, &Device::Cpu).unwrap(),
    );
    sd.insert(
        "segmentation_head.0.weight".into(),
        Tensor::zeros((1, 32, 3, 3), DType::F32, &Device::Cpu).unwrap(),
    );
    let before = m
        .var("segmentation_head.0.bias")
        .unwrap()
        .as_tensor()
        .copy()
        .unwrap();
    let err = m
        .load_tensors(&sd, "broken.safetensors".as_ref())
        .unwrap_err();
    let ModelError::WeightsMismatch {
        missing,
        unexpected,
        mismatched,
        ..
    } = &err
    else {
        panic!("wrong error {err}");
    };
    assert_eq!(missing, &["decoder.blocks.0.block.0.0.weight".to_string()]);
    assert_eq!(unexpected, &["decoder.extra.weight".to_string()]);
    assert_eq!(mismatched.len(), 1);
    assert_eq!(mismatched[0].expected, vec![1, 32, 1, 1]);
    let text = err.to_string();
    assert!(
        text.contains("broken.safetensors")
            && text.contains("1 missing")
            && text.contains("[1, 32, 3, 3]"),
        "{text}"
    );
    // Nothing was assigned.
    assert!(same(
        m.var("segmentation_head.0.bias").unwrap().as_tensor(),
        &before
    ));
}

#[test]
fn save_then_load_reproduces_weights_buffers_and_counters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unet.safetensors");
    let a = model(Arch::Unet, 3);
    // One training pass changes running stats and counters.
    let x = Tensor::rand(0f32, 1.0, (2, 3, 32, 32), &Device::Cpu).unwrap();
    a.forward_t(&x, true).unwrap();
    a.save_safetensors(&path).unwrap();
    let file = candle_core::safetensors::load(&path, &Device::Cpu).unwrap();
    assert_eq!(file["encoder._bn0.num_batches_tracked"].dtype(), DType::I64);
    assert_eq!(
        file["encoder._bn0.num_batches_tracked"].dims(),
        &[] as &[usize]
    );
    let b = model(Arch::Unet, 4);
    b.load_safetensors(&path).unwrap();
    let (sa, sb) = (a.state_dict().unwrap(), b.state_dict().unwrap());
    assert_eq!(sa.len(), sb.len());
    for (k, v) in &sa {
        if v.dtype() == DType::I64 {
            assert_eq!(
                v.to_scalar::<i64>().unwrap(),
                sb[k].to_scalar::<i64>().unwrap(),
                "{k}"
            );
        } else {
            assert!(same(v, &sb[k]), "{k}");
        }
    }
    assert_eq!(
        sa["decoder.blocks.0.conv1.1.num_batches_tracked"]
            .to_scalar::<i64>()
            .unwrap(),
        1
    );
}

#[test]
fn encoder_only_loading_accepts_smp_and_bare_names() {
    let dir = tempfile::tempdir().unwrap();
    let source = model(Arch::Fpn, 5);
    // A full smp file: only its encoder.* tensors are taken.
    let full = dir.path().join("full.safetensors");
    source.save_safetensors(&full).unwrap();
    let target = model(Arch::Unet, 6);
    let decoder_before = target
        .var("decoder.blocks.0.conv1.0.weight")
        .unwrap()
        .as_tensor()
        .copy()
        .unwrap();
    let n = target.load_encoder_safetensors(&full).unwrap();
    assert!(n > 300, "{n} encoder tensors");
    let stem = "encoder._blocks.7._depthwise_conv.weight";
    assert!(same(
        target.var(stem).unwrap().as_tensor(),
        source.var(stem).unwrap().as_tensor()
    ));
    assert!(same(
        target
            .var("decoder.blocks.0.conv1.0.weight")
            .unwrap()
            .as_tensor(),
        &decoder_before
    ));

    // A bare ImageNet export (lukemelas names, classifier included).
    let bare: HashMap<String, Tensor> = source
        .state_dict()
        .unwrap()
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix("encoder.").map(|b| (b.to_string(), v)))
        .chain([
            (
                "_fc.weight".to_string(),
                Tensor::zeros((1000, 1280), DType::F32, &Device::Cpu).unwrap(),
            ),
            (
                "_fc.bias".to_string(),
                Tensor::zeros(1000, DType::F32, &Device::Cpu).unwrap(),
            ),
        ])
        .collect();
    let bare_path = dir.path().join("bare.safetensors");
    candle_core::safetensors::save(&bare, &bare_path).unwrap();
    let other = model(Arch::Linknet, 7);
    assert_eq!(other.load_encoder_safetensors(&bare_path).unwrap(), n);
    assert!(same(
        other.var(stem).unwrap().as_tensor(),
        source.var(stem).unwrap().as_tensor()
    ));

    // An encoder file missing a tensor is refused, naming it.
    let mut partial = bare;
    partial.remove("_blocks.3._bn1.running_var");
    candle_core::safetensors::save(&partial, &bare_path).unwrap();
    let err = other
        .load_encoder_safetensors(&bare_path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("encoder._blocks.3._bn1.running_var"), "{err}");
}

#[test]
fn unreadable_files_name_the_path() {
    let m = model(Arch::Linknet, 1);
    let err = m
        .load_safetensors("/nonexistent/w.safetensors")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/w.safetensors"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"not safetensors").unwrap();
    let err = m.load_safetensors(&junk).unwrap_err().to_string();
    assert!(err.contains("junk.safetensors"), "{err}");
}

#[test]
fn sizes_not_divisible_by_32_fail_clearly_or_are_padded() {
    let mut cfg = ModelConfig::new(Arch::Unet, Encoder::B0);
    let x = Tensor::rand(0f32, 1.0, (1, 3, 40, 70), &Device::Cpu).unwrap();
    let m = SegmentationModel::new(&cfg, &Device::Cpu, 1).unwrap();
    let err = m.forward(&x).unwrap_err().to_string();
    assert!(
        err.contains("40") && err.contains("70") && err.contains("64x96"),
        "{err}"
    );
    cfg.pad_input = true;
    let padded = SegmentationModel::new(&cfg, &Device::Cpu, 1).unwrap();
    assert_eq!(padded.forward(&x).unwrap().mask.dims(), &[1, 1, 40, 70]);
    // Wrong channel count.
    let gray = Tensor::rand(0f32, 1.0, (1, 1, 32, 32), &Device::Cpu).unwrap();
    assert!(matches!(m.forward(&gray), Err(ModelError::InputShape(_))));
}

#[test]
fn config_rejects_unknown_fields_and_bad_combinations() {
    let ok: ModelConfig =
        serde_json::from_str(r#"{"arch":"unet","encoder":"efficientnet-b3","decoder_attention":"scse","aux":{"classes":1}}"#)
            .unwrap();
    ok.validate().unwrap();
    assert_eq!(ok.aux.as_ref().unwrap().dropout, 0.2);
    assert!(
        serde_json::from_str::<ModelConfig>(r#"{"arch":"unet","encoder":"efficientnet-b9"}"#)
            .is_err()
    );
    let mut bad = ModelConfig::new(Arch::Fpn, Encoder::B0);
    bad.decoder_attention = ok.decoder_attention;
    assert!(SegmentationModel::new(&bad, &Device::Cpu, 0).is_err());
    bad.decoder_attention = None;
    bad.decoder_dropout = 1.5;
    assert!(
        bad.validate()
            .unwrap_err()
            .to_string()
            .contains("decoder_dropout")
    );
}

#[test]
fn training_mode_is_seeded_and_differs_from_eval() {
    let mut cfg = ModelConfig::new(Arch::Fpn, Encoder::B0);
    cfg.aux = Some(ftu_models::AuxHead {
        classes: 1,
        dropout: 0.5,
    });
    let x = Tensor::rand(0f32, 1.0, (2, 3, 32, 32), &Device::Cpu).unwrap();
    let run = |seed| {
        let m = SegmentationModel::new(&cfg, &Device::Cpu, seed).unwrap();
        let train = m.forward_t(&x, true).unwrap().mask;
        let eval = m.forward(&x).unwrap().mask;
        (train, eval)
    };
    let (t1, e1) = run(9);
    let (t2, _) = run(9);
    assert!(same(&t1, &t2), "same seed, same dropout masks");
    assert!(!same(&t1, &e1), "training differs from eval");
}

/// Eval mode builds no autograd graph (so activations are freed as the pass
/// goes) and leaves the weights unchanged; training mode's output reaches
/// every weight, every arch and the aux head included.
#[test]
fn eval_records_no_graph_and_training_reaches_every_weight() {
    let x = Tensor::rand(0f32, 1.0, (2, 3, 32, 32), &Device::Cpu).unwrap();
    for arch in [Arch::Unet, Arch::Fpn, Arch::Linknet] {
        let mut cfg = ModelConfig::new(arch, Encoder::B0);
        cfg.aux = Some(ftu_models::AuxHead {
            classes: 1,
            dropout: 0.0,
        });
        let m = SegmentationModel::new(&cfg, &Device::Cpu, 3).unwrap();
        let eval = m.forward(&x).unwrap();
        assert!(!eval.mask.track_op(), "{arch:?} eval mask tracks a graph");
        assert!(!eval.label.unwrap().track_op(), "{arch:?} eval label");
        let train = m.forward_t(&x, true).unwrap();
        let label = train.label.unwrap().sum_all().unwrap();
        let loss = (train.mask.sum_all().unwrap() + label).unwrap();
        let grads = loss.backward().unwrap();
        let missing: Vec<_> = m
            .entries()
            .iter()
            .filter_map(|e| match &e.slot {
                ftu_models::Slot::Param(v) if grads.get(v.as_tensor()).is_none() => {
                    Some(e.name.clone())
                }
                _ => None,
            })
            // smp keeps EfficientNet's classifier stem in the state dict and
            // never runs it.
            .filter(|n| !n.starts_with("encoder._conv_head.") && !n.starts_with("encoder._bn1."))
            .collect();
        assert!(missing.is_empty(), "{arch:?}: no gradient for {missing:?}");
    }
}
