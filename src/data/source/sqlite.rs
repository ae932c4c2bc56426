//! `--from sqlite:PATH`: a SQLite file, opened read-only through the SQLite compiled into mlctl (rusqlite's
//! `bundled`), rows stepped one at a time from the statement straight into the sink.
//!
//! SQLite types values, not columns, so a column's type comes from its declaration by SQLite's own affinity rules
//! (INT → integer; CHAR, CLOB, TEXT → text; REAL, FLOA, DOUB, NUMERIC, DECIMAL → real), plus BOOL → boolean,
//! DATETIME / TIMESTAMP → timestamp and DATE → date, which SQLite stores as 0/1, ISO text, Unix seconds or
//! Julian days. Expression columns have no declaration and are typed by the values seen. A value that does not
//! fit its declared type is written as it is stored and the column is reported as text, with a warning, rather
//! than being silently bent to fit.

use std::path::Path;

use chrono::DateTime;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{check_names, push_integer, push_real, push_stamp, write_date_or_stamp, Row, RowSink, ValueType};
use crate::error::{Error, Result};
use crate::reporter::Reporter;

/// Streams the rows of `query` over the database at `path` into `sink`; returns the columns' types.
/// `label` names the source in messages (`sqlite:data/hr.db`).
pub fn export(
    path: &Path,
    label: &str,
    query: &str,
    sink: &mut dyn RowSink,
    reporter: &dyn Reporter,
) -> Result<Vec<ValueType>> {
    // Opening read-only never creates a file, but its error ("unable to open database file") names nothing.
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let db_error = |e: rusqlite::Error| Error::source(label, e);
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(db_error)?;
    let mut stmt = conn.prepare(query).map_err(db_error)?;
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    check_names(label, &names)?;
    let mut columns: Vec<ColumnState> =
        stmt.columns().map(|c| ColumnState::new(c.decl_type().and_then(declared_type))).collect();
    sink.header(&names)?;

    let mut row = Row::new(names.len());
    let mut rows = stmt.query([]).map_err(db_error)?;
    let mut n = 0usize;
    while let Some(r) = rows.next().map_err(db_error)? {
        n += 1;
        for (i, column) in columns.iter_mut().enumerate() {
            let value = r.get_ref(i).map_err(db_error)?;
            if let ValueRef::Blob(_) = value {
                return Err(Error::source(
                    label,
                    format!(
                        "row {n}, column \"{}\": a BLOB, which a CSV cannot hold; select hex({0}) or \
                         CAST({0} AS TEXT) in --query",
                        names[i]
                    ),
                ));
            }
            if let Some(declared) = column.write(value, &mut row, i) {
                reporter.warn(&format!(
                    "{label}: column \"{}\" is declared {} but row {n} holds {}: exported as stored, typed {}",
                    names[i],
                    declared.as_str(),
                    describe(value),
                    column.final_type().as_str()
                ));
            }
        }
        sink.row(&row)?;
    }
    Ok(columns.iter().map(ColumnState::final_type).collect())
}

/// SQLite's affinity rules (section 3.1 of its datatype page), refined for the types mlctl maps.
fn declared_type(decl: &str) -> Option<ValueType> {
    let d = decl.to_ascii_uppercase();
    Some(if d.contains("BOOL") {
        ValueType::Boolean
    } else if d.contains("DATETIME") || d.contains("TIMESTAMP") {
        ValueType::Timestamp
    } else if d.contains("DATE") {
        ValueType::Date
    } else if d.contains("INT") {
        ValueType::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        ValueType::Text
    } else if ["REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"].iter().any(|k| d.contains(k)) {
        ValueType::Real
    } else {
        return None;
    })
}

fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(x) => format!("the real {x}"),
        ValueRef::Text(t) => format!("the text {:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(_) => "a BLOB".into(),
    }
}

struct ColumnState {
    declared: Option<ValueType>,
    /// The type so far: the declared one until a value does not fit, else inferred from the values.
    current: Option<ValueType>,
}

impl ColumnState {
    fn new(declared: Option<ValueType>) -> Self {
        ColumnState { declared, current: declared }
    }

    fn final_type(&self) -> ValueType {
        self.current.unwrap_or(ValueType::Text)
    }

    /// Writes `value` into cell `i`; returns the declared type when this value is the first not to fit it.
    fn write(&mut self, value: ValueRef<'_>, row: &mut Row, i: usize) -> Option<ValueType> {
        if let ValueRef::Null = value {
            row.set_null(i);
            return None;
        }
        let cell = row.cell(i);
        let declared_and_kept = self.declared.filter(|d| self.current == Some(*d));
        if let Some(ty) = declared_and_kept {
            if write_as(ty, value, cell) {
                return None;
            }
        }
        cell.clear();
        write_stored(value, cell);
        let observed = match value {
            ValueRef::Integer(_) => ValueType::Integer,
            ValueRef::Real(_) => ValueType::Real,
            _ => ValueType::Text,
        };
        let before = self.current;
        self.current = Some(match (before, observed) {
            (None, t) => t,
            (Some(ValueType::Integer), ValueType::Real) | (Some(ValueType::Real), ValueType::Integer) => {
                ValueType::Real
            }
            (Some(a), b) if a == b => a,
            _ => ValueType::Text,
        });
        // A whole number in a real column, or a real in an integer one, is still a number: no warning.
        let numeric = matches!(self.current, Some(ValueType::Real | ValueType::Integer));
        match declared_and_kept {
            Some(d) if !numeric => Some(d),
            _ => None,
        }
    }
}

/// The value as it is stored: integers and reals in their canonical spelling, text as is.
fn write_stored(value: ValueRef<'_>, out: &mut String) {
    match value {
        ValueRef::Integer(i) => push_integer(out, i),
        ValueRef::Real(x) => push_real(out, x),
        ValueRef::Text(t) => out.push_str(&String::from_utf8_lossy(t)),
        ValueRef::Null | ValueRef::Blob(_) => {}
    }
}

/// Writes `value` spelt as `ty` (see [`ValueType`]); false when it is not a value of that type.
fn write_as(ty: ValueType, value: ValueRef<'_>, out: &mut String) -> bool {
    match (ty, value) {
        (ValueType::Integer, ValueRef::Integer(i)) => push_integer(out, i),
        (ValueType::Real, ValueRef::Integer(i)) => push_integer(out, i),
        (ValueType::Real, ValueRef::Real(x)) => push_real(out, x),
        (ValueType::Text, v) => write_stored(v, out),
        (ValueType::Boolean, ValueRef::Integer(0)) => out.push_str("false"),
        (ValueType::Boolean, ValueRef::Integer(1)) => out.push_str("true"),
        (ValueType::Boolean, ValueRef::Text(t)) => match t.to_ascii_lowercase().as_slice() {
            b"true" | b"t" => out.push_str("true"),
            b"false" | b"f" => out.push_str("false"),
            _ => return false,
        },
        (ValueType::Date | ValueType::Timestamp, ValueRef::Text(t)) => {
            let Ok(text) = std::str::from_utf8(t) else { return false };
            return push_stamp(ty, text, out);
        }
        (ValueType::Date | ValueType::Timestamp, ValueRef::Integer(secs)) => {
            let Some(t) = DateTime::from_timestamp(secs, 0) else { return false };
            write_date_or_stamp(ty, t.naive_utc(), out);
        }
        (ValueType::Date | ValueType::Timestamp, ValueRef::Real(julian)) => {
            // Julian day number → Unix seconds: day 2440587.5 is 1970-01-01T00:00:00Z.
            let millis = ((julian - 2_440_587.5) * 86_400_000.0).round();
            if !millis.is_finite() || millis.abs() > 8.0e15 {
                return false;
            }
            let Some(t) = DateTime::from_timestamp_millis(millis as i64) else { return false };
            write_date_or_stamp(ty, t.naive_utc(), out);
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spelt(ty: ValueType, value: ValueRef<'_>) -> Option<String> {
        let mut out = String::new();
        write_as(ty, value, &mut out).then_some(out)
    }

    #[test]
    fn declared_types_follow_sqlite_affinity() {
        assert_eq!(declared_type("BIGINT"), Some(ValueType::Integer));
        assert_eq!(declared_type("varchar(20)"), Some(ValueType::Text));
        assert_eq!(declared_type("DOUBLE PRECISION"), Some(ValueType::Real));
        assert_eq!(declared_type("BOOLEAN"), Some(ValueType::Boolean));
        assert_eq!(declared_type("DATETIME"), Some(ValueType::Timestamp));
        assert_eq!(declared_type("date"), Some(ValueType::Date));
        assert_eq!(declared_type("BLOB"), None);
    }

    #[test]
    fn values_are_spelt_canonically() {
        assert_eq!(spelt(ValueType::Boolean, ValueRef::Integer(1)).as_deref(), Some("true"));
        assert_eq!(spelt(ValueType::Boolean, ValueRef::Integer(2)), None);
        assert_eq!(spelt(ValueType::Real, ValueRef::Real(0.1)).as_deref(), Some("0.1"));
        assert_eq!(spelt(ValueType::Date, ValueRef::Text(b"2024-02-29")).as_deref(), Some("2024-02-29"));
        assert_eq!(spelt(ValueType::Date, ValueRef::Text(b"not a date")), None);
        assert_eq!(spelt(ValueType::Date, ValueRef::Integer(86_400)).as_deref(), Some("1970-01-02"));
        assert_eq!(
            spelt(ValueType::Timestamp, ValueRef::Text(b"2024-01-02T03:04:05.25")).as_deref(),
            Some("2024-01-02 03:04:05.250")
        );
        assert_eq!(
            spelt(ValueType::Timestamp, ValueRef::Text(b"2024-01-02 03:04:05+02:00")).as_deref(),
            Some("2024-01-02 01:04:05+00")
        );
        assert_eq!(spelt(ValueType::Timestamp, ValueRef::Real(2_440_588.0)).as_deref(), Some("1970-01-01 12:00:00"));
    }
}
