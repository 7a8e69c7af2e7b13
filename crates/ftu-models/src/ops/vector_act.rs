//! Batch norm's elementwise passes over an f32 row, written so the compiler
//! vectorises them: the forward `act(x · a + b)` and the backward
//! `dy · act'(x · a + b)` with its two per-channel sums.
//!
//! Swish needs `exp`, and libm's is a scalar call (in f64 for the generic
//! kernels): it was about a fifth of the Unet-b0 forward pass, and the
//! batch-norm backward computes it again for the slope. Here `exp` is
//! a branch-free Cody–Waite range reduction with a degree-6 polynomial
//! (≤ 2 ulp on the clamped range), compiled a second time with AVX2 and
//! picked at run time. Both builds do the same operations in the same order
//! without fused multiply-adds, so they give the same bits.

use super::batch_norm::Act;

/// `out[i] = act(xs[i] · a + b)`, in f32.
pub(crate) fn scale_shift_act(xs: &[f32], a: f32, b: f32, act: Act, out: &mut [f32]) {
    assert_eq!(xs.len(), out.len(), "scale-shift row lengths differ");
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the running CPU has AVX2.
        return unsafe { scale_shift_act_avx2(xs, a, b, act, out) };
    }
    rows(xs, a, b, act, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_shift_act_avx2(xs: &[f32], a: f32, b: f32, act: Act, out: &mut [f32]) {
    rows(xs, a, b, act, out)
}

/// `out[i] = dy[i] · act'(xs[i] · a + b)`; returns `(Σ out · (xs − m), Σ out)`
/// in f64 (eight running sums, added up in a fixed order).
pub(crate) fn act_grad(
    xs: &[f32],
    dy: &[f32],
    (a, b, m): (f32, f32, f64),
    act: Act,
    out: &mut [f32],
) -> (f64, f64) {
    assert!(
        xs.len() == out.len() && dy.len() == out.len(),
        "gradient row lengths differ"
    );
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the running CPU has AVX2.
        return unsafe { act_grad_avx2(xs, dy, (a, b, m), act, out) };
    }
    grad_rows(xs, dy, (a, b, m), act, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn act_grad_avx2(
    xs: &[f32],
    dy: &[f32],
    abm: (f32, f32, f64),
    act: Act,
    out: &mut [f32],
) -> (f64, f64) {
    grad_rows(xs, dy, abm, act, out)
}

#[inline(always)]
fn grad_rows(
    xs: &[f32],
    dy: &[f32],
    abm: (f32, f32, f64),
    act: Act,
    out: &mut [f32],
) -> (f64, f64) {
    match act {
        Act::Identity => grad_lanes(xs, dy, abm, out, |_| 1.0),
        Act::Relu => grad_lanes(xs, dy, abm, out, |z| if z > 0.0 { 1.0 } else { 0.0 }),
        Act::Silu => grad_lanes(xs, dy, abm, out, silu_slope),
    }
}

const LANES: usize = 8;

#[inline(always)]
fn grad_lanes(
    xs: &[f32],
    dy: &[f32],
    (a, b, m): (f32, f32, f64),
    out: &mut [f32],
    slope: impl Fn(f32) -> f32,
) -> (f64, f64) {
    let (mut s_xc, mut s_dz) = ([0.0_f64; LANES], [0.0_f64; LANES]);
    let mut lane = |l: usize, o: &mut f32, x: f32, d: f32| {
        let dz = d * slope(x * a + b);
        *o = dz;
        s_xc[l] += dz as f64 * (x as f64 - m);
        s_dz[l] += dz as f64;
    };
    let whole = out.len() / LANES * LANES;
    let (body, tail) = out.split_at_mut(whole);
    for ((o, x), d) in body
        .chunks_exact_mut(LANES)
        .zip(xs.chunks_exact(LANES))
        .zip(dy.chunks_exact(LANES))
    {
        for l in 0..LANES {
            lane(l, &mut o[l], x[l], d[l]);
        }
    }
    for (l, o) in tail.iter_mut().enumerate() {
        lane(l, o, xs[whole + l], dy[whole + l]);
    }
    (s_xc.iter().sum(), s_dz.iter().sum())
}

/// `Σ f(v)` over a row, in eight running f64 sums (independent additions
/// the compiler can vectorise; a single running sum is one long chain).
#[inline(always)]
pub(crate) fn lane_sum<T: Copy>(xs: &[T], f: impl Fn(T) -> f64) -> f64 {
    let mut acc = [0.0_f64; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for l in 0..LANES {
            acc[l] += f(c[l]);
        }
    }
    for (l, &v) in chunks.remainder().iter().enumerate() {
        acc[l] += f(v);
    }
    acc.iter().sum()
}

/// One loop per activation, so each body is straight-line code.
#[inline(always)]
fn rows(xs: &[f32], a: f32, b: f32, act: Act, out: &mut [f32]) {
    let pairs = out.iter_mut().zip(xs);
    match act {
        Act::Identity => pairs.for_each(|(o, &v)| *o = v * a + b),
        Act::Relu => pairs.for_each(|(o, &v)| *o = relu(v * a + b)),
        Act::Silu => pairs.for_each(|(o, &v)| *o = silu(v * a + b)),
    }
}

#[inline(always)]
fn relu(z: f32) -> f32 {
    // Not `max`: NaN stays NaN, as in the f64 kernels.
    if z < 0.0 { 0.0 } else { z }
}

/// `z · sigmoid(z)`.
#[inline(always)]
pub(crate) fn silu(z: f32) -> f32 {
    z / (1.0 + exp(-z))
}

/// `d silu / d z = s · (1 + z · (1 − s))` with `s = sigmoid(z)`.
#[inline(always)]
fn silu_slope(z: f32) -> f32 {
    let s = 1.0 / (1.0 + exp(-z));
    s * (1.0 + z * (1.0 - s))
}

/// `e^x` for f32, branch-free. Inputs are clamped to `[-87, 88]` (the
/// result's exponent stays normal); NaN passes through.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that `n · LN2_HI` is exact for |n| < 2^9.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding 1.5 · 2^23 rounds to an integer, which then sits in the low
    // mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    // Comparisons rather than `clamp`/`max`: they keep NaN.
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    // Minimax coefficients of (e^r - 1 - r) / r² on |r| ≤ ln2 / 2.
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from the integer in t's mantissa: n in [-126, 127].
    let n = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let scale = f32::from_bits(((n + 127) as u32) << 23);
    y * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ulp distance between two finite f32 of the same sign.
    fn ulps(a: f32, b: f32) -> u32 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    #[test]
    fn exp_is_within_two_ulp_of_f64_exp_on_its_range() {
        let mut worst = 0;
        let mut x = -87.0_f32;
        while x <= 88.0 {
            let want = (x as f64).exp() as f32;
            worst = worst.max(ulps(exp(x), want));
            x += 0.000_731;
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn exp_clamps_and_keeps_nan() {
        assert_eq!(exp(-1e4), exp(-87.0));
        assert_eq!(exp(1e4), exp(88.0));
        assert!(exp(88.0).is_finite() && exp(-87.0) > 0.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(silu(f32::NAN).is_nan());
        assert_eq!(silu(f32::INFINITY), f32::INFINITY);
        assert!(silu(-1e3).abs() < 1e-30 && silu(-1e3) <= 0.0);
    }

    #[test]
    fn rows_match_the_f64_activation() {
        let xs: Vec<f32> = (0..4099).map(|i| (i as f32 * 0.37).sin() * 30.0).collect();
        let (a, b) = (0.7_f32, -0.4_f32);
        for act in [Act::Identity, Act::Relu, Act::Silu] {
            let mut out = vec![0.0; xs.len()];
            scale_shift_act(&xs, a, b, act, &mut out);
            for (&v, &o) in xs.iter().zip(&out) {
                let z = v * a + b;
                let want = act.apply(z as f64) as f32;
                // z / (1 + e) rounds twice more than the f64 formula.
                assert!(
                    ulps(o, want) <= 4 || (o - want).abs() < 1e-30,
                    "{act:?} {z}: {o} vs {want}"
                );
            }
        }
        let mut out = vec![0.0; 3];
        scale_shift_act(&[f32::NAN, -1.0, 1.0], 1.0, 0.0, Act::Relu, &mut out);
        assert!(out[0].is_nan() && out[1] == 0.0 && out[2] == 1.0);
    }

    #[test]
    fn gradient_rows_match_the_f64_slope_and_sums() {
        let xs: Vec<f32> = (0..1027).map(|i| (i as f32 * 0.37).sin() * 12.0).collect();
        let dy: Vec<f32> = (0..1027).map(|i| (i as f32 * 0.53).cos()).collect();
        let (a, b, m) = (0.7_f32, -0.4_f32, 0.25_f64);
        for act in [Act::Identity, Act::Relu, Act::Silu] {
            let mut out = vec![0.0; xs.len()];
            let (s_xc, s_dz) = act_grad(&xs, &dy, (a, b, m), act, &mut out);
            let (mut w_xc, mut w_dz) = (0.0, 0.0);
            for ((&x, &d), &o) in xs.iter().zip(&dy).zip(&out) {
                let z = (x * a + b) as f64;
                let want = d as f64 * act.slope(z);
                assert!(
                    (o as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()),
                    "{act:?} {z}"
                );
                w_xc += o as f64 * (x as f64 - m);
                w_dz += o as f64;
            }
            assert!(
                (s_xc - w_xc).abs() < 1e-9 * (1.0 + w_xc.abs()),
                "{act:?} Σ dz (x - m)"
            );
            assert!(
                (s_dz - w_dz).abs() < 1e-9 * (1.0 + w_dz.abs()),
                "{act:?} Σ dz"
            );
        }
    }

    #[test]
    fn lane_sum_adds_every_element_once() {
        for n in [0, 1, 7, 8, 9, 100] {
            let xs: Vec<f32> = (1..=n).map(|i| i as f32).collect();
            assert_eq!(lane_sum(&xs, |v| v as f64), (n * (n + 1) / 2) as f64);
        }
    }

    /// The AVX2 build and the portable one agree bit for bit.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_and_portable_builds_agree_bitwise() {
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("skipped: this CPU has no AVX2");
            return;
        }
        let xs: Vec<f32> = (0..10_007)
            .map(|i| (i as f32 * 0.11).cos() * 90.0)
            .collect();
        for act in [Act::Identity, Act::Relu, Act::Silu] {
            let (mut p, mut v) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
            rows(&xs, 1.3, 0.25, act, &mut p);
            // SAFETY: checked above.
            unsafe { scale_shift_act_avx2(&xs, 1.3, 0.25, act, &mut v) };
            let same = p.iter().zip(&v).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{act:?}");
            let dy: Vec<f32> = xs.iter().map(|x| (x * 0.3).sin()).collect();
            let abm = (1.3, 0.25, -0.5);
            let sp = grad_rows(&xs, &dy, abm, act, &mut p);
            // SAFETY: checked above.
            let sv = unsafe { act_grad_avx2(&xs, &dy, abm, act, &mut v) };
            let same = p.iter().zip(&v).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(
                same && sp.0.to_bits() == sv.0.to_bits() && sp.1 == sv.1,
                "{act:?} grad"
            );
        }
    }
}
