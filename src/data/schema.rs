//! Column typing rules, shared by training (infer) and prediction (enforce).
//!
//! A column is numeric when every non-missing value is a finite number. A column at least half of whose values
//! are numbers but not all ("?", "seven", "12,5" among numbers) is an error that names the column, the most
//! frequent offending tokens and their rows, because silently treating it as categorical would train a model on
//! the wrong thing. Users settle it by declaring the column's type (`--numeric` reads the tokens as missing
//! values, counted; `--categorical` keeps the text) or by naming extra missing tokens (`--na-values`). A text
//! column whose every value is an ISO date or date-time is a date column (see `dates`).

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::dates::parse_date;
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

/// How cells are read beyond their column's type.
#[derive(Debug, Clone, Copy, Default)]
pub struct CellRules<'a> {
    /// Extra missing-value tokens (`--na-values`), beside [`MISSING_TOKENS`]; matched after trimming.
    pub na_values: &'a [String],
    /// A declared-numeric column's cells that are not numbers become missing values (counted) instead of an
    /// error: `--numeric COL` at training, and at prediction for a column trained so.
    pub stray_as_missing: bool,
}

impl CellRules<'_> {
    fn is_missing(&self, s: &str) -> bool {
        is_missing_token(s) || (!self.na_values.is_empty() && self.na_values.iter().any(|v| v == trim_cell(s)))
    }
}

/// Where a column's type comes from, for the advice of a stray-token error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TypeSource {
    /// Inferred from the data: training, where the fixes are flags.
    Inferred,
    /// Known: the model was trained on numbers.
    Model,
}

/// How many offending tokens a stray-token error lists, the most frequent first.
const SHOWN_TOKENS: usize = 5;
/// How many rows of each listed token it names.
const ROWS_PER_TOKEN: usize = 3;
/// How many of a column's levels are looked up by a scan before a map takes over.
const SCANNED_LEVELS: usize = 8;

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
    // Below 10^15: exact.
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
/// of reading a file), and only a column that is an error a second time for its offending tokens. `first_row`
/// is the data-row number of the first cell (1 for a whole file; later for a batch of a stream), for messages.
/// Returns the column and how many cells that were not numbers `rules.stray_as_missing` read as missing.
pub fn column_from_text<'a, I>(
    path: &Path,
    name: &str,
    cells: impl Fn() -> I,
    declared: Option<ColumnType>,
    first_row: usize,
    rules: CellRules<'_>,
) -> Result<(Column, usize)>
where
    I: Iterator<Item = Option<&'a str>>,
{
    if declared == Some(ColumnType::Date) {
        return date_column(path, name, cells(), first_row).map(|column| (column, 0));
    }
    if declared != Some(ColumnType::Categorical) {
        let numbers = read_numbers(cells(), rules);
        let stray = numbers.offender_count;
        let numeric = declared == Some(ColumnType::Numeric) || (numbers.present > 0 && stray == 0);
        let mostly_numbers = 2 * (numbers.present - stray) >= numbers.present;
        if numeric && (stray == 0 || rules.stray_as_missing) {
            return Ok((Column { name: name.to_owned(), data: ColumnData::Numeric(numbers.values) }, stray));
        }
        if numeric || (stray > 0 && mostly_numbers) {
            let source = if declared.is_some() { TypeSource::Model } else { TypeSource::Inferred };
            let tokens = stray_tokens(cells(), rules, first_row);
            return Err(stray_tokens_error(path, name, numbers.present, stray, &tokens, source));
        }
    }
    let (codes, levels) = read_levels(cells(), rules);
    if declared.is_none() {
        if let Some(seconds) = infer_dates(&codes, &levels) {
            return Ok((Column { name: name.to_owned(), data: ColumnData::Date(seconds) }, 0));
        }
    }
    Ok((Column { name: name.to_owned(), data: ColumnData::Categorical { codes, levels } }, 0))
}

/// A column's cells read as numbers: NaN where missing or not a number, and how many were not numbers.
struct Numbers {
    values: Vec<f64>,
    /// Cells neither missing nor numbers.
    offender_count: usize,
    /// Cells not missing.
    present: usize,
}

fn read_numbers<'a>(cells: impl Iterator<Item = Option<&'a str>>, rules: CellRules<'_>) -> Numbers {
    let mut out = Numbers { values: Vec::with_capacity(cells.size_hint().0), offender_count: 0, present: 0 };
    for cell in cells {
        // A number first: no built-in missing token is a finite number, so a cell that parses needs no other
        // check, unless `--na-values` names numbers ("-999", as pandas allows).
        let Some(text) = cell.filter(|t| rules.na_values.is_empty() || !rules.is_missing(t)) else {
            out.values.push(f64::NAN);
            continue;
        };
        if let Some(x) = parse_number(text) {
            out.present += 1;
            out.values.push(x);
            continue;
        }
        out.values.push(f64::NAN);
        if !rules.is_missing(text) {
            out.present += 1;
            out.offender_count += 1;
        }
    }
    out
}

/// One token that is neither a number nor missing: how often it occurs and its first rows.
#[derive(Debug, Clone, PartialEq)]
struct StrayToken {
    text: String,
    count: usize,
    rows: Vec<usize>,
}

/// A column's stray tokens, the most frequent first (ties: the earliest first); rows are data-row numbers.
fn stray_tokens<'a>(
    cells: impl Iterator<Item = Option<&'a str>>,
    rules: CellRules<'_>,
    first_row: usize,
) -> Vec<StrayToken> {
    let mut tokens: Vec<StrayToken> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    for (i, text) in cells.enumerate().filter_map(|(i, c)| Some((i, c?))) {
        if parse_number(text).is_some() || rules.is_missing(text) {
            continue;
        }
        let k = *index.entry(text).or_insert_with(|| {
            tokens.push(StrayToken { text: text.to_owned(), count: 0, rows: Vec::new() });
            tokens.len() - 1
        });
        tokens[k].count += 1;
        if tokens[k].rows.len() < ROWS_PER_TOKEN {
            tokens[k].rows.push(first_row + i);
        }
    }
    tokens.sort_by(|a, b| b.count.cmp(&a.count).then(a.rows[0].cmp(&b.rows[0])));
    tokens
}

/// A column's cells as dictionary codes into its levels (exact text, in order of first appearance).
fn read_levels<'a>(cells: impl Iterator<Item = Option<&'a str>>, rules: CellRules<'_>) -> (Vec<u32>, Vec<String>) {
    let mut codes = Vec::with_capacity(cells.size_hint().0);
    let mut levels: Vec<String> = Vec::new();
    // The first levels are found by a scan, which for a handful of short strings is faster than hashing each
    // cell; only the levels after them go into a map.
    let mut later_levels: HashMap<&'a str, u32> = HashMap::new();
    for cell in cells {
        let Some(text) = cell.filter(|s| !rules.is_missing(s)) else {
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
    tokens: &[StrayToken],
    source: TypeSource,
) -> Error {
    let listed: Vec<String> = tokens
        .iter()
        .take(SHOWN_TOKENS)
        .map(|t| {
            let rows: Vec<String> = t.rows.iter().map(ToString::to_string).collect();
            let more = if t.count > t.rows.len() { ", …" } else { "" };
            let s = if t.rows.len() == 1 { "" } else { "s" };
            format!("\"{}\" ×{} (row{s} {}{more})", t.text, t.count, rows.join(", "))
        })
        .collect();
    let more = match tokens.len().saturating_sub(SHOWN_TOKENS) {
        0 => String::new(),
        n => format!(" and {n} more distinct token(s)"),
    };
    let (why, fixes) = match source {
        TypeSource::Inferred => (
            format!("looks numeric ({} of {present} values are numbers) but", present - bad),
            format!(
                "Read them as missing values with --numeric {name} (or name the missing-value tokens with \
                 --na-values), or treat the column as categories with --categorical {name}"
            ),
        ),
        TypeSource::Model => (
            "must be numeric (the model was trained on numbers) but".to_owned(),
            "Fix or blank them (a blank is a missing value), or retrain with --na-values or --numeric to read such \
             tokens as missing values"
                .to_owned(),
        ),
    };
    let first_row = tokens.iter().filter_map(|t| t.rows.first()).min().copied();
    Error::data(
        path,
        first_row,
        Some(name),
        format!("{why} {bad} value(s) are not finite numbers: {}{more}. {fixes}", listed.join(", ")),
    )
}

/// A text column with a distinct value in at least this share of its non-missing rows looks like an identifier.
pub const IDENTIFIER_DISTINCT_SHARE: f64 = 0.95;
/// ...when it has more than this many non-missing rows (in a small file every value may be distinct).
pub const IDENTIFIER_MIN_ROWS: usize = 50;

/// Whether `column` is text with a distinct value in (nearly) every row, like a name, an email or a tail
/// number: an identifier, which a model can only memorise. Returns the distinct and non-missing counts.
pub fn identifier_like(column: &Column) -> Option<(usize, usize)> {
    let ColumnData::Categorical { codes, levels } = &column.data else { return None };
    let mut seen = vec![false; levels.len()];
    let (mut present, mut distinct) = (0, 0);
    for &code in codes.iter().filter(|&&c| c != MISSING_CODE) {
        present += 1;
        if !std::mem::replace(&mut seen[code as usize], true) {
            distinct += 1;
        }
    }
    let share = distinct as f64 / present.max(1) as f64;
    (present > IDENTIFIER_MIN_ROWS && share >= IDENTIFIER_DISTINCT_SHARE).then_some((distinct, present))
}

// The date half of the typing rules: dates themselves are parsed and printed by `dates`.

/// How many cells that are not dates an error lists before it summarises.
const SHOWN_OFFENDERS: usize = 5;

/// The inference rule: a text column (dictionary codes into `levels`) is a date column when it has a value and
/// every one of its levels is a date; its values then, NaN where missing. A column with a few dates among
/// other text stays text.
pub fn infer_dates(codes: &[u32], levels: &[String]) -> Option<Vec<f64>> {
    if levels.is_empty() {
        return None;
    }
    let seconds: Vec<f64> = levels.iter().map(|l| parse_date(l)).collect::<Option<_>>()?;
    Some(codes.iter().map(|&c| if c == MISSING_CODE { f64::NAN } else { seconds[c as usize] }).collect())
}

/// A column that must hold dates (declared `--date`, or known as a date by the model): every cell that is
/// neither missing nor a date is an error naming its row (`first_row` is the data-row number of the first cell).
pub fn date_column<'a>(
    path: &Path,
    name: &str,
    cells: impl Iterator<Item = Option<&'a str>>,
    first_row: usize,
) -> Result<Column> {
    Ok(Column { name: name.to_owned(), data: ColumnData::Date(date_values(path, name, cells, first_row)?) })
}

/// The cells of a column that must hold dates as seconds since the epoch (NaN where missing), or the error of
/// [`date_column`].
pub fn date_values<'a>(
    path: &Path,
    name: &str,
    cells: impl Iterator<Item = Option<&'a str>>,
    first_row: usize,
) -> Result<Vec<f64>> {
    let mut values = Vec::with_capacity(cells.size_hint().0);
    let (mut bad, mut offenders) = (0usize, Vec::new());
    for (i, cell) in cells.enumerate() {
        match cell.filter(|t| !is_missing_token(t)) {
            None => values.push(f64::NAN),
            Some(text) => match parse_date(text) {
                Some(seconds) => values.push(seconds),
                None => {
                    values.push(f64::NAN);
                    bad += 1;
                    if offenders.len() < SHOWN_OFFENDERS {
                        offenders.push((first_row + i, text));
                    }
                }
            },
        }
    }
    if bad == 0 {
        return Ok(values);
    }
    let listed: Vec<String> = offenders.iter().map(|(row, text)| format!("row {row}: \"{text}\"")).collect();
    let more = if bad > offenders.len() { format!(" and {} more", bad - offenders.len()) } else { String::new() };
    Err(Error::data(
        path,
        offenders.first().map(|(row, _)| *row),
        Some(name),
        format!(
            "must be a date but {bad} value(s) are not: {}{more}. Expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] \
             (a space may replace the T; a zone Z or +HH:MM may follow), or a blank for a missing value",
            listed.join(", ")
        ),
    ))
}

/// A warning for a text column at least half of whose values are dates but not all (typed categorical, so one
/// level per day): names the column, the count and the first value that is not a date, and the ways out.
pub fn mostly_dates_warning(column: &Column) -> Option<String> {
    let ColumnData::Categorical { codes, levels } = &column.data else { return None };
    let is_date: Vec<bool> = levels.iter().map(|l| parse_date(l).is_some()).collect();
    if !is_date.contains(&true) {
        return None;
    }
    let present: Vec<(usize, u32)> = codes.iter().copied().enumerate().filter(|&(_, c)| c != MISSING_CODE).collect();
    let dated = present.iter().filter(|&&(_, c)| is_date[c as usize]).count();
    let &(row, code) = present.iter().find(|&&(_, c)| !is_date[c as usize])?;
    if dated * 2 < present.len() {
        return None;
    }
    let name = &column.name;
    Some(format!(
        "column \"{name}\": {dated} of {} values are dates but the rest are not (first: row {}: \"{}\"), so it is \
         encoded as categories, one per value; fix those values, or pass --date {name} to have each one named",
        present.len(),
        row + 1,
        levels[code as usize]
    ))
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
        column_from_text(Path::new("d.csv"), "x", || cells.iter().map(|s| Some(*s)), declared, 1, CellRules::default())
            .map(|(column, _)| column)
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
        cells[25] = "?";
        let err = col(&cells, None).unwrap_err().to_string();
        assert!(err.contains("d.csv: row 7, column \"x\": looks numeric (27 of 30 values are numbers)"), "{err}");
        assert!(err.contains("\"?\" ×2 (rows 7, 26), \"inf\" ×1 (row 21)"), "{err}");
        assert!(err.contains("--numeric x") && err.contains("--categorical x"), "{err}");
    }

    #[test]
    fn half_numbers_is_the_line_between_an_error_and_categories() {
        assert!(col(&["1", "2", "a", "b"], None).is_err(), "half are numbers");
        assert!(matches!(col(&["1", "a", "b"], None).unwrap().data, ColumnData::Categorical { .. }));
        let rules = CellRules { na_values: &["unknown".to_owned()], stray_as_missing: true };
        let read = |cells: &[&str], declared| {
            column_from_text(Path::new("d.csv"), "x", || cells.iter().map(|s| Some(*s)), declared, 1, rules)
        };
        let (column, stray) = read(&["1", " unknown", "seven", "3"], Some(ColumnType::Numeric)).unwrap();
        let ColumnData::Numeric(v) = column.data else { panic!("expected numeric") };
        assert_eq!((v[0], v[1].is_nan(), v[2].is_nan(), stray), (1.0, true, true, 1), "unknown is missing");
        let (column, stray) = read(&["1", "unknown", "3"], None).unwrap();
        assert!(matches!(column.data, ColumnData::Numeric(_)) && stray == 0);
        let sentinel = CellRules { na_values: &["-999".to_owned()], stray_as_missing: false };
        let cells = ["4", "-999", " -999 "];
        let (column, _) =
            column_from_text(Path::new("d.csv"), "x", || cells.iter().map(|s| Some(*s)), None, 1, sentinel).unwrap();
        let ColumnData::Numeric(v) = column.data else { panic!("expected numeric") };
        assert!(v[0] == 4.0 && v[1].is_nan() && v[2].is_nan(), "a number named by --na-values is missing");
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
