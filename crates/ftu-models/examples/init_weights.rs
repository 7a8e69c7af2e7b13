//! Writes a freshly initialised model's weights under smp's names, e.g. to
//! check that PyTorch loads them with `load_state_dict(strict=True)`:
//!
//! ```text
//! cargo run --release -p ftu-models --example init_weights -- unet efficientnet-b0 42 ftu_unet_b0.safetensors
//! ```

use candle_core::Device;
use ftu_models::{Arch, Encoder, ModelConfig, SegmentationModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [arch, encoder, seed, out] = args.as_slice() else {
        return Err("usage: init_weights ARCH ENCODER SEED OUT.safetensors".into());
    };
    let config = ModelConfig::new(arch.parse::<Arch>()?, encoder.parse::<Encoder>()?);
    let model = SegmentationModel::new(&config, &Device::Cpu, seed.parse()?)?;
    model.save_safetensors(out)?;
    println!(
        "{out}: {} tensors, {} parameters",
        model.entries().len(),
        model.parameter_count()
    );
    Ok(())
}
