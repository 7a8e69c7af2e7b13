//! Where a feature vector lands in the permutohedral lattice: the `d + 1`
//! vertices of its enclosing simplex and its barycentric weights
//! (Adams, Baek & Davis 2010, section 3.1).
//!
//! The arithmetic follows DenseCRF v2's `Permutohedral::init` as compiled on
//! x86-64 (its SSE branch) operation by operation, in `f32`, so that both
//! build the same lattice from the same features.

// Index loops mirror the paper's and DenseCRF's formulas over several arrays.
#![allow(clippy::needless_range_loop)]

/// Largest feature dimension supported (the bilateral term uses 5).
pub(crate) const MAX_D: usize = 5;
/// Bits per packed key coordinate: `MAX_D * FIELD_BITS <= 128`.
pub(crate) const FIELD_BITS: u32 = 25;
const BIAS: i64 = 1 << (FIELD_BITS - 1);
/// Largest key-coordinate magnitude; the margin keeps neighbour keys
/// (coordinates within ±d) inside their fields.
pub(crate) const KEY_LIMIT: i64 = BIAS - 64;

/// Per-dimension scale of the elevation matrix `E` (paper p. 5), times the
/// inverse of the filter's expected standard deviation (paper p. 6).
pub(crate) fn scale_factors<const D: usize>() -> [f32; D] {
    // DenseCRF computes this in double and stores float.
    let inv_std_dev = ((2.0f64 / 3.0).sqrt() * (D as f64 + 1.0)) as f32;
    std::array::from_fn(|i| (1.0 / (((i + 2) * (i + 1)) as f64).sqrt() * inv_std_dev as f64) as f32)
}

/// Packs the first `D` coordinates of a key; each field holds `coordinate + BIAS`.
#[inline(always)]
fn pack<const D: usize>(coords: &[i64; MAX_D]) -> u128 {
    let mut packed = 0u128;
    for (i, &c) in coords.iter().enumerate().take(D) {
        packed |= ((c + BIAS) as u128) << (FIELD_BITS * i as u32);
    }
    packed
}

/// Unpacks the first `D` coordinates (for tests and diagnostics).
#[cfg(test)]
pub(crate) fn unpack<const D: usize>(packed: u128) -> [i64; D] {
    let mask = (1u128 << FIELD_BITS) - 1;
    std::array::from_fn(|i| ((packed >> (FIELD_BITS * i as u32)) & mask) as i64 - BIAS)
}

/// The packed-key offsets of the two blur neighbours along lattice axis `j`
/// (`0..=D`): `key + n1` and `key + n2` wrap correctly because fields never
/// borrow or carry (coordinates stay within `KEY_LIMIT`).
pub(crate) fn neighbour_offsets<const D: usize>(j: usize) -> (u128, u128) {
    let ones: u128 = (0..D).map(|i| 1u128 << (FIELD_BITS * i as u32)).sum();
    // n1: every coordinate - 1 except axis j, which gets + d (DenseCRF's
    // `n1[k] = key[k] - 1; n1[j] = key[j] + d`); n2 is the mirror.
    let step = if j < D {
        ((D as u128) + 1) << (FIELD_BITS * j as u32)
    } else {
        0
    };
    let n1 = step.wrapping_sub(ones);
    let n2 = ones.wrapping_sub(step);
    (n1, n2)
}

/// The enclosing simplex of one feature vector.
#[derive(Clone, Copy)]
pub(crate) struct Simplex {
    /// The 0-coloured vertex (coordinates `0..=D`; multiples of `D + 1`).
    pub rem0: [i32; MAX_D + 1],
    /// Rank of each coordinate's remainder; with `rem0` it names the simplex.
    pub rank: [u8; MAX_D + 1],
    /// Barycentric weights of the vertices `0..=D`.
    pub weights: [f32; MAX_D + 1],
}

/// Inputs beyond this magnitude cannot be rounded with [`round_even`].
const ROUND_LIMIT: f32 = (1 << 22) as f32;

/// Round to nearest, ties to even, without a libm call: adding and removing
/// `1.5 * 2^23` leaves the integer part under the default rounding mode
/// (valid for `|x| < 2^22`). Matches the SSE conversion DenseCRF uses.
#[inline(always)]
fn round_even(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0;
    (x + MAGIC) - MAGIC
}

/// Embeds `feature` (already divided by the kernel widths) into the lattice.
///
/// Returns `Err(coordinate)` when a coordinate is beyond the key range.
#[inline(always)]
pub(crate) fn embed<const D: usize>(feature: &[f32; D], scale: &[f32; D]) -> Result<Simplex, i64> {
    let mut elevated = [0f32; MAX_D + 1];
    let mut sm = 0f32;
    for j in (1..=D).rev() {
        let cf = feature[j - 1] * scale[j - 1];
        elevated[j] = sm - j as f32 * cf;
        sm += cf;
    }
    elevated[0] = sm;

    // The nearest 0-coloured lattice point: round each coordinate to a
    // multiple of d + 1 (ties to even, as the SSE build rounds).
    let down_factor = 1.0f32 / (D as f32 + 1.0);
    let up_factor = (D + 1) as f32;
    let mut rem0 = [0f32; MAX_D + 1];
    let mut sum = 0f32;
    for i in 0..=D {
        let v = down_factor * elevated[i];
        if v.is_nan() || v.abs() >= ROUND_LIMIT {
            return Err(if v.is_finite() { v as i64 } else { i64::MAX });
        }
        let v = round_even(v);
        rem0[i] = v * up_factor;
        sum += v;
    }

    // Rank of each coordinate's remainder: which simplex we are in
    // (branch-free: the comparisons are data-dependent coin flips).
    let mut rank = [0i32; MAX_D + 1];
    for i in 0..D {
        let di = elevated[i] - rem0[i];
        for j in i + 1..=D {
            let less = i32::from(di < elevated[j] - rem0[j]);
            rank[i] += less;
            rank[j] += 1 - less;
        }
    }
    // Bring the point back onto the plane x . 1 = 0 if rounding moved it
    // (`sum` is integer-valued).
    let sum = sum as i32;
    let dp1 = D as i32 + 1;
    for i in 0..=D {
        rank[i] += sum;
        if rank[i] < 0 {
            rank[i] += dp1;
            rem0[i] += up_factor;
        } else if rank[i] >= dp1 {
            rank[i] -= dp1;
            rem0[i] -= up_factor;
        }
    }

    // Barycentric coordinates (paper p. 10).
    let mut bary = [0f32; MAX_D + 2];
    let mut out = Simplex {
        rem0: [0; MAX_D + 1],
        rank: [0; MAX_D + 1],
        weights: [0.0; MAX_D + 1],
    };
    for i in 0..=D {
        let v = (elevated[i] - rem0[i]) * down_factor;
        let r = (rank[i] as usize).min(D);
        bary[D - r] += v;
        bary[D - r + 1] -= v;
        out.rank[i] = r as u8;
        out.rem0[i] = rem0[i] as i32;
    }
    bary[0] += 1.0 + bary[D + 1];
    out.weights[..=D].copy_from_slice(&bary[..=D]);
    Ok(out)
}

impl Simplex {
    /// Whether `other` is the same simplex (same vertices, any weights).
    #[inline(always)]
    pub(crate) fn same_vertices(&self, other: &Simplex) -> bool {
        // Entries beyond D are zero in both: compare whole arrays (no memcmp call).
        self.rem0 == other.rem0 && self.rank == other.rank
    }

    /// Packed keys of the `D + 1` vertices; `Err(coordinate)` when one is
    /// beyond [`KEY_LIMIT`].
    #[inline(always)]
    pub(crate) fn keys<const D: usize>(&self) -> Result<[u128; MAX_D + 1], i64> {
        let mut keys = [0u128; MAX_D + 1];
        let mut coords = [0i64; MAX_D];
        for (remainder, key) in keys.iter_mut().enumerate().take(D + 1) {
            for i in 0..D {
                // The canonical simplex: vertex `remainder` has coordinate
                // `remainder` where rank <= d - remainder, else remainder - (d+1).
                let canonical = if self.rank[i] as usize <= D - remainder {
                    remainder as i64
                } else {
                    remainder as i64 - (D as i64 + 1)
                };
                let c = self.rem0[i] as i64 + canonical;
                if c.abs() > KEY_LIMIT {
                    return Err(c);
                }
                coords[i] = c;
            }
            *key = pack::<D>(&coords);
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_and_vertices_are_lattice_points() {
        let scale = scale_factors::<5>();
        for k in 0..200 {
            let t = k as f32 * 0.37;
            let f = [t.sin() * 9.0, t * 0.5, 3.0 - t, (t * 1.7).cos(), t * 0.01];
            let s = embed::<5>(&f, &scale).unwrap();
            let total: f32 = s.weights[..6].iter().sum();
            assert!((total - 1.0).abs() < 1e-4, "weights sum {total}");
            assert!(s.weights[..6].iter().all(|&w| w > -1e-5));
            for &key in &s.keys::<5>().unwrap()[..6] {
                // A lattice point of A*_d: all coordinates congruent mod d+1
                // (the implicit last one is minus their sum).
                let c = unpack::<5>(key);
                let last = -c.iter().sum::<i64>();
                let r = last.rem_euclid(6);
                assert!(c.iter().all(|&x| x.rem_euclid(6) == r), "{c:?}");
            }
        }
    }

    #[test]
    fn neighbour_offsets_move_along_one_axis() {
        let coords = [10i64, -4, 7, 0, 2];
        let key = pack::<5>(&coords);
        for j in 0..=5 {
            let (n1, n2) = neighbour_offsets::<5>(j);
            let a = unpack::<5>(key.wrapping_add(n1));
            let b = unpack::<5>(key.wrapping_add(n2));
            for i in 0..5 {
                let e1 = if i == j { coords[i] + 5 } else { coords[i] - 1 };
                let e2 = if i == j { coords[i] - 5 } else { coords[i] + 1 };
                assert_eq!((a[i], b[i]), (e1, e2), "axis {j} coord {i}");
            }
        }
    }

    #[test]
    fn out_of_range_features_are_reported() {
        let scale = scale_factors::<2>();
        assert!(embed::<2>(&[1.0e8, 0.0], &scale).is_err());
        // Rounds fine but lands beyond the packed key range.
        let far = embed::<5>(&[6.0e6, 0.0, 0.0, 0.0, 0.0], &scale_factors::<5>()).unwrap();
        assert!(far.keys::<5>().is_err());
        assert!(embed::<2>(&[f32::NAN, 0.0], &scale).is_err());
    }
}
