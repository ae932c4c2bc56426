//! The in-memory table every workflow works on: typed columns, numeric as f64 (NaN = missing), categorical as
//! dictionary codes, dates as seconds since the epoch. Built by `load` (the only module that knows polars) with the rules in `schema`.

use std::borrow::Cow;
use std::path::PathBuf;

pub const MISSING_CODE: u32 = u32::MAX;

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// NaN marks a missing value.
    Numeric(Vec<f64>),
    /// `codes[i]` indexes `levels`; `MISSING_CODE` marks a missing value.
    Categorical { codes: Vec<u32>, levels: Vec<String> },
    /// Dates and date-times as seconds since 1970-01-01T00:00:00 UTC (see `dates`); NaN marks a missing value.
    Date(Vec<f64>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: ColumnData,
}

impl Column {
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Numeric(v) | ColumnData::Date(v) => v.len(),
            ColumnData::Categorical { codes, .. } => codes.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn type_name(&self) -> &'static str {
        match self.data {
            ColumnData::Numeric(_) => "numeric",
            ColumnData::Categorical { .. } => "categorical",
            ColumnData::Date(_) => "date",
        }
    }

    pub fn is_missing(&self, row: usize) -> bool {
        match &self.data {
            ColumnData::Numeric(v) | ColumnData::Date(v) => v[row].is_nan(),
            ColumnData::Categorical { codes, .. } => codes[row] == MISSING_CODE,
        }
    }

    /// The cell as text (for pass-through columns, labels and messages); None when missing.
    pub fn text(&self, row: usize) -> Option<Cow<'_, str>> {
        match &self.data {
            ColumnData::Numeric(v) => {
                let x = v[row];
                (!x.is_nan()).then(|| Cow::Owned(format_number(x)))
            }
            ColumnData::Categorical { codes, levels } => {
                let c = codes[row];
                (c != MISSING_CODE).then(|| Cow::Borrowed(levels[c as usize].as_str()))
            }
            ColumnData::Date(v) => (!v[row].is_nan()).then(|| Cow::Owned(super::dates::format_date(v[row]))),
        }
    }

    pub fn missing_count(&self) -> usize {
        (0..self.len()).filter(|&r| self.is_missing(r)).count()
    }
}

/// The rows `0..n` but `dropped` (sorted), in order.
pub fn rows_but(n: usize, dropped: &[usize]) -> Vec<usize> {
    let mut dropped = dropped.iter().copied().peekable();
    (0..n)
        .filter(|&r| {
            let gone = dropped.peek() == Some(&r);
            if gone {
                dropped.next();
            }
            !gone
        })
        .collect()
}

/// Shortest text that reads back as the same f64 (integers without a trailing ".0").
pub fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// The file the frame came from, for error messages.
    pub source: PathBuf,
    pub n_rows: usize,
    pub columns: Vec<Column>,
}

impl Frame {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    /// The frame without `dropped` (sorted row indices), every column keeping its type and levels.
    pub fn without_rows(&self, dropped: &[usize]) -> Frame {
        let keep = rows_but(self.n_rows, dropped);
        let columns = self
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.clone(),
                data: match &c.data {
                    ColumnData::Numeric(v) => ColumnData::Numeric(keep.iter().map(|&r| v[r]).collect()),
                    ColumnData::Date(v) => ColumnData::Date(keep.iter().map(|&r| v[r]).collect()),
                    ColumnData::Categorical { codes, levels } => ColumnData::Categorical {
                        codes: keep.iter().map(|&r| codes[r]).collect(),
                        levels: levels.clone(),
                    },
                },
            })
            .collect();
        Frame { source: self.source.clone(), n_rows: keep.len(), columns }
    }
}
