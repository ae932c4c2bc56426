//! Aligned tables for the human view (comfy-table), the same on a terminal and in a log file.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

pub fn new(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(header.iter().copied());
    table
}

/// Right-aligns every column but the first (numbers line up).
pub fn align_numbers(table: &mut Table) {
    let n = table.column_count();
    for i in 1..n {
        if let Some(col) = table.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
}

pub fn fmt_metric(x: f64) -> String {
    if x.is_nan() {
        "n/a".to_owned()
    } else {
        format!("{x:.4}")
    }
}

pub fn fmt_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// A confusion matrix: rows are true classes, columns predicted ones.
pub fn confusion_matrix(classes: &[String], matrix: &[Vec<u64>]) -> Table {
    let mut header = vec!["true \\ predicted".to_owned()];
    header.extend(classes.iter().cloned());
    let mut t = new(&[]);
    t.set_header(header);
    for (class, row) in classes.iter().zip(matrix) {
        let mut cells = vec![class.clone()];
        cells.extend(row.iter().map(u64::to_string));
        t.add_row(cells);
    }
    align_numbers(&mut t);
    t
}

/// Rows per segment, with their share.
pub fn segment_sizes(sizes: &[u64]) -> Table {
    let total: u64 = sizes.iter().sum();
    let mut t = new(&["segment", "rows", "share"]);
    for (i, &n) in sizes.iter().enumerate() {
        t.add_row(vec![i.to_string(), n.to_string(), format!("{:.1}%", 100.0 * n as f64 / total.max(1) as f64)]);
    }
    align_numbers(&mut t);
    t
}
