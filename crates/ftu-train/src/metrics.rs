//! Validation Dice, global over the fold: every validation pixel of every
//! tile counts once, `Dice = 2 |P ∩ T| / (|P| + |T|)` with `P` the pixels
//! whose probability is at least the threshold and `T` the labelled ones
//! (1 when both are empty). Unlike a mean of per-tile Dice, empty tiles
//! neither dominate nor vanish; it is the Dice of the stitched fold.

/// Running counts for several thresholds at once.
#[derive(Clone, Debug)]
pub struct DiceAccumulator {
    thresholds: Vec<f64>,
    /// Per threshold: predicted-positive pixels, and true positives.
    predicted: Vec<u64>,
    hits: Vec<u64>,
    truth: u64,
}

impl DiceAccumulator {
    /// Counts for `thresholds` (probabilities in `[0, 1]`).
    pub fn new(thresholds: &[f64]) -> Self {
        Self {
            thresholds: thresholds.to_vec(),
            predicted: vec![0; thresholds.len()],
            hits: vec![0; thresholds.len()],
            truth: 0,
        }
    }

    /// Adds probabilities and their 0/1 (or nonzero) labels.
    pub fn add(&mut self, probs: &[f32], truth: &[f32]) {
        assert_eq!(probs.len(), truth.len(), "one label per probability");
        // Sorting thresholds once would save little: grids are ~20 long.
        for (&p, &t) in probs.iter().zip(truth) {
            let positive = t > 0.5;
            self.truth += u64::from(positive);
            for (k, &th) in self.thresholds.iter().enumerate() {
                if p as f64 >= th {
                    self.predicted[k] += 1;
                    self.hits[k] += u64::from(positive);
                }
            }
        }
    }

    /// Dice at each threshold, in the order given.
    pub fn dice(&self) -> Vec<f64> {
        self.predicted
            .iter()
            .zip(&self.hits)
            .map(|(&p, &h)| {
                let denom = p + self.truth;
                if denom == 0 {
                    1.0
                } else {
                    2.0 * h as f64 / denom as f64
                }
            })
            .collect()
    }

    /// The best (threshold, Dice); the lowest threshold wins ties.
    pub fn best(&self) -> (f64, f64) {
        Self::best_of(&self.thresholds, &self.dice()).expect("at least one threshold")
    }

    /// The best (threshold, Dice) of paired lists; `None` when empty.
    pub fn best_of(thresholds: &[f64], dice: &[f64]) -> Option<(f64, f64)> {
        let mut pairs = thresholds.iter().copied().zip(dice.iter().copied());
        let first = pairs.next()?;
        Some(pairs.fold(first, |best, p| if p.1 > best.1 { p } else { best }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_dice_by_hand() {
        let mut acc = DiceAccumulator::new(&[0.4, 0.6]);
        // Tile 1: probs .5 .7 .1 over truth 1 1 0; tile 2: .45 over 0.
        acc.add(&[0.5, 0.7, 0.1], &[1.0, 1.0, 0.0]);
        acc.add(&[0.45], &[0.0]);
        // At 0.4: P = {.5, .7, .45} (3), hits 2, T = 2: 4 / 5.
        // At 0.6: P = {.7}, hits 1: 2 / 3.
        let d = acc.dice();
        assert!((d[0] - 0.8).abs() < 1e-12 && (d[1] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(acc.best(), (0.4, d[0]));
        let empty = DiceAccumulator::new(&[0.5]);
        assert_eq!(empty.dice(), vec![1.0]);
    }
}
