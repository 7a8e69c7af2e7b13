//! Which device the pipeline computes on.
//!
//! [`select`] is the one place training, inference and the xtask commands
//! get their device from: the CPU, unless the build has the `cuda` feature
//! and a CUDA device opens. `FTU_DEVICE` overrides it: `cpu`, `cuda`
//! (device 0) or `cuda:N`.
//!
//! ```
//! use ftu_models::device::{self, Choice};
//!
//! assert_eq!(device::parse(Some("cpu"))?, Choice::Cpu);
//! assert_eq!(device::parse(None)?, Choice::Auto);
//! assert!(device::parse(Some("gpu")).is_err());
//! # Ok::<(), candle_core::Error>(())
//! ```

use std::sync::OnceLock;

use candle_core::{Device, Error, Result};

/// The environment variable that overrides the default device.
pub const ENV: &str = "FTU_DEVICE";

/// What `FTU_DEVICE` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Unset: CUDA device 0 where the build and the machine have one, else the CPU.
    Auto,
    Cpu,
    /// A CUDA device by ordinal; failing to open it is an error.
    Cuda(usize),
}

/// Parses a value of `FTU_DEVICE` (`None` or blank: unset). `cuda` in a
/// build without the `cuda` feature is an error, not a silent CPU run.
pub fn parse(value: Option<&str>) -> Result<Choice> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(Choice::Auto);
    };
    let bad = |why: &str| Error::Msg(format!("{ENV}={raw:?}: {why}"));
    let lower = raw.to_ascii_lowercase();
    let ordinal = match lower.as_str() {
        "cpu" => return Ok(Choice::Cpu),
        "cuda" => 0,
        other => match other.strip_prefix("cuda:") {
            Some(n) => n
                .parse()
                .map_err(|_| bad("the device ordinal after `cuda:` must be a number"))?,
            None => return Err(bad("expected `cpu`, `cuda` or `cuda:N`")),
        },
    };
    if !cfg!(feature = "cuda") {
        return Err(bad(
            "this build has no CUDA support (build with `--features cuda`)",
        ));
    }
    Ok(Choice::Cuda(ordinal))
}

/// The device to compute on, as [`parse`] of `FTU_DEVICE` chooses it.
///
/// Chosen once per process: candle tells CUDA devices apart by the handle
/// that opened them, so tensors from two `Device::new_cuda(0)` calls could
/// not be combined; every caller gets the same one (and the CPU fallback
/// notice is printed once).
pub fn select() -> Result<Device> {
    static SELECTED: OnceLock<Device> = OnceLock::new();
    if let Some(device) = SELECTED.get() {
        return Ok(device.clone());
    }
    let value = match std::env::var_os(ENV) {
        None => None,
        Some(v) => Some(
            v.into_string()
                .map_err(|v| Error::Msg(format!("{ENV}={v:?}: not valid UTF-8")))?,
        ),
    };
    let device = open(parse(value.as_deref())?)?;
    Ok(SELECTED.get_or_init(|| device).clone())
}

fn open(choice: Choice) -> Result<Device> {
    match choice {
        Choice::Cpu => Ok(Device::Cpu),
        Choice::Cuda(n) => Device::new_cuda(n)
            .map_err(|e| Error::Msg(format!("{ENV}: cannot open CUDA device {n}: {e}"))),
        Choice::Auto if cfg!(feature = "cuda") => match Device::new_cuda(0) {
            Ok(device) => Ok(device),
            Err(e) => {
                eprintln!("ftu: no usable CUDA device ({e}); computing on the CPU");
                Ok(Device::Cpu)
            }
        },
        Choice::Auto => Ok(Device::Cpu),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_or_blank_is_auto() {
        assert_eq!(parse(None).unwrap(), Choice::Auto);
        assert_eq!(parse(Some("")).unwrap(), Choice::Auto);
        assert_eq!(parse(Some("  ")).unwrap(), Choice::Auto);
    }

    #[test]
    fn cpu_in_any_case() {
        assert_eq!(parse(Some("cpu")).unwrap(), Choice::Cpu);
        assert_eq!(parse(Some(" CPU ")).unwrap(), Choice::Cpu);
    }

    #[test]
    fn cuda_needs_the_feature() {
        let cases = [("cuda", 0), ("cuda:0", 0), ("CUDA:3", 3)];
        for (value, ordinal) in cases {
            let got = parse(Some(value));
            if cfg!(feature = "cuda") {
                assert_eq!(got.unwrap(), Choice::Cuda(ordinal));
            } else {
                let err = got.unwrap_err().to_string();
                assert!(err.contains("FTU_DEVICE") && err.contains(value), "{err}");
                assert!(err.contains("--features cuda"), "{err}");
            }
        }
    }

    #[test]
    fn unknown_values_name_the_variable_and_value() {
        for value in ["gpu", "cuda:", "cuda:x", "cuda:-1", "metal", "cuda0"] {
            let err = parse(Some(value)).unwrap_err().to_string();
            assert!(
                err.contains("FTU_DEVICE") && err.contains(value),
                "{value}: {err}"
            );
        }
    }

    #[test]
    fn default_build_selects_the_cpu() {
        // The CPU build never opens anything else, whatever the machine has.
        if !cfg!(feature = "cuda") {
            assert!(open(Choice::Auto).unwrap().is_cpu());
            assert!(open(Choice::Cpu).unwrap().is_cpu());
        }
    }
}
