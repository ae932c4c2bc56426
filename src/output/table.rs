//! Aligned tables for the human view (comfy-table), the same on a terminal and in a log file, fitted to the
//! output width (`output::width`): a [`Grid`] leaves out its least useful columns first, and whatever still
//! does not fit is wrapped inside its cells by comfy-table.

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::width;

/// A table that wraps its cells when it would be wider than the output.
pub fn new(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(u16::try_from(width::get()).unwrap_or(u16::MAX));
    table.set_header(header.iter().copied());
    table
}

/// Rows and columns kept apart from their layout, so columns can be left out to fit the width: wrapping a
/// nine-column table into 80 columns turns every cell into two or three lines, while the same table without
/// its two least useful columns reads at a glance. What was left out is said under the table.
pub struct Grid {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Columns aligned left; the others (numbers) right.
    left: Vec<bool>,
    /// Column names in the order they are left out when the table is too wide.
    droppable: Vec<String>,
}

impl Grid {
    /// Every column but the first right-aligned (numbers line up), as [`align_numbers`].
    pub fn new(header: &[&str]) -> Self {
        let left = (0..header.len()).map(|i| i == 0).collect();
        Grid { header: header.iter().map(|&h| h.to_owned()).collect(), rows: Vec::new(), left, droppable: Vec::new() }
    }

    /// Aligns these columns left (text among numbers).
    pub fn left(mut self, names: &[&str]) -> Self {
        for (h, left) in self.header.iter().zip(&mut self.left) {
            *left |= names.contains(&h.as_str());
        }
        self
    }

    /// Aligns every column left.
    pub fn all_left(mut self) -> Self {
        self.left.iter_mut().for_each(|l| *l = true);
        self
    }

    /// The columns to leave out, least useful first, while the table is wider than the output.
    pub fn droppable(mut self, names: &[&str]) -> Self {
        self.droppable = names.iter().map(|&n| n.to_owned()).collect();
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table laid out for the output width, with a line naming the columns left out, if any.
    pub fn render(&self) -> String {
        self.render_at(width::get())
    }

    fn render_at(&self, width: usize) -> String {
        let mut keep = vec![true; self.header.len()];
        let mut left_out = Vec::new();
        let mut text = self.layout(&keep, width, ContentArrangement::Disabled);
        for name in &self.droppable {
            if widest(&text) <= width {
                break;
            }
            if let Some(i) = self.header.iter().position(|h| h == name) {
                keep[i] = false;
                left_out.push(name.as_str());
                text = self.layout(&keep, width, ContentArrangement::Disabled);
            }
        }
        if widest(&text) > width {
            text = self.layout(&keep, width, ContentArrangement::Dynamic);
        }
        if !left_out.is_empty() {
            let note = format!("(hidden at {width} columns: {}; --json has them)", left_out.join(", "));
            text.push('\n');
            text.push_str(&width::wrap(&note, 1, width));
        }
        text
    }

    fn layout(&self, keep: &[bool], width: usize, arrangement: ContentArrangement) -> String {
        let pick = |cells: &[String]| -> Vec<String> {
            cells.iter().zip(keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect()
        };
        let mut t = Table::new();
        t.load_preset(presets::UTF8_FULL_CONDENSED).set_content_arrangement(arrangement);
        t.set_width(u16::try_from(width).unwrap_or(u16::MAX));
        t.set_header(pick(&self.header));
        for row in &self.rows {
            t.add_row(pick(row));
        }
        let lefts: Vec<bool> = self.left.iter().zip(keep).filter(|(_, k)| **k).map(|(l, _)| *l).collect();
        for (i, left) in lefts.into_iter().enumerate() {
            if let Some(col) = t.column_mut(i) {
                col.set_cell_alignment(if left { CellAlignment::Left } else { CellAlignment::Right });
            }
        }
        t.to_string()
    }
}

/// The longest line, in characters (every character mlctl draws in a table is one column wide).
pub fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
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

/// Hyperparameters as `key=value`, one per item, in the order stored (sorted by key); strings unquoted.
pub fn param_pairs(params: &serde_json::Value) -> Vec<String> {
    match params {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect(),
        serde_json::Value::Null => Vec::new(),
        other => vec![other.to_string()],
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

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> Grid {
        let mut g = Grid::new(&["feature", "type", "statistic", "threshold"]).left(&["type"]).droppable(&["threshold"]);
        g.row(vec!["workload_compatibility".into(), "categorical".into(), "0.0129".into(), "0.0045".into()]);
        g
    }

    #[test]
    fn a_grid_leaves_out_columns_until_it_fits_and_says_so() {
        let wide = grid().render_at(100);
        assert!(wide.contains("threshold") && !wide.contains("hidden"), "{wide}");
        let narrow = grid().render_at(60);
        assert!(widest(&narrow) <= 60, "{narrow}");
        assert!(narrow.contains("hidden at 60 columns: threshold"), "{narrow}");
        assert!(!narrow.lines().next().unwrap_or_default().is_empty());
    }

    #[test]
    fn a_grid_wraps_cells_when_leaving_out_is_not_enough() {
        let tight = grid().render_at(45);
        assert!(widest(&tight) <= 45, "{tight}");
        assert!(tight.contains("workload"), "{tight}");
    }
}
