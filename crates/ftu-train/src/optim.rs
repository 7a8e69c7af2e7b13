//! AdamW with PyTorch's semantics (`torch.optim.AdamW`): decoupled weight
//! decay `p -= lr * wd * p` first, then the bias-corrected Adam update
//! `p -= lr * m̂ / (sqrt(v̂) + eps)`; and clipping by the global gradient
//! norm (`torch.nn.utils.clip_grad_norm_`). The moments are plain tensors so
//! a checkpoint can save and restore them exactly.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{DType, Tensor, Var};

use crate::config::OptimizerConfig;
use crate::error::TrainError;

/// One parameter's optimiser state.
struct Slot {
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// AdamW over a fixed list of named parameters.
pub struct AdamW {
    cfg: OptimizerConfig,
    names: Vec<String>,
    slots: Vec<Slot>,
    /// Steps taken (PyTorch's `state["step"]`).
    steps: u64,
}

/// What [`AdamW::step`] saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepInfo {
    /// The global gradient norm before clipping.
    pub grad_norm: f64,
}

impl AdamW {
    /// Zero moments for `params` (name, variable).
    pub fn new(params: Vec<(String, Var)>, cfg: OptimizerConfig) -> Result<Self, TrainError> {
        let mut names = Vec::with_capacity(params.len());
        let mut slots = Vec::with_capacity(params.len());
        for (name, var) in params {
            let m = var.as_tensor().zeros_like()?;
            let v = m.clone();
            names.push(name);
            slots.push(Slot { var, m, v });
        }
        Ok(Self {
            cfg,
            names,
            slots,
            steps: 0,
        })
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update with learning rate `lr`. Gradients are clipped first when
    /// the config says so; a non-finite gradient norm is returned, not
    /// applied, so the caller can stop with the weights untouched.
    pub fn step(&mut self, grads: &GradStore, lr: f64) -> Result<StepInfo, TrainError> {
        let mut present: Vec<(usize, Tensor)> = Vec::with_capacity(self.slots.len());
        let mut sq = 0f64;
        for (i, s) in self.slots.iter().enumerate() {
            if let Some(g) = grads.get(s.var.as_tensor()) {
                // Detached: a gradient made from tracked tensors would keep
                // the step's whole graph alive inside the moments.
                let g = g.detach();
                sq += g
                    .sqr()?
                    .sum_all()?
                    .to_dtype(DType::F64)?
                    .to_scalar::<f64>()?;
                present.push((i, g));
            }
        }
        let grad_norm = sq.sqrt();
        if !grad_norm.is_finite() {
            return Ok(StepInfo { grad_norm });
        }
        let scale = match self.cfg.clip_grad_norm {
            Some(max) => (max / (grad_norm + 1e-6)).min(1.0),
            None => 1.0,
        };
        self.steps += 1;
        let t = self.steps as i32;
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        let bc1 = 1.0 - b1.powi(t);
        let bc2 = 1.0 - b2.powi(t);
        let decay = 1.0 - lr * self.cfg.weight_decay;
        for (i, g) in present {
            let s = &mut self.slots[i];
            let g = if scale < 1.0 { (g * scale)? } else { g };
            s.m = ((&s.m * b1)? + (&g * (1.0 - b1))?)?;
            s.v = ((&s.v * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let denom = ((&s.v / bc2)?.sqrt()? + self.cfg.eps)?;
            let update = ((&s.m / bc1)? / denom)?;
            let p = ((s.var.as_tensor().detach() * decay)? - (update * lr)?)?;
            s.var.set(&p)?;
        }
        Ok(StepInfo { grad_norm })
    }

    /// The moments as named tensors (`optim.m.<name>`, `optim.v.<name>`).
    pub fn state_tensors(&self) -> HashMap<String, Tensor> {
        let mut out = HashMap::with_capacity(2 * self.slots.len());
        for (name, s) in self.names.iter().zip(&self.slots) {
            out.insert(format!("optim.m.{name}"), s.m.clone());
            out.insert(format!("optim.v.{name}"), s.v.clone());
        }
        out
    }

    /// Restores [`AdamW::state_tensors`] and the step count; every moment
    /// must be present with its parameter's shape.
    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        steps: u64,
    ) -> Result<(), String> {
        let mut loaded = Vec::with_capacity(self.slots.len());
        for (name, s) in self.names.iter().zip(&self.slots) {
            let get = |k: String| -> Result<Tensor, String> {
                let t = tensors.get(&k).ok_or_else(|| format!("{k} is missing"))?;
                if t.dims() != s.var.dims() {
                    return Err(format!(
                        "{k} has shape {:?}, expected {:?}",
                        t.dims(),
                        s.var.dims()
                    ));
                }
                // Checkpoints are read to the CPU; the moments live beside
                // their parameter.
                t.to_dtype(s.var.dtype())
                    .and_then(|t| t.to_device(s.var.device()))
                    .map_err(|e| e.to_string())
            };
            loaded.push((
                get(format!("optim.m.{name}"))?,
                get(format!("optim.v.{name}"))?,
            ));
        }
        for (s, (m, v)) in self.slots.iter_mut().zip(loaded) {
            s.m = m;
            s.v = v;
        }
        self.steps = steps;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    /// Two PyTorch AdamW steps on p = [1, -2], loss = sum(p^2 * [1, 3]),
    /// lr 0.1, weight decay 0.1, written out by hand.
    #[test]
    fn matches_pytorch_adamw_by_hand() {
        let p = Var::from_vec(vec![1f64, -2.0], 2, &Device::Cpu).unwrap();
        let w = Tensor::new(&[1f64, 3.0], &Device::Cpu).unwrap();
        let cfg = OptimizerConfig {
            weight_decay: 0.1,
            ..Default::default()
        };
        let mut opt = AdamW::new(vec![("p".into(), p.clone())], cfg).unwrap();
        let (lr, b1, b2, eps, wd) = (0.1, 0.9, 0.999, 1e-8, 0.1);
        let mut want = [1f64, -2.0];
        let mut m = [0f64; 2];
        let mut v = [0f64; 2];
        for t in 1..=2 {
            let loss = (p.as_tensor().sqr().unwrap() * &w)
                .unwrap()
                .sum_all()
                .unwrap();
            let grads = loss.backward().unwrap();
            opt.step(&grads, lr).unwrap();
            for i in 0..2 {
                let g = 2.0 * want[i] * [1.0, 3.0][i];
                want[i] *= 1.0 - lr * wd;
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let mh = m[i] / (1.0 - b1.powi(t));
                let vh = v[i] / (1.0 - b2.powi(t));
                want[i] -= lr * mh / (vh.sqrt() + eps);
            }
            let got = p.as_tensor().to_vec1::<f64>().unwrap();
            for i in 0..2 {
                assert!(
                    (got[i] - want[i]).abs() < 1e-12,
                    "step {t}: {got:?} vs {want:?}"
                );
            }
        }
        assert_eq!(opt.steps(), 2);
    }

    #[test]
    fn clips_the_global_norm_and_refuses_non_finite_gradients() {
        let p = Var::from_vec(vec![0f64, 0.0], 2, &Device::Cpu).unwrap();
        let g = Tensor::new(&[3f64, 4.0], &Device::Cpu).unwrap();
        let cfg = OptimizerConfig {
            clip_grad_norm: Some(1.0),
            weight_decay: 0.0,
            ..Default::default()
        };
        let mut opt = AdamW::new(vec![("p".into(), p.clone())], cfg).unwrap();
        let grads = (p.as_tensor() * &g)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let info = opt.step(&grads, 0.1).unwrap();
        assert!((info.grad_norm - 5.0).abs() < 1e-12);
        // The first Adam step moves each element by lr whatever the scale;
        // the moments show the clipping: m = 0.1 * g / 5.
        let state = opt.state_tensors();
        let m = state["optim.m.p"].to_vec1::<f64>().unwrap();
        assert!(
            (m[0] - 0.1 * 0.6).abs() < 1e-6 && (m[1] - 0.1 * 0.8).abs() < 1e-6,
            "{m:?}"
        );
        let nan = Tensor::new(&[f64::NAN, 1.0], &Device::Cpu).unwrap();
        let before = p.as_tensor().to_vec1::<f64>().unwrap();
        let grads = (p.as_tensor() * &nan)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(opt.step(&grads, 0.1).unwrap().grad_norm.is_nan());
        assert_eq!(p.as_tensor().to_vec1::<f64>().unwrap(), before);
        assert_eq!(opt.steps(), 1);
    }

    #[test]
    fn state_round_trips() {
        let p = Var::from_vec(vec![1f32, 2.0, 3.0], 3, &Device::Cpu).unwrap();
        let mut a = AdamW::new(vec![("w".into(), p.clone())], OptimizerConfig::default()).unwrap();
        let grads = p
            .as_tensor()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        a.step(&grads, 0.01).unwrap();
        let mut b = AdamW::new(vec![("w".into(), p.clone())], OptimizerConfig::default()).unwrap();
        b.load_state(&a.state_tensors(), a.steps()).unwrap();
        assert_eq!(
            b.state_tensors()["optim.v.w"].to_vec1::<f32>().unwrap(),
            a.state_tensors()["optim.v.w"].to_vec1::<f32>().unwrap()
        );
        let mut missing = a.state_tensors();
        missing.remove("optim.m.w");
        assert!(b.load_state(&missing, 1).unwrap_err().contains("optim.m.w"));
    }
}
