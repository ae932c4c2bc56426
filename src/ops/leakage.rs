//! Refusing to score a model on the rows it was trained on, for `evaluate` and `promote --data`: scores on
//! training rows measure memory, not generalisation (a holdout exported with the training seed reported accuracy
//! 0.859 against 0.78 on the test split, and passed a promotion gate). Two checks: the scoring file is the
//! training file (same SHA-256 as recorded at training), and the share of scored rows found in the version's row
//! fingerprint (see [`crate::data::fingerprint`]) is above [`MAX_OVERLAP`]. `--allow-overlap` lets both through
//! with a warning. Clustering is exempt: a segmentation is described on the rows it was fitted on.

use std::path::Path;

use serde::Serialize;

use crate::data::fingerprint::{Fingerprint, RowShape, FINGERPRINT_FILE};
use crate::data::frame::Frame;
use crate::error::{Error, Result};
use crate::models::Task;
use crate::registry::loaded::LoadedModel;
use crate::registry::Store;

/// Above this share of scored rows that were training rows, scoring is refused without `--allow-overlap`.
pub const MAX_OVERLAP: f64 = 0.10;

/// Whether scoring on training rows is refused or only warned about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverlapPolicy {
    #[default]
    Refuse,
    /// `--allow-overlap`: score anyway, with a warning.
    Allow,
}

/// How much of the scored data the model was trained on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TrainingOverlap {
    /// The scoring file is the training file (same SHA-256).
    pub training_file: bool,
    /// Estimated share of the scored rows that were rows of the training split; None when not checked.
    pub share: Option<f64>,
    /// Estimated number of such rows.
    pub rows: Option<usize>,
    /// The fingerprint's false-positive rate, which the estimate is corrected for.
    pub false_positive_rate: Option<f64>,
    /// Why the overlap was not checked.
    pub note: Option<String>,
    /// What `--allow-overlap` let through, for the command's warnings.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl TrainingOverlap {
    /// A line for people: "0.0% of rows were training rows", or why it was not checked.
    pub fn describe(&self) -> String {
        if self.training_file {
            return "it is the training file itself (allowed by --allow-overlap)".to_owned();
        }
        match (self.share, &self.note) {
            (Some(share), _) => format!("about {:.1}% of rows were training rows", share * 100.0),
            (None, Some(note)) => note.clone(),
            (None, None) => "not checked".to_owned(),
        }
    }
}

/// Checks the scoring file against `model`'s training data: refuses (or, allowed, warns about) the training
/// file itself and an overlap above [`MAX_OVERLAP`]. `sha256` is the scoring file's, `frame` its rows.
pub fn check(
    store: &Store,
    model: &LoadedModel,
    path: &Path,
    sha256: &str,
    frame: &Frame,
    policy: OverlapPolicy,
) -> Result<TrainingOverlap> {
    if model.bundle.task == Task::Clustering {
        return Ok(TrainingOverlap { note: Some("not checked for clustering".to_owned()), ..Default::default() });
    }
    let who = format!("{}@{}", model.name, model.record.version);
    let mut warnings = Vec::new();
    let training_file = sha256 == model.record.dataset.sha256;
    if training_file {
        let what = format!(
            "is the file {who} was trained on (the same SHA-256 as its dataset {}): scores on training rows measure \
             memory, not how the model does on new data",
            model.record.dataset.path
        );
        refuse_or_warn(path, what, policy, &mut warnings)?;
    }
    let mut overlap = measure(store, model, &who, frame)?;
    overlap.training_file = training_file;
    if let (Some(share), Some(rows), false) = (overlap.share, overlap.rows, training_file) {
        if share > MAX_OVERLAP {
            let what = format!(
                "about {rows} of its {} rows ({:.1}%) are rows {who} was trained on (the same features and \
                 target){}: scores on them are inflated",
                frame.n_rows,
                share * 100.0,
                overlap.note.take().unwrap_or_default()
            );
            refuse_or_warn(path, what, policy, &mut warnings)?;
        }
    }
    overlap.note = overlap.note.filter(|_| overlap.share.is_none());
    overlap.warnings = warnings;
    Ok(overlap)
}

fn refuse_or_warn(path: &Path, what: String, policy: OverlapPolicy, warnings: &mut Vec<String>) -> Result<()> {
    match policy {
        OverlapPolicy::Refuse => Err(Error::data(path, None, None, format!("{what}; {}", remedy()))),
        OverlapPolicy::Allow => {
            warnings.push(format!("{}: {what} (--allow-overlap)", path.display()));
            Ok(())
        }
    }
}

/// The share of `frame`'s rows found in the version's fingerprint; a note instead when there is none (a version
/// trained before fingerprints) or columns are missing (for scoring to report, with its own message). With a
/// share, the note carries how often rows repeat by nature in this data, for a refusal's message.
fn measure(store: &Store, model: &LoadedModel, who: &str, frame: &Frame) -> Result<TrainingOverlap> {
    let path = store.version_file(&model.name, &model.record, FINGERPRINT_FILE)?;
    let Some(fingerprint) = path.map(|p| Fingerprint::read(&p)).transpose()? else {
        let note = format!("not checked: {who} was trained before mlctl kept a fingerprint of the training rows");
        return Ok(TrainingOverlap { note: Some(note), ..Default::default() });
    };
    let features: Vec<String> = model.bundle.pipeline.features.iter().map(|f| f.name.clone()).collect();
    let target = model.bundle.target.as_str();
    if features.iter().map(String::as_str).chain([target]).any(|c| frame.column(c).is_none()) {
        return Ok(TrainingOverlap { note: Some("not checked: columns are missing".to_owned()), ..Default::default() });
    }
    let shape = RowShape { features: &features, target: Some(target) };
    let measured = fingerprint.measure(frame, &shape, None)?;
    Ok(TrainingOverlap {
        share: Some(measured.share),
        rows: Some((measured.share * measured.rows as f64).round() as usize),
        false_positive_rate: Some(measured.false_positive_rate),
        note: Some(natural_repeats(&fingerprint)),
        ..Default::default()
    })
}

fn remedy() -> String {
    format!(
        "score on rows held out from training (make a holdout with `mlctl split`), or pass --allow-overlap to score \
         anyway (refused above {:.0}% of rows)",
        MAX_OVERLAP * 100.0
    )
}

/// When rows repeat by nature in this data (few distinct values), says so: the test split already shared rows
/// with the training split at training time.
fn natural_repeats(fingerprint: &Fingerprint) -> String {
    if fingerprint.test_share < 0.01 {
        return String::new();
    }
    format!(
        " (at training, {:.1}% of the test split's rows also occurred in the training split: rows repeat in this data)",
        fingerprint.test_share * 100.0
    )
}
