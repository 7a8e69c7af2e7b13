//! Per-slide appearance: stain colours (Beer–Lambert), blur and noise.

use rand::Rng;

/// Hematoxylin-like nuclear stain and PAS magenta, as optical densities per
/// RGB channel at unit concentration, plus the glass colour and the optics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stain {
    /// Light through bare glass (the pale lavender background), RGB.
    pub glass: [f32; 3],
    /// Optical density of the nuclear stain per channel.
    pub od_nuclear: [f32; 3],
    /// Optical density of PAS per channel.
    pub od_pas: [f32; 3],
    /// Gaussian blur sigma in pixels (focus).
    pub blur_sigma: f32,
    /// Sensor noise standard deviation in 8-bit levels.
    pub noise_sd: f32,
}

impl Stain {
    /// Colours measured on the real HuBMAP PAS tiles (glass ~(218, 213, 220),
    /// tissue median ~(163, 121, 185), bluish nuclei ~(119, 100, 161),
    /// magenta membranes ~(127, 66, 153)), jittered per slide.
    pub fn random(rng: &mut impl Rng) -> Stain {
        let mut jit = |v: f32, rel: f32| v * (1.0 + rel * (rng.random::<f32>() * 2.0 - 1.0));
        let glass = [jit(218.0, 0.02), jit(213.0, 0.02), jit(221.0, 0.015)];
        let strength = jit(1.0, 0.15);
        let od_nuclear = [
            jit(0.74, 0.12) * strength,
            jit(0.86, 0.12) * strength,
            jit(0.36, 0.15) * strength,
        ];
        let od_pas = [
            jit(0.55, 0.15) * strength,
            jit(1.5, 0.1) * strength,
            jit(0.36, 0.15) * strength,
        ];
        let blur_sigma = jit(0.9, 0.45);
        let noise_sd = jit(2.8, 0.45);
        Stain {
            glass,
            od_nuclear,
            od_pas,
            blur_sigma,
            noise_sd,
        }
    }

    /// Normalised Gaussian taps for the blur, radius `ceil(2.5 sigma)`.
    pub fn blur_kernel(&self) -> Vec<f32> {
        let radius = (2.5 * self.blur_sigma).ceil().max(0.0) as i32;
        let taps: Vec<f32> = (-radius..=radius)
            .map(|i| (-(i * i) as f32 / (2.0 * self.blur_sigma * self.blur_sigma)).exp())
            .collect();
        let sum: f32 = taps.iter().sum();
        taps.into_iter().map(|t| t / sum).collect()
    }
}

/// `exp(-od)` tabulated at 1/256 steps: the colour conversion is the inner
/// loop of every pixel, and a table keeps it a few multiplies.
pub(crate) struct Transmission {
    table: Vec<f32>,
}

impl Transmission {
    const STEPS: f32 = 256.0;
    const MAX_OD: f32 = 8.0;

    pub fn new() -> Self {
        let n = (Self::MAX_OD * Self::STEPS) as usize + 1;
        Transmission {
            table: (0..n).map(|i| (-(i as f32) / Self::STEPS).exp()).collect(),
        }
    }

    #[inline]
    pub fn of(&self, od: f32) -> f32 {
        // `as usize` saturates negatives to 0; min keeps the index in range.
        let i = ((od * Self::STEPS + 0.5) as usize).min(self.table.len() - 1);
        self.table[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn kernel_is_normalised_and_symmetric() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let s = Stain::random(&mut rng);
        let k = s.blur_kernel();
        assert!((k.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(k.len() % 2, 1);
        for i in 0..k.len() / 2 {
            assert_eq!(k[i], k[k.len() - 1 - i]);
        }
    }

    #[test]
    fn transmission_table_tracks_exp() {
        let t = Transmission::new();
        for i in 0..100 {
            let od = i as f32 * 0.05;
            assert!((t.of(od) - (-od).exp()).abs() < 0.003);
        }
        assert_eq!(t.of(-1.0), 1.0);
    }
}
