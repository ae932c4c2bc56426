//! Column typing rules, shared by training (infer) and prediction (enforce).
//!
//! A column is numeric when every non-missing value is a finite number. A column that is numeric but for a few
//! stray tokens ("?", "n/a ", "12,5") is an error that names the rows and values, because silently treating it as
//! categorical would train a model on the wrong thing. Users can declare a column's type to settle it.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::frame::{Column, ColumnData, MISSING_CODE};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Numeric,
    Categorical,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Numeric => "numeric",
            ColumnType::Categorical => "categorical",
        }
    }
}

/// Cells read as missing, in every column.
pub const MISSING_TOKENS: &[&str] = &["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"];

/// A text column at least this share of whose values are numbers is taken to be numeric with stray tokens.
const STRAY_TOKEN_SHARE: f64 = 0.9;
/// How many offending cells an error lists before it summarises.
const SHOWN_OFFENDERS: usize = 5;

pub fn is_missing_token(s: &str) -> bool {
    let t = s.trim();
    MISSING_TOKENS.contains(&t)
}

/// A finite number, or None. Surrounding spaces are allowed; "inf", "1e400" and friends are not numbers here.
pub fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.bytes().any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E') {
        return None;
    }
    t.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// Builds a typed column from text cells (row order), inferring the type unless `declared`. `cells` gives the
/// cells afresh on every call: a numeric column is read once, as numbers; only a column that turns out
/// categorical is read a second time for its levels (building levels for every number cost more than the rest
/// of reading a file). `first_row` is the data-row number of the first cell (1 for a whole file; later for a
/// batch of a stream), for messages.
pub fn column_from_text<'a, I>(
    path: &Path,
    name: &str,
    cells: impl Fn() -> I,
    declared: Option<ColumnType>,
    first_row: usize,
) -> Result<Column>
where
    I: Iterator<Item = Option<&'a str>>,
{
    if declared != Some(ColumnType::Categorical) {
        let numbers = read_numbers(cells());
        let numeric_share = if numbers.present == 0 {
            0.0
        } else {
            (numbers.present - numbers.offender_count) as f64 / numbers.present as f64
        };
        let numeric = numbers.present > 0 && numbers.offender_count == 0;
        if declared == Some(ColumnType::Numeric) || numeric || numeric_share >= STRAY_TOKEN_SHARE {
            if numbers.offender_count > 0 {
                let offenders: Vec<(usize, &str)> =
                    numbers.offenders.iter().map(|&(i, t)| (first_row + i, t)).collect();
                let (present, bad) = (numbers.present, numbers.offender_count);
                return Err(stray_tokens_error(path, name, present, bad, &offenders, declared.is_none()));
            }
            return Ok(Column { name: name.to_owned(), data: ColumnData::Numeric(numbers.values) });
        }
    }
    let (codes, levels) = read_levels(cells());
    Ok(Column { name: name.to_owned(), data: ColumnData::Categorical { codes, levels } })
}

/// A column's cells read as numbers: NaN where missing or not a number, and the cells that were not numbers.
struct Numbers<'a> {
    values: Vec<f64>,
    /// Cells neither missing nor numbers: how many, and the first few (index in the column, text).
    offender_count: usize,
    offenders: Vec<(usize, &'a str)>,
    /// Cells not missing.
    present: usize,
}

fn read_numbers<'a>(cells: impl Iterator<Item = Option<&'a str>>) -> Numbers<'a> {
    let mut out = Numbers {
        values: Vec::with_capacity(cells.size_hint().0),
        offender_count: 0,
        offenders: Vec::new(),
        present: 0,
    };
    for (i, cell) in cells.enumerate() {
        let Some(text) = cell.filter(|s| !is_missing_token(s)) else {
            out.values.push(f64::NAN);
            continue;
        };
        out.present += 1;
        match parse_number(text) {
            Some(x) => out.values.push(x),
            None => {
                out.values.push(f64::NAN);
                out.offender_count += 1;
                if out.offenders.len() < SHOWN_OFFENDERS {
                    out.offenders.push((i, text));
                }
            }
        }
    }
    out
}

/// A column's cells as dictionary codes into its levels (exact text, in order of first appearance).
fn read_levels<'a>(cells: impl Iterator<Item = Option<&'a str>>) -> (Vec<u32>, Vec<String>) {
    let mut codes = Vec::with_capacity(cells.size_hint().0);
    let mut levels: Vec<String> = Vec::new();
    let mut level_index: HashMap<&'a str, u32> = HashMap::new();
    for cell in cells {
        let Some(text) = cell.filter(|s| !is_missing_token(s)) else {
            codes.push(MISSING_CODE);
            continue;
        };
        let next = u32::try_from(levels.len()).unwrap_or(MISSING_CODE - 1);
        let code = *level_index.entry(text).or_insert_with(|| {
            levels.push(text.to_owned());
            next
        });
        codes.push(code);
    }
    (codes, levels)
}

fn stray_tokens_error(
    path: &Path,
    name: &str,
    present: usize,
    bad: usize,
    offenders: &[(usize, &str)],
    inferred: bool,
) -> Error {
    let listed: Vec<String> = offenders.iter().map(|(row, v)| format!("row {row}: \"{v}\"")).collect();
    let more = if bad > offenders.len() { format!(" and {} more", bad - offenders.len()) } else { String::new() };
    let why = if inferred {
        format!("looks numeric ({} of {present} values are numbers) but", present - bad)
    } else {
        "must be numeric but".to_owned()
    };
    let first_row = offenders.first().map(|(r, _)| *r);
    Error::data(
        path,
        first_row,
        Some(name),
        format!(
            "{why} {bad} value(s) are not finite numbers: {}{more}. Fix them, blank them (a blank is a missing value), \
             or declare the column categorical with --categorical {name}",
            listed.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(cells: &[&str], declared: Option<ColumnType>) -> Result<Column> {
        column_from_text(Path::new("d.csv"), "x", || cells.iter().map(|s| Some(*s)), declared, 1)
    }

    #[test]
    fn numbers_with_missing_are_numeric() {
        let c = col(&["1", " 2.5", "", "NA", "-3e2"], None).unwrap();
        let ColumnData::Numeric(v) = c.data else { panic!("expected numeric") };
        assert_eq!(v[0], 1.0);
        assert_eq!(v[1], 2.5);
        assert!(v[2].is_nan() && v[3].is_nan());
        assert_eq!(v[4], -300.0);
    }

    #[test]
    fn words_are_categorical() {
        let c = col(&["low", "high", "low", ""], None).unwrap();
        let ColumnData::Categorical { codes, levels } = c.data else { panic!("expected categorical") };
        assert_eq!(levels, vec!["low", "high"]);
        assert_eq!(codes, vec![0, 1, 0, MISSING_CODE]);
    }

    #[test]
    fn a_numeric_column_with_stray_tokens_is_an_error_naming_rows_and_values() {
        let mut cells = vec!["1"; 30];
        cells[6] = "?";
        cells[20] = "inf";
        let err = col(&cells, None).unwrap_err().to_string();
        assert!(err.contains("d.csv: row 7, column \"x\""), "{err}");
        assert!(err.contains("row 7: \"?\"") && err.contains("row 21: \"inf\""), "{err}");
        assert!(err.contains("--categorical x"), "{err}");
    }

    #[test]
    fn declared_types_win() {
        assert!(matches!(
            col(&["1", "2"], Some(ColumnType::Categorical)).unwrap().data,
            ColumnData::Categorical { .. }
        ));
        assert!(col(&["1", "a", "b"], Some(ColumnType::Numeric)).is_err());
    }
}
