//! What the kernels' tests share: smooth deterministic inputs, the largest
//! difference between two tensors, and a finite-difference gradient check.

use candle_core::{Device, Shape, Tensor, Var};

/// `amp · sin(i · f + phase) + offset` over the elements of `shape`, in f64.
pub(crate) fn wave_with(
    shape: impl Into<Shape>,
    f: f64,
    phase: f64,
    amp: f64,
    offset: f64,
) -> Tensor {
    let shape: Shape = shape.into();
    let n = shape.elem_count();
    let v: Vec<f64> = (0..n)
        .map(|i| (i as f64 * f + phase).sin() * amp + offset)
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).expect("wave tensor")
}

/// `sin(i · f + phase)` over the elements of `shape`, in f64.
pub(crate) fn wave(shape: impl Into<Shape>, f: f64, phase: f64) -> Tensor {
    wave_with(shape, f, phase, 1.0, 0.0)
}

/// `max |a - b|` (f64 tensors).
pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .and_then(|d| d.abs())
        .and_then(|d| d.flatten_all())
        .and_then(|d| d.max(0))
        .and_then(|d| d.to_scalar::<f64>())
        .expect("max difference")
}

/// Check the autograd gradient of the scalar `loss(inputs)` with respect to
/// every element of every input (f64) against central differences.
pub(crate) fn assert_gradients(
    loss: impl Fn(&[Tensor]) -> Tensor,
    inputs: &[Tensor],
    eps: f64,
    tol: f64,
) {
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| Var::from_tensor(t).expect("var"))
        .collect();
    let tensors: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let grads = loss(&tensors).backward().expect("backward");
    for (k, var) in vars.iter().enumerate() {
        let g = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("input {k} has no gradient"))
            .flatten_all()
            .and_then(|t| t.to_vec1::<f64>())
            .expect("gradient values");
        let base = inputs[k]
            .flatten_all()
            .and_then(|t| t.to_vec1::<f64>())
            .expect("input values");
        for i in 0..base.len() {
            let at = |d: f64| {
                let mut v = base.clone();
                v[i] += d;
                let mut shifted = inputs.to_vec();
                shifted[k] = Tensor::from_vec(v, inputs[k].dims(), &Device::Cpu).expect("input");
                loss(&shifted).to_scalar::<f64>().expect("scalar loss")
            };
            let fd = (at(eps) - at(-eps)) / (2.0 * eps);
            assert!(
                (fd - g[i]).abs() < tol,
                "input {k} element {i}: finite difference {fd} vs gradient {}",
                g[i]
            );
        }
    }
}

/// Backpropagate `probe`-weighted sums of `ours` and of the reference
/// `theirs`, and assert the two gradients of every var agree within `tol`.
pub(crate) fn assert_same_gradients(
    ours: Tensor,
    theirs: Tensor,
    probe: &Tensor,
    vars: &[&Var],
    tol: f64,
    label: &str,
) {
    let backward = |y: Tensor| {
        (y * probe)
            .and_then(|t| t.sum_all())
            .and_then(|t| t.backward())
            .expect("backward")
    };
    let (g1, g2) = (backward(ours), backward(theirs));
    for (k, v) in vars.iter().enumerate() {
        let d = max_diff(
            g1.get(v.as_tensor()).expect("gradient"),
            g2.get(v.as_tensor()).expect("reference gradient"),
        );
        assert!(d < tol, "{label}: gradient diff {d} for var {k}");
    }
}
