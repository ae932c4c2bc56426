//! Consecutive windows of time from a start to an end, the predictions logged in each (by prediction time), and
//! the labelled ones among them, scored with the metric functions `evaluate` uses.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::data::frame::format_number;
use crate::error::{Error, Result};
use crate::metrics::calibration::Calibration;
use crate::metrics::{classification_metrics, regression_metrics, Metrics};
use crate::models::Task;
use crate::monitor::cbpe::{self, Scored};
use crate::monitor::join::{LoggedPrediction, Predicted};
use crate::ops::outcomes::Label;

/// More windows than this is a mistake in `--since`/`--window` (a year of one-minute windows), not a report.
pub const MAX_WINDOWS: i64 = 1000;

/// The windows of a period, filled row by row.
pub struct Windows {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub length: Duration,
    pub windows: Vec<Window>,
    /// Class labels in code order (sorted), for classification; empty for regression.
    classes: Vec<String>,
    codes: HashMap<String, u32>,
    task: Task,
    /// Binary classifiers: each version's calibration, for estimates (CBPE).
    calibrations: HashMap<semver::Version, Calibration>,
    /// Labelled rows whose label or prediction the model's classes do not hold (skipped).
    pub unmatched: usize,
}

pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub predicted: usize,
    /// Predictions per version.
    pub versions: BTreeMap<semver::Version, usize>,
    labelled: Labelled,
    /// Every prediction of a calibrated version, labelled or not, for the estimates.
    estimable: Vec<Scored>,
}

/// The labelled rows of a window: true and predicted class codes with every class's probability (row-major),
/// or true and predicted values.
enum Labelled {
    Classes { truth: Vec<u32>, predicted: Vec<u32>, scores: Vec<f64>, every_row_scored: bool },
    Values { truth: Vec<f64>, predicted: Vec<f64> },
}

impl Windows {
    /// Windows of `length` from `start` to `end` (the last one ends at `end`, and may be shorter).
    pub fn new(
        (start, end, length): (DateTime<Utc>, DateTime<Utc>, Duration),
        task: Task,
        classes: Vec<String>,
        calibrations: HashMap<semver::Version, Calibration>,
    ) -> Result<Self> {
        let span = (end - start).num_seconds().max(1);
        let n = (span + length.num_seconds() - 1) / length.num_seconds().max(1);
        if length.num_seconds() < 1 || n > MAX_WINDOWS {
            return Err(Error::Usage(format!(
                "--window: {n} windows of {}s over the period; use a longer --window or a shorter --since (at most \
                 {MAX_WINDOWS} windows)",
                length.num_seconds()
            )));
        }
        // Counted back from the end, so the latest window (the one a verdict rests on) is a whole one and only
        // the oldest may be cut short by the start of the period.
        let n = n.max(1);
        let windows = (0..n)
            .map(|i| {
                let back = |k: i64| end - length * i32::try_from(k).unwrap_or(i32::MAX);
                Window {
                    start: back(n - i).max(start),
                    end: back(n - 1 - i),
                    predicted: 0,
                    versions: BTreeMap::new(),
                    estimable: Vec::new(),
                    labelled: match task {
                        Task::Regression => Labelled::Values { truth: Vec::new(), predicted: Vec::new() },
                        _ => Labelled::Classes {
                            truth: Vec::new(),
                            predicted: Vec::new(),
                            scores: Vec::new(),
                            every_row_scored: true,
                        },
                    },
                }
            })
            .collect();
        let codes =
            classes.iter().enumerate().map(|(i, c)| (c.clone(), u32::try_from(i).unwrap_or(u32::MAX))).collect();
        Ok(Windows { start, end, length, windows, classes, codes, task, calibrations, unmatched: 0 })
    }

    /// Counts a logged prediction in its window and, when its outcome is known, keeps the pair for scoring.
    pub fn add(
        &mut self,
        logged: &LoggedPrediction<'_>,
        version: &semver::Version,
        at: DateTime<Utc>,
        outcome: Option<&Label>,
    ) {
        let Some(i) = self.index(at) else { return };
        let window = &mut self.windows[i];
        window.predicted += 1;
        match window.versions.get_mut(version) {
            Some(n) => *n += 1,
            None => {
                window.versions.insert(version.clone(), 1);
            }
        }
        if let Some(scored) = scored(self.calibrations.get(version), logged) {
            window.estimable.push(scored);
        }
        let (Some(label), Some(prediction)) = (outcome, &logged.prediction) else { return };
        let kept = match &mut window.labelled {
            Labelled::Values { truth, predicted } => match (label, prediction) {
                (Label::Value(y), Predicted::Value(p)) => {
                    truth.push(*y);
                    predicted.push(*p);
                    true
                }
                _ => false,
            },
            Labelled::Classes { truth, predicted, scores, every_row_scored } => {
                match (code(&self.codes, label), predicted_code(&self.codes, prediction)) {
                    (Some(y), Some(p)) => {
                        truth.push(y);
                        predicted.push(p);
                        match &logged.probabilities {
                            Some(probs) => {
                                scores.extend(self.classes.iter().map(|c| probs.get(c).unwrap_or(0.0)));
                            }
                            None => *every_row_scored = false,
                        }
                        true
                    }
                    _ => false,
                }
            }
        };
        if !kept {
            self.unmatched += 1;
        }
    }

    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Versions that made predictions in some window but have no calibration.
    pub fn uncalibrated_versions(&self) -> Vec<semver::Version> {
        let seen: std::collections::BTreeSet<&semver::Version> =
            self.windows.iter().flat_map(|w| w.versions.keys()).collect();
        seen.into_iter().filter(|v| !self.calibrations.contains_key(*v)).cloned().collect()
    }

    /// The window holding `at`.
    fn index(&self, at: DateTime<Utc>) -> Option<usize> {
        if at < self.start || at > self.end {
            return None;
        }
        // Window k from the end holds [end - (k+1)·length, end - k·length); the latest one holds the end too.
        let before_end = (self.end - at).num_milliseconds();
        let from_end = usize::try_from((before_end - 1).max(0) / self.length.num_milliseconds().max(1)).ok()?;
        self.windows.len().checked_sub(1 + from_end)
    }

    /// A window's metrics on its labelled rows; None when it has none.
    pub fn score(&self, window: &Window) -> Result<Option<Metrics>> {
        if window.labelled() == 0 {
            return Ok(None);
        }
        let scored = match &window.labelled {
            Labelled::Values { truth, predicted } => regression_metrics(truth, predicted).map(Metrics::Regression),
            Labelled::Classes { truth, predicted, scores, every_row_scored } => {
                let scores = every_row_scored.then_some(scores.as_slice());
                classification_metrics(truth, predicted, scores, self.classes.len()).map(Metrics::Classification)
            }
        };
        scored.map(Some).map_err(|e| Error::Model(format!("cannot score a {} window: {e}", self.task.as_str())))
    }
}

/// A logged prediction of a calibrated version, as CBPE takes it.
fn scored(calibration: Option<&Calibration>, logged: &LoggedPrediction<'_>) -> Option<Scored> {
    let calibration = calibration?;
    let score = logged.probabilities.as_ref()?.get(&calibration.positive_class)?;
    let predicted_positive =
        matches!(&logged.prediction, Some(Predicted::Class(c)) if *c == calibration.positive_class.as_str());
    Some(Scored { calibrated: calibration.map.apply(score), score, predicted_positive })
}

impl Window {
    /// CBPE's estimates over every prediction of a calibrated version (empty when there are none).
    pub fn estimated(&self) -> BTreeMap<String, f64> {
        cbpe::estimate(&self.estimable)
    }

    /// How many predictions the estimates rest on.
    pub fn estimable(&self) -> usize {
        self.estimable.len()
    }

    pub fn labelled(&self) -> usize {
        match &self.labelled {
            Labelled::Classes { truth, .. } => truth.len(),
            Labelled::Values { truth, .. } => truth.len(),
        }
    }

    /// The version that made most of the window's predictions (the newest on a tie).
    pub fn main_version(&self) -> Option<&semver::Version> {
        self.versions.iter().max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0))).map(|(v, _)| v)
    }
}

/// A predicted class's code; a number is looked up as the text it would be in a CSV.
fn predicted_code(codes: &HashMap<String, u32>, predicted: &Predicted<'_>) -> Option<u32> {
    match predicted {
        Predicted::Class(text) => codes.get(text.as_ref()).copied(),
        Predicted::Value(x) => codes.get(&format_number(*x)).copied(),
    }
}

/// A class label's code; a number label is looked up as the text it would be in a CSV.
fn code(codes: &HashMap<String, u32>, label: &Label) -> Option<u32> {
    match label {
        Label::Class(text) => codes.get(text).copied(),
        Label::Value(x) => codes.get(&format_number(*x)).copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_back_from_the_end_and_only_the_oldest_is_cut_short() {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let (day, ms) = (Duration::days(1), Duration::milliseconds(1));
        let w = Windows::new((start, start + day * 10, day * 7), Task::Regression, Vec::new(), HashMap::new()).unwrap();
        assert_eq!(w.windows.len(), 2);
        assert_eq!((w.windows[0].start, w.windows[0].end), (start, start + day * 3));
        assert_eq!((w.windows[1].start, w.windows[1].end), (start + day * 3, start + day * 10));
        assert_eq!(w.index(start), Some(0));
        assert_eq!(w.index(start + day * 3 - ms), Some(0));
        assert_eq!(w.index(start + day * 3), Some(1), "a window holds its start, not its end");
        assert_eq!(w.index(start + day * 10), Some(1));
        assert_eq!(w.index(start - ms), None);
        assert_eq!(w.index(start + day * 10 + ms), None);
    }
}
