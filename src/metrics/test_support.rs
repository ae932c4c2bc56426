//! Test-only access to the scikit-learn reference fixtures in `tests/fixtures/metrics/` (see
//! `scripts/gen_metric_fixtures.py` for how they are made and what the tags "inf" and "undefined" mean), and the
//! one tolerance every metric is checked with.

use serde::Deserialize;
use serde_json::Value;

const CLASSIFICATION_FIXTURE: &str = include_str!("../../tests/fixtures/metrics/classification.json");
const REGRESSION_FIXTURE: &str = include_str!("../../tests/fixtures/metrics/regression.json");

/// Metrics in [0, 1] are compared absolutely; larger ones (MSE, MAPE with zeros in y_true, log loss) relatively:
/// |actual − expected| ≤ 1e-9 · max(1, |expected|). Infinities must be equal.
pub fn assert_close(actual: f64, expected: f64, context: &str) {
    let close = actual == expected || (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0);
    assert!(close, "{context}: got {actual:e}, sklearn gives {expected:e}");
}

pub fn assert_all_close(actual: &[f64], expected: &[f64], context: &str) {
    assert_eq!(actual.len(), expected.len(), "{context}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert_close(a, e, &format!("{context} [{i}]"));
    }
}

#[derive(Deserialize)]
struct Fixture<Case> {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct RawClassificationCase {
    name: String,
    n_classes: usize,
    class_names: Vec<String>,
    y_true: Vec<u32>,
    y_pred: Vec<u32>,
    scores: Option<Vec<Vec<f64>>>,
    expected: Value,
}

pub struct ClassificationCase {
    pub name: String,
    pub n_classes: usize,
    pub class_names: Vec<String>,
    pub y_true: Vec<u32>,
    pub y_pred: Vec<u32>,
    /// Row-major, as the metrics take them.
    pub scores: Option<Vec<f64>>,
    pub expected: Expected,
}

pub fn classification_cases() -> Vec<ClassificationCase> {
    let fixture: Fixture<RawClassificationCase> =
        serde_json::from_str(CLASSIFICATION_FIXTURE).expect("classification fixture parses");
    fixture
        .cases
        .into_iter()
        .map(|raw| ClassificationCase {
            name: raw.name,
            n_classes: raw.n_classes,
            class_names: raw.class_names,
            y_true: raw.y_true,
            y_pred: raw.y_pred,
            scores: raw.scores.map(|rows| rows.concat()),
            expected: Expected(raw.expected),
        })
        .collect()
}

#[derive(Deserialize)]
pub struct RegressionCase {
    pub name: String,
    pub y_true: Vec<f64>,
    pub y_pred: Vec<f64>,
    expected: Value,
}

impl RegressionCase {
    /// sklearn's value of a metric, `None` where it returned NaN.
    pub fn expected(&self, name: &str) -> Option<f64> {
        number(&self.expected[name])
    }
}

pub fn regression_cases() -> Vec<RegressionCase> {
    let fixture: Fixture<RegressionCase> = serde_json::from_str(REGRESSION_FIXTURE).expect("regression fixture parses");
    fixture.cases
}

/// A fixture number: `None` for "undefined" (sklearn's NaN), +inf for "inf".
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::String(tag) if tag == "undefined" => None,
        Value::String(tag) if tag == "inf" => Some(f64::INFINITY),
        Value::String(tag) if tag == "-inf" => Some(f64::NEG_INFINITY),
        other => Some(other.as_f64().unwrap_or_else(|| panic!("not a fixture number: {other}"))),
    }
}

fn numbers(value: &Value) -> Vec<f64> {
    array(value).iter().map(|v| number(v).unwrap_or_else(|| panic!("undefined inside an array: {value}"))).collect()
}

fn counts(value: &Value) -> Vec<u64> {
    array(value).iter().map(|v| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))).collect()
}

fn array(value: &Value) -> &Vec<Value> {
    value.as_array().unwrap_or_else(|| panic!("not an array: {value}"))
}

/// sklearn's results for one classification case.
pub struct Expected(Value);

impl Expected {
    pub fn confusion_matrix(&self) -> Vec<Vec<u64>> {
        array(&self.0["confusion_matrix"]).iter().map(counts).collect()
    }

    /// A metric by its `ClassificationMetrics::get` name; `None` if sklearn gave NaN or it was not computed
    /// (no scores).
    pub fn named(&self, name: &str) -> Option<f64> {
        self.0["named"].get(name).and_then(number)
    }

    /// Per-class "precision", "recall" or "f1".
    pub fn per_class(&self, what: &str) -> Vec<f64> {
        numbers(&self.0["per_class"][what])
    }

    pub fn support(&self) -> Vec<u64> {
        counts(&self.0["per_class"]["support"])
    }

    /// "precision", "recall" or "f1" of the "macro" or "weighted" average.
    pub fn average(&self, average: &str, what: &str) -> f64 {
        number(&self.0["averages"][average][what]).expect("averages are defined")
    }

    /// Whether sklearn raised its warning about "precision", "recall", "f_score", "balanced_accuracy" or
    /// "roc_auc".
    pub fn sklearn_warned(&self, what: &str) -> bool {
        self.0["sklearn_warned"][what].as_bool().unwrap_or_else(|| panic!("no warning flag {what}"))
    }

    /// `classification_report(..., digits=digits)`'s text.
    pub fn report(&self, digits: usize) -> &str {
        self.0["reports"][digits.to_string()].as_str().expect("report text")
    }

    /// The one-vs-rest curves of each class (binary: class 1 only); empty without scores.
    pub fn curves(&self) -> Vec<ExpectedCurves<'_>> {
        self.0.get("curves").map(|curves| array(curves).iter().map(ExpectedCurves).collect()).unwrap_or_default()
    }
}

pub struct ExpectedCurves<'a>(&'a Value);

/// Three parallel arrays of a curve, in sklearn's order: (fpr, tpr, thresholds) or (precision, recall, thresholds).
pub type CurvePoints = (Vec<f64>, Vec<f64>, Vec<f64>);

impl ExpectedCurves<'_> {
    pub fn pos_label(&self) -> u32 {
        let label = self.0["pos_label"].as_u64().expect("pos_label");
        u32::try_from(label).expect("pos_label fits u32")
    }

    /// `None` where sklearn's curve is NaN (a single class in y_true).
    pub fn roc(&self, drop_intermediate: bool) -> Option<CurvePoints> {
        let key = if drop_intermediate { "roc_drop_intermediate" } else { "roc_all_thresholds" };
        let curve = &self.0[key];
        curve.is_object().then(|| (numbers(&curve["fpr"]), numbers(&curve["tpr"]), numbers(&curve["thresholds"])))
    }

    pub fn precision_recall(&self, drop_intermediate: bool) -> CurvePoints {
        let key = if drop_intermediate { "pr_drop_intermediate" } else { "pr_all_thresholds" };
        let curve = &self.0[key];
        (numbers(&curve["precision"]), numbers(&curve["recall"]), numbers(&curve["thresholds"]))
    }
}
