//! A compact fingerprint of the rows a model was trained on, so that scoring data which repeats them is caught
//! (a holdout that is really the training rows again reports numbers the model has memorised). Each row is
//! hashed from its *typed* values — numbers as the f64 they parse to, so `1` and `1.0` are the same row; text
//! as read; dates as instants — plus its target, and the hashes go into a Bloom filter sized for 1% false
//! positives and capped at [`MAX_FILTER_BYTES`] (2 MiB: about 1.7M rows at 1%; at 10M rows the rate is ~45%).
//! The share of scored rows found is corrected for that known false-positive rate, so it estimates the share
//! of rows that really were training rows whatever the filter's size.
//!
//! The hash (FNV-1a with a splitmix64 finish) is written out here rather than taken from std, whose hasher may
//! change between Rust releases: a fingerprint written today must match the rows hashed by a later mlctl.

use std::path::Path;

use rayon::prelude::*;

use crate::data::frame::{ColumnData, Frame, MISSING_CODE};
use crate::data::schema::parse_number;
use crate::error::{Error, Result};

/// The file beside `model.bin` that holds a version's fingerprint.
pub const FINGERPRINT_FILE: &str = "fingerprint.bin";
/// The filter never grows past this, whatever the number of training rows.
pub const MAX_FILTER_BYTES: usize = 2 << 20;
/// The false-positive rate the filter is sized for while under the cap.
const TARGET_FALSE_POSITIVES: f64 = 0.01;
const MAGIC: &[u8; 8] = b"MLCTLFP1";
const HEADER_BYTES: usize = 8 + 8 + 4 + 8 + 8;

/// A Bloom filter of the training split's row hashes.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    /// Training rows hashed into the filter.
    pub rows: u64,
    hashes: u32,
    words: Vec<u64>,
    /// The share of the test split's rows found among the training rows at training time (after correction):
    /// how often rows repeat in this data by nature, shown beside a refusal.
    pub test_share: f64,
}

/// Which columns make a row: the features (in the model's order) and the target, if any.
pub struct RowShape<'a> {
    pub features: &'a [String],
    pub target: Option<&'a str>,
}

/// How many of some scored rows the fingerprint recognised.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overlap {
    pub rows: usize,
    /// Rows the filter answered "seen" for (true matches and false positives).
    pub hits: usize,
    /// The estimated share of rows that were training rows: hits corrected for the false-positive rate.
    pub share: f64,
    pub false_positive_rate: f64,
}

impl Fingerprint {
    /// The fingerprint of `rows` of `frame`.
    pub fn build(frame: &Frame, shape: &RowShape<'_>, rows: &[usize]) -> Result<Fingerprint> {
        let hashes = row_hashes(frame, shape, rows)?;
        let n = hashes.len().max(1) as f64;
        let wanted_bits = (n * -TARGET_FALSE_POSITIVES.ln() / (std::f64::consts::LN_2 * std::f64::consts::LN_2)).ceil();
        let bits = (wanted_bits as usize).clamp(64, MAX_FILTER_BYTES * 8);
        let words = bits.div_ceil(64);
        let k = ((words * 64) as f64 / n * std::f64::consts::LN_2).round().clamp(1.0, 16.0) as u32;
        let mut fingerprint =
            Fingerprint { rows: hashes.len() as u64, hashes: k, words: vec![0; words], test_share: 0.0 };
        for h in hashes {
            fingerprint.insert(h);
        }
        Ok(fingerprint)
    }

    /// The chance that a row never trained on is answered "seen".
    pub fn false_positive_rate(&self) -> f64 {
        let m = (self.words.len() * 64) as f64;
        let k = f64::from(self.hashes);
        (1.0 - (-k * self.rows as f64 / m).exp()).powf(k)
    }

    /// How many of `rows` of `frame` (every row when None) the fingerprint recognises.
    pub fn measure(&self, frame: &Frame, shape: &RowShape<'_>, rows: Option<&[usize]>) -> Result<Overlap> {
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..frame.n_rows).collect();
                &all
            }
        };
        let hits = row_hashes(frame, shape, rows)?.into_iter().filter(|&h| self.contains(h)).count();
        let p = self.false_positive_rate();
        let observed = if rows.is_empty() { 0.0 } else { hits as f64 / rows.len() as f64 };
        let share = if p >= 1.0 { observed } else { ((observed - p) / (1.0 - p)).clamp(0.0, 1.0) };
        Ok(Overlap { rows: rows.len(), hits, share, false_positive_rate: p })
    }

    fn positions(&self, hash: u64) -> impl Iterator<Item = usize> + '_ {
        // Double hashing (Kirsch–Mitzenmacher): k positions from two independent 64-bit hashes.
        let (h1, h2) = (hash, splitmix64(hash ^ 0x9e37_79b9_7f4a_7c15) | 1);
        let m = (self.words.len() * 64) as u64;
        (0..u64::from(self.hashes)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }

    fn insert(&mut self, hash: u64) {
        let positions: Vec<usize> = self.positions(hash).collect();
        for p in positions {
            self.words[p / 64] |= 1 << (p % 64);
        }
    }

    fn contains(&self, hash: u64) -> bool {
        self.positions(hash).all(|p| self.words[p / 64] & (1 << (p % 64)) != 0)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_BYTES + self.words.len() * 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.hashes.to_le_bytes());
        out.extend_from_slice(&(self.words.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.test_share.to_le_bytes());
        for w in &self.words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out
    }

    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<Fingerprint> {
        let corrupt = |what: &str| Error::artifact(path, format!("is not a valid row fingerprint ({what})"));
        let word = |at: usize| -> Option<[u8; 8]> { bytes.get(at..at + 8)?.try_into().ok() };
        if bytes.get(..8) != Some(MAGIC.as_slice()) {
            return Err(corrupt("unknown header"));
        }
        let rows = u64::from_le_bytes(word(8).ok_or_else(|| corrupt("truncated"))?);
        let hashes = bytes.get(16..20).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        let hashes = hashes.filter(|k| (1..=16).contains(k)).ok_or_else(|| corrupt("bad hash count"))?;
        let n_words = u64::from_le_bytes(word(20).ok_or_else(|| corrupt("truncated"))?) as usize;
        let test_share = f64::from_le_bytes(word(28).ok_or_else(|| corrupt("truncated"))?);
        if n_words == 0 || n_words * 8 > MAX_FILTER_BYTES || bytes.len() != HEADER_BYTES + n_words * 8 {
            return Err(corrupt("its length does not match its header"));
        }
        let words = bytes[HEADER_BYTES..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        Ok(Fingerprint { rows, hashes, words, test_share })
    }

    /// Reads a version's fingerprint file.
    pub fn read(path: &Path) -> Result<Fingerprint> {
        let max = (HEADER_BYTES + MAX_FILTER_BYTES) as u64;
        match crate::fs::read_own_file(path, max)? {
            Some(bytes) => Fingerprint::from_bytes(&bytes, path),
            None => Err(Error::artifact(path, "is missing")),
        }
    }
}

/// One 64-bit hash per row, from the typed cells of the row's columns.
fn row_hashes(frame: &Frame, shape: &RowShape<'_>, rows: &[usize]) -> Result<Vec<u64>> {
    let mut columns = Vec::with_capacity(shape.features.len() + 1);
    for name in shape.features.iter().map(String::as_str).chain(shape.target) {
        let column = frame.column(name).ok_or_else(|| {
            Error::data(&frame.source, None, Some(name), "no such column (needed to fingerprint rows)")
        })?;
        columns.push((Some(name) == shape.target, &column.data));
    }
    Ok(rows
        .par_iter()
        .map(|&row| {
            let mut h = Fnv::new();
            for (is_target, data) in &columns {
                hash_cell(&mut h, data, row, *is_target);
            }
            splitmix64(h.0)
        })
        .collect())
}

/// Feeds one cell: a tag for its kind, then its value. A target's text that is a number is hashed as that number,
/// since the target is read as text while its meaning (for regression) is numeric.
fn hash_cell(h: &mut Fnv, data: &ColumnData, row: usize, is_target: bool) {
    match data {
        ColumnData::Numeric(v) | ColumnData::Date(v) if v[row].is_nan() => h.write(&[0]),
        ColumnData::Numeric(v) => number(h, v[row]),
        ColumnData::Date(v) => {
            h.write(&[3]);
            h.write(&v[row].to_le_bytes());
        }
        ColumnData::Categorical { codes, .. } if codes[row] == MISSING_CODE => h.write(&[0]),
        ColumnData::Categorical { codes, levels } => {
            let text = levels[codes[row] as usize].as_str();
            match parse_number(text).filter(|_| is_target) {
                Some(x) => number(h, x),
                None => {
                    h.write(&[2]);
                    h.write(&(text.len() as u64).to_le_bytes());
                    h.write(text.as_bytes());
                }
            }
        }
    }
}

fn number(h: &mut Fnv, x: f64) {
    // -0.0 and 0.0 are the same value in a table.
    let x = if x == 0.0 { 0.0 } else { x };
    h.write(&[1]);
    h.write(&x.to_le_bytes());
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::frame::Column;

    fn frame(xs: &[f64], labels: &[&str]) -> Frame {
        let mut levels: Vec<String> = Vec::new();
        let codes = labels
            .iter()
            .map(|l| match levels.iter().position(|v| v == l) {
                Some(i) => i as u32,
                None => {
                    levels.push((*l).to_owned());
                    (levels.len() - 1) as u32
                }
            })
            .collect();
        Frame {
            source: "t.csv".into(),
            n_rows: xs.len(),
            columns: vec![
                Column { name: "x".into(), data: ColumnData::Numeric(xs.to_vec()) },
                Column { name: "y".into(), data: ColumnData::Categorical { codes, levels } },
            ],
        }
    }

    #[test]
    fn training_rows_are_found_and_others_are_not() {
        let xs: Vec<f64> = (0..1000).map(f64::from).collect();
        let labels: Vec<&str> = (0..1000).map(|i| if i % 2 == 0 { "a" } else { "b" }).collect();
        let f = frame(&xs, &labels);
        let features = vec!["x".to_owned()];
        let shape = RowShape { features: &features, target: Some("y") };
        let train: Vec<usize> = (0..500).collect();
        let fp = Fingerprint::build(&f, &shape, &train).unwrap();
        let fp = Fingerprint::from_bytes(&fp.to_bytes(), Path::new("f")).unwrap();
        let seen = fp.measure(&f, &shape, Some(&train)).unwrap();
        assert_eq!(seen.hits, 500);
        assert!((seen.share - 1.0).abs() < 1e-9);
        let unseen: Vec<usize> = (500..1000).collect();
        assert!(fp.measure(&f, &shape, Some(&unseen)).unwrap().share < 0.03);
        // The same features with another label are another row.
        let flipped: Vec<&str> = labels.iter().map(|l| if *l == "a" { "b" } else { "a" }).collect();
        let other = frame(&xs, &flipped);
        assert!(fp.measure(&other, &shape, Some(&train)).unwrap().share < 0.03);
    }

    #[test]
    fn a_numeric_target_written_differently_is_the_same_row() {
        let features = vec!["x".to_owned()];
        let shape = RowShape { features: &features, target: Some("y") };
        let a = frame(&[1.0, 2.0], &["1", "2"]);
        let b = frame(&[1.0, 2.0], &["1.0", "2.00"]);
        let fp = Fingerprint::build(&a, &shape, &[0, 1]).unwrap();
        assert_eq!(fp.measure(&b, &shape, None).unwrap().hits, 2);
    }

    #[test]
    fn the_filter_stays_under_its_cap_for_ten_million_rows() {
        let fp = Fingerprint { rows: 10_000_000, hashes: 1, words: vec![0; MAX_FILTER_BYTES / 8], test_share: 0.0 };
        assert!(fp.to_bytes().len() <= HEADER_BYTES + MAX_FILTER_BYTES);
        assert!(fp.false_positive_rate() < 0.5);
    }
}
