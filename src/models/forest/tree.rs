//! The fitted decision tree: a flat structure-of-arrays that prediction walks without recursion, and that
//! serialises compactly (a node costs its threshold's 8 bytes plus two small varints under postcard).
//!
//! Nodes are numbered from the root (0). A split node `n` sends `x[feature[n]] <= threshold[n]` to its left
//! child `left[n]` and everything else to `left[n] + 1`: siblings are adjacent, so one index serves both.
//! Because the test is written as "go right if `x > threshold`", NaN goes left, matching the binning, which
//! puts NaN in the lowest bin. A leaf has `left[n] == 0` (the root is nobody's child, so 0 is free) and reuses
//! `feature[n]` as its ordinal among leaves: its outputs are `values[ordinal * width..][..width]`, where
//! `width` is the number of classes (a class distribution) or 1 (a regression value).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::wire::{self, LeSlice, LeVec};

/// One fitted tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// Per node: the feature tested by a split, or a leaf's ordinal.
    feature: Vec<u32>,
    /// Per node: a split's threshold (unused, 0, at a leaf).
    threshold: Vec<f64>,
    /// Per node: a split's left child (the right one is next to it), or 0 at a leaf.
    left: Vec<u32>,
    /// Outputs per leaf.
    width: u32,
    /// The leaves' outputs, `width` per leaf in leaf-ordinal order.
    values: Vec<f32>,
}

/// What the deserialiser reads before [`Tree::try_from`] checks it: a corrupted or hand-edited model file
/// must fail to load rather than make prediction loop forever or index out of bounds.
#[derive(Deserialize)]
struct UncheckedTree {
    feature: Vec<u32>,
    threshold: Vec<f64>,
    left: Vec<u32>,
    width: u32,
    values: Vec<f32>,
}

/// The fields as a binary payload stores them (artifact format 2): each array one byte string of little-endian
/// numbers (see [`wire`]).
#[derive(Serialize)]
struct PackedTreeRef<'a> {
    feature: LeSlice<'a, u32>,
    threshold: LeSlice<'a, f64>,
    left: LeSlice<'a, u32>,
    width: u32,
    values: LeSlice<'a, f32>,
}

#[derive(Deserialize)]
struct PackedTree {
    feature: LeVec<u32>,
    threshold: LeVec<f64>,
    left: LeVec<u32>,
    width: u32,
    values: LeVec<f32>,
}

/// The fields as plain arrays, for human-readable encodings (format-1 binary payloads, also plain arrays, are
/// only read: as [`UncheckedTree`]).
#[derive(Serialize)]
struct TreeRef<'a> {
    feature: &'a [u32],
    threshold: &'a [f64],
    left: &'a [u32],
    width: u32,
    values: &'a [f32],
}

impl Serialize for Tree {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let Tree { feature, threshold, left, width, values } = self;
            TreeRef { feature, threshold, left, width: *width, values }.serialize(serializer)
        } else {
            PackedTreeRef {
                feature: LeSlice(&self.feature),
                threshold: LeSlice(&self.threshold),
                left: LeSlice(&self.left),
                width: self.width,
                values: LeSlice(&self.values),
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = if deserializer.is_human_readable() || wire::sequence_arrays() {
            UncheckedTree::deserialize(deserializer)?
        } else {
            let PackedTree { feature, threshold, left, width, values } = PackedTree::deserialize(deserializer)?;
            UncheckedTree { feature: feature.0, threshold: threshold.0, left: left.0, width, values: values.0 }
        };
        Tree::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<UncheckedTree> for Tree {
    type Error = String;

    fn try_from(raw: UncheckedTree) -> Result<Self, String> {
        let n_nodes = raw.left.len();
        if n_nodes == 0 || raw.feature.len() != n_nodes || raw.threshold.len() != n_nodes {
            return Err("tree node arrays are empty or of different lengths".to_owned());
        }
        let n_leaves = raw.left.iter().filter(|&&l| l == 0).count();
        if raw.width == 0 || raw.values.len() != n_leaves * raw.width as usize {
            return Err("tree leaf values are not `width` per leaf".to_owned());
        }
        for (node, (&left, &feature)) in raw.left.iter().zip(&raw.feature).enumerate() {
            let left = left as usize;
            // Children after their parent guarantees that every walk from the root ends.
            if left != 0 && (left <= node || left + 1 >= n_nodes) {
                return Err(format!("tree node {node} has children out of order or out of range"));
            }
            if left == 0 && feature as usize >= n_leaves {
                return Err(format!("tree leaf {node} has an ordinal out of range"));
            }
            if left != 0 && raw.threshold[node].is_nan() {
                return Err(format!("tree node {node} has a NaN threshold"));
            }
        }
        Ok(Tree {
            feature: raw.feature,
            threshold: raw.threshold,
            left: raw.left,
            width: raw.width,
            values: raw.values,
        })
    }
}

impl Tree {
    /// Number of nodes, splits and leaves together.
    pub fn n_nodes(&self) -> usize {
        self.left.len()
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.left.iter().filter(|&&l| l == 0).count()
    }

    /// Outputs per leaf.
    pub fn width(&self) -> usize {
        self.width as usize
    }

    /// Whether `node` is a leaf.
    pub fn is_leaf(&self, node: usize) -> bool {
        self.left[node] == 0
    }

    /// The split of `node` as `(feature, threshold, left child)`, or `None` for a leaf.
    pub fn split(&self, node: usize) -> Option<(usize, f64, usize)> {
        let left = self.left[node] as usize;
        (left != 0).then(|| (self.feature[node] as usize, self.threshold[node], left))
    }

    /// The outputs of the leaf `node` (`width()` values).
    ///
    /// # Panics
    /// If `node` is not a leaf.
    #[inline]
    pub fn leaf_values(&self, node: usize) -> &[f32] {
        assert!(self.is_leaf(node), "node {node} is a split, not a leaf");
        let width = self.width();
        let start = self.feature[node] as usize * width;
        &self.values[start..start + width]
    }

    /// The leaf that `row` falls into.
    pub fn leaf_of(&self, row: &[f64]) -> usize {
        let mut node = 0;
        while let Some((feature, threshold, left)) = self.split(node) {
            node = left + usize::from(row[feature] > threshold);
        }
        node
    }
}

/// Builds a [`Tree`] node by node, in the order the grower decides them.
#[derive(Debug)]
pub(crate) struct TreeBuilder {
    tree: Tree,
    n_leaves: u32,
}

impl TreeBuilder {
    /// A tree with `width` outputs per leaf whose root is still undecided.
    pub(crate) fn new(width: usize) -> Self {
        let width = index_u32(width);
        let tree = Tree { feature: vec![0], threshold: vec![0.0], left: vec![0], width, values: Vec::new() };
        TreeBuilder { tree, n_leaves: 0 }
    }

    /// Turns `node` into a leaf with outputs `values` (`width` of them).
    pub(crate) fn make_leaf(&mut self, node: usize, values: &[f32]) {
        let t = &mut self.tree;
        debug_assert_eq!(values.len(), t.width as usize);
        t.feature[node] = self.n_leaves;
        t.left[node] = 0;
        t.values.extend(values);
        self.n_leaves += 1;
    }

    /// Turns `node` into a split and returns the index of its left child (the right one is the next index).
    pub(crate) fn make_split(&mut self, node: usize, feature: usize, threshold: f64) -> usize {
        let t = &mut self.tree;
        let left = t.left.len();
        t.feature[node] = index_u32(feature);
        t.threshold[node] = threshold;
        t.left[node] = index_u32(left);
        t.feature.extend([0, 0]);
        t.threshold.extend([0.0, 0.0]);
        t.left.extend([0, 0]);
        left
    }

    pub(crate) fn finish(self) -> Tree {
        self.tree
    }
}

/// A node, leaf or feature index as stored. Fitting refuses data with 2^31 rows or more, so a tree has fewer
/// than 2^32 nodes and leaves, and the feature count is checked likewise.
pub(crate) fn index_u32(index: usize) -> u32 {
    debug_assert!(u32::try_from(index).is_ok());
    index as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x0 <= 1 → leaf A; else x1 <= 0 → leaf B, else leaf C.
    fn small_tree() -> Tree {
        let mut builder = TreeBuilder::new(2);
        let left = builder.make_split(0, 0, 1.0);
        builder.make_leaf(left, &[1.0, 0.0]);
        let right = builder.make_split(left + 1, 1, 0.0);
        builder.make_leaf(right, &[0.25, 0.75]);
        builder.make_leaf(right + 1, &[0.0, 1.0]);
        builder.finish()
    }

    #[test]
    fn walks_left_on_less_or_equal_and_nan() {
        let tree = small_tree();
        assert_eq!((tree.n_nodes(), tree.n_leaves(), tree.width()), (5, 3, 2));
        assert_eq!(tree.leaf_values(tree.leaf_of(&[1.0, 5.0])), &[1.0, 0.0]);
        assert_eq!(tree.leaf_values(tree.leaf_of(&[f64::NAN, 5.0])), &[1.0, 0.0]);
        assert_eq!(tree.leaf_values(tree.leaf_of(&[1.5, 0.0])), &[0.25, 0.75]);
        assert_eq!(tree.leaf_values(tree.leaf_of(&[1.5, 0.1])), &[0.0, 1.0]);
        assert_eq!(tree.split(0), Some((0, 1.0, 1)));
        assert_eq!(tree.split(1), None);
    }

    #[test]
    fn deserialisation_checks_the_structure() -> Result<(), Box<dyn std::error::Error>> {
        let tree = small_tree();
        let json = serde_json::to_value(&tree)?;
        assert_eq!(serde_json::from_value::<Tree>(json.clone())?, tree);

        let corrupt = |field: &str, index: usize, value: serde_json::Value| {
            let mut bad = json.clone();
            bad[field][index] = value;
            serde_json::from_value::<Tree>(bad).is_err()
        };
        assert!(corrupt("left", 2, 1.into()), "a child before its parent");
        assert!(corrupt("left", 0, 4.into()), "a right child past the end");
        assert!(corrupt("feature", 1, 3.into()), "a leaf ordinal past the last leaf");
        assert!(corrupt("values", 0, serde_json::Value::Null), "not a number");
        let mut short = json.clone();
        short["values"].as_array_mut().map(Vec::pop);
        assert!(serde_json::from_value::<Tree>(short).is_err(), "values missing");
        let mut ragged = json;
        ragged["threshold"].as_array_mut().map(Vec::pop);
        assert!(serde_json::from_value::<Tree>(ragged).is_err(), "arrays of different lengths");
        Ok(())
    }
}
