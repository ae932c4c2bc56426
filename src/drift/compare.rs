//! Comparing current data with the reference profile: which test each feature gets, whether it drifted, PSI
//! for every feature, missing-rate changes, unseen categories, prediction drift, and the verdict.
//!
//! Default tests depend on the size of **both** samples (Evidently's look at the reference alone, FIELD_NOTES):
//! when the reference and the current data both have at least [`LARGE_SAMPLE_ROWS`] rows, distances (Wasserstein
//! in reference standard deviations, Jensen–Shannon base 2, drift at > 0.1), because p-values on large samples
//! flag differences too small to matter; otherwise p-value tests (KS for numeric, chi-square for categorical) at
//! a family-wise level of 0.05 (Bonferroni: each threshold is 0.05 / the number of p-value tests), because a
//! distance's sampling noise on a few hundred rows is as large as its threshold and cries wolf. Declared feature
//! types decide numeric vs categorical, never a count of unique values.

use std::collections::BTreeMap;

use serde::Serialize;

use super::chi_square::chi2_contingency;
use super::jensen_shannon::js_distance;
use super::ks::ks_2samp;
use super::profile::{categorical_values, FeatureData, PredictionProfile, ReferenceProfile};
use super::psi::{psi, NumericBins};
use super::wasserstein;
use crate::error::{Error, Result};

/// Rows both samples need before the distances replace the p-value tests as defaults. Near it, KS at the
/// corrected level (0.05 / 11 features) detects a shift of about 0.1 standard deviations against a 10,000-row
/// reference, as the Wasserstein threshold does; above it the p-value tests would keep getting more sensitive
/// while the distances do not, and a distance's own sampling noise is by then a fraction of its threshold.
pub const LARGE_SAMPLE_ROWS: usize = 5_000;
/// The family-wise level of the default p-value tests: the chance of any false alarm on a drift-free sample.
pub const FAMILY_LEVEL: f64 = 0.05;
/// Below this many current rows the tests say little; the report warns.
pub const MIN_CURRENT_ROWS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatTest {
    Ks,
    Wasserstein,
    #[serde(rename = "chisquare")]
    ChiSquare,
    #[serde(rename = "jensenshannon")]
    JensenShannon,
    Psi,
}

impl StatTest {
    pub const ALL: [StatTest; 5] =
        [StatTest::Ks, StatTest::Wasserstein, StatTest::ChiSquare, StatTest::JensenShannon, StatTest::Psi];

    pub fn as_str(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::Wasserstein => "wasserstein",
            StatTest::ChiSquare => "chisquare",
            StatTest::JensenShannon => "jensenshannon",
            StatTest::Psi => "psi",
        }
    }

    pub fn parse(s: &str) -> Result<StatTest> {
        let alias = match s {
            "chi2" | "chi-square" => "chisquare",
            "js" | "jensen-shannon" => "jensenshannon",
            other => other,
        };
        StatTest::ALL.into_iter().find(|t| t.as_str() == alias).ok_or_else(|| {
            let names: Vec<&str> = StatTest::ALL.iter().map(|t| t.as_str()).collect();
            Error::Config(format!(
                "unknown stattest \"{s}\"{}; available: {}",
                crate::suggest::hint(s, names.iter().copied()),
                names.join(", ")
            ))
        })
    }

    /// p-value tests drift below the threshold; distances above it.
    pub fn is_pvalue(self) -> bool {
        matches!(self, StatTest::Ks | StatTest::ChiSquare)
    }

    pub fn default_threshold(self) -> f64 {
        if self.is_pvalue() {
            FAMILY_LEVEL
        } else {
            0.1
        }
    }

    fn applies_to(self, numeric: bool) -> bool {
        match self {
            StatTest::Ks | StatTest::Wasserstein => numeric,
            StatTest::ChiSquare => !numeric,
            StatTest::JensenShannon | StatTest::Psi => true,
        }
    }

    /// The default for a feature: distances only when both samples are large (see [`LARGE_SAMPLE_ROWS`]).
    fn default_for(numeric: bool, sizes: Sizes) -> StatTest {
        let large = sizes.reference >= LARGE_SAMPLE_ROWS && sizes.current >= LARGE_SAMPLE_ROWS;
        match (numeric, large) {
            (true, false) => StatTest::Ks,
            (true, true) => StatTest::Wasserstein,
            (false, false) => StatTest::ChiSquare,
            (false, true) => StatTest::JensenShannon,
        }
    }
}

/// The row counts of the two samples, which choose the default tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub reference: usize,
    pub current: usize,
}

/// Divides the threshold of every p-value test in `choices` by their number (Bonferroni), so the chance that any
/// of them fires on a drift-free sample stays at the threshold itself; distances are left alone, and so is a
/// threshold set for one feature (`pinned`): the user chose that feature's level.
fn bonferroni(choices: &mut [(StatTest, f64)], pinned: &[bool]) {
    let tests = choices.iter().filter(|(t, _)| t.is_pvalue()).count();
    if tests > 1 {
        for ((test, threshold), pinned) in choices.iter_mut().zip(pinned) {
            if test.is_pvalue() && !pinned {
                *threshold /= tests as f64;
            }
        }
    }
}

/// A test and/or threshold chosen by the user.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Override {
    pub stattest: Option<StatTest>,
    pub threshold: Option<f64>,
}

/// One source of overrides (the command line, mlctl.toml): for all features and per feature.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    /// Tests for every feature each applies to; a later one wins (`--stattest psi --stattest ks`: ks for numeric
    /// features, psi for categorical ones).
    pub tests: Vec<StatTest>,
    /// Threshold for every feature.
    pub threshold: Option<f64>,
    pub features: BTreeMap<String, Override>,
    /// The layer's values were typed on the command line: a feature it names that the model lacks, or a test
    /// that does not fit a feature's type, is then a usage error (exit 2) rather than an error in mlctl.toml.
    pub from_flags: bool,
}

impl Layer {
    /// The error for a setting of this layer that cannot be used, of the kind its origin calls for.
    fn refuse(&self, message: String) -> Error {
        if self.from_flags {
            Error::Usage(message)
        } else {
            Error::Config(message)
        }
    }
}

/// When drift makes the command fail.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FailOn {
    /// Any feature drifted.
    Any,
    /// The share of drifted features is at least this (dataset drift, Evidently's rule at 0.5).
    Share(f64),
}

impl FailOn {
    pub fn parse(s: &str) -> Result<FailOn> {
        let bad = || {
            Error::Config(format!("--fail-on {s}: expected \"any\" or \"share=X\" with X in (0, 1], e.g. share=0.5"))
        };
        match s.trim() {
            "any" => Ok(FailOn::Any),
            other => {
                let value = other.strip_prefix("share=").ok_or_else(bad)?;
                let x: f64 = value.trim().parse().map_err(|_| bad())?;
                if x > 0.0 && x <= 1.0 {
                    Ok(FailOn::Share(x))
                } else {
                    Err(bad())
                }
            }
        }
    }
}

impl Serialize for FailOn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            FailOn::Any => s.serialize_str("any"),
            FailOn::Share(x) => s.serialize_str(&format!("share={x}")),
        }
    }
}

/// The current data, column by column in the reference's feature order.
#[derive(Debug, Clone)]
pub struct CurrentData {
    pub rows: usize,
    pub features: BTreeMap<String, CurrentColumn>,
    /// Predicted class index and score per row, when known.
    pub predictions: Option<(Vec<usize>, Vec<f64>)>,
}

#[derive(Debug, Clone)]
pub enum CurrentColumn {
    /// NaN = missing.
    Numeric(Vec<f64>),
    Categorical(Vec<Option<String>>),
}

#[derive(Debug, Clone, Serialize)]
pub struct Histogram {
    pub bins: Vec<String>,
    pub reference: Vec<f64>,
    pub current: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeatureDrift {
    pub feature: String,
    #[serde(rename = "type")]
    pub column_type: &'static str,
    pub test: StatTest,
    /// KS D, chi-square statistic, normalised Wasserstein distance, JS distance or PSI.
    pub statistic: f64,
    /// For p-value tests (ks, chisquare).
    pub p_value: Option<f64>,
    pub threshold: f64,
    pub psi: f64,
    /// "stable" (< 0.1), "moderate" (0.1–0.25) or "major" (> 0.25).
    pub psi_band: &'static str,
    pub drifted: bool,
    pub reference_rows: usize,
    pub current_rows: usize,
    pub missing_rate_reference: f64,
    pub missing_rate_current: f64,
    /// Categories absent from the reference, with their count in the current data (most frequent first).
    pub unseen_categories: Vec<(String, u64)>,
    pub histogram: Histogram,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub model: String,
    pub version: semver::Version,
    pub reference_rows: usize,
    pub current_source: String,
    pub current_rows: usize,
    pub features: Vec<FeatureDrift>,
    pub drifted_features: Vec<String>,
    pub share_drifted: f64,
    /// The predicted class distribution and the score distribution against the reference's.
    pub predictions: Vec<FeatureDrift>,
    pub prediction_drift: bool,
    pub fail_on: FailOn,
    pub drift_detected: bool,
    pub warnings: Vec<String>,
    /// The markdown report, when one was written.
    pub report: Option<String>,
}

/// The test and threshold of each feature, in profile order: overrides (`layers`, highest priority first) over
/// the defaults for `current_rows` against the profile's sample. With `correct` (the default), the p-value
/// thresholds are divided by the number of p-value tests, so the chance of any false alarm across all features
/// stays at the nominal level (alibi-detect's correction). Called with 0 current rows before any data is read,
/// so a typo fails fast.
pub fn choose_tests(
    profile: &ReferenceProfile,
    layers: &[Layer],
    correct: bool,
    current_rows: usize,
) -> Result<Vec<(StatTest, f64)>> {
    let names: Vec<&str> = profile.features.iter().map(|f| f.name.as_str()).collect();
    for layer in layers {
        for name in layer.features.keys() {
            if !names.contains(&name.as_str()) {
                return Err(layer.refuse(format!(
                    "drift settings name feature \"{name}\" which the model does not have{}; features: {}",
                    crate::suggest::hint(name, names.iter().copied()),
                    names.join(", ")
                )));
            }
        }
    }
    let sizes = Sizes { reference: profile.sample_rows, current: current_rows };
    let mut choices = profile
        .features
        .iter()
        .map(|f| resolve(layers, &f.name, matches!(f.data, FeatureData::Numeric { .. }), sizes))
        .collect::<Result<Vec<_>>>()?;
    if correct {
        let pinned: Vec<bool> = profile.features.iter().map(|f| pinned_threshold(layers, &f.name)).collect();
        bonferroni(&mut choices, &pinned);
    }
    Ok(choices)
}

/// Compares `current` with `profile`, feature `i` with `choices[i]` (from [`choose_tests`]); `correct` applies
/// the same correction to the prediction tests.
pub fn compare(
    profile: &ReferenceProfile,
    current: &CurrentData,
    choices: &[(StatTest, f64)],
    fail_on: FailOn,
    correct: bool,
) -> Result<DriftReport> {
    let mut warnings = Vec::new();
    if current.rows < MIN_CURRENT_ROWS {
        warnings.push(format!(
            "the current data has only {} row(s): with fewer than {MIN_CURRENT_ROWS} the tests can neither confirm \
             nor rule out drift reliably",
            current.rows
        ));
    }
    let mut features = Vec::new();
    for (f, &choice) in profile.features.iter().zip(choices) {
        let column = current
            .features
            .get(&f.name)
            .ok_or_else(|| Error::Config(format!("the current data has no column \"{}\"", f.name)))?;
        let drift = match (&f.data, column) {
            (FeatureData::Numeric { bins, values, .. }, CurrentColumn::Numeric(cur)) => {
                let reference: Vec<f64> = values.iter().flatten().copied().collect();
                let present: Vec<f64> = cur.iter().copied().filter(|x| !x.is_nan()).collect();
                let missing = (cur.len() - present.len()) as f64 / cur.len().max(1) as f64;
                numeric_drift(&f.name, &reference, &present, bins, choice, f.missing_rate, missing)
            }
            (FeatureData::Categorical { levels, codes, .. }, CurrentColumn::Categorical(cur)) => {
                let reference: Vec<String> = categorical_values(levels, codes).into_iter().flatten().collect();
                let present: Vec<String> = cur.iter().flatten().cloned().collect();
                let missing = (cur.len() - present.len()) as f64 / cur.len().max(1) as f64;
                categorical_drift(&f.name, &reference, &present, choice, f.missing_rate, missing)
            }
            _ => return Err(Error::Config(format!("feature \"{}\" has another type than in training", f.name))),
        };
        if drift.current_rows == 0 && current.rows > 0 {
            warnings.push(format!("\"{}\" is missing in every current row: it cannot be tested", f.name));
        }
        if (drift.missing_rate_current - drift.missing_rate_reference).abs() >= 0.05 {
            warnings.push(format!(
                "\"{}\" is missing in {:.1}% of current rows (reference {:.1}%)",
                f.name,
                100.0 * drift.missing_rate_current,
                100.0 * drift.missing_rate_reference
            ));
        }
        if !drift.unseen_categories.is_empty() {
            let total: u64 = drift.unseen_categories.iter().map(|c| c.1).sum();
            let shown: Vec<String> =
                drift.unseen_categories.iter().take(5).map(|(c, n)| format!("\"{c}\" ({n})")).collect();
            warnings.push(format!(
                "\"{}\" has {total} current value(s) in categories unseen in the reference: {}{}",
                f.name,
                shown.join(", "),
                if drift.unseen_categories.len() > 5 { ", …" } else { "" }
            ));
        }
        features.push(drift);
    }
    let predictions = match &current.predictions {
        Some((classes, scores)) => {
            let sizes = Sizes { reference: profile.predictions.rows, current: current.rows };
            prediction_drift(&profile.predictions, classes, scores, sizes, correct)
        }
        None => Vec::new(),
    };
    let drifted_features: Vec<String> = features.iter().filter(|f| f.drifted).map(|f| f.feature.clone()).collect();
    let share_drifted = drifted_features.len() as f64 / features.len().max(1) as f64;
    let drift_detected = match fail_on {
        FailOn::Any => !drifted_features.is_empty(),
        FailOn::Share(x) => share_drifted >= x,
    };
    Ok(DriftReport {
        model: String::new(),
        version: semver::Version::new(0, 0, 0),
        reference_rows: profile.sample_rows,
        current_source: String::new(),
        current_rows: current.rows,
        prediction_drift: predictions.iter().any(|p| p.drifted),
        features,
        drifted_features,
        share_drifted,
        predictions,
        fail_on,
        drift_detected,
        warnings,
        report: None,
    })
}

/// A feature's test: the first layer that sets one for this feature, or for all features — an all-features test
/// covers the features of the type it applies to (`--stattest ks` for the numeric ones) and leaves the others to
/// lower layers and the default; a test named for a feature of the wrong type is an error.
fn resolve(layers: &[Layer], feature: &str, numeric: bool, sizes: Sizes) -> Result<(StatTest, f64)> {
    let mut chosen = None;
    for layer in layers {
        if let Some(test) = layer.features.get(feature).and_then(|o| o.stattest) {
            if !test.applies_to(numeric) {
                let kind = if numeric { "numeric" } else { "categorical" };
                let fitting: Vec<&str> =
                    StatTest::ALL.iter().filter(|t| t.applies_to(numeric)).map(|t| t.as_str()).collect();
                return Err(layer.refuse(format!(
                    "stattest {} does not apply to {kind} feature \"{feature}\"; {kind} features take: {}",
                    test.as_str(),
                    fitting.join(", ")
                )));
            }
            chosen = Some(test);
            break;
        }
        if let Some(&test) = layer.tests.iter().rev().find(|t| t.applies_to(numeric)) {
            chosen = Some(test);
            break;
        }
    }
    let test = chosen.unwrap_or_else(|| StatTest::default_for(numeric, sizes));
    let threshold = layers
        .iter()
        .find_map(|l| l.features.get(feature).and_then(|o| o.threshold).or(l.threshold))
        .unwrap_or(test.default_threshold());
    Ok((test, threshold))
}

/// Whether the threshold [`resolve`] picks for `feature` was set for that feature alone.
fn pinned_threshold(layers: &[Layer], feature: &str) -> bool {
    layers
        .iter()
        .find_map(|l| match l.features.get(feature).and_then(|o| o.threshold) {
            Some(_) => Some(true),
            None => l.threshold.map(|_| false),
        })
        .unwrap_or(false)
}

fn band(psi: f64) -> &'static str {
    if psi < 0.1 {
        "stable"
    } else if psi <= 0.25 {
        "moderate"
    } else {
        "major"
    }
}

fn proportions(counts: &[u64]) -> Vec<f64> {
    let n: u64 = counts.iter().sum();
    counts.iter().map(|&c| if n == 0 { 0.0 } else { c as f64 / n as f64 }).collect()
}

fn decide(test: StatTest, statistic: f64, p_value: Option<f64>, threshold: f64) -> bool {
    match p_value {
        Some(p) if test.is_pvalue() => p < threshold,
        _ => statistic.is_finite() && statistic > threshold,
    }
}

#[allow(clippy::too_many_arguments)]
fn numeric_drift(
    name: &str,
    reference: &[f64],
    current: &[f64],
    bins: &NumericBins,
    (test, threshold): (StatTest, f64),
    missing_ref: f64,
    missing_cur: f64,
) -> FeatureDrift {
    let ref_counts = bins.counts(reference);
    let cur_counts = bins.counts(current);
    let psi_value = psi(&ref_counts, &cur_counts).unwrap_or(f64::NAN);
    let (statistic, p_value) = match test {
        StatTest::Ks => ks_2samp(reference, current).map_or((f64::NAN, None), |r| (r.statistic, Some(r.pvalue))),
        StatTest::Wasserstein => (wasserstein::normalised(reference, current).unwrap_or(f64::NAN), None),
        StatTest::JensenShannon => {
            (js_distance(&proportions(&ref_counts), &proportions(&cur_counts)).unwrap_or(f64::NAN), None)
        }
        StatTest::Psi | StatTest::ChiSquare => (psi_value, None),
    };
    FeatureDrift {
        feature: name.to_owned(),
        column_type: "numeric",
        test,
        statistic,
        p_value,
        threshold,
        psi: psi_value,
        psi_band: band(psi_value),
        drifted: !current.is_empty() && decide(test, statistic, p_value, threshold),
        reference_rows: reference.len(),
        current_rows: current.len(),
        missing_rate_reference: missing_ref,
        missing_rate_current: missing_cur,
        unseen_categories: Vec::new(),
        histogram: Histogram {
            bins: bins.labels(),
            reference: proportions(&ref_counts),
            current: proportions(&cur_counts),
        },
    }
}

fn categorical_drift(
    name: &str,
    reference: &[String],
    current: &[String],
    (test, threshold): (StatTest, f64),
    missing_ref: f64,
    missing_cur: f64,
) -> FeatureDrift {
    // Bins: the union of categories, reference ones first (sorted), then unseen ones by frequency.
    let mut ref_freq: BTreeMap<&str, u64> = BTreeMap::new();
    for c in reference {
        *ref_freq.entry(c).or_default() += 1;
    }
    let mut cur_freq: BTreeMap<&str, u64> = BTreeMap::new();
    for c in current {
        *cur_freq.entry(c).or_default() += 1;
    }
    let mut unseen: Vec<(String, u64)> =
        cur_freq.iter().filter(|(c, _)| !ref_freq.contains_key(*c)).map(|(c, n)| ((*c).to_owned(), *n)).collect();
    unseen.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut labels: Vec<String> = ref_freq.keys().map(|c| (*c).to_owned()).collect();
    labels.extend(unseen.iter().map(|(c, _)| c.clone()));
    let ref_counts: Vec<u64> = labels.iter().map(|l| ref_freq.get(l.as_str()).copied().unwrap_or(0)).collect();
    let cur_counts: Vec<u64> = labels.iter().map(|l| cur_freq.get(l.as_str()).copied().unwrap_or(0)).collect();
    // PSI: the reference categories plus one bin for everything unseen.
    let k = ref_freq.len();
    let pool = |counts: &[u64]| -> Vec<u64> {
        let mut v = counts[..k].to_vec();
        v.push(counts[k..].iter().sum());
        v
    };
    let psi_value = psi(&pool(&ref_counts), &pool(&cur_counts)).unwrap_or(f64::NAN);
    let (statistic, p_value) = match test {
        StatTest::ChiSquare => {
            chi2_contingency(&ref_counts, &cur_counts).map_or((f64::NAN, None), |r| (r.statistic, Some(r.pvalue)))
        }
        StatTest::JensenShannon => {
            (js_distance(&proportions(&ref_counts), &proportions(&cur_counts)).unwrap_or(f64::NAN), None)
        }
        _ => (psi_value, None),
    };
    FeatureDrift {
        feature: name.to_owned(),
        column_type: "categorical",
        test,
        statistic,
        p_value,
        threshold,
        psi: psi_value,
        psi_band: band(psi_value),
        drifted: !current.is_empty() && decide(test, statistic, p_value, threshold),
        reference_rows: reference.len(),
        current_rows: current.len(),
        missing_rate_reference: missing_ref,
        missing_rate_current: missing_cur,
        unseen_categories: unseen,
        histogram: Histogram { bins: labels, reference: proportions(&ref_counts), current: proportions(&cur_counts) },
    }
}

/// The predicted classes (chi-square / JS) and the scores (KS / Wasserstein) against the reference's, with the
/// default tests for the two sizes (corrected like the features' when `correct`).
fn prediction_drift(
    reference: &PredictionProfile,
    classes: &[usize],
    scores: &[f64],
    sizes: Sizes,
    correct: bool,
) -> Vec<FeatureDrift> {
    // Regression has no classes: its prediction is the score alone.
    let has_classes = !reference.classes.is_empty();
    let mut choices: Vec<(StatTest, f64)> = [(has_classes, false), (true, true)]
        .into_iter()
        .filter(|(present, _)| *present)
        .map(|(_, numeric)| {
            let test = StatTest::default_for(numeric, sizes);
            (test, test.default_threshold())
        })
        .collect();
    if correct {
        bonferroni(&mut choices, &[false, false]);
    }
    let score_choice = choices[choices.len() - 1];
    let score_drift = numeric_drift(
        &format!("score {}", reference.score),
        &reference.scores,
        scores,
        &reference.bins,
        score_choice,
        0.0,
        0.0,
    );
    if !has_classes {
        return vec![score_drift];
    }
    let ref_classes: Vec<String> = reference
        .class_counts
        .iter()
        .enumerate()
        .flat_map(|(k, &n)| std::iter::repeat_n(reference.classes[k].clone(), n as usize))
        .collect();
    let cur_classes: Vec<String> = classes.iter().filter_map(|&k| reference.classes.get(k).cloned()).collect();
    let mut class_drift = categorical_drift("predicted class", &ref_classes, &cur_classes, choices[0], 0.0, 0.0);
    // Every class the model can predict is a bin, even when no row was predicted as it.
    for c in &reference.classes {
        if !class_drift.histogram.bins.contains(c) {
            class_drift.histogram.bins.push(c.clone());
            class_drift.histogram.reference.push(0.0);
            class_drift.histogram.current.push(0.0);
        }
    }
    vec![class_drift, score_drift]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tests_and_rules() {
        assert_eq!(StatTest::parse("js").unwrap(), StatTest::JensenShannon);
        assert!(StatTest::parse("kss").unwrap_err().to_string().contains("did you mean \"ks\""));
        assert_eq!(FailOn::parse("share=0.5").unwrap(), FailOn::Share(0.5));
        assert_eq!(FailOn::parse("any").unwrap(), FailOn::Any);
        assert!(FailOn::parse("share=2").is_err());
        assert!(FailOn::parse("half").is_err());
    }

    #[test]
    fn defaults_follow_the_size_of_both_samples_and_overrides_layer() {
        let sizes = |reference, current| Sizes { reference, current };
        // Distances only when both samples are large; a small current sample gets a p-value test however large
        // the reference, and so does a large current sample against a small reference.
        assert_eq!(resolve(&[], "x", true, sizes(10_000, 200)).unwrap(), (StatTest::Ks, 0.05));
        assert_eq!(resolve(&[], "x", true, sizes(10_000, 4_999)).unwrap(), (StatTest::Ks, 0.05));
        assert_eq!(resolve(&[], "x", true, sizes(1_000, 1_000_000)).unwrap(), (StatTest::Ks, 0.05));
        assert_eq!(resolve(&[], "x", true, sizes(5_000, 5_000)).unwrap(), (StatTest::Wasserstein, 0.1));
        assert_eq!(resolve(&[], "x", false, sizes(10_000, 200)).unwrap(), (StatTest::ChiSquare, 0.05));
        assert_eq!(resolve(&[], "x", false, sizes(10_000, 5_000)).unwrap(), (StatTest::JensenShannon, 0.1));
        let (small, big) = (sizes(10, 10), sizes(5_000, 5_000));
        let cli = Layer { threshold: Some(0.2), ..Layer::default() };
        let mut toml = Layer::default();
        toml.features.insert("x".into(), Override { stattest: Some(StatTest::Psi), threshold: Some(0.3) });
        assert_eq!(resolve(&[cli.clone(), toml.clone()], "x", true, small).unwrap(), (StatTest::Psi, 0.2));
        assert_eq!(resolve(&[toml], "x", true, small).unwrap(), (StatTest::Psi, 0.3));
        // All-features tests cover the features they apply to, the later first; named for the wrong type, an error.
        let all = Layer { tests: vec![StatTest::Psi, StatTest::ChiSquare], ..Layer::default() };
        assert_eq!(resolve(std::slice::from_ref(&all), "x", true, small).unwrap(), (StatTest::Psi, 0.1));
        assert_eq!(resolve(&[all], "c", false, big).unwrap(), (StatTest::ChiSquare, 0.05));
        let mut bad = Layer::default();
        bad.features.insert("x".into(), Override { stattest: Some(StatTest::ChiSquare), threshold: None });
        assert!(resolve(&[bad], "x", true, small).unwrap_err().to_string().contains("does not apply to numeric"));
    }

    #[test]
    fn bonferroni_divides_only_the_p_value_thresholds() {
        let mut choices = vec![(StatTest::Ks, 0.05), (StatTest::Psi, 0.1), (StatTest::ChiSquare, 0.05)];
        bonferroni(&mut choices, &[false; 3]);
        assert_eq!(choices, [(StatTest::Ks, 0.025), (StatTest::Psi, 0.1), (StatTest::ChiSquare, 0.025)]);
        let mut pinned = vec![(StatTest::Ks, 0.05), (StatTest::ChiSquare, 0.01)];
        bonferroni(&mut pinned, &[false, true]);
        assert_eq!(pinned, [(StatTest::Ks, 0.025), (StatTest::ChiSquare, 0.01)], "a feature's own threshold stays");
        let mut one = vec![(StatTest::Ks, 0.05)];
        bonferroni(&mut one, &[false]);
        assert_eq!(one, [(StatTest::Ks, 0.05)], "one test needs no correction");
    }
}
