//! ISO 8601 dates and date-times as the typing rules read them: `YYYY-MM-DD`, or a date-time
//! `YYYY-MM-DDTHH:MM[:SS[.fff]]` (a space may stand for the `T`) with an optional zone, `Z` or `±HH[[:]MM]`.
//! A value is held as seconds since 1970-01-01T00:00:00 UTC (an `f64`: whole seconds are exact for any year
//! 0000–9999), a date alone being midnight UTC. Calendar arithmetic is Howard Hinnant's days-from-civil and
//! civil-from-days (proleptic Gregorian), so no calendar crate is needed for the handful of fields a model uses.
//! The typing rules that use these (a column inferred to hold dates, a declared date column, the mostly-dates
//! warning) are in `schema`, so this module depends on nothing else in `data`.

pub const SECONDS_PER_DAY: i64 = 86_400;
// Exact: far below 2^53.
pub const SECONDS_PER_DAY_F64: f64 = SECONDS_PER_DAY as f64;

/// Seconds since the epoch as days since 1970-01-01 (the time of day a fraction), as drift compares dates.
pub fn as_days(seconds: f64) -> f64 {
    seconds / SECONDS_PER_DAY_F64
}

/// Days since 1970-01-01 of the civil date `year-month-day` (month 1–12, day 1–31, not checked here).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400; // 0..=399
    let m = i64::from(month);
    let shifted_month = if m > 2 { m - 3 } else { m + 9 }; // March is 0: the leap day ends the year
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year; // 0..=146096
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month 1–12, day 1–31) `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097; // 0..=146096
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100); // 0..=365
    let shifted_month = (5 * day_of_year + 2) / 153; // 0..=11, March first
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // In range by construction: month 1..=12, day 1..=31.
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Seconds since the epoch (UTC) of an ISO date or date-time; None for anything else, including dates the
/// calendar does not have (2023-02-29) and out-of-range times (24:00, 10:60).
pub fn parse_date(text: &str) -> Option<f64> {
    let bytes = text.trim().as_bytes();
    let mut p = Cursor { bytes, at: 0 };
    let year = p.digits(4)?;
    p.byte(b'-')?;
    let month = u32::try_from(p.digits(2)?).ok()?;
    p.byte(b'-')?;
    let day = u32::try_from(p.digits(2)?).ok()?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if p.done() {
        return Some((days * SECONDS_PER_DAY) as f64);
    }
    p.one_of(b"Tt ")?;
    let seconds = time_of_day(&mut p)?;
    let offset = zone_offset(&mut p)?;
    p.done().then(|| (days * SECONDS_PER_DAY - offset) as f64 + seconds)
}

/// `HH:MM[:SS[.fff]]` as seconds into the day.
fn time_of_day(p: &mut Cursor<'_>) -> Option<f64> {
    let hour = p.digits(2)?;
    p.byte(b':')?;
    let minute = p.digits(2)?;
    let (mut second, mut fraction) = (0, 0.0);
    if p.byte(b':').is_some() {
        second = p.digits(2)?;
        if p.byte(b'.').is_some() {
            let start = p.at;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.at += 1;
            }
            let digits = std::str::from_utf8(&p.bytes[start..p.at]).ok()?;
            fraction = format!("0.{digits}").parse::<f64>().ok().filter(|_| !digits.is_empty())?;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((hour * 3600 + minute * 60 + second) as f64 + fraction)
}

/// An optional zone after the time: `Z`, `±HH`, `±HHMM` or `±HH:MM`, as seconds east of UTC (0 when absent).
fn zone_offset(p: &mut Cursor<'_>) -> Option<i64> {
    let sign = match p.peek() {
        None => return Some(0),
        Some(b'Z' | b'z') => {
            p.at += 1;
            return Some(0);
        }
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(_) => return None,
    };
    p.at += 1;
    let hours = p.digits(2)?;
    let minutes = if p.done() {
        0
    } else {
        p.byte(b':');
        p.digits(2)?
    };
    (hours <= 23 && minutes <= 59).then_some(sign * (hours * 3600 + minutes * 60))
}

/// A position in the bytes of a cell.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn done(&self) -> bool {
        self.at == self.bytes.len()
    }

    /// Exactly `n` ASCII digits, as a number.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let field = self.bytes.get(self.at..self.at + n)?;
        let mut value = 0;
        for &b in field {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        self.at += n;
        Some(value)
    }

    fn byte(&mut self, expected: u8) -> Option<()> {
        self.one_of(&[expected])
    }

    fn one_of(&mut self, expected: &[u8]) -> Option<()> {
        self.peek().filter(|b| expected.contains(b))?;
        self.at += 1;
        Some(())
    }
}

/// The calendar fields of an instant (UTC) that date features are made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateParts {
    pub year: i64,
    /// 1–12.
    pub month: u32,
    /// 1–31.
    pub day: u32,
    /// ISO: 1 is Monday, 7 Sunday.
    pub day_of_week: u32,
    /// 1–366.
    pub day_of_year: u32,
    /// 365 or 366.
    pub days_in_year: u32,
    /// 0–23.
    pub hour: u32,
    /// Days since 1970-01-01, with the time of day as a fraction.
    pub days_since_epoch: f64,
}

/// The fields of `seconds` since the epoch (finite).
// Floored first; any year 0000–9999 is far inside i64.
pub fn date_parts(seconds: f64) -> DateParts {
    let whole = seconds.floor() as i64;
    let days = whole.div_euclid(SECONDS_PER_DAY);
    let second_of_day = whole.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let day_of_year = days - days_from_civil(year, 1, 1) + 1;
    DateParts {
        year,
        month,
        day,
        // 1970-01-01 was a Thursday (4).
        day_of_week: u32::try_from((days + 3).rem_euclid(7) + 1).unwrap_or(1),
        day_of_year: u32::try_from(day_of_year).unwrap_or(1),
        days_in_year: if is_leap_year(year) { 366 } else { 365 },
        hour: u32::try_from(second_of_day / 3600).unwrap_or(0),
        days_since_epoch: as_days(seconds),
    }
}

/// The ISO spelling of `seconds` since the epoch: `YYYY-MM-DD` at midnight, else `YYYY-MM-DDTHH:MM:SS[.fff]Z`
/// (UTC, which [`parse_date`] reads back).
pub fn format_date(seconds: f64) -> String {
    let whole = seconds.floor() as i64;
    let millis = ((seconds - whole as f64) * 1000.0).round() as i64;
    let days = whole.div_euclid(SECONDS_PER_DAY);
    let second_of_day = whole.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if second_of_day == 0 && millis == 0 {
        return format!("{year:04}-{month:02}-{day:02}");
    }
    let (h, m, s) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    let fraction = if millis == 0 { String::new() } else { format!(".{:03}", millis.min(999)) };
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}{fraction}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::frame::{Column, ColumnData};
    use crate::data::schema::{column_from_text, mostly_dates_warning, ColumnType};
    use crate::error::Result;
    use std::path::Path;

    #[test]
    fn days_and_civil_dates_agree_over_four_centuries_and_around_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        // Every day from 1800 to 2200 follows the one before it.
        let mut previous = civil_from_days(days_from_civil(1800, 1, 1));
        for days in days_from_civil(1800, 1, 1) + 1..days_from_civil(2200, 1, 1) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            let (py, pm, pd) = previous;
            let next = if pd < days_in_month(py, pm) {
                (py, pm, pd + 1)
            } else if pm < 12 {
                (py, pm + 1, 1)
            } else {
                (py + 1, 1, 1)
            };
            assert_eq!((y, m, d), next, "day {days}");
            previous = (y, m, d);
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rule() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && is_leap_year(1600));
        assert!(!is_leap_year(2023) && !is_leap_year(1900) && !is_leap_year(2100));
        assert_eq!(parse_date("2024-02-29"), Some((19_782 * SECONDS_PER_DAY) as f64));
        assert_eq!(parse_date("2000-02-29").map(|s| s > 0.0), Some(true));
        for not_a_date in ["2023-02-29", "1900-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10"] {
            assert_eq!(parse_date(not_a_date), None, "{not_a_date}");
        }
    }

    #[test]
    fn date_times_with_zones_and_fractions_are_instants_in_utc() {
        let midnight = (days_from_civil(2024, 3, 5) * SECONDS_PER_DAY) as f64;
        let at = |h: f64, m: f64, s: f64| midnight + h * 3600.0 + m * 60.0 + s;
        assert_eq!(parse_date("2024-03-05"), Some(midnight));
        assert_eq!(parse_date(" 2024-03-05 "), Some(midnight));
        assert_eq!(parse_date("2024-03-05T10:30"), Some(at(10.0, 30.0, 0.0)));
        assert_eq!(parse_date("2024-03-05 10:30:15"), Some(at(10.0, 30.0, 15.0)));
        assert_eq!(parse_date("2024-03-05T10:30:15.250Z"), Some(at(10.0, 30.0, 15.25)));
        assert_eq!(parse_date("2024-03-05T10:30:15+02:00"), Some(at(8.0, 30.0, 15.0)));
        assert_eq!(parse_date("2024-03-05T10:30-0130"), Some(at(12.0, 0.0, 0.0)));
        // As `export` writes a zoned timestamp.
        assert_eq!(parse_date("2024-03-05 10:30:15.5+00"), Some(at(10.0, 30.0, 15.5)));
        assert_eq!(parse_date("2024-03-05T00:30+01:00"), Some(at(-0.5, 0.0, 0.0)));
        for not_one in [
            "2024-03-05T24:00",
            "2024-03-05T10:60",
            "2024-03-05T10:30:60",
            "2024-03-05T10",
            "2024-03-05T10:30:15.",
            "2024-03-05T10:30+1",
            "2024-03-05Z",
            "2024-3-5",
            "24-03-05",
            "2024/03/05",
            "20240305",
            "2024-03-05x",
            "03/05/2024",
            "",
            "2024",
            "2024-03-05T10:30 Z",
        ] {
            assert_eq!(parse_date(not_one), None, "{not_one:?}");
        }
    }

    #[test]
    fn parts_name_the_calendar_fields() {
        let p = date_parts(parse_date("2024-12-31T23:59:59").unwrap());
        assert_eq!(
            (p.year, p.month, p.day, p.day_of_week, p.day_of_year, p.days_in_year, p.hour),
            (2024, 12, 31, 2, 366, 366, 23)
        );
        let p = date_parts(0.0);
        assert_eq!((p.year, p.month, p.day, p.day_of_week, p.day_of_year, p.hour), (1970, 1, 1, 4, 1, 0));
        assert_eq!(date_parts(parse_date("2023-03-01").unwrap()).day_of_year, 60);
        assert_eq!(date_parts(parse_date("2024-03-01").unwrap()).day_of_year, 61);
        assert_eq!(date_parts(parse_date("2024-03-03").unwrap()).day_of_week, 7, "a Sunday");
        assert_eq!(date_parts(parse_date("1969-12-31T18:00").unwrap()).hour, 18);
        assert_eq!(date_parts(parse_date("1970-01-02T12:00").unwrap()).days_since_epoch, 1.5);
    }

    #[test]
    fn formatting_reads_back() {
        for text in ["2024-03-05", "1969-12-31", "2024-03-05T10:30:15Z", "2024-03-05T00:00:01.250Z", "0001-01-01"] {
            let seconds = parse_date(text).unwrap();
            assert_eq!(format_date(seconds), text);
            assert_eq!(parse_date(&format_date(seconds)), Some(seconds));
        }
        assert_eq!(format_date(parse_date("2024-03-05 10:30+01:00").unwrap()), "2024-03-05T09:30:00Z");
    }

    fn typed(cells: &[&str], declared: Option<ColumnType>) -> Result<Column> {
        let rules = crate::data::schema::CellRules::default();
        column_from_text(Path::new("d.csv"), "when", || cells.iter().map(|s| Some(*s)), declared, 1, rules)
            .map(|(column, _)| column)
    }

    #[test]
    fn a_column_of_dates_is_typed_as_dates_and_a_few_dates_among_text_stay_text() {
        let c = typed(&["2024-01-31", "", "NA", "2024-02-01 08:30", "2024-02-01T08:30:00+01:00"], None).unwrap();
        let ColumnData::Date(v) = &c.data else { panic!("{c:?}") };
        assert_eq!(v[0], parse_date("2024-01-31").unwrap());
        assert!(v[1].is_nan() && v[2].is_nan());
        assert_eq!(v[3] - v[4], 3600.0);
        assert_eq!(c.type_name(), "date");
        assert_eq!(c.text(3).as_deref(), Some("2024-02-01T08:30:00Z"));
        assert_eq!(c.text(0).as_deref(), Some("2024-01-31"));

        for mixed in [&["2024-01-31", "soon", "2024-02-01"][..], &["2023-02-29", "2023-03-01"], &["", "NA"]] {
            assert!(matches!(typed(mixed, None).unwrap().data, ColumnData::Categorical { .. }), "{mixed:?}");
        }
        let forced = typed(&["2024-01-31", "2024-02-01"], Some(ColumnType::Categorical)).unwrap();
        assert!(matches!(forced.data, ColumnData::Categorical { .. }));
    }

    #[test]
    fn a_declared_date_column_names_the_cells_that_are_not_dates() {
        let ok = typed(&["2024-01-31", "", "2024-02-01"], Some(ColumnType::Date)).unwrap();
        assert!(matches!(ok.data, ColumnData::Date(_)));
        let err = typed(&["2024-01-31", "2023-02-29", "x", "2024-01-01"], Some(ColumnType::Date)).unwrap_err();
        let err = err.to_string();
        assert!(err.contains("d.csv: row 2, column \"when\""), "{err}");
        assert!(err.contains("row 2: \"2023-02-29\", row 3: \"x\""), "{err}");
        assert!(err.contains("YYYY-MM-DD"), "{err}");
    }

    #[test]
    fn only_a_column_mostly_of_dates_but_not_all_is_warned_about() {
        let warn = |cells: &[&str]| mostly_dates_warning(&typed(cells, None).unwrap());
        let w = warn(&["2024-01-01", "", "2024-13-01", "2024-01-02"]).unwrap();
        assert!(w.contains("2 of 3 values are dates") && w.contains("row 3: \"2024-13-01\""), "{w}");
        assert_eq!(warn(&["2024-01-01", "a", "b"]), None, "a few dates among text");
        assert_eq!(warn(&["2024-01-01", "2024-01-02"]), None, "a date column");
        assert_eq!(warn(&["a", "b"]), None);
    }
}
