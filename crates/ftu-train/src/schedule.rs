//! Learning-rate schedules, evaluated per step or per epoch.
//!
//! A schedule is a function of a time `t` (the 0-based epoch when `per =
//! "epoch"`, the 0-based global step when `per = "step"`) and the run's
//! length `total` in the same unit. Lengths inside a schedule (`warmup`,
//! `step_size`, `ramp_up`, `sustain`) are in that unit too.

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// When the learning rate changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    /// Once per epoch (`t` = epoch).
    #[default]
    Epoch,
    /// Every optimiser step (`t` = global step).
    Step,
}

/// A learning-rate schedule (`schedule = { kind = "...", ... }`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// `lr` throughout.
    Constant {
        /// The learning rate.
        lr: f64,
        /// Update unit (irrelevant here, kept for a uniform table).
        #[serde(default)]
        per: Per,
    },
    /// Linear from `lr_max / warmup` up to `lr_max` over `warmup`, then a
    /// half cosine down to `lr_min` at the end of the run.
    WarmupCosine {
        /// Peak learning rate.
        lr_max: f64,
        /// Final learning rate.
        #[serde(default)]
        lr_min: f64,
        /// Length of the linear warm-up.
        #[serde(default)]
        warmup: usize,
        /// Update unit.
        #[serde(default)]
        per: Per,
    },
    /// `lr * gamma^floor(t / step_size)`.
    Step {
        /// Initial learning rate.
        lr: f64,
        /// Interval between decays.
        step_size: usize,
        /// Decay factor.
        gamma: f64,
        /// Update unit.
        #[serde(default)]
        per: Per,
    },
    /// The Kaggle TPU-style schedule of the recipe: linear ramp-up from
    /// `lr_start` to `lr_max` over `ramp_up`, `lr_max` for `sustain`, then
    /// `(lr_max - lr_min) * decay^(t - ramp_up - sustain) + lr_min`.
    Custom {
        /// Learning rate at `t = 0`.
        lr_start: f64,
        /// Plateau learning rate.
        lr_max: f64,
        /// Asymptote of the decay.
        lr_min: f64,
        /// Length of the ramp-up.
        ramp_up: usize,
        /// Length of the plateau.
        #[serde(default)]
        sustain: usize,
        /// Exponential decay factor per unit of time.
        decay: f64,
        /// Update unit.
        #[serde(default)]
        per: Per,
    },
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::Constant {
            lr: 1e-3,
            per: Per::Epoch,
        }
    }
}

impl Schedule {
    /// The update unit.
    pub fn per(&self) -> Per {
        match *self {
            Schedule::Constant { per, .. }
            | Schedule::WarmupCosine { per, .. }
            | Schedule::Step { per, .. }
            | Schedule::Custom { per, .. } => per,
        }
    }

    /// The learning rate at time `t` of a run `total` long.
    pub fn lr(&self, t: usize, total: usize) -> f64 {
        match *self {
            Schedule::Constant { lr, .. } => lr,
            Schedule::WarmupCosine {
                lr_max,
                lr_min,
                warmup,
                ..
            } => {
                if t < warmup {
                    return lr_max * (t + 1) as f64 / warmup as f64;
                }
                let span = total.saturating_sub(warmup).max(1) as f64;
                let progress = ((t - warmup) as f64 / span).min(1.0);
                lr_min + 0.5 * (lr_max - lr_min) * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            Schedule::Step {
                lr,
                step_size,
                gamma,
                ..
            } => lr * gamma.powi((t / step_size.max(1)) as i32),
            Schedule::Custom {
                lr_start,
                lr_max,
                lr_min,
                ramp_up,
                sustain,
                decay,
                ..
            } => {
                if t < ramp_up {
                    (lr_max - lr_start) / ramp_up as f64 * t as f64 + lr_start
                } else if t < ramp_up + sustain {
                    lr_max
                } else {
                    (lr_max - lr_min) * decay.powi((t - ramp_up - sustain) as i32) + lr_min
                }
            }
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Invalid(format!("schedule: {m}: {self:?}")));
        match *self {
            Schedule::Constant { lr, .. } if lr < 0.0 => bad("lr must be >= 0"),
            Schedule::WarmupCosine { lr_max, lr_min, .. } if lr_max < 0.0 || lr_min < 0.0 => {
                bad("learning rates must be >= 0")
            }
            Schedule::Step {
                lr,
                step_size,
                gamma,
                ..
            } if lr < 0.0 || step_size == 0 || gamma <= 0.0 => {
                bad("need lr >= 0, step_size >= 1, gamma > 0")
            }
            Schedule::Custom {
                lr_start,
                lr_max,
                lr_min,
                decay,
                ..
            } if lr_start < 0.0
                || lr_max < 0.0
                || lr_min < 0.0
                || !(0.0..=1.0).contains(&decay) =>
            {
                bad("need learning rates >= 0 and decay in [0, 1]")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12 * b.abs().max(1.0)
    }

    #[test]
    fn custom_ramps_sustains_and_decays() {
        // The recipe's Kaggle TPU scheduler, by hand.
        let s = Schedule::Custom {
            lr_start: 1e-5,
            lr_max: 1e-3,
            lr_min: 1e-6,
            ramp_up: 4,
            sustain: 2,
            decay: 0.8,
            per: Per::Epoch,
        };
        let want = |e: usize| -> f64 {
            if e < 4 {
                (1e-3 - 1e-5) / 4.0 * e as f64 + 1e-5
            } else if e < 6 {
                1e-3
            } else {
                (1e-3 - 1e-6) * 0.8f64.powi(e as i32 - 6) + 1e-6
            }
        };
        for e in 0..12 {
            assert!(close(s.lr(e, 12), want(e)), "epoch {e}");
        }
        assert!(close(s.lr(0, 12), 1e-5));
        assert!(close(s.lr(5, 12), 1e-3));
        assert!(close(s.lr(7, 12), (1e-3 - 1e-6) * 0.8 + 1e-6));
    }

    #[test]
    fn warmup_cosine_step_and_constant() {
        let s = Schedule::WarmupCosine {
            lr_max: 1.0,
            lr_min: 0.1,
            warmup: 2,
            per: Per::Step,
        };
        assert!(close(s.lr(0, 10), 0.5));
        assert!(close(s.lr(1, 10), 1.0));
        assert!(close(s.lr(2, 10), 1.0));
        assert!(close(s.lr(6, 10), 0.55)); // halfway through the cosine
        assert!(close(s.lr(10, 10), 0.1));
        let s = Schedule::Step {
            lr: 1.0,
            step_size: 3,
            gamma: 0.5,
            per: Per::Epoch,
        };
        assert_eq!([0, 2, 3, 6].map(|t| s.lr(t, 9)), [1.0, 1.0, 0.5, 0.25]);
        assert_eq!(Schedule::default().lr(99, 100), 1e-3);
        assert!(
            Schedule::Step {
                lr: 1.0,
                step_size: 0,
                gamma: 0.5,
                per: Per::Epoch
            }
            .validate()
            .is_err()
        );
    }
}
