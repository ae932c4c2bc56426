//! Column typing rules, shared by training (infer) and prediction (enforce).
//!
//! A column is numeric when every non-missing value is a finite number. A column that is numeric but for a few
//! stray tokens ("?", "n/a ", "12,5") is an error that names the rows and values, because silently treating it as
//! categorical would train a model on the wrong thing. A text column whose every value is an ISO date or
//! date-time is a date column (see `dates`). Users can declare a column's type to settle it.

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
    /// ISO dates and date-times (see `dates`), encoded as derived calendar features.
    Date,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Numeric => "numeric",
            ColumnType::Categorical => "categorical",
            ColumnType::Date => "date",
        }
    }
}

/// Cells read as missing, in every column.
pub const MISSING_TOKENS: &[&str] = &["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"];

/// A text column at least this share of whose values are numbers is taken to be numeric with stray tokens.
const STRAY_TOKEN_SHARE: f64 = 0.9;
/// How many of a column's levels are looked up by a scan before a map takes over.
const SCANNED_LEVELS: usize = 8;
/// How many offending cells an error lists before it summarises.
const SHOWN_OFFENDERS: usize = 5;

pub fn is_missing_token(s: &str) -> bool {
    MISSING_TOKENS.contains(&trim_cell(s))
}

/// A finite number, or None. Surrounding spaces are allowed; "inf", "1e400" and friends are not numbers here.
/// (The only words `f64`'s parser takes are spellings of infinity and NaN, which the finiteness check refuses.)
pub fn parse_number(s: &str) -> Option<f64> {
    let s = trim_cell(s);
    short_decimal(s.as_bytes()).or_else(|| s.parse::<f64>().ok().filter(|x| x.is_finite()))
}

/// Powers of ten exact in an `f64`.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// The usual cell, `-?digits[.digits]` of at most 15 digits, as a number without the general parser, which
/// took a tenth of a 100k-row prediction. Exact: the digits make an integer below 2^53 and the power of ten
/// is exact too, so one division rounds the decimal's value once, correctly, as `str::parse` does (Clinger's
/// fast path). Anything else (exponents, a `+`, more digits) is None, for the general parser.
fn short_decimal(bytes: &[u8]) -> Option<f64> {
    let (negative, digits) = match bytes.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, bytes),
    };
    // 15 digits: below 10^15 < 2^53, so every such integer is exact in an f64.
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut n_digits = 0;
    let mut fraction_digits = None;
    for (i, &byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(byte - b'0');
                n_digits += 1;
            }
            b'.' if fraction_digits.is_none() => fraction_digits = Some(digits.len() - i - 1),
            _ => return None,
        }
    }
    if n_digits == 0 || n_digits > 15 {
        return None;
    }
    #[allow(clippy::cast_precision_loss)] // Below 10^15: exact.
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN[fraction_digits.unwrap_or(0)];
    Some(if negative { -value } else { value })
}

/// `s.trim()`, with a shortcut for the usual cell that has nothing to trim: two byte checks instead of
/// decoding characters at both ends. (Unicode whitespace starts with a byte above ASCII, so it takes `trim`.)
fn trim_cell(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
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
    if declared == Some(ColumnType::Date) {
        return super::dates::date_column(path, name, cells(), first_row);
    }
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
    if declared.is_none() {
        if let Some(seconds) = super::dates::infer_dates(&codes, &levels) {
            return Ok(Column { name: name.to_owned(), data: ColumnData::Date(seconds) });
        }
    }
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
        // A number first: no missing token is a finite number, so a cell that parses needs no other check.
        let Some(text) = cell else {
            out.values.push(f64::NAN);
            continue;
        };
        if let Some(x) = parse_number(text) {
            out.present += 1;
            out.values.push(x);
            continue;
        }
        out.values.push(f64::NAN);
        if !is_missing_token(text) {
            out.present += 1;
            out.offender_count += 1;
            if out.offenders.len() < SHOWN_OFFENDERS {
                out.offenders.push((i, text));
            }
        }
    }
    out
}

/// A column's cells as dictionary codes into its levels (exact text, in order of first appearance).
fn read_levels<'a>(cells: impl Iterator<Item = Option<&'a str>>) -> (Vec<u32>, Vec<String>) {
    let mut codes = Vec::with_capacity(cells.size_hint().0);
    let mut levels: Vec<String> = Vec::new();
    // The first levels are found by a scan, which for a handful of short strings is faster than hashing each
    // cell; only the levels after them go into a map.
    let mut later_levels: HashMap<&'a str, u32> = HashMap::new();
    for cell in cells {
        let Some(text) = cell.filter(|s| !is_missing_token(s)) else {
            codes.push(MISSING_CODE);
            continue;
        };
        let scanned = &levels[..levels.len().min(SCANNED_LEVELS)];
        let code = match scanned.iter().position(|level| level == text) {
            Some(code) => u32::try_from(code).unwrap_or(MISSING_CODE - 1),
            None => {
                let next = u32::try_from(levels.len()).unwrap_or(MISSING_CODE - 1);
                if levels.len() < SCANNED_LEVELS {
                    levels.push(text.to_owned());
                    next
                } else {
                    *later_levels.entry(text).or_insert_with(|| {
                        levels.push(text.to_owned());
                        next
                    })
                }
            }
        };
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
    #[test]
    fn short_decimals_parse_exactly_as_the_general_parser() {
        let mut rng = crate::rng::Rng::new(7);
        let mut cells: Vec<String> = [
            "0",
            "-0",
            "7",
            "0.5",
            "-0.517",
            "1.",
            ".25",
            "-.25",
            "123456789012345",
            "0.000000000000001",
            "999999999999999",
            "99999999999999.9",
            "1234567890123456",
            "0.1234567890123456",
            ".",
            "-",
            "",
            "1e5",
            "+1.5",
            "1.2.3",
            "--1",
            "1-",
            " 1",
            "0x10",
            "1_0",
            "inf",
            "NaN",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for _ in 0..20_000 {
            let digits: String = (0..1 + rng.below(17)).map(|_| char::from(b'0' + rng.below(10) as u8)).collect();
            let dot = rng.below(digits.len() + 2);
            let (int, frac) = digits.split_at(dot.min(digits.len()));
            let sign = if rng.below(2) == 0 { "-" } else { "" };
            cells.push(if dot > digits.len() { format!("{sign}{digits}") } else { format!("{sign}{int}.{frac}") });
        }
        for cell in &cells {
            let general = cell.trim().parse::<f64>().ok().filter(|x| x.is_finite());
            if let Some(fast) = super::short_decimal(cell.as_bytes()) {
                assert_eq!(Some(fast.to_bits()), general.map(f64::to_bits), "{cell:?}");
            }
            assert_eq!(super::parse_number(cell).map(f64::to_bits), general.map(f64::to_bits), "{cell:?}");
        }
        assert!(super::short_decimal(b"0.517").is_some() && super::short_decimal(b"1e5").is_none());
    }

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
    fn numbers_are_trimmed_and_only_finite_ones_count() {
        assert_eq!(parse_number("2.5"), Some(2.5));
        assert_eq!(parse_number(" -3e2\t"), Some(-300.0));
        assert_eq!(parse_number("\u{a0}7\u{2003}"), Some(7.0), "Unicode spaces are trimmed too");
        for word in ["inf", "-Infinity", "nan", "NaN", "1e400", "", " ", "1,5", "e", "2x"] {
            assert_eq!(parse_number(word), None, "{word:?}");
        }
        assert!(is_missing_token(" NA ") && is_missing_token("\u{a0}null") && !is_missing_token("0"));
    }

    #[test]
    fn many_levels_keep_first_appearance_codes() {
        // More levels than are scanned, repeated: the codes must not depend on where a level was looked up.
        let names: Vec<String> = (0..40).map(|i| format!("level{i}")).collect();
        let cells: Vec<&str> = names.iter().chain(names.iter().rev()).map(String::as_str).collect();
        let c = col(&cells, None).unwrap();
        let ColumnData::Categorical { codes, levels } = c.data else { panic!("expected categorical") };
        assert_eq!(levels, names);
        let expected: Vec<u32> = (0..40).chain((0..40).rev()).collect();
        assert_eq!(codes, expected);
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
