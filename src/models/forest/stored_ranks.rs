//! A forest's split ranks as a `model.bin` stores them (artifact format 3 on): per feature, the distinct
//! thresholds the trees split it at, ascending; per tree, each node's rank of its threshold among its
//! feature's (0 at a leaf). Prediction compares ranks, not values (the `predict` module). Finding them when a model
//! loads meant hashing every split twice, to collect the distinct thresholds and then to look up each split's:
//! for the 100k-row reference forest (1.2 M nodes) that was a third of the loading's CPU time. Stored, they are
//! only checked (each split's rank must point at its own threshold), for one byte per node.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::{LeSlice, LeVec};

/// Split ranks: see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SplitRanks {
    /// Per feature: the thresholds, ascending.
    pub(crate) thresholds: Vec<Vec<f64>>,
    /// Per tree, per node: the rank of a split's threshold in its feature's `thresholds`, 0 at a leaf.
    pub(crate) ranks: Vec<Vec<u8>>,
}

/// Human-readable encodings (JSON) keep plain arrays, as trees do.
#[derive(Serialize)]
struct PlainRanksRef<'a> {
    thresholds: &'a [Vec<f64>],
    ranks: &'a [Vec<u8>],
}

#[derive(Deserialize)]
struct PlainRanks {
    thresholds: Vec<Vec<f64>>,
    ranks: Vec<Vec<u8>>,
}

/// Binary payloads: each array one byte string of little-endian numbers, as trees' arrays.
#[derive(Serialize)]
struct PackedRanksRef<'a> {
    thresholds: Vec<LeSlice<'a, f64>>,
    ranks: Vec<LeSlice<'a, u8>>,
}

#[derive(Deserialize)]
struct PackedRanks {
    thresholds: Vec<LeVec<f64>>,
    ranks: Vec<LeVec<u8>>,
}

impl Serialize for SplitRanks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            PlainRanksRef { thresholds: &self.thresholds, ranks: &self.ranks }.serialize(serializer)
        } else {
            PackedRanksRef {
                thresholds: self.thresholds.iter().map(|t| LeSlice(t.as_slice())).collect(),
                ranks: self.ranks.iter().map(|r| LeSlice(r.as_slice())).collect(),
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for SplitRanks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let PlainRanks { thresholds, ranks } = PlainRanks::deserialize(deserializer)?;
            Ok(SplitRanks { thresholds, ranks })
        } else {
            let PackedRanks { thresholds, ranks } = PackedRanks::deserialize(deserializer)?;
            Ok(SplitRanks {
                thresholds: thresholds.into_iter().map(|t| t.0).collect(),
                ranks: ranks.into_iter().map(|r| r.0).collect(),
            })
        }
    }
}
