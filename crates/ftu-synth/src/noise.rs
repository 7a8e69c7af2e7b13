//! Position-pure randomness: integer hashes and value noise.
//!
//! Every pixel value is a function of its absolute slide coordinates and the
//! slide seed only, so any window renders identically whichever tile or
//! region asks for it (the TIFF and `SlideGenerator::region` agree bit for
//! bit).

/// SplitMix64 finaliser: a fast, well-mixed 64-bit hash.
#[inline]
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a seed and a 2-D lattice index.
#[inline]
pub(crate) fn hash2(seed: u64, i: i64, j: i64) -> u64 {
    mix(seed ^ mix((i as u64).wrapping_mul(0x632B_E59B_D9B4_E019) ^ (j as u64).rotate_left(32)))
}

/// Uniform in [0, 1) from the top 24 bits of a hash.
#[inline]
pub(crate) fn unit(h: u64) -> f32 {
    (h >> 40) as f32 * (1.0 / 16_777_216.0)
}

/// A second independent uniform from the same hash (bits 16..40).
#[inline]
pub(crate) fn unit2(h: u64) -> f32 {
    ((h >> 16) & 0xFF_FFFF) as f32 * (1.0 / 16_777_216.0)
}

/// Roughly Gaussian (sum of two uniforms, triangular), mean 0, sd ~1.
#[inline]
pub(crate) fn tri(h: u64) -> f32 {
    (unit(h) + unit2(h) - 1.0) * 2.449
}

/// `floor` as an integer, without the libm call `f32::floor` becomes on
/// targets lacking SSE4.1 (it sat at the top of the profile). Exact for
/// |x| < 2^23, far beyond any slide coordinate.
#[inline]
pub(crate) fn floor_i(x: f32) -> i64 {
    let i = x as i64;
    if (i as f32) > x { i - 1 } else { i }
}

/// Side of the periodic lattice table behind [`value`].
const TABLE: usize = 256;

/// Uniform lattice values, shared by every slide: value noise reads four of
/// them instead of hashing four lattice points (the textures are the inner
/// loop of rendering). Each use shifts into the table by an offset hashed
/// from its seed, so slides and textures differ.
fn table() -> &'static [f32] {
    static TABLE_VALUES: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE_VALUES.get_or_init(|| {
        (0..TABLE * TABLE)
            .map(|k| unit(mix(0x7AB1E ^ k as u64)))
            .collect()
    })
}

/// Smooth value noise in [0, 1] with lattice spacing `scale` pixels; the
/// pattern repeats every 256 lattice cells.
#[inline(always)]
pub(crate) fn value(seed: u64, x: f32, y: f32, scale: f32) -> f32 {
    let (fx, fy) = (x / scale, y / scale);
    let (ix, iy) = (floor_i(fx), floor_i(fy));
    let (tx, ty) = (fx - ix as f32, fy - iy as f32);
    let (sx, sy) = (tx * tx * (3.0 - 2.0 * tx), ty * ty * (3.0 - 2.0 * ty));
    let shift = mix(seed);
    let i = ix.wrapping_add(shift as i64) as usize;
    let j = iy.wrapping_add((shift >> 32) as i64) as usize;
    let (i0, i1) = (i % TABLE, (i + 1) % TABLE);
    let (r0, r1) = ((j % TABLE) * TABLE, ((j + 1) % TABLE) * TABLE);
    let t = table();
    let (a, b, c, d) = (t[r0 + i0], t[r0 + i1], t[r1 + i0], t[r1 + i1]);
    let top = a + (b - a) * sx;
    let bottom = c + (d - c) * sx;
    top + (bottom - top) * sy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_noise_is_bounded_continuous_and_seeded() {
        let mut prev = value(7, 0.0, 3.0, 10.0);
        for k in 1..2000 {
            let x = k as f32 * 0.05;
            let v = value(7, x, 3.0, 10.0);
            assert!((0.0..=1.0).contains(&v));
            assert!((v - prev).abs() < 0.05, "jump at {x}");
            prev = v;
        }
        assert_ne!(value(7, 5.5, 5.5, 10.0), value(8, 5.5, 5.5, 10.0));
    }

    #[test]
    fn floor_i_matches_floor() {
        for k in -2000..2000 {
            let x = k as f32 * 0.37;
            assert_eq!(floor_i(x), x.floor() as i64, "{x}");
        }
        assert_eq!(floor_i(-3.0), -3);
        assert_eq!(floor_i(-0.5), -1);
    }

    #[test]
    fn uniforms_cover_the_unit_interval() {
        let (mut lo, mut hi, mut sum) = (1.0f32, 0.0f32, 0.0f64);
        for k in 0..10_000 {
            let u = unit(hash2(1, k, -k));
            lo = lo.min(u);
            hi = hi.max(u);
            sum += u as f64;
        }
        assert!(lo < 0.01 && hi > 0.99);
        assert!((sum / 10_000.0 - 0.5).abs() < 0.02);
    }
}
