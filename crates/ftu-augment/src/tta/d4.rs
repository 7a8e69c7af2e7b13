//! The dihedral group D4: the eight symmetries of a square, acting on the two
//! spatial axes of an array. Each is a pure index permutation, so forward and
//! inverse are exact for any dtype and for non-square, odd or even sizes.

use std::str::FromStr;

use ndarray::{ArrayBase, Axis, Data, Dimension, RawData, ViewRepr};

use crate::error::AugmentError;

/// One element of D4. Rotations are counter-clockwise, as `numpy.rot90`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum D4 {
    /// Leave as is.
    Identity,
    /// Rotate 90° counter-clockwise: `out[i][j] = in[j][W-1-i]`.
    Rot90,
    /// Rotate 180°.
    Rot180,
    /// Rotate 270° counter-clockwise (90° clockwise).
    Rot270,
    /// Mirror left-right (flip the width axis).
    HFlip,
    /// Mirror top-bottom (flip the height axis).
    VFlip,
    /// Swap rows and columns: `out[i][j] = in[j][i]`.
    Transpose,
    /// Transpose about the other diagonal: `out[i][j] = in[H-1-j][W-1-i]`.
    AntiTranspose,
}

impl D4 {
    /// All eight elements, identity first.
    pub const ALL: [D4; 8] = [
        D4::Identity,
        D4::Rot90,
        D4::Rot180,
        D4::Rot270,
        D4::HFlip,
        D4::VFlip,
        D4::Transpose,
        D4::AntiTranspose,
    ];

    /// The element that undoes this one.
    pub fn inverse(self) -> D4 {
        match self {
            D4::Rot90 => D4::Rot270,
            D4::Rot270 => D4::Rot90,
            other => other,
        }
    }

    /// Whether this element swaps height and width.
    pub fn swaps_axes(self) -> bool {
        self.ops().2
    }

    /// Lowercase name, e.g. `rot90`, `hflip`.
    pub fn name(self) -> &'static str {
        match self {
            D4::Identity => "identity",
            D4::Rot90 => "rot90",
            D4::Rot180 => "rot180",
            D4::Rot270 => "rot270",
            D4::HFlip => "hflip",
            D4::VFlip => "vflip",
            D4::Transpose => "transpose",
            D4::AntiTranspose => "antitranspose",
        }
    }

    /// `(invert height axis, invert width axis, then swap the two)`.
    pub(crate) fn ops(self) -> (bool, bool, bool) {
        match self {
            D4::Identity => (false, false, false),
            D4::Rot90 => (false, true, true),
            D4::Rot180 => (true, true, false),
            D4::Rot270 => (true, false, true),
            D4::HFlip => (false, true, false),
            D4::VFlip => (true, false, false),
            D4::Transpose => (false, false, true),
            D4::AntiTranspose => (true, true, true),
        }
    }

    /// A zero-copy view of `a` with this symmetry applied to axes
    /// `(h_axis, w_axis)`. Use `.to_owned()` or `.as_standard_layout()` for
    /// a contiguous copy.
    pub fn view<S, A, D>(
        self,
        a: &ArrayBase<S, D>,
        h_axis: usize,
        w_axis: usize,
    ) -> ArrayBase<ViewRepr<&A>, D>
    where
        S: Data<Elem = A> + RawData,
        D: Dimension,
    {
        let (inv_h, inv_w, swap) = self.ops();
        let mut v = a.view();
        if inv_h {
            v.invert_axis(Axis(h_axis));
        }
        if inv_w {
            v.invert_axis(Axis(w_axis));
        }
        if swap {
            v.swap_axes(h_axis, w_axis);
        }
        v
    }
}

impl std::fmt::Display for D4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A named set of TTA views, as the recipe's inference config names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TtaSet {
    /// Identity only.
    None,
    /// Identity, horizontal flip, vertical flip, transpose (the recipe's TTA).
    #[default]
    Flips,
    /// All eight elements of D4.
    D4,
}

impl TtaSet {
    /// The group elements of this set, identity first.
    pub fn elements(self) -> &'static [D4] {
        match self {
            TtaSet::None => &[D4::Identity],
            TtaSet::Flips => &[D4::Identity, D4::HFlip, D4::VFlip, D4::Transpose],
            TtaSet::D4 => &D4::ALL,
        }
    }

    /// The set's name: `none`, `flips` or `d4`.
    pub fn name(self) -> &'static str {
        match self {
            TtaSet::None => "none",
            TtaSet::Flips => "flips",
            TtaSet::D4 => "d4",
        }
    }
}

impl FromStr for TtaSet {
    type Err = AugmentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" => Ok(TtaSet::None),
            "flips" => Ok(TtaSet::Flips),
            "d4" => Ok(TtaSet::D4),
            _ => Err(AugmentError::UnknownTtaSet(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, array};

    #[test]
    fn rotations_match_numpy_rot90() {
        let a = array![[1, 2, 3], [4, 5, 6]];
        assert_eq!(D4::Rot90.view(&a, 0, 1), array![[3, 6], [2, 5], [1, 4]]);
        assert_eq!(D4::Rot180.view(&a, 0, 1), array![[6, 5, 4], [3, 2, 1]]);
        assert_eq!(D4::Rot270.view(&a, 0, 1), array![[4, 1], [5, 2], [6, 3]]);
        assert_eq!(D4::HFlip.view(&a, 0, 1), array![[3, 2, 1], [6, 5, 4]]);
        assert_eq!(D4::VFlip.view(&a, 0, 1), array![[4, 5, 6], [1, 2, 3]]);
        assert_eq!(D4::Transpose.view(&a, 0, 1), array![[1, 4], [2, 5], [3, 6]]);
        assert_eq!(
            D4::AntiTranspose.view(&a, 0, 1),
            array![[6, 3], [5, 2], [4, 1]]
        );
    }

    #[test]
    fn eight_distinct_elements_each_inverted_exactly() {
        let a = Array2::from_shape_fn((3, 5), |(i, j)| i * 5 + j);
        let mut seen = Vec::new();
        for g in D4::ALL {
            let fwd = g.view(&a, 0, 1).to_owned();
            assert!(!seen.contains(&fwd), "{g} duplicates another element");
            let back = g.inverse().view(&fwd, 0, 1).to_owned();
            assert_eq!(back, a, "{g}");
            assert_eq!(fwd.dim().0 == 5, g.swaps_axes());
            seen.push(fwd);
        }
    }

    #[test]
    fn tta_sets_parse_and_list() {
        assert_eq!("flips".parse::<TtaSet>().unwrap().elements().len(), 4);
        assert_eq!("D4".parse::<TtaSet>().unwrap().elements().len(), 8);
        assert_eq!(
            "none".parse::<TtaSet>().unwrap().elements(),
            &[D4::Identity]
        );
        let err = "rot".parse::<TtaSet>().unwrap_err().to_string();
        assert!(err.contains("`rot`"), "{err}");
        for s in [TtaSet::None, TtaSet::Flips, TtaSet::D4] {
            assert_eq!(s.name().parse::<TtaSet>().unwrap(), s);
        }
    }
}
