//! Reading the two logs a model leaves: its recorded outcomes (`logs/outcomes/<name>/*.jsonl`, the latest label
//! per id wins) and its prediction log lines since a point in time, each handed over with its outcome, if any.
//! Lines are read one at a time, capped like any input line; a torn line (a writer killed mid-write) is
//! skipped and counted.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::data::limits::{read_line_capped, Limits, TooLong};
use crate::error::{Error, IoContext, Result};
use crate::ops::outcomes::{Label, OutcomeLine};

/// The fields of a prediction log line that monitoring reads, borrowed from the line where they can be (a month
/// of logs is millions of lines); the features are skipped unparsed.
#[derive(Debug, Deserialize)]
pub struct LoggedPrediction<'a> {
    #[serde(default, borrow)]
    pub id: Option<Text<'a>>,
    #[serde(borrow)]
    pub version: Text<'a>,
    #[serde(borrow)]
    pub timestamp: Text<'a>,
    /// The predicted class or value; null when the class was out of range.
    #[serde(default, borrow)]
    pub prediction: Option<Predicted<'a>>,
    /// Classification: every class's probability, by class label.
    #[serde(default, borrow)]
    pub probabilities: Option<Probabilities<'a>>,
}

/// A JSON string, borrowed from the line unless it had escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<'a>(pub Cow<'a, str>);

/// What a log line says was predicted: a class label or a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicted<'a> {
    Value(f64),
    Class(Cow<'a, str>),
}

/// Class probabilities in the line's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Probabilities<'a>(pub Vec<(Cow<'a, str>, f64)>);

impl Probabilities<'_> {
    pub fn get(&self, class: &str) -> Option<f64> {
        self.0.iter().find(|(c, _)| c == class).map(|(_, p)| *p)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(V).map(Text)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Predicted<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Predicted<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a class label or a number")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
                Ok(Predicted::Class(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(Predicted::Class(Cow::Owned(v.to_owned())))
            }
            fn visit_f64<E>(self, v: f64) -> std::result::Result<Self::Value, E> {
                Ok(Predicted::Value(v))
            }
            // A logged prediction was an f64 before it was written.
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Self::Value, E> {
                Ok(Predicted::Value(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Self::Value, E> {
                Ok(Predicted::Value(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Probabilities<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Probabilities<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of class probabilities")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(2));
                while let Some((class, p)) = map.next_entry::<Text<'de>, Option<f64>>()? {
                    out.push((class.0, p.unwrap_or(f64::NAN)));
                }
                Ok(Probabilities(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Recorded outcomes by id, the latest recording of each id winning; and whether a prediction claimed it.
#[derive(Debug, Default)]
pub struct Outcomes {
    pub labels: HashMap<String, (Label, bool)>,
    /// Lines read, including ids recorded again.
    pub lines: usize,
    pub torn: usize,
}

impl Outcomes {
    /// Reads every outcome file of a model, oldest day first.
    pub fn read(folder: &Path) -> Result<Self> {
        let mut out = Outcomes::default();
        for path in day_files(folder, None)? {
            out.torn += each_line(&path, |line, bytes| {
                let Some(outcome) = parse::<OutcomeLine>(&path, line, bytes, "an outcome line")? else {
                    return Ok(false);
                };
                out.lines += 1;
                out.labels.insert(outcome.id, (outcome.label, false));
                Ok(true)
            })?;
        }
        Ok(out)
    }

    /// The outcome of a prediction id, marking it as joined.
    pub fn claim(&mut self, id: &str) -> Option<&Label> {
        let (label, claimed) = self.labels.get_mut(id)?;
        *claimed = true;
        Some(label)
    }

    pub fn unclaimed(&self) -> usize {
        self.labels.values().filter(|(_, claimed)| !claimed).count()
    }
}

/// Calls `each` with every prediction logged in `folder` at or after `since`, in file order, with its version
/// and time; returns the number of torn lines skipped.
pub fn predictions(
    folder: &Path,
    since: DateTime<Utc>,
    mut each: impl FnMut(&LoggedPrediction<'_>, &semver::Version, DateTime<Utc>) -> Result<()>,
) -> Result<usize> {
    let mut torn = 0;
    // Lines of one batch share a timestamp, and a model has few versions: each is parsed once.
    let mut last: Option<(String, DateTime<Utc>)> = None;
    let mut versions: HashMap<String, semver::Version> = HashMap::new();
    for path in day_files(folder, Some(since.date_naive()))? {
        torn += each_line(&path, |line, bytes| {
            let Some(logged) = parse::<LoggedPrediction>(&path, line, bytes, "a prediction log line")? else {
                return Ok(false);
            };
            let at = match &last {
                Some((text, at)) if *text == logged.timestamp.0 => *at,
                _ => {
                    let at = DateTime::parse_from_rfc3339(&logged.timestamp.0)
                        .map_err(|_| Error::data(&path, Some(line), None, "has no RFC 3339 \"timestamp\""))?
                        .with_timezone(&Utc);
                    last = Some((logged.timestamp.0.to_string(), at));
                    at
                }
            };
            if at < since {
                return Ok(true);
            }
            if !versions.contains_key(logged.version.0.as_ref()) {
                let version = semver::Version::parse(&logged.version.0)
                    .map_err(|_| Error::data(&path, Some(line), None, "has no valid \"version\""))?;
                versions.insert(logged.version.0.to_string(), version);
            }
            each(&logged, &versions[logged.version.0.as_ref()], at)?;
            Ok(true)
        })?;
    }
    Ok(torn)
}

/// The `YYYY-MM-DD.jsonl` files of a folder in day order, from `from` on (files are named by the UTC day they
/// were written, so older days cannot hold newer entries). A missing folder has none.
fn day_files(folder: &Path, from: Option<NaiveDate>) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(folder, e)),
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .filter(|p| {
            let day =
                p.file_stem().and_then(|s| s.to_str()).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
            !matches!((day, from), (Some(day), Some(from)) if day < from)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// A line as `T`; None when it is not JSON at all (a torn line, which a writer killed mid-write leaves, or a
/// line cut inside a character); an error when it is JSON of another shape.
fn parse<'a, T: Deserialize<'a>>(path: &Path, line: usize, bytes: &'a [u8], what: &str) -> Result<Option<T>> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_syntax() || e.is_eof() => Ok(None),
        Err(e) => Err(Error::data(path, Some(line), None, format!("is not {what}: {e}"))),
    }
}

/// Calls `each` with every non-blank line of a file (1-based line number, bytes), which says whether the line
/// was whole; returns how many were torn.
fn each_line(path: &Path, mut each: impl FnMut(usize, &[u8]) -> Result<bool>) -> Result<usize> {
    let limits = Limits::from_env()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(path).at(path)?);
    let (mut bytes, mut torn) = (Vec::new(), 0);
    for line in 1.. {
        bytes.clear();
        match read_line_capped(&mut reader, &mut bytes, limits.line).at(path)? {
            Ok(0) => break,
            Ok(_) => {}
            Err(TooLong) => return Err(limits.line_error(path, Some(line), None, "the log line")),
        }
        let text = bytes.trim_ascii();
        if !text.is_empty() && !each(line, text)? {
            torn += 1;
        }
    }
    Ok(torn)
}
