//! Charts for the markdown reports as hand-written SVG: curves on a unit square (ROC, precision-recall), a
//! heat map (confusion matrix), horizontal bars (feature importance, rows per segment), a scatter on data axes
//! (predicted against actual, residuals) and strips of dots per row (cross-validation folds per algorithm).
//! Each is a few dozen elements, the same style as the drift histograms (`drift/svg.rs`); that does not
//! justify a plotting dependency.

use std::fmt::Write;

const PALETTE: &[&str] = &["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d"];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn open(s: &mut String, width: f64, height: f64, title: &str) {
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="12" y="20" font-size="14">{}</text>"#, escape(title));
}

/// One named curve: points `(x, y)` in [0, 1]².
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Curves on the unit square with axis labels; `diagonal` draws the chance line (ROC).
pub fn curves(title: &str, x_label: &str, y_label: &str, series: &[Curve], diagonal: bool) -> String {
    const SIZE: f64 = 320.0;
    const LEFT: f64 = 56.0;
    const TOP: f64 = 36.0;
    let (width, height) = (LEFT + SIZE + 180.0, TOP + SIZE + 48.0);
    let px = |x: f64| LEFT + x.clamp(0.0, 1.0) * SIZE;
    let py = |y: f64| TOP + (1.0 - y.clamp(0.0, 1.0)) * SIZE;
    let mut s = String::new();
    open(&mut s, width, height, title);
    let _ = writeln!(s, r##"<rect x="{LEFT}" y="{TOP}" width="{SIZE}" height="{SIZE}" fill="none" stroke="#333"/>"##);
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{tick}</text>"#, px(tick), TOP + SIZE + 14.0);
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{tick}</text>"#, LEFT - 4.0, py(tick) + 4.0);
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        px(0.5),
        TOP + SIZE + 32.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="14" y="{:.1}" text-anchor="middle" transform="rotate(-90 14 {:.1})">{}</text>"#,
        py(0.5),
        py(0.5),
        escape(y_label)
    );
    if diagonal {
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#999" stroke-dasharray="4 4"/>"##,
            px(0.0),
            py(0.0),
            px(1.0),
            py(1.0)
        );
    }
    for (i, c) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let points: Vec<String> = c.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
        let _ =
            writeln!(s, r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#, points.join(" "));
        let ly = TOP + 12.0 + 18.0 * i as f64;
        let lx = LEFT + SIZE + 16.0;
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{:.1}" width="10" height="10" fill="{colour}"/><text x="{}" y="{ly:.1}">{}</text>"#,
            ly - 9.0,
            lx + 14.0,
            escape(&c.label)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A matrix as coloured cells with their counts; rows are true classes, columns predicted, each row shaded by
/// its own total so a rare class's mistakes show as clearly as a common one's.
pub fn heat_map(title: &str, labels: &[String], matrix: &[Vec<u64>]) -> String {
    let n = labels.len().max(1);
    let cell = (360.0 / n as f64).clamp(24.0, 90.0);
    let (left, top) = (110.0, 56.0);
    let (width, height) = (left + cell * n as f64 + 24.0, top + cell * n as f64 + 48.0);
    let mut s = String::new();
    open(&mut s, width, height, title);
    let _ =
        writeln!(s, r#"<text x="{:.1}" y="42" text-anchor="middle">predicted</text>"#, left + cell * n as f64 / 2.0);
    for (j, label) in labels.iter().enumerate() {
        let x = left + cell * (j as f64 + 0.5);
        let _ = writeln!(
            s,
            r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + cell * n as f64 + 16.0,
            escape(label)
        );
    }
    for (i, row) in matrix.iter().enumerate() {
        let total = row.iter().sum::<u64>().max(1) as f64;
        let y = top + cell * i as f64;
        let label = labels.get(i).map_or("", String::as_str);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">true {}</text>"#,
            left - 6.0,
            y + cell / 2.0 + 4.0,
            escape(label)
        );
        for (j, &count) in row.iter().enumerate() {
            let share = count as f64 / total;
            // White to the palette's blue, by the share of the row.
            let shade = |full: f64| (255.0 - share * (255.0 - full)).round() as u8;
            let colour = format!("#{:02x}{:02x}{:02x}", shade(76.0), shade(120.0), shade(168.0));
            let text = if share > 0.55 { "white" } else { "black" };
            let x = left + cell * j as f64;
            let _ = writeln!(
                s,
                r##"<rect x="{x:.1}" y="{y:.1}" width="{cell:.1}" height="{cell:.1}" fill="{colour}" stroke="#fff"><title>{count} ({:.1}% of the row)</title></rect><text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{text}">{count}</text>"##,
                share * 100.0,
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

/// How the value beside a bar is written: a count as the integer it is ("974"), a score with 3 decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueLabel {
    Count,
    Decimal,
}

impl ValueLabel {
    fn text(self, value: f64) -> String {
        match self {
            ValueLabel::Count => format!("{value:.0}"),
            ValueLabel::Decimal => format!("{value:.3}"),
        }
    }
}

/// Horizontal bars for `(label, value)` pairs, in the order given, scaled to the largest value.
pub fn bars(title: &str, items: &[(String, f64)], format: ValueLabel) -> String {
    let (left, top, bar_h, plot_w) = (190.0, 36.0, 18.0, 320.0);
    let height = top + bar_h * 1.4 * items.len().max(1) as f64 + 16.0;
    let width = left + plot_w + 70.0;
    let max = items.iter().map(|(_, v)| *v).fold(0.0f64, f64::max).max(1e-12);
    let mut s = String::new();
    open(&mut s, width, height, title);
    for (i, (label, value)) in items.iter().enumerate() {
        let y = top + bar_h * 1.4 * i as f64;
        let w = plot_w * value.max(0.0) / max;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + bar_h - 5.0,
            escape(label)
        );
        let _ = writeln!(s, r#"<rect x="{left}" y="{y:.1}" width="{w:.1}" height="{bar_h}" fill="{}"/>"#, PALETTE[0]);
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="{:.1}">{}</text>"#, left + w + 4.0, y + bar_h - 5.0, format.text(*value));
    }
    s.push_str("</svg>\n");
    s
}

/// A linear axis over the data's range, padded a little so no point sits on the frame.
#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
}

impl Axis {
    fn over(values: impl Iterator<Item = f64>) -> Axis {
        let (lo, hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if !lo.is_finite() {
            return Axis { lo: 0.0, hi: 1.0 };
        }
        let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.5 };
        Axis { lo: lo - pad, hi: hi + pad }
    }

    /// Where `v` falls, from 0 (lo) to 1 (hi).
    fn frac(self, v: f64) -> f64 {
        ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Five evenly spaced tick values.
    fn ticks(self) -> impl Iterator<Item = f64> {
        (0..5).map(move |i| self.lo + (self.hi - self.lo) * f64::from(i) / 4.0)
    }
}

/// A tick value short enough to read: whole numbers as integers, else 3 significant digits.
fn tick_text(v: f64) -> String {
    if v.abs() >= 100.0 || (v.fract() == 0.0 && v.abs() < 1e15) {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// The frame, ticks and axis labels of a plot `size` pixels square at (`left`, `top`).
fn frame(s: &mut String, (x, y): (Axis, Axis), (x_label, y_label): (&str, &str), (left, top, size): (f64, f64, f64)) {
    let _ = writeln!(s, r##"<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none" stroke="#333"/>"##);
    for t in x.ticks() {
        let px = left + x.frac(t) * size;
        let _ = writeln!(
            s,
            r#"<text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            top + size + 14.0,
            tick_text(t)
        );
    }
    for t in y.ticks() {
        let py = top + (1.0 - y.frac(t)) * size;
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, left - 4.0, py + 4.0, tick_text(t));
    }
    let mid = top + size / 2.0;
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + size / 2.0,
        top + size + 32.0,
        escape(x_label)
    );
    let _ = writeln!(
        s,
        r#"<text x="14" y="{mid:.1}" text-anchor="middle" transform="rotate(-90 14 {mid:.1})">{}</text>"#,
        escape(y_label)
    );
}

/// The guide line of a scatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guide {
    /// y = x: where a perfect prediction falls.
    Diagonal,
    /// y = 0: no error.
    Zero,
}

/// Points on data axes with a guide line; at most [`MAX_POINTS`] of them, evenly picked in the order given
/// (a report for a million rows stays a readable file).
pub fn scatter(title: &str, (x_label, y_label): (&str, &str), points: &[(f64, f64)], guide: Guide) -> String {
    const SIZE: f64 = 320.0;
    const LEFT: f64 = 64.0;
    const TOP: f64 = 36.0;
    let shown = thin(points, MAX_POINTS);
    let mut x = Axis::over(shown.iter().map(|p| p.0));
    let mut y = Axis::over(shown.iter().map(|p| p.1));
    if guide == Guide::Diagonal {
        // One scale on both axes, so the diagonal is the 45° line.
        let both = Axis { lo: x.lo.min(y.lo), hi: x.hi.max(y.hi) };
        (x, y) = (both, both);
    }
    let mut s = String::new();
    open(&mut s, LEFT + SIZE + 24.0, TOP + SIZE + 48.0, title);
    frame(&mut s, (x, y), (x_label, y_label), (LEFT, TOP, SIZE));
    let px = |v: f64| LEFT + x.frac(v) * SIZE;
    let py = |v: f64| TOP + (1.0 - y.frac(v)) * SIZE;
    let (x1, y1, x2, y2) = match guide {
        Guide::Diagonal => (px(x.lo), py(x.lo), px(x.hi), py(x.hi)),
        Guide::Zero => (px(x.lo), py(0.0), px(x.hi), py(0.0)),
    };
    let _ = writeln!(
        s,
        r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#999" stroke-dasharray="4 4"/>"##
    );
    for &(a, b) in &shown {
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="2" fill="{}" fill-opacity="0.5"/>"#,
            px(a),
            py(b),
            PALETTE[0]
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Points drawn by a scatter at most.
pub const MAX_POINTS: usize = 2_000;

/// At most `max` of `points`, evenly spaced in the order given.
fn thin(points: &[(f64, f64)], max: usize) -> Vec<(f64, f64)> {
    let finite = points.iter().copied().filter(|(a, b)| a.is_finite() && b.is_finite());
    let n = points.len();
    if n <= max {
        return finite.collect();
    }
    (0..max).filter_map(|i| points.get(i * n / max).copied()).filter(|(a, b)| a.is_finite() && b.is_finite()).collect()
}

/// One row of dots per `(label, values)` — each value a dot, the mean a bar across the row — on a shared
/// axis: scores per cross-validation fold, per algorithm.
pub fn strips(title: &str, axis_label: &str, rows: &[(String, Vec<f64>)]) -> String {
    let (left, top, row_h, plot_w) = (170.0, 36.0, 28.0, 360.0);
    let height = top + row_h * rows.len().max(1) as f64 + 48.0;
    let axis = Axis::over(rows.iter().flat_map(|(_, v)| v.iter().copied()));
    let mut s = String::new();
    open(&mut s, left + plot_w + 24.0, height, title);
    let bottom = top + row_h * rows.len().max(1) as f64;
    let _ = writeln!(s, r##"<line x1="{left}" y1="{bottom}" x2="{:.1}" y2="{bottom}" stroke="#333"/>"##, left + plot_w);
    for t in axis.ticks() {
        let x = left + axis.frac(t) * plot_w;
        let _ =
            writeln!(s, r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"#, bottom + 14.0, tick_text(t));
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + plot_w / 2.0,
        bottom + 32.0,
        escape(axis_label)
    );
    for (i, (label, values)) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let colour = PALETTE[i % PALETTE.len()];
        let _ =
            writeln!(s, r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#, left - 8.0, y + 4.0, escape(label));
        for &v in values.iter().filter(|v| v.is_finite()) {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{y:.1}" r="4" fill="{colour}" fill-opacity="0.7"><title>{v:.4}</title></circle>"#,
                left + axis.frac(v) * plot_w
            );
        }
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if !finite.is_empty() {
            let mean = finite.iter().sum::<f64>() / finite.len() as f64;
            let x = left + axis.frac(mean) * plot_w;
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333" stroke-width="2"><title>mean {mean:.4}</title></line>"##,
                y - 9.0,
                y + 9.0
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_svg_with_escaped_labels() {
        let roc = curves(
            "ROC <a&b>",
            "fpr",
            "tpr",
            &[Curve { label: "1".into(), points: vec![(0.0, 0.0), (1.0, 1.0)] }],
            true,
        );
        assert!(roc.starts_with("<svg") && roc.contains("&lt;a&amp;b&gt;") && roc.contains("<polyline"));
        let hm = heat_map("cm", &["0".into(), "1".into()], &[vec![3, 1], vec![0, 4]]);
        assert_eq!(hm.matches("<rect").count(), 1 + 4);
        assert!(hm.contains(">3</text>") && hm.contains("75.0% of the row"));
        let b = bars("imp", &[("x".into(), 0.6), ("y".into(), 0.4)], ValueLabel::Decimal);
        assert_eq!(b.matches("<rect").count(), 1 + 2);
        assert!(b.contains(">0.600</text>"));
        let counts = bars("rows", &[("segment 0".into(), 974.0)], ValueLabel::Count);
        assert!(counts.contains(">974</text>") && !counts.contains("974.000"));
    }

    #[test]
    fn scatters_draw_a_dot_per_point_up_to_the_cap() {
        let points: Vec<(f64, f64)> = (0..50).map(|i| (f64::from(i), f64::from(i) * 1.1)).collect();
        let svg = scatter("p", ("actual", "predicted"), &points, Guide::Diagonal);
        assert_eq!(svg.matches("<circle").count(), 50);
        assert!(svg.contains("stroke-dasharray"));
        let many: Vec<(f64, f64)> = (0..10_000).map(|i| (f64::from(i), 0.0)).collect();
        assert_eq!(scatter("r", ("x", "y"), &many, Guide::Zero).matches("<circle").count(), MAX_POINTS);
        assert_eq!(tick_text(974.0), "974");
        assert_eq!(tick_text(0.25), "0.25");
    }

    #[test]
    fn strips_draw_a_dot_per_value_and_a_mean_per_row() {
        let rows = vec![("a".to_owned(), vec![0.8, 0.82, 0.81]), ("b".to_owned(), vec![0.7, 0.75, 0.72])];
        let svg = strips("folds", "f1", &rows);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert_eq!(svg.matches("<title>mean").count(), 2);
    }
}
