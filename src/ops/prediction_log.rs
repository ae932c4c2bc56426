//! The prediction log: one JSON line per prediction, appended to `logs/predictions/<name>/<YYYY-MM-DD>.jsonl`,
//! which `drift --logs` reads.
//!
//! Lines are written directly instead of being built as `serde_json::Value` maps, which cost most of a
//! logged predict (bench/NOTES.md). The keys come in sorted order, as serde_json's maps (B-trees)
//! put them, and every key and value goes through serde_json, so the bytes are the same as before.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::frame::{Column, ColumnData};
use crate::error::{Error, IoContext, Result};

/// The day's log of one model, opened for appending.
pub(crate) struct PredictionLog {
    pub(crate) path: PathBuf,
    file: std::fs::File,
    /// The file ended mid-line when opened (a writer killed mid-write): the first append starts a new line,
    /// so the torn line stays alone and readers skip it instead of the next batch's first line.
    torn: bool,
}

impl PredictionLog {
    pub(crate) fn open(dir: &Path, model: &str) -> Result<Self> {
        let day = crate::clock::now().format("%Y-%m-%d").to_string();
        let folder = dir.join(model);
        std::fs::create_dir_all(&folder).at(&folder)?;
        let path = folder.join(format!("{day}.jsonl"));
        let mut file = OpenOptions::new().create(true).append(true).read(true).open(&path).at(&path)?;
        let torn = ends_mid_line(&mut file).at(&path)?;
        Ok(PredictionLog { path, file, torn })
    }

    /// Appends a batch's lines with one call, so that concurrent runs do not interleave lines.
    pub(crate) fn append(&mut self, lines: &[u8]) -> Result<()> {
        if std::mem::take(&mut self.torn) {
            let mut joined = Vec::with_capacity(lines.len() + 1);
            joined.push(b'\n');
            joined.extend_from_slice(lines);
            return self.file.write_all(&joined).at(&self.path);
        }
        self.file.write_all(lines).at(&self.path)
    }
}

/// Whether a non-empty file's last byte is not a line break.
fn ends_mid_line(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// What one line says of its prediction.
#[derive(Clone, Copy)]
pub(crate) enum Logged<'a> {
    /// The predicted class (None if out of range), every class's probability in class order, the threshold.
    Class {
        label: Option<&'a str>,
        probabilities: &'a [f64],
        threshold: Option<f64>,
    },
    Value(f64),
    Segment {
        segment: u32,
        distance: f64,
    },
}

/// Who made the predictions and when: the same on every line of a batch.
pub(crate) struct LineContext<'a> {
    pub(crate) model: &'a str,
    pub(crate) version: &'a str,
    pub(crate) timestamp: &'a str,
    /// Class labels by class code (empty unless classifying).
    pub(crate) classes: &'a [String],
    /// Each row's prediction id (`"id"`), when the caller has them.
    pub(crate) ids: Option<&'a [String]>,
}

/// The lines of `n_rows` predictions: each row's `features` values and `prediction(row)`.
pub(crate) fn lines<'a>(
    context: &LineContext<'_>,
    features: &[&Column],
    n_rows: usize,
    prediction: impl Fn(usize) -> Logged<'a>,
) -> Result<Vec<u8>> {
    let mut features: Vec<&Column> = features.to_vec();
    features.sort_by(|a, b| a.name.cmp(&b.name));
    let feature_keys: Vec<Vec<u8>> = features.iter().map(|c| key(&c.name)).collect::<Result<_>>()?;
    let mut class_order: Vec<usize> = (0..context.classes.len()).collect();
    class_order.sort_by(|&a, &b| context.classes[a].cmp(&context.classes[b]));
    let class_keys: Vec<Vec<u8>> = context.classes.iter().map(|c| key(c)).collect::<Result<_>>()?;
    // Everything after the prediction, and the model's field, are the same on every line.
    let mut model_field = key("model")?;
    push(&mut model_field, context.model)?;
    let mut tail = b",".to_vec();
    tail.extend(key("timestamp")?);
    push(&mut tail, context.timestamp)?;
    tail.push(b',');
    tail.extend(key("version")?);
    push(&mut tail, context.version)?;
    tail.extend_from_slice(b"}\n");

    let mut buf = Vec::with_capacity(n_rows * 400);
    for row in 0..n_rows {
        let logged = prediction(row);
        buf.push(b'{');
        if let Logged::Segment { distance, .. } = logged {
            buf.extend_from_slice(b"\"distance\":");
            push(&mut buf, &distance)?;
            buf.push(b',');
        }
        buf.extend_from_slice(b"\"features\":{");
        for (i, (col, key)) in features.iter().zip(&feature_keys).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(key);
            match &col.data {
                // NaN (missing) and infinities are null, as serde_json writes any non-finite number.
                ColumnData::Numeric(xs) => push(&mut buf, &xs[row])?,
                ColumnData::Categorical { .. } | ColumnData::Date(_) => push(&mut buf, &col.text(row))?,
            }
        }
        buf.extend_from_slice(b"},");
        if let Some(id) = context.ids.and_then(|ids| ids.get(row)) {
            buf.extend_from_slice(b"\"id\":");
            push(&mut buf, id)?;
            buf.push(b',');
        }
        buf.extend_from_slice(&model_field);
        buf.push(b',');
        match logged {
            Logged::Class { label, probabilities, threshold } => {
                buf.extend_from_slice(b"\"prediction\":");
                push(&mut buf, &label)?;
                buf.extend_from_slice(b",\"probabilities\":{");
                for (i, &class) in class_order.iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    buf.extend_from_slice(&class_keys[class]);
                    push(&mut buf, &probabilities[class])?;
                }
                buf.extend_from_slice(b"},\"threshold\":");
                push(&mut buf, &threshold)?;
            }
            Logged::Value(value) => {
                buf.extend_from_slice(b"\"prediction\":");
                push(&mut buf, &value)?;
            }
            Logged::Segment { segment, .. } => {
                buf.extend_from_slice(b"\"segment\":");
                push(&mut buf, &segment)?;
            }
        }
        buf.extend_from_slice(&tail);
    }
    Ok(buf)
}

/// Appends `value` as JSON.
fn push<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T) -> Result<()> {
    serde_json::to_writer(buf, value).map_err(|e| Error::Model(format!("cannot write a prediction log line: {e}")))
}

/// `"name":`, escaped as JSON.
fn key(name: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(name.len() + 3);
    push(&mut out, name)?;
    out.push(b':');
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Map, Value};

    use super::*;

    /// The lines as they were built before, as `Value`s: what the direct writer must reproduce byte for byte.
    fn built_as_values(context: &LineContext<'_>, features: &[&Column], logged: &[Logged<'_>]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (row, logged) in logged.iter().enumerate() {
            let mut values = Map::new();
            for col in features {
                let v = match &col.data {
                    ColumnData::Numeric(xs) if xs[row].is_nan() => Value::Null,
                    ColumnData::Numeric(xs) => json!(xs[row]),
                    ColumnData::Categorical { .. } | ColumnData::Date(_) => {
                        col.text(row).map_or(Value::Null, |t| Value::String(t.into_owned()))
                    }
                };
                values.insert(col.name.clone(), v);
            }
            let mut line = json!({
                "timestamp": context.timestamp,
                "model": context.model,
                "version": context.version,
                "features": values,
            });
            match logged {
                Logged::Class { label, probabilities, threshold } => {
                    let probabilities: Map<String, Value> =
                        context.classes.iter().zip(*probabilities).map(|(c, p)| (c.clone(), json!(p))).collect();
                    line["prediction"] = json!(label);
                    line["probabilities"] = Value::Object(probabilities);
                    line["threshold"] = json!(threshold);
                }
                Logged::Value(v) => line["prediction"] = json!(v),
                Logged::Segment { segment, distance } => {
                    line["segment"] = json!(segment);
                    line["distance"] = json!(distance);
                }
            }
            serde_json::to_writer(&mut buf, &line).unwrap();
            buf.push(b'\n');
        }
        buf
    }

    #[test]
    fn lines_are_what_serde_json_maps_would_write() {
        let numeric = |name: &str, xs: Vec<f64>| Column { name: name.into(), data: ColumnData::Numeric(xs) };
        let levels = vec!["plain".to_owned(), "quote \" and \\ and \u{e9}\n".to_owned()];
        let features = [
            numeric("zeta", vec![1.0, f64::NAN, 0.1, -2.5e-300]),
            Column {
                name: "Alpha \"name\"".into(),
                data: ColumnData::Categorical {
                    codes: vec![0, 1, crate::data::frame::MISSING_CODE, 0],
                    levels: levels.clone(),
                },
            },
            numeric("beta", vec![f64::INFINITY, 3.0, -0.0, 1e21]),
            // Dates are logged in their ISO spelling.
            Column { name: "day".into(), data: ColumnData::Date(vec![0.0, f64::NAN, 86_400.5, -3600.0]) },
        ];
        let features: Vec<&Column> = features.iter().collect();
        let classes = ["b", "a", "10", "9"].map(String::from);
        let context = LineContext {
            model: "churn",
            version: "1.2.0",
            timestamp: "2026-12-02T21:40:44Z",
            classes: &classes,
            ids: None,
        };
        let probabilities = [0.1, 0.2, 0.3, 0.4];
        let logged = [
            Logged::Class { label: Some("a"), probabilities: &probabilities, threshold: None },
            Logged::Class { label: None, probabilities: &probabilities, threshold: Some(0.5) },
            Logged::Value(f64::NAN),
            Logged::Segment { segment: 3, distance: 0.125 },
        ];
        let direct = lines(&context, &features, logged.len(), |row| logged[row]).unwrap();
        let expected = built_as_values(&context, &features, &logged);
        let direct = String::from_utf8(direct).unwrap();
        assert!(direct.contains(r#""day":"1970-01-01""#) && direct.contains(r#""day":"1969-12-31T23:00:00Z""#));
        assert_eq!(direct, String::from_utf8(expected).unwrap());
    }
}
