//! Charts for the markdown reports as hand-written SVG: curves on a unit square (ROC, precision-recall), a
//! heat map (confusion matrix) and horizontal bars (feature importance). Each is a few dozen elements, the
//! same style as the drift histograms (`drift/svg.rs`); that does not justify a plotting dependency.

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

/// Horizontal bars for `(label, value)` pairs, in the order given, scaled to the largest value.
pub fn bars(title: &str, items: &[(String, f64)]) -> String {
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
        let _ = writeln!(s, r#"<text x="{:.1}" y="{:.1}">{value:.3}</text>"#, left + w + 4.0, y + bar_h - 5.0);
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
        let b = bars("imp", &[("x".into(), 0.6), ("y".into(), 0.4)]);
        assert_eq!(b.matches("<rect").count(), 1 + 2);
    }
}
