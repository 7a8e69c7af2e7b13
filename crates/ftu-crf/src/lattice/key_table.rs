//! Open-addressing hash table from packed lattice keys to dense vertex indices.
//!
//! Vertices are numbered in insertion order, so a table filled in a fixed
//! order always gives the same numbering (determinism does not depend on the
//! hash function or the capacity).

/// One slot: the packed key split in two words, and the vertex index
/// (`EMPTY` when the slot is free).
#[derive(Clone, Copy)]
struct Slot {
    lo: u64,
    hi: u64,
    index: u32,
}

const EMPTY: u32 = u32::MAX;

/// A grow-only map `u128 key -> u32 index` with indices `0..len` in insertion order.
pub(crate) struct KeyTable {
    slots: Vec<Slot>,
    /// Number of hash bits: capacity is `1 << bits`.
    bits: u32,
    keys: Vec<u128>,
}

impl KeyTable {
    /// A table expected to hold about `expected` keys (it grows if needed).
    pub(crate) fn with_expected(expected: usize) -> Self {
        let bits = (expected.max(8) * 2).next_power_of_two().trailing_zeros();
        Self {
            slots: vec![
                Slot {
                    lo: 0,
                    hi: 0,
                    index: EMPTY
                };
                1 << bits
            ],
            bits,
            keys: Vec::with_capacity(expected),
        }
    }

    /// Keys in insertion order: `keys()[i]` has index `i`.
    pub(crate) fn keys(&self) -> &[u128] {
        &self.keys
    }

    pub(crate) fn into_keys(self) -> Vec<u128> {
        self.keys
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline(always)]
    fn home(&self, lo: u64, hi: u64) -> usize {
        // Multiplicative (Fibonacci) hashing; the top bits mix every key bit.
        let h = (lo ^ hi.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
        (h >> (64 - self.bits)) as usize
    }

    /// Index of `key`, if present.
    #[inline]
    pub(crate) fn find(&self, key: u128) -> Option<u32> {
        let (lo, hi) = (key as u64, (key >> 64) as u64);
        let mask = self.slots.len() - 1;
        let mut at = self.home(lo, hi);
        loop {
            let slot = &self.slots[at];
            if slot.index == EMPTY {
                return None;
            }
            if slot.lo == lo && slot.hi == hi {
                return Some(slot.index);
            }
            at = (at + 1) & mask;
        }
    }

    /// Index of `key`, inserting it with the next free index if absent.
    #[inline]
    pub(crate) fn insert(&mut self, key: u128) -> u32 {
        let (lo, hi) = (key as u64, (key >> 64) as u64);
        let mask = self.slots.len() - 1;
        let mut at = self.home(lo, hi);
        loop {
            let slot = self.slots[at];
            if slot.index == EMPTY {
                break;
            }
            if slot.lo == lo && slot.hi == hi {
                return slot.index;
            }
            at = (at + 1) & mask;
        }
        let index = self.keys.len() as u32;
        self.keys.push(key);
        self.slots[at] = Slot { lo, hi, index };
        // Keep the load factor at most 1/2 so probe runs stay short.
        if self.keys.len() * 2 > self.slots.len() {
            self.grow();
        }
        index
    }

    fn grow(&mut self) {
        self.bits += 1;
        self.slots = vec![
            Slot {
                lo: 0,
                hi: 0,
                index: EMPTY
            };
            1 << self.bits
        ];
        let mask = self.slots.len() - 1;
        for (index, &key) in self.keys.iter().enumerate() {
            let (lo, hi) = (key as u64, (key >> 64) as u64);
            let mut at = self.home(lo, hi);
            while self.slots[at].index != EMPTY {
                at = (at + 1) & mask;
            }
            self.slots[at] = Slot {
                lo,
                hi,
                index: index as u32,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_insertion_order_across_growth() {
        let mut table = KeyTable::with_expected(4);
        let keys: Vec<u128> = (0..1000u128)
            .map(|i| ((i * 7919) << 70) | (i * 31))
            .collect();
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(table.insert(k), i as u32);
        }
        for (i, &k) in keys.iter().enumerate() {
            assert_eq!(table.insert(k), i as u32, "re-insert must find");
            assert_eq!(table.find(k), Some(i as u32));
        }
        assert_eq!(table.find(12345), None);
        assert_eq!(table.len(), 1000);
        assert_eq!(table.keys(), &keys[..]);
    }
}
