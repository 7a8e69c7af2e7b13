//! Seeded batch plans: which tiles make up batch `b` of epoch `e` is a pure
//! function of (seed, epoch, b), so a resumed run draws exactly the batches
//! an uninterrupted one would.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::config::Sampling;

/// The batches of one epoch, as indices into the tile set.
///
/// `train` are the candidate tiles and `positive[i]` says whether tile
/// `train[i]` holds glomerulus pixels. Without `steps`, an epoch is
/// `max(1, len / batch)` batches (the last partial batch is dropped: a
/// batch of one breaks batch norm); with it, tiles are cycled as needed.
pub fn epoch_batches(
    train: &[usize],
    positive: &[bool],
    sampling: Sampling,
    batch: usize,
    steps: Option<usize>,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    assert_eq!(train.len(), positive.len(), "one flag per tile");
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5A3D_1E5B_47C1_0F2D);
    rng.set_stream(epoch as u64);
    let steps = steps.unwrap_or((train.len() / batch).max(1));
    let cycle = |list: &[usize], k: usize| list[k % list.len()];
    match sampling {
        Sampling::All => {
            let mut order = train.to_vec();
            order.shuffle(&mut rng);
            (0..steps)
                .map(|b| (0..batch).map(|i| cycle(&order, b * batch + i)).collect())
                .collect()
        }
        Sampling::Balanced { positive_fraction } => {
            let (mut pos, mut neg): (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
            for (&t, &p) in train.iter().zip(positive) {
                if p { pos.push(t) } else { neg.push(t) }
            }
            pos.shuffle(&mut rng);
            neg.shuffle(&mut rng);
            let mut n_pos = (positive_fraction * batch as f64).round() as usize;
            if neg.is_empty() {
                n_pos = batch;
            } else if pos.is_empty() {
                n_pos = 0;
            }
            let n_neg = batch - n_pos;
            (0..steps)
                .map(|b| {
                    let mut out: Vec<usize> =
                        (0..n_pos).map(|i| cycle(&pos, b * n_pos + i)).collect();
                    out.extend((0..n_neg).map(|i| cycle(&neg, b * n_neg + i)));
                    out
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_covers_every_tile_once_and_is_reproducible() {
        let train: Vec<usize> = (10..30).collect();
        let flags = vec![false; 20];
        let a = epoch_batches(&train, &flags, Sampling::All, 4, None, 7, 3);
        assert_eq!(a.len(), 5);
        let mut seen: Vec<usize> = a.concat();
        seen.sort();
        assert_eq!(seen, train);
        assert_eq!(
            a,
            epoch_batches(&train, &flags, Sampling::All, 4, None, 7, 3)
        );
        assert_ne!(
            a,
            epoch_batches(&train, &flags, Sampling::All, 4, None, 7, 4)
        );
        assert_ne!(
            a,
            epoch_batches(&train, &flags, Sampling::All, 4, None, 8, 3)
        );
        // More steps than data: tiles cycle.
        assert_eq!(
            epoch_batches(&train, &flags, Sampling::All, 4, Some(7), 7, 3).len(),
            7
        );
    }

    #[test]
    fn balanced_batches_hold_the_asked_share() {
        let train: Vec<usize> = (0..40).collect();
        let flags: Vec<bool> = (0..40).map(|i| i % 10 == 0).collect(); // 4 positives
        let s = Sampling::Balanced {
            positive_fraction: 0.5,
        };
        let batches = epoch_batches(&train, &flags, s, 8, Some(6), 1, 0);
        for b in &batches {
            assert_eq!(b.iter().filter(|&&t| flags[t]).count(), 4, "{b:?}");
        }
        // No positives at all: negatives only, no panic.
        let none = vec![false; 40];
        assert!(
            epoch_batches(&train, &none, s, 8, None, 1, 0)
                .concat()
                .len()
                == 40
        );
    }
}
