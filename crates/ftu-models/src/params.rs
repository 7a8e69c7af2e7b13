//! Parameter store: every weight and buffer under its smp `state_dict()` name.
//!
//! Layers are built through a [`Builder`] that records each tensor with its
//! full dotted name, so loading, saving and counting walk one list in smp's
//! registration order.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use candle_core::{DType, Device, Result, Tensor, Var};

use crate::rng::SplitMix64;

/// What a named tensor is, in PyTorch terms.
#[derive(Clone, Debug)]
pub enum Slot {
    /// A trainable `nn.Parameter`.
    Param(Var),
    /// A float buffer (batch-norm running mean / variance), updated in training.
    Buffer(Var),
    /// An integer buffer (`num_batches_tracked`), an `i64` scalar in smp files.
    Counter(Arc<AtomicI64>),
}

/// One named tensor of the model.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The smp `state_dict()` key, e.g. `encoder._blocks.0._bn1.running_var`.
    pub name: String,
    /// Its expected shape (empty for scalars).
    pub shape: Vec<usize>,
    /// The storage.
    pub slot: Slot,
}

/// How fresh parameters are filled.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Init {
    /// Uniform in `[-bound, bound]`.
    Uniform(f64),
    /// Every element equal to the value.
    Const(f64),
}

/// PyTorch's default for `nn.Conv2d` / `nn.Linear` (kaiming uniform, a = sqrt 5).
pub(crate) fn torch_default(fan_in: usize) -> Init {
    Init::Uniform(1.0 / (fan_in as f64).sqrt())
}

/// smp's `initialize_decoder` for convolutions (kaiming uniform, ReLU gain).
pub(crate) fn kaiming_relu(fan_in: usize) -> Init {
    Init::Uniform((6.0 / fan_in as f64).sqrt())
}

/// smp's `initialize_head` (xavier uniform).
pub(crate) fn xavier(fan_in: usize, fan_out: usize) -> Init {
    Init::Uniform((6.0 / (fan_in + fan_out) as f64).sqrt())
}

struct Inner {
    entries: Vec<Entry>,
    rng: SplitMix64,
    /// Record shapes only: tensors are one-element placeholders (parameter counts).
    shapes_only: bool,
}

/// Hands out named tensors while a model is constructed.
#[derive(Clone)]
pub(crate) struct Builder {
    inner: Rc<RefCell<Inner>>,
    prefix: String,
    device: Device,
    dtype: DType,
}

impl Builder {
    /// A builder that allocates and fills tensors, seeded.
    pub(crate) fn new(device: &Device, dtype: DType, seed: u64) -> Self {
        Self::with_mode(device, dtype, seed, false)
    }

    /// A builder that only records names and shapes (no allocation).
    pub(crate) fn shapes_only() -> Self {
        Self::with_mode(&Device::Cpu, DType::F32, 0, true)
    }

    fn with_mode(device: &Device, dtype: DType, seed: u64, shapes_only: bool) -> Self {
        Self {
            inner: Rc::new(RefCell::new(Inner {
                entries: Vec::new(),
                rng: SplitMix64::new(seed),
                shapes_only,
            })),
            prefix: String::new(),
            device: device.clone(),
            dtype,
        }
    }

    /// A builder for the sub-module `name` (dotted like PyTorch).
    pub(crate) fn pp(&self, name: impl std::fmt::Display) -> Self {
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        };
        Self {
            inner: self.inner.clone(),
            prefix,
            device: self.device.clone(),
            dtype: self.dtype,
        }
    }

    fn full(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    fn make(&self, shape: &[usize], init: Init) -> Result<Var> {
        let mut inner = self.inner.borrow_mut();
        if inner.shapes_only {
            return Var::zeros(1, DType::F32, &Device::Cpu);
        }
        let n: usize = shape.iter().product();
        let data: Vec<f32> = match init {
            Init::Const(v) => vec![v as f32; n],
            Init::Uniform(b) => (0..n)
                .map(|_| ((inner.rng.next_f64() * 2.0 - 1.0) * b) as f32)
                .collect(),
        };
        Var::from_tensor(&Tensor::from_vec(data, shape, &self.device)?.to_dtype(self.dtype)?)
    }

    /// A trainable parameter.
    pub(crate) fn param(&self, name: &str, shape: &[usize], init: Init) -> Result<Var> {
        let var = self.make(shape, init)?;
        self.push(name, shape, Slot::Param(var.clone()));
        Ok(var)
    }

    /// A float buffer (not trained).
    pub(crate) fn buffer(&self, name: &str, shape: &[usize], init: Init) -> Result<Var> {
        let var = self.make(shape, init)?;
        self.push(name, shape, Slot::Buffer(var.clone()));
        Ok(var)
    }

    /// An `i64` scalar counter.
    pub(crate) fn counter(&self, name: &str) -> Arc<AtomicI64> {
        let c = Arc::new(AtomicI64::new(0));
        self.push(name, &[], Slot::Counter(c.clone()));
        c
    }

    fn push(&self, name: &str, shape: &[usize], slot: Slot) {
        let name = self.full(name);
        self.inner.borrow_mut().entries.push(Entry {
            name,
            shape: shape.to_vec(),
            slot,
        });
    }

    /// The entries recorded so far.
    pub(crate) fn into_entries(self) -> Vec<Entry> {
        self.inner.borrow().entries.clone()
    }
}
