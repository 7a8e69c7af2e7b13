//! Hue / saturation / value shift.

use ndarray::{Array2, Array3};
use rand::RngCore;
use serde::Deserialize;

use super::map_rgb;
use crate::error::Result;
use crate::transform::{Transform, check_in, check_pair, round_u8, symmetric};

/// Shifts hue (degrees, wrapping), saturation and value (both in 0..255
/// units, clamped), like albumentations' `HueSaturationValue`. Note the hue
/// unit: albumentations counts OpenCV half-degrees, so its `hue_shift_limit=10`
/// is `20.0` here.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HueSaturationValue {
    /// Largest hue shift, in degrees.
    pub hue_shift_limit: f32,
    /// Largest saturation shift, in 0..255 units.
    pub sat_shift_limit: f32,
    /// Largest value shift, in 0..255 units.
    pub val_shift_limit: f32,
}

impl Default for HueSaturationValue {
    /// The recipe's `HueSaturationValue(10, 15, 10)` in these units.
    fn default() -> Self {
        Self {
            hue_shift_limit: 20.0,
            sat_shift_limit: 15.0,
            val_shift_limit: 10.0,
        }
    }
}

/// `1 / i` for `i` in `1..=255` (0 for 0): channel values are integers, so
/// the two divisions per pixel become lookups.
const RECIPROCAL: [f32; 256] = {
    let mut t = [0.0; 256];
    let mut i = 1;
    while i < 256 {
        t[i] = 1.0 / i as f32;
        i += 1;
    }
    t
};

/// RGB to (hue degrees in `[0, 360)`, saturation 0..255, value 0..255).
/// All three hue candidates are computed and one selected, so the compiler
/// can use conditional moves instead of unpredictable branches.
#[inline]
fn rgb_to_hsv(r: u8, g: u8, b: u8) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let c = max - r.min(g).min(b);
    let s = 255.0 * c as f32 * RECIPROCAL[max as usize];
    let k = 60.0 * RECIPROCAL[c as usize];
    let (rf, gf, bf) = (r as f32, g as f32, b as f32);
    let hr = (gf - bf) * k;
    let hg = (bf - rf) * k + 120.0;
    let hb = (rf - gf) * k + 240.0;
    // c == 0 gives k == 0, hence hr == 0: grey has hue 0.
    let h = if max == r {
        hr
    } else if max == g {
        hg
    } else {
        hb
    };
    (if h < 0.0 { h + 360.0 } else { h }, s, max as f32)
}

/// (hue degrees in `[0, 360)`, saturation, value) back to RGB, by the
/// branch-free form `v - c * clamp(min(k, 4 - k), 0, 1)` with
/// `k = (n + h / 60) mod 6` for `n` = 5, 3, 1.
#[inline]
fn hsv_to_rgb(h: f32, s: f32, v: f32) -> (f32, f32, f32) {
    let c = v * s * (1.0 / 255.0);
    let h6 = h * (1.0 / 60.0);
    let channel = |n: f32| {
        let k = n + h6;
        let k = if k >= 6.0 { k - 6.0 } else { k };
        v - c * k.min(4.0 - k).clamp(0.0, 1.0)
    };
    (channel(5.0), channel(3.0), channel(1.0))
}

impl Transform for HueSaturationValue {
    fn name(&self) -> &'static str {
        "hue_saturation_value"
    }

    fn validate(&self) -> Result<()> {
        check_in(
            self.name(),
            "hue_shift_limit",
            self.hue_shift_limit,
            0.0,
            180.0,
        )?;
        check_in(
            self.name(),
            "sat_shift_limit",
            self.sat_shift_limit,
            0.0,
            255.0,
        )?;
        check_in(
            self.name(),
            "val_shift_limit",
            self.val_shift_limit,
            0.0,
            255.0,
        )
    }

    fn apply(
        &self,
        image: &mut Array3<u8>,
        mask: &mut Array2<u8>,
        rng: &mut dyn RngCore,
    ) -> Result<()> {
        check_pair(self.name(), image, mask)?;
        let dh = symmetric(rng, self.hue_shift_limit);
        let ds = symmetric(rng, self.sat_shift_limit);
        let dv = symmetric(rng, self.val_shift_limit);
        map_rgb(image, |[r, g, b]| {
            let (h, s, v) = rgb_to_hsv(r, g, b);
            // h + dh lies in (-180, 540): one wrap either way suffices.
            let h = h + dh;
            let h = if h >= 360.0 {
                h - 360.0
            } else if h < 0.0 {
                h + 360.0
            } else {
                h
            };
            let s = (s + ds).clamp(0.0, 255.0);
            let v = (v + dv).clamp(0.0, 255.0);
            let (r, g, b) = hsv_to_rgb(h, s, v);
            [round_u8(r), round_u8(g), round_u8(b)]
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_round_trip_is_exact_after_rounding() {
        for r in (0..=255u8).step_by(15) {
            for g in (0..=255u8).step_by(17) {
                for b in (0..=255u8).step_by(51) {
                    let (h, s, v) = rgb_to_hsv(r, g, b);
                    let (r2, g2, b2) = hsv_to_rgb(h, s, v);
                    assert_eq!(
                        ((r2 + 0.5) as u8, (g2 + 0.5) as u8, (b2 + 0.5) as u8),
                        (r, g, b)
                    );
                }
            }
        }
    }

    #[test]
    fn hue_of_primaries() {
        assert_eq!(rgb_to_hsv(255, 0, 0).0, 0.0);
        assert_eq!(rgb_to_hsv(0, 255, 0).0, 120.0);
        assert_eq!(rgb_to_hsv(0, 0, 255).0, 240.0);
        for (h, want) in [
            (0.0, [255.0, 0.0, 0.0]),
            (60.0, [255.0, 255.0, 0.0]),
            (120.0, [0.0, 255.0, 0.0]),
            (180.0, [0.0, 255.0, 255.0]),
            (240.0, [0.0, 0.0, 255.0]),
            (300.0, [255.0, 0.0, 255.0]),
            (30.0, [255.0, 127.5, 0.0]),
        ] {
            let (r, g, b) = hsv_to_rgb(h, 255.0, 255.0);
            for (got, want) in [r, g, b].into_iter().zip(want) {
                assert!((got - want).abs() < 1e-3, "hue {h}: {got} vs {want}");
            }
        }
    }
}
