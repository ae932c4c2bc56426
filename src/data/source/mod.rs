//! Where `mlctl export --from` reads: a SQLite file, a PostgreSQL server, or a Parquet / JSON / NDJSON / CSV file.
//! Each source streams rows into a [`RowSink`] as text cells already in mlctl's canonical spelling (see
//! [`ValueType`]), so memory stays flat whatever the size of the table, and reports the columns' final types.

pub mod file;
pub mod postgres;
pub mod sink;
pub mod sqlite;

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde::Serialize;

use crate::error::{Error, Result};

/// A parsed `--from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Sqlite(PathBuf),
    /// The URL as given; it may hold a password, so it is never displayed: use [`Source::redacted`].
    Postgres(String),
    /// A data file, its format named by its extension.
    File(PathBuf, file::FileKind),
}

impl Source {
    /// `sqlite:PATH`, `postgres://…` / `postgresql://…`, or a file named by its extension.
    pub fn parse(text: &str) -> Result<Self> {
        if let Some(rest) = text.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(Error::Usage("--from sqlite: needs a path, e.g. sqlite:data/hr.db".into()));
            }
            return Ok(Source::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Source::Postgres(text.to_owned()));
        }
        if let Some(kind) = file::FileKind::from_path(std::path::Path::new(text)) {
            return Ok(Source::File(PathBuf::from(text), kind));
        }
        Err(Error::Usage(format!(
            "--from {}: expected sqlite:PATH, postgres://user@host:port/db, or a file ending {}",
            postgres::redact(text),
            file::SUPPORTED
        )))
    }

    /// What the dataset card and the messages show: never a password.
    pub fn redacted(&self) -> String {
        match self {
            Source::Sqlite(p) => format!("sqlite:{}", p.display()),
            Source::Postgres(url) => postgres::redact(url),
            Source::File(path, _) => path.display().to_string(),
        }
    }

    /// Databases need `--table` or `--query`; files are read whole.
    pub fn is_database(&self) -> bool {
        matches!(self, Source::Sqlite(_) | Source::Postgres(_))
    }
}

/// What a column holds, and how its cells are spelt in the CSV (NULL is always an empty field):
/// integer `-12`; real the shortest text that reads back as the same number (`0.1`, `2`, `2.5e-7`); text as is;
/// boolean `true` / `false`; date `YYYY-MM-DD`; timestamp `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC for time-zoned
/// values, with the offset the database gives).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    Integer,
    Real,
    Text,
    Boolean,
    Date,
    Timestamp,
}

impl ValueType {
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Integer => "integer",
            ValueType::Real => "real",
            ValueType::Text => "text",
            ValueType::Boolean => "boolean",
            ValueType::Date => "date",
            ValueType::Timestamp => "timestamp",
        }
    }
}

/// One row of text cells, reused from row to row so streaming allocates nothing per cell once warm.
#[derive(Debug, Default)]
pub struct Row {
    cells: Vec<String>,
    present: Vec<bool>,
}

impl Row {
    pub fn new(width: usize) -> Self {
        Row { cells: vec![String::new(); width], present: vec![false; width] }
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub fn set_null(&mut self, i: usize) {
        self.present[i] = false;
        self.cells[i].clear();
    }

    /// The cell's buffer, emptied and marked present: write the value into it.
    pub fn cell(&mut self, i: usize) -> &mut String {
        self.present[i] = true;
        let cell = &mut self.cells[i];
        cell.clear();
        cell
    }

    pub fn set(&mut self, i: usize, text: &str) {
        self.cell(i).push_str(text);
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        self.present[i].then(|| self.cells[i].as_str())
    }
}

/// Where a source's rows go.
pub trait RowSink {
    /// The column names, once, before any row.
    fn header(&mut self, names: &[String]) -> Result<()>;
    fn row(&mut self, row: &Row) -> Result<()>;
}

/// The column names must make a valid CSV header for mlctl: non-empty and unique.
pub fn check_names(source: &str, names: &[String]) -> Result<()> {
    check_names_hinted(source, names, "with AS in --query")
}

/// [`check_names`], saying where a name is fixed (`"in the header"`).
pub fn check_names_hinted(source: &str, names: &[String], fix_where: &str) -> Result<()> {
    if names.is_empty() {
        return Err(Error::Source { from: source.to_owned(), message: "the result has no columns".into() });
    }
    for (i, name) in names.iter().enumerate() {
        if name.trim().is_empty() {
            return Err(Error::Source {
                from: source.to_owned(),
                message: format!("column {} has no name: give it one {fix_where}", i + 1),
            });
        }
        if let Some(first) = names[..i].iter().position(|n| n == name) {
            return Err(Error::Source {
                from: source.to_owned(),
                message: format!(
                    "columns {} and {} are both named \"{name}\": rename one {fix_where}",
                    first + 1,
                    i + 1
                ),
            });
        }
    }
    Ok(())
}

/// `SELECT * FROM` a table name given on the command line, each dotted part quoted as an identifier
/// (`hr.assignments` → `"hr"."assignments"`), so a name can never inject SQL.
pub fn select_all(table: &str) -> String {
    let quoted: Vec<String> = table.split('.').map(|part| format!("\"{}\"", part.replace('"', "\"\""))).collect();
    format!("SELECT * FROM {}", quoted.join("."))
}

/// The shortest text that reads back as the same double: Rust's shortest round-trip digits, positional for
/// everyday magnitudes (`0.1`, `2`, `123456.75`) and in exponent form outside [1e-5, 1e16) (`1e300`, `2.5e-7`),
/// where positional text would run to hundreds of digits; `inf`, `-inf` and `NaN` for the non-finite values.
pub fn push_real(out: &mut String, x: f64) {
    use std::fmt::Write;
    let magnitude = x.abs();
    if x.is_finite() && x != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        let _ = write!(out, "{x:e}");
    } else {
        let _ = write!(out, "{x}");
    }
}

/// [`push_real`] for a single-precision value, with its own shortest digits (widening 0.1f32 to f64 would
/// print 0.10000000149011612).
pub fn push_real32(out: &mut String, x: f32) {
    use std::fmt::Write;
    let magnitude = x.abs();
    if x.is_finite() && x != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        let _ = write!(out, "{x:e}");
    } else {
        let _ = write!(out, "{x}");
    }
}

pub fn push_integer(out: &mut String, x: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{x}");
}

/// A date or timestamp in its canonical spelling (see [`ValueType`]).
pub(crate) fn write_date_or_stamp(ty: ValueType, t: NaiveDateTime, out: &mut String) {
    use std::fmt::Write;
    if ty == ValueType::Date {
        let _ = write!(out, "{}", t.date().format("%Y-%m-%d"));
    } else {
        let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.f"));
    }
}

pub(crate) enum Stamp {
    Date(NaiveDate),
    Naive(NaiveDateTime),
    Zoned(DateTime<chrono::FixedOffset>),
}

/// The ISO 8601 spellings SQLite's date functions read and write.
/// Writes a date or time string canonically for a `Date` or `Timestamp` column; false if it is not one.
pub(crate) fn push_stamp(ty: ValueType, text: &str, out: &mut String) -> bool {
    match parse_time_text(text) {
        Some(Stamp::Date(d)) => write_date_or_stamp(ty, d.and_time(chrono::NaiveTime::MIN), out),
        Some(Stamp::Naive(t)) if ty == ValueType::Timestamp => write_date_or_stamp(ty, t, out),
        Some(Stamp::Zoned(t)) if ty == ValueType::Timestamp => {
            write_date_or_stamp(ty, t.naive_utc(), out);
            out.push_str("+00");
        }
        _ => return false,
    }
    true
}

pub(crate) fn parse_time_text(text: &str) -> Option<Stamp> {
    let text = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(Stamp::Date(d));
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Stamp::Naive(t));
        }
    }
    let zoned = text.replacen(' ', "T", 1);
    let zoned = if zoned.ends_with('z') { format!("{}Z", &zoned[..zoned.len() - 1]) } else { zoned };
    DateTime::parse_from_rfc3339(&zoned)
        .or_else(|_| DateTime::parse_from_str(&zoned, "%Y-%m-%dT%H:%M:%S%.f%#z"))
        .ok()
        .map(Stamp::Zoned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!(Source::parse("sqlite:data/hr.db").unwrap(), Source::Sqlite("data/hr.db".into()));
        assert_eq!(Source::parse("sqlite:///abs/hr.db").unwrap(), Source::Sqlite("/abs/hr.db".into()));
        assert!(Source::parse("sqlite:").is_err());
        assert!(matches!(Source::parse("postgres://u@h:5432/db").unwrap(), Source::Postgres(_)));
        assert!(matches!(Source::parse("postgresql://u@h/db").unwrap(), Source::Postgres(_)));
    }

    #[test]
    fn reals_are_short_and_round_trip() {
        let spell = |x: f64| {
            let mut s = String::new();
            push_real(&mut s, x);
            assert_eq!(s.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{s}");
            s
        };
        assert_eq!(spell(0.1), "0.1");
        assert_eq!(spell(2.0), "2");
        assert_eq!(spell(-2.5e-7), "-2.5e-7");
        assert_eq!(spell(1e300), "1e300");
        assert_eq!(spell(123_456.75), "123456.75");
        assert_eq!(spell(0.0), "0");
    }

    #[test]
    fn table_names_are_quoted() {
        assert_eq!(select_all("assignments"), "SELECT * FROM \"assignments\"");
        assert_eq!(select_all("hr.a"), "SELECT * FROM \"hr\".\"a\"");
        assert_eq!(select_all("x\"; DROP TABLE y; --"), "SELECT * FROM \"x\"\"; DROP TABLE y; --\"");
    }

    #[test]
    fn names_must_be_unique_and_present() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(check_names("s", &names(&["a", "b"])).is_ok());
        assert!(check_names("s", &names(&["a", "a"])).unwrap_err().to_string().contains("both named \"a\""));
        assert!(check_names("s", &names(&["a", ""])).is_err());
    }
}
