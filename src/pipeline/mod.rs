//! The preprocessing pipeline, fitted on training rows and stored inside the artifact so prediction applies
//! exactly what training saw: numeric columns get median imputation then standard scaling; categorical columns
//! get most-frequent imputation then one-hot encoding, with unseen categories encoded as all zeros (counted, so
//! the caller can warn). The same definitions as scikit-learn's SimpleImputer, StandardScaler and
//! OneHotEncoder(handle_unknown="ignore"). A column with more than `max_categories` levels keeps the most
//! frequent `max_categories - 1` and one "infrequent" slot shared by the rest, where unseen categories go too:
//! OneHotEncoder(max_categories=…, handle_unknown="infrequent_if_exist"). Date columns become calendar features
//! (see `dates`). The pipeline also keeps how its data was read (extra missing tokens, lenient numeric columns)
//! so prediction reads cells the same way.

pub mod dates;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::frame::{Column, ColumnData, Frame, MISSING_CODE};
use crate::data::load::ReadOptions;
use crate::data::matrix::Matrix;
use crate::data::schema::{parse_number, ColumnType};
use crate::error::{Error, Result};

/// One-hot levels kept per column unless the model spec says otherwise (`max_categories`).
pub const DEFAULT_MAX_CATEGORIES: usize = 100;

/// What the pipeline is fitted with besides the data: the model spec's pipeline settings and how the data was
/// read, which prediction must repeat.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineSpec {
    /// Output columns per categorical feature at most, the infrequent slot included (scikit-learn's meaning).
    pub max_categories: usize,
    /// Extra missing-value tokens (`--na-values`).
    pub na_values: Vec<String>,
    /// Declared-numeric columns whose cells that are not numbers are read as missing values.
    pub stray_as_missing: Vec<String>,
}

impl Default for PipelineSpec {
    fn default() -> Self {
        PipelineSpec { max_categories: DEFAULT_MAX_CATEGORIES, na_values: Vec::new(), stray_as_missing: Vec::new() }
    }
}

impl PipelineSpec {
    /// The pipeline's keys of `settings` (`--set` and `[models.NAME.params]`), taken out so the rest are the
    /// estimator's: `max_categories`, an integer ≥ 1.
    pub fn take_settings(&mut self, settings: &mut crate::models::params::Settings) -> Result<()> {
        if let Some(value) = settings.remove("max_categories") {
            self.max_categories =
                value.trim().parse().ok().filter(|&n: &usize| n >= 1).ok_or_else(|| Error::Hyperparameter {
                    key: "max_categories".into(),
                    message: format!("hyperparameter max_categories={value}: expected an integer >= 1"),
                })?;
        }
        Ok(())
    }
}

/// Written in artifact format 4 on; a format-3 file decodes with the defaults (see the `Deserialize` impl).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FittedPipeline {
    pub features: Vec<FittedFeature>,
    /// Extra missing-value tokens the training data was read with.
    pub na_values: Vec<String>,
    /// Numeric features whose cells that are not numbers were read as missing values (`--numeric COL`).
    pub stray_as_missing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedFeature {
    pub name: String,
    pub transform: FeatureTransform,
    /// The levels of a categorical feature that share the infrequent slot (the feature's last one).
    #[serde(default)]
    pub infrequent: Option<Infrequent>,
}

/// A categorical feature's levels grouped into its infrequent slot: how many, and the training rows they had.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Infrequent {
    pub levels: usize,
    pub rows: usize,
}

impl<'de> Deserialize<'de> for FittedPipeline {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        /// As stored from format 4 on (and in JSON, where absent fields take their defaults).
        #[derive(Deserialize)]
        struct Stored {
            features: Vec<FittedFeature>,
            #[serde(default)]
            na_values: Vec<String>,
            #[serde(default)]
            stray_as_missing: Vec<String>,
        }
        /// As stored before format 4.
        #[derive(Deserialize)]
        struct StoredV3 {
            features: Vec<FeatureV3>,
        }
        #[derive(Deserialize)]
        struct FeatureV3 {
            name: String,
            transform: FeatureTransform,
        }
        if deserializer.is_human_readable() || crate::wire::pipeline_options() {
            let Stored { features, na_values, stray_as_missing } = Stored::deserialize(deserializer)?;
            return Ok(FittedPipeline { features, na_values, stray_as_missing });
        }
        let StoredV3 { features } = StoredV3::deserialize(deserializer)?;
        let features = features
            .into_iter()
            .map(|f| FittedFeature { name: f.name, transform: f.transform, infrequent: None })
            .collect();
        Ok(FittedPipeline { features, na_values: Vec::new(), stray_as_missing: Vec::new() })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureTransform {
    /// Impute with `median`, then `(x - mean) / scale`. Mean and scale are fitted on the imputed values, as in a
    /// scikit-learn Pipeline; a constant column gets scale 1.
    Numeric { median: f64, mean: f64, scale: f64 },
    /// Impute with `most_frequent`, then one column per level (sorted, as OneHotEncoder does).
    Categorical { levels: Vec<String>, most_frequent: String },
    /// Impute with the median instant, then derive calendar features, each standardised (see `dates`). Last,
    /// so artifacts written before it keep their variant numbers.
    Date(dates::DateTransform),
}

impl FittedFeature {
    pub fn column_type(&self) -> ColumnType {
        match self.transform {
            FeatureTransform::Numeric { .. } => ColumnType::Numeric,
            FeatureTransform::Categorical { .. } => ColumnType::Categorical,
            FeatureTransform::Date(_) => ColumnType::Date,
        }
    }

    /// How many matrix columns the feature encodes to.
    pub fn width(&self) -> usize {
        match &self.transform {
            FeatureTransform::Numeric { .. } => 1,
            FeatureTransform::Categorical { levels, .. } => levels.len() + usize::from(self.infrequent.is_some()),
            FeatureTransform::Date(t) => t.derived.len(),
        }
    }

    /// The slot of the infrequent levels (and of unseen categories), when the feature has one.
    fn infrequent_slot(&self) -> Option<usize> {
        match &self.transform {
            FeatureTransform::Categorical { levels, .. } => self.infrequent.as_ref().map(|_| levels.len()),
            FeatureTransform::Numeric { .. } | FeatureTransform::Date(_) => None,
        }
    }
}

/// What transforming a frame noticed, for warnings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TransformStats {
    /// Unseen categories per feature: how many cells were encoded as all zeros.
    pub unknown_categories: BTreeMap<String, usize>,
    /// Missing cells imputed per feature.
    pub imputed: BTreeMap<String, usize>,
    /// Cells that were not numbers, read as missing, per numeric feature trained with `--numeric` (counted by
    /// the reader, not by `transform`; among `imputed` too).
    pub stray_as_missing: BTreeMap<String, usize>,
}

impl FittedPipeline {
    /// Fits on `rows` of `frame` for the named feature columns.
    pub fn fit(frame: &Frame, feature_names: &[String], rows: &[usize], spec: &PipelineSpec) -> Result<Self> {
        // Features are fitted independently, in parallel; the first error in feature order is the one reported.
        let fitted: Vec<Result<FittedFeature>> = feature_names
            .par_iter()
            .map(|name| {
                let column =
                    frame.column(name).ok_or_else(|| Error::data(&frame.source, None, Some(name), "no such column"))?;
                let (transform, infrequent) = match &column.data {
                    ColumnData::Numeric(values) => fit_numeric(values, rows).map(|t| (t, None)),
                    ColumnData::Categorical { codes, levels } => {
                        fit_categorical(codes, levels, rows, spec.max_categories)
                    }
                    ColumnData::Date(values) => dates::fit_date(values, rows).map(|t| (t, None)),
                }
                .ok_or_else(|| {
                    Error::data(
                        &frame.source,
                        None,
                        Some(name),
                        "has no values in the training rows: drop the column or fill it",
                    )
                })?;
                Ok(FittedFeature { name: name.clone(), transform, infrequent })
            })
            .collect();
        // In feature order, so the artifact's bytes do not depend on how the caller collected them.
        let stray_as_missing = feature_names.iter().filter(|n| spec.stray_as_missing.contains(n)).cloned().collect();
        Ok(FittedPipeline {
            features: fitted.into_iter().collect::<Result<_>>()?,
            na_values: spec.na_values.clone(),
            stray_as_missing,
        })
    }

    /// How to read a file for this pipeline: its features' types, missing-value tokens and lenient numeric
    /// columns, as at training; `text_columns` stay text.
    pub fn read_options(&self, delimiter: Option<u8>, text_columns: Vec<String>) -> ReadOptions {
        ReadOptions {
            delimiter,
            declared: self.features.iter().map(|f| (f.name.clone(), f.column_type())).collect(),
            text_columns,
            na_values: self.na_values.clone(),
            stray_as_missing: self.stray_as_missing.clone(),
        }
    }

    /// Names of the matrix columns: numeric features by name, one-hot columns as `name=level`.
    pub fn output_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for f in &self.features {
            match &f.transform {
                FeatureTransform::Numeric { .. } => names.push(f.name.clone()),
                FeatureTransform::Categorical { levels, .. } => {
                    names.extend(levels.iter().map(|l| format!("{}={l}", f.name)));
                    if f.infrequent.is_some() {
                        names.push(format!("{}={INFREQUENT_NAME}", f.name));
                    }
                }
                FeatureTransform::Date(t) => names.extend(t.names().map(|d| format!("{}:{d}", f.name))),
            }
        }
        names
    }

    pub fn n_outputs(&self) -> usize {
        self.features.iter().map(FittedFeature::width).sum()
    }

    /// Feature columns the frame lacks, all of them (so one run tells the user everything to fix).
    pub fn missing_columns(&self, frame: &Frame) -> Vec<String> {
        self.features.iter().filter(|f| frame.column(&f.name).is_none()).map(|f| f.name.clone()).collect()
    }

    /// Transforms `rows` of `frame` (all rows when None). A missing column or a cell of the wrong type is an
    /// error naming the column and row; unseen categories are counted in the stats.
    pub fn transform(&self, frame: &Frame, rows: Option<&[usize]>) -> Result<(Matrix, TransformStats)> {
        let missing = self.missing_columns(frame);
        if !missing.is_empty() {
            return Err(Error::data(
                &frame.source,
                None,
                None,
                format!("is missing feature column(s) the model needs: {}", missing.join(", ")),
            ));
        }
        let all: Vec<usize>;
        let rows = match rows {
            Some(r) => r,
            None => {
                all = (0..frame.n_rows).collect();
                &all
            }
        };
        let width = self.n_outputs();
        let mut encoders = Vec::with_capacity(self.features.len());
        let mut offset = 0;
        for feature in &self.features {
            let column = frame.column(&feature.name).ok_or_else(|| Error::Model("column vanished".into()))?;
            encoders.push((Encoder::new(frame, column, feature)?, offset));
            offset += feature.width();
        }
        // In blocks of rows, in parallel: a block's rows of the matrix stay in cache while every feature writes
        // its cells. Each block counts its imputed and unknown cells per feature.
        let mut data = vec![0.0; rows.len() * width];
        let counts: Vec<Vec<(usize, usize)>> = if width == 0 {
            Vec::new()
        } else {
            data.par_chunks_mut(TRANSFORM_BLOCK_ROWS * width)
                .zip(rows.par_chunks(TRANSFORM_BLOCK_ROWS))
                .map(|(out, rows)| {
                    encoders.iter().map(|(encoder, offset)| encoder.encode(rows, &mut out[*offset..], width)).collect()
                })
                .collect()
        };
        let mut stats = TransformStats::default();
        for (f, feature) in self.features.iter().enumerate() {
            let (imputed, unknown) = counts.iter().fold((0, 0), |(i, u), block| (i + block[f].0, u + block[f].1));
            if imputed > 0 {
                stats.imputed.insert(feature.name.clone(), imputed);
            }
            if unknown > 0 {
                stats.unknown_categories.insert(feature.name.clone(), unknown);
            }
        }
        Ok((Matrix::from_row_major(rows.len(), width, data), stats))
    }
}

/// The level part of an infrequent slot's output name, `name=(infrequent)`.
pub const INFREQUENT_NAME: &str = "(infrequent)";

/// Rows per block of [`FittedPipeline::transform`].
const TRANSFORM_BLOCK_ROWS: usize = 4096;

/// One feature's column as `transform` reads it, with what it needs looked up once per column.
enum Encoder<'a> {
    Numeric {
        values: std::borrow::Cow<'a, [f64]>,
        median: f64,
        mean: f64,
        scale: f64,
    },
    /// A categorical column: the one-hot slot of each of its own levels (None: a category unseen in training),
    /// and of a missing cell (the most frequent category's).
    Codes {
        codes: &'a [u32],
        slots: Vec<Option<usize>>,
        fill: Option<usize>,
    },
    /// A column typed otherwise, read cell by cell as text; `other` is the slot of a text not in `levels`.
    Text {
        column: &'a Column,
        levels: &'a [String],
        fill: Option<usize>,
        other: Option<usize>,
    },
    Date {
        values: std::borrow::Cow<'a, [f64]>,
        transform: &'a dates::DateTransform,
    },
}

impl<'a> Encoder<'a> {
    fn new(frame: &Frame, column: &'a Column, feature: &'a FittedFeature) -> Result<Self> {
        Ok(match &feature.transform {
            &FeatureTransform::Numeric { median, mean, scale } => {
                Encoder::Numeric { values: numeric_cells(frame, column)?, median, mean, scale }
            }
            FeatureTransform::Categorical { levels, most_frequent } => {
                // Infrequent and unseen levels share the infrequent slot when there is one.
                let other = feature.infrequent_slot();
                let fill = slot_of(levels, most_frequent).or(other);
                match &column.data {
                    // Looked up once per distinct text, not once per row.
                    ColumnData::Categorical { codes, levels: column_levels } => Encoder::Codes {
                        codes,
                        slots: column_levels.iter().map(|l| slot_of(levels, l).or(other)).collect(),
                        fill,
                    },
                    ColumnData::Numeric(_) | ColumnData::Date(_) => Encoder::Text { column, levels, fill, other },
                }
            }
            FeatureTransform::Date(transform) => Encoder::Date { values: date_cells(frame, column)?, transform },
        })
    }

    /// Writes the feature's cells of `rows`, row `i` at `out[i * width..]`; returns how many cells were imputed
    /// and how many were of unseen categories.
    fn encode(&self, rows: &[usize], out: &mut [f64], width: usize) -> (usize, usize) {
        let (mut imputed, mut unknown) = (0, 0);
        let mut one_hot = |i: usize, slot: Option<usize>| match slot {
            Some(k) => out[i * width + k] = 1.0,
            None => unknown += 1,
        };
        match self {
            Encoder::Numeric { values, median, mean, scale } => {
                for (i, &row) in rows.iter().enumerate() {
                    let mut x = values[row];
                    if x.is_nan() {
                        x = *median;
                        imputed += 1;
                    }
                    out[i * width] = (x - mean) / scale;
                }
            }
            Encoder::Codes { codes, slots, fill } => {
                for (i, &row) in rows.iter().enumerate() {
                    let slot = match codes[row] {
                        MISSING_CODE => {
                            imputed += 1;
                            *fill
                        }
                        code => slots[code as usize],
                    };
                    one_hot(i, slot);
                }
            }
            Encoder::Text { column, levels, fill, other } => {
                for (i, &row) in rows.iter().enumerate() {
                    let slot = match column.text(row) {
                        Some(text) => slot_of(levels, &text).or(*other),
                        None => {
                            imputed += 1;
                            *fill
                        }
                    };
                    one_hot(i, slot);
                }
            }
            Encoder::Date { values, transform } => imputed = transform.encode(values, rows, out, width),
        }
        (imputed, unknown)
    }
}

/// The one-hot slot of `value` among the sorted `levels`, if it is one.
fn slot_of(levels: &[String], value: &str) -> Option<usize> {
    levels.binary_search_by(|l| l.as_str().cmp(value)).ok()
}

/// The column as numbers: a categorical column (text that did not parse as a whole) is parsed cell by cell, and
/// the first cell that is not a number is the error.
fn numeric_cells<'a>(frame: &Frame, column: &'a Column) -> Result<std::borrow::Cow<'a, [f64]>> {
    match &column.data {
        ColumnData::Numeric(v) => Ok(std::borrow::Cow::Borrowed(v)),
        ColumnData::Categorical { codes, levels } => {
            let parsed: Vec<Option<f64>> = levels.iter().map(|l| parse_number(l)).collect();
            let mut out = Vec::with_capacity(codes.len());
            for (row, &code) in codes.iter().enumerate() {
                if code == MISSING_CODE {
                    out.push(f64::NAN);
                    continue;
                }
                match parsed[code as usize] {
                    Some(x) => out.push(x),
                    None => {
                        return Err(Error::data(
                            &frame.source,
                            Some(row + 1),
                            Some(&column.name),
                            format!("expected a number, found \"{}\"", levels[code as usize]),
                        ))
                    }
                }
            }
            Ok(std::borrow::Cow::Owned(out))
        }
        ColumnData::Date(_) => {
            Err(Error::data(&frame.source, None, Some(&column.name), "expected numbers, found dates"))
        }
    }
}

/// The column as dates: a column typed otherwise is parsed cell by cell, and cells that are not dates are the
/// error, naming their rows.
fn date_cells<'a>(frame: &Frame, column: &'a Column) -> Result<std::borrow::Cow<'a, [f64]>> {
    if let ColumnData::Date(v) = &column.data {
        return Ok(std::borrow::Cow::Borrowed(v));
    }
    let cells: Vec<Option<std::borrow::Cow<'_, str>>> = (0..column.len()).map(|r| column.text(r)).collect();
    let values = crate::data::schema::date_values(&frame.source, &column.name, cells.iter().map(Option::as_deref), 1)?;
    Ok(std::borrow::Cow::Owned(values))
}

fn fit_numeric(values: &[f64], rows: &[usize]) -> Option<FeatureTransform> {
    let mut present: Vec<f64> = rows.iter().map(|&r| values[r]).filter(|x| !x.is_nan()).collect();
    if present.is_empty() {
        return None;
    }
    // The middle value(s) of the sorted values, found without sorting them all (the same values: both orders
    // are `total_cmp`'s).
    let n = present.len();
    let (below, &mut upper, _) = present.select_nth_unstable_by(n / 2, f64::total_cmp);
    let median = if n % 2 == 1 {
        upper
    } else {
        let lower = below.iter().copied().max_by(f64::total_cmp).unwrap_or(upper);
        (lower + upper) / 2.0
    };
    // Mean and population standard deviation of the imputed column (StandardScaler, ddof = 0).
    let imputed = || rows.iter().map(|&r| if values[r].is_nan() { median } else { values[r] });
    let count = rows.len() as f64;
    let mean = imputed().sum::<f64>() / count;
    let variance = imputed().map(|x| (x - mean) * (x - mean)).sum::<f64>() / count;
    let std = variance.sqrt();
    let scale = if std > 10.0 * f64::EPSILON * mean.abs().max(1.0) { std } else { 1.0 };
    Some(FeatureTransform::Numeric { median, mean, scale })
}

/// Levels sorted, the most frequent (for imputation), and the infrequent grouping when the column has more than
/// `max_categories` levels in `rows`: as scikit-learn's `_identify_infrequent`, the levels sorted by text are
/// stably sorted by count and all but the last `max_categories - 1` are infrequent (so among equal counts the
/// later text is kept).
fn fit_categorical(
    codes: &[u32],
    levels: &[String],
    rows: &[usize],
    max_categories: usize,
) -> Option<(FeatureTransform, Option<Infrequent>)> {
    let mut counts = vec![0usize; levels.len()];
    for &r in rows {
        if codes[r] != MISSING_CODE {
            counts[codes[r] as usize] += 1;
        }
    }
    let mut seen: Vec<(&str, usize)> =
        levels.iter().zip(&counts).filter(|(_, &c)| c > 0).map(|(l, &c)| (l.as_str(), c)).collect();
    if seen.is_empty() {
        return None;
    }
    seen.sort_by(|a, b| a.0.cmp(b.0));
    // Most frequent; ties go to the smallest value, as SimpleImputer does.
    let max = seen.iter().map(|(_, c)| *c).max().unwrap_or(0);
    let most_frequent = seen.iter().find(|(_, c)| *c == max).map_or("", |(l, _)| l).to_owned();
    let mut infrequent = None;
    if seen.len() > max_categories {
        let mut by_count = seen.clone();
        by_count.sort_by_key(|&(_, c)| c);
        let grouped = &by_count[..by_count.len() - (max_categories - 1)];
        infrequent = Some(Infrequent { levels: grouped.len(), rows: grouped.iter().map(|(_, c)| c).sum() });
        let mut kept: Vec<&str> = by_count[grouped.len()..].iter().map(|(l, _)| *l).collect();
        kept.sort_unstable();
        seen.retain(|(l, _)| kept.binary_search(l).is_ok());
    }
    let levels = seen.into_iter().map(|(l, _)| l.to_owned()).collect();
    Some((FeatureTransform::Categorical { levels, most_frequent }, infrequent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn frame() -> Frame {
        Frame {
            source: PathBuf::from("t.csv"),
            n_rows: 4,
            columns: vec![
                Column { name: "n".into(), data: ColumnData::Numeric(vec![1.0, f64::NAN, 3.0, 4.0]) },
                Column {
                    name: "c".into(),
                    data: ColumnData::Categorical {
                        codes: vec![0, 1, MISSING_CODE, 1],
                        levels: vec!["b".into(), "a".into()],
                    },
                },
            ],
        }
    }

    #[test]
    fn fits_like_scikit_learn() {
        let f = frame();
        let p = FittedPipeline::fit(&f, &["n".into(), "c".into()], &[0, 1, 2, 3], &PipelineSpec::default()).unwrap();
        // median of [1, 3, 4] = 3; imputed column [1, 3, 3, 4]: mean 2.75, population std sqrt(1.1875)
        let FeatureTransform::Numeric { median, mean, scale } = p.features[0].transform else { panic!() };
        assert_eq!(median, 3.0);
        assert_eq!(mean, 2.75);
        assert!((scale - 1.1875f64.sqrt()).abs() < 1e-15);
        assert_eq!(
            p.features[1].transform,
            FeatureTransform::Categorical { levels: vec!["a".into(), "b".into()], most_frequent: "a".into() }
        );
        assert_eq!(p.output_names(), vec!["n", "c=a", "c=b"]);

        let (m, stats) = p.transform(&f, None).unwrap();
        assert_eq!(m.n_cols(), 3);
        assert_eq!(&m.row(2)[1..], &[1.0, 0.0]); // missing → most frequent "a"
        assert_eq!(stats.imputed.get("n"), Some(&1));
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let median = |values: &[f64]| match fit_numeric(values, &(0..values.len()).collect::<Vec<_>>()) {
            Some(FeatureTransform::Numeric { median, .. }) => median,
            other => panic!("{other:?}"),
        };
        assert_eq!(median(&[10.0, f64::NAN, 4.0, 1.0, 3.0]), 3.5);
        assert_eq!(median(&[2.0, 2.0, 7.0, -1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[5.0]), 5.0);
        assert_eq!(median(&[8.0, -2.0]), 3.0);
    }

    #[test]
    fn unknown_categories_are_zeros_and_counted_and_wrong_types_are_errors() {
        let f = frame();
        let p = FittedPipeline::fit(&f, &["n".into(), "c".into()], &[0, 1], &PipelineSpec::default()).unwrap();
        let (m, stats) = p.transform(&f, None).unwrap();
        assert_eq!(&m.row(3)[1..], &[1.0, 0.0]);
        let mut g = frame();
        g.columns[1].data = ColumnData::Categorical { codes: vec![0, 0, 0, 0], levels: vec!["zzz".into()] };
        let (_, stats2) = p.transform(&g, None).unwrap();
        assert_eq!(stats2.unknown_categories.get("c"), Some(&4));
        assert!(stats.unknown_categories.is_empty());

        let mut bad = frame();
        bad.columns[0].data = ColumnData::Categorical { codes: vec![0, 1, 0, 0], levels: vec!["1".into(), "x".into()] };
        let err = p.transform(&bad, None).unwrap_err().to_string();
        assert!(err.contains("row 2, column \"n\": expected a number, found \"x\""), "{err}");

        // A column the data typed as numbers, for a feature fitted as categories: cells are matched by text.
        let mut spelled = frame();
        spelled.columns[1].data = ColumnData::Categorical {
            codes: vec![1, MISSING_CODE, 0, 2],
            levels: vec!["1".into(), "2".into(), "5".into()],
        };
        let mut numbers = frame();
        numbers.columns[1].data = ColumnData::Numeric(vec![2.0, f64::NAN, 1.0, 5.0]);
        let q = FittedPipeline::fit(&spelled, &["c".into()], &[0, 1, 2], &PipelineSpec::default()).unwrap();
        let (by_code, code_stats) = q.transform(&spelled, None).unwrap();
        let (by_text, text_stats) = q.transform(&numbers, None).unwrap();
        assert_eq!(by_text, by_code);
        assert_eq!(by_code.row(0), &[0.0, 1.0]);
        assert_eq!(by_code.row(1), &[1.0, 0.0], "missing: the most frequent of \"1\", \"2\" (a tie: the first)");
        assert_eq!(by_code.row(3), &[0.0, 0.0], "\"5\" was not in the fitted rows");
        assert_eq!((code_stats.unknown_categories.get("c"), code_stats.imputed.get("c")), (Some(&1), Some(&1)));
        assert_eq!(text_stats, code_stats);

        let mut gone = frame();
        gone.columns.clear();
        let err = p.transform(&gone, None).unwrap_err().to_string();
        assert!(err.contains("n, c"), "{err}");
    }

    /// Many rows, picked out of order, are transformed in blocks: each row as alone, the counts summed.
    #[test]
    fn blocks_of_rows_give_each_row_and_the_summed_counts() {
        let n = 3 * TRANSFORM_BLOCK_ROWS + 5;
        let mut f = frame();
        f.n_rows = n;
        f.columns[0].data = ColumnData::Numeric((0..n).map(|i| if i % 7 == 0 { f64::NAN } else { i as f64 }).collect());
        let codes = (0..n).map(|i| if i % 5 == 0 { MISSING_CODE } else { (i % 3) as u32 }).collect();
        f.columns[1].data = ColumnData::Categorical { codes, levels: vec!["b".into(), "a".into(), "new".into()] };
        let p =
            FittedPipeline::fit(&frame(), &["n".into(), "c".into()], &[0, 1, 2, 3], &PipelineSpec::default()).unwrap();
        let rows: Vec<usize> = (0..n).rev().collect();
        let (m, stats) = p.transform(&f, Some(&rows)).unwrap();
        for (i, &row) in rows.iter().enumerate() {
            let mut one = f.clone();
            one.n_rows = 1;
            for column in &mut one.columns {
                column.data = match &column.data {
                    ColumnData::Numeric(v) => ColumnData::Numeric(vec![v[row]]),
                    ColumnData::Categorical { codes, levels } => {
                        ColumnData::Categorical { codes: vec![codes[row]], levels: levels.clone() }
                    }
                    ColumnData::Date(v) => ColumnData::Date(vec![v[row]]),
                };
            }
            assert_eq!(m.row(i), p.transform(&one, None).unwrap().0.row(0), "row {row}");
        }
        assert_eq!(stats.imputed.get("n"), Some(&(0..n).filter(|i| i % 7 == 0).count()));
        assert_eq!(stats.imputed.get("c"), Some(&(0..n).filter(|i| i % 5 == 0).count()));
        assert_eq!(stats.unknown_categories.get("c"), Some(&(0..n).filter(|i| i % 5 != 0 && i % 3 == 2).count()));
    }

    /// scikit-learn's OneHotEncoder(max_categories=3, handle_unknown="infrequent_if_exist") on
    /// [a, a, a, b, c, d, d]: categories [a, d, infrequent], with b, c (the earlier of the tied counts) grouped,
    /// and an unseen category encoded as infrequent.
    #[test]
    fn levels_beyond_max_categories_share_the_infrequent_slot_as_in_scikit_learn() {
        let levels: Vec<String> = ["d", "a", "c", "b"].iter().map(|s| (*s).to_owned()).collect();
        let codes = vec![1, 1, 1, 3, 2, 0, 0];
        let column = Column { name: "c".into(), data: ColumnData::Categorical { codes, levels } };
        let train = Frame { source: PathBuf::from("t.csv"), n_rows: 7, columns: vec![column] };
        let spec = PipelineSpec { max_categories: 3, ..PipelineSpec::default() };
        let p = FittedPipeline::fit(&train, &["c".into()], &(0..7).collect::<Vec<_>>(), &spec).unwrap();
        let f = &p.features[0];
        assert_eq!(
            f.transform,
            FeatureTransform::Categorical { levels: vec!["a".into(), "d".into()], most_frequent: "a".into() }
        );
        assert_eq!(f.infrequent, Some(Infrequent { levels: 2, rows: 2 }));
        assert_eq!(p.output_names(), vec!["c=a", "c=d", "c=(infrequent)"]);
        let new = Column {
            name: "c".into(),
            data: ColumnData::Categorical {
                codes: vec![0, 1, 2, MISSING_CODE],
                levels: vec!["b".into(), "zzz".into(), "d".into()],
            },
        };
        let frame = Frame { source: PathBuf::from("n.csv"), n_rows: 4, columns: vec![new] };
        let (m, stats) = p.transform(&frame, None).unwrap();
        assert_eq!(m.as_slice(), &[0., 0., 1., 0., 0., 1., 0., 1., 0., 1., 0., 0.]);
        assert!(stats.unknown_categories.is_empty(), "unseen categories are infrequent, not unknown");
        let within = FittedPipeline::fit(&train, &["c".into()], &(0..7).collect::<Vec<_>>(), &PipelineSpec::default());
        assert_eq!(within.unwrap().features[0].infrequent, None);
    }

    /// A pipeline written before format 4 (features only) decodes with no reading rules and no infrequent slots;
    /// a current one round-trips.
    #[test]
    fn format_3_pipelines_decode_with_the_defaults() {
        #[derive(Serialize)]
        struct V3<'a> {
            features: Vec<(&'a str, &'a FeatureTransform)>,
        }
        let p =
            FittedPipeline::fit(&frame(), &["n".into(), "c".into()], &[0, 1, 2, 3], &PipelineSpec::default()).unwrap();
        let v3 = V3 { features: p.features.iter().map(|f| (f.name.as_str(), &f.transform)).collect() };
        let bytes = postcard::to_stdvec(&v3).unwrap();
        let old: FittedPipeline = crate::wire::decoding(3, || postcard::from_bytes(&bytes)).unwrap();
        assert_eq!(old, p);
        let spec =
            PipelineSpec { na_values: vec!["?".into()], stray_as_missing: vec!["n".into()], ..PipelineSpec::default() };
        let q = FittedPipeline::fit(&frame(), &["n".into(), "c".into()], &[0, 1, 2, 3], &spec).unwrap();
        let bytes = postcard::to_stdvec(&q).unwrap();
        assert_eq!(crate::wire::decoding(4, || postcard::from_bytes::<FittedPipeline>(&bytes)).unwrap(), q);
        assert_eq!((q.na_values, q.stray_as_missing), (vec!["?".to_owned()], vec!["n".to_owned()]));
    }
}
