//! `cargo xtask forward --arch A --encoder E --weights W.safetensors --input IN.safetensors --output OUT.safetensors`:
//! eval-mode logits of an smp-compatible model.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use candle_core::{DType, Device, Tensor};
use clap::Args;
use ftu_models::{Arch, Attention, AuxHead, Encoder, ModelConfig, SegmentationModel};

#[derive(Args)]
pub struct ForwardArgs {
    /// unet | fpn | linknet
    #[arg(long)]
    arch: Arch,
    /// efficientnet-b0 … efficientnet-b7
    #[arg(long)]
    encoder: Encoder,
    /// Weights under smp `state_dict()` names (classes, aux head and scSE
    /// attention are read from the tensors present).
    #[arg(long)]
    weights: PathBuf,
    /// Safetensors file holding an NCHW f32 tensor named `input`.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the logits as `output` (and aux logits as `label`).
    #[arg(long)]
    output: PathBuf,
    /// Pad height and width up to multiples of 32 instead of failing.
    #[arg(long)]
    pad: bool,
}

/// The config implied by the tensors of an smp weights file.
fn config_from_weights(
    arch: Arch,
    encoder: Encoder,
    w: &HashMap<String, Tensor>,
) -> Result<ModelConfig> {
    let mut cfg = ModelConfig::new(arch, encoder);
    let head = w
        .get("segmentation_head.0.weight")
        .context("no segmentation_head.0.weight")?;
    cfg.classes = head.dim(0)?;
    if let Some(aux) = w.get("classification_head.3.weight") {
        cfg.aux = Some(AuxHead {
            classes: aux.dim(0)?,
            dropout: 0.2,
        });
    }
    if w.keys().any(|k| k.contains(".attention1.")) {
        cfg.decoder_attention = Some(Attention::Scse);
    }
    Ok(cfg)
}

pub fn run(args: ForwardArgs) -> Result<()> {
    // Files are read and written on the CPU; the model runs on `device`.
    let device = ftu_models::device::select()?;
    let weights = candle_core::safetensors::load(&args.weights, &Device::Cpu)
        .with_context(|| format!("{}: cannot read weights", args.weights.display()))?;
    let mut cfg = config_from_weights(args.arch, args.encoder, &weights).with_context(|| {
        format!(
            "{}: not smp {} weights",
            args.weights.display(),
            args.arch.name()
        )
    })?;
    cfg.pad_input = args.pad;
    let model = SegmentationModel::new(&cfg, &device, 0)?;
    model.load_tensors(&weights, &args.weights)?;
    let inputs = candle_core::safetensors::load(&args.input, &Device::Cpu)
        .with_context(|| format!("{}: cannot read input", args.input.display()))?;
    let Some(x) = inputs.get("input") else {
        bail!("{}: no tensor named `input`", args.input.display());
    };
    if x.rank() != 4 {
        bail!(
            "{}: `input` has shape {:?}, expected NCHW",
            args.input.display(),
            x.dims()
        );
    }
    let x = x.to_dtype(DType::F32)?.to_device(&device)?;
    let out = model
        .forward(&x)
        .with_context(|| format!("{}: forward pass", args.input.display()))?;
    let mut tensors = HashMap::from([("output".to_string(), out.mask.to_device(&Device::Cpu)?)]);
    if let Some(label) = out.label {
        tensors.insert("label".to_string(), label.to_device(&Device::Cpu)?);
    }
    let name = args
        .output
        .file_name()
        .context("--output is not a file path")?;
    let tmp = args
        .output
        .with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    candle_core::safetensors::save(&tensors, &tmp)
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("{}: cannot write", args.output.display()))?;
    Ok(())
}
