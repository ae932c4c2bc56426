//! Hash tables of (feature, threshold) keys for compiling a forest: the distinct split thresholds of all its
//! trees, then each threshold's rank among its feature's. A large forest has over half a million splits but
//! only a few thousand distinct keys (binning gives a feature at most 254), so hashing each split once beats
//! sorting all of them (or each tree's) and binary-searching each one's rank (measured: bench/NOTES.md).
//!
//! Keys are the `predict` module's packed `u128`s, never 0 (a threshold's ordered bits are not all zero unless
//! it is a NaN, which is refused before), so 0 marks an empty slot.

/// A set of keys, by open addressing with linear probing.
#[derive(Default)]
pub(super) struct KeySet {
    slots: Vec<u128>,
    len: usize,
}

/// Slots of a new table: enough for a tree's distinct keys without growing, small enough to stay in L2.
const INITIAL_SLOTS: usize = 1 << 12;

impl KeySet {
    /// Adds `key` (not 0) if it is not in the set yet.
    pub(super) fn insert(&mut self, key: u128) {
        debug_assert_ne!(key, 0, "0 marks an empty slot");
        // At most half full, so probes stay short.
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut slot = hash(key) & mask;
        loop {
            match self.slots[slot] {
                0 => {
                    self.slots[slot] = key;
                    self.len += 1;
                    return;
                }
                k if k == key => return,
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    /// Every key of `self` and `other`.
    pub(super) fn union(mut self, other: KeySet) -> KeySet {
        if self.len < other.len {
            return other.union(self);
        }
        for key in other.slots.into_iter().filter(|&k| k != 0) {
            self.insert(key);
        }
        self
    }

    /// The keys, ascending.
    pub(super) fn into_sorted(self) -> Vec<u128> {
        let mut keys: Vec<u128> = self.slots.into_iter().filter(|&k| k != 0).collect();
        keys.sort_unstable();
        keys
    }

    fn grow(&mut self) {
        let n_slots = (self.slots.len() * 2).max(INITIAL_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![0; n_slots]);
        self.len = 0;
        for key in old.into_iter().filter(|&k| k != 0) {
            self.insert(key);
        }
    }
}

/// Each key's rank, by open addressing: built once, then only read (from every thread).
pub(super) struct RankTable {
    slots: Vec<(u128, u16)>,
}

impl RankTable {
    /// The table of `(key, rank)` pairs, keys distinct and not 0.
    pub(super) fn new(entries: &[(u128, u16)]) -> RankTable {
        let n_slots = (2 * entries.len()).next_power_of_two().max(16);
        let mut slots = vec![(0, 0); n_slots];
        for &(key, rank) in entries {
            let mut slot = hash(key) & (n_slots - 1);
            while slots[slot].0 != 0 {
                slot = (slot + 1) & (n_slots - 1);
            }
            slots[slot] = (key, rank);
        }
        RankTable { slots }
    }

    /// The rank of `key`, if it is in the table.
    pub(super) fn get(&self, key: u128) -> Option<u16> {
        let mask = self.slots.len() - 1;
        let mut slot = hash(key) & mask;
        loop {
            match self.slots[slot] {
                (0, _) => return None,
                (k, rank) if k == key => return Some(rank),
                _ => slot = (slot + 1) & mask,
            }
        }
    }
}

/// A slot index for `key`: its halves folded and multiplied by a large odd constant, whose high bits depend on
/// every bit of the key (the table masks the low bits of the rotated product).
fn hash(key: u128) -> usize {
    // The two halves, each truncated to 64 bits on purpose.
    let folded = (key as u64) ^ ((key >> 64) as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    // A slot index: only the low bits are kept.
    folded.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn sets_keep_each_key_once_and_sort_them() {
        let mut rng = Rng::new(3);
        for n in [0, 1, 10, 5000, 20_000] {
            let keys: Vec<u128> =
                (0..n).map(|_| (rng.below(40) as u128) << 64 | (rng.below(3000) as u128 + 1)).collect();
            let (a, b) = keys.split_at(n / 3);
            let mut sets = [KeySet::default(), KeySet::default()];
            for (set, keys) in sets.iter_mut().zip([a, b]) {
                for &key in keys {
                    set.insert(key);
                }
            }
            let [a, b] = sets;
            let mut expected = keys.clone();
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(a.union(b).into_sorted(), expected, "{n} keys");
        }
    }

    #[test]
    fn rank_tables_find_every_key_and_nothing_else() {
        let keys: Vec<u128> = (1..=3000u128).map(|k| (k * 7919) << 3).collect();
        let entries: Vec<(u128, u16)> =
            keys.iter().enumerate().map(|(i, &k)| (k, u16::try_from(i).unwrap_or(0))).collect();
        let table = RankTable::new(&entries);
        for (i, &key) in keys.iter().enumerate() {
            assert_eq!(table.get(key), u16::try_from(i).ok());
            assert_eq!(table.get(key + 1), None);
        }
        assert_eq!(RankTable::new(&[]).get(5), None);
    }
}
