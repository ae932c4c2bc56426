//! Histograms as hand-written SVG: two bars per bin (reference, current), proportions on the y-axis, bin labels
//! under the bars. A few dozen <rect>s and <text>s do not justify a plotting dependency. A feature with many
//! levels (airport codes) would draw its labels on top of each other, so a chart keeps the [`MAX_BARS`] levels
//! whose share changed most and pools the rest into one "other (N levels)" bar; the markdown report lists the
//! levels in a table.

use std::fmt::Write;

use super::compare::Histogram;
use crate::report::charts::escape;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 80.0;
const TOP: f64 = 36.0;
const REFERENCE_COLOUR: &str = "#4c78a8";
const CURRENT_COLOUR: &str = "#f58518";
/// Bins drawn by name; beyond this (plus the pooled bar), the rest are pooled.
pub const MAX_BARS: usize = 20;

/// One chart: `title` above, a legend, a bar pair per bin.
pub fn histogram(title: &str, h: &Histogram) -> String {
    let pooled = pool_small_changes(h);
    let h = &pooled;
    let n = h.bins.len().max(1);
    let plot_w = WIDTH - LEFT - 16.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = h.reference.iter().chain(&h.current).copied().fold(0.0f64, f64::max).max(1e-9);
    let slot = plot_w / n as f64;
    let bar = (slot * 0.4).max(1.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{LEFT}" y="18" font-size="14">{}</text>"#, escape(title));
    let legend_x = WIDTH - 190.0;
    let _ = writeln!(
        s,
        r#"<rect x="{legend_x}" y="8" width="10" height="10" fill="{REFERENCE_COLOUR}"/><text x="{}" y="17">reference</text>"#,
        legend_x + 14.0
    );
    let _ = writeln!(
        s,
        r#"<rect x="{}" y="8" width="10" height="10" fill="{CURRENT_COLOUR}"/><text x="{}" y="17">current</text>"#,
        legend_x + 90.0,
        legend_x + 104.0
    );
    let base = TOP + plot_h;
    // Axis and a gridline at the top value, labelled as a percentage.
    let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#333"/>"##, WIDTH - 16.0);
    let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{TOP}" x2="{}" y2="{TOP}" stroke="#ddd"/>"##, WIDTH - 16.0);
    let _ = writeln!(s, r#"<text x="{}" y="{}" text-anchor="end">{:.0}%</text>"#, LEFT - 4.0, TOP + 4.0, max * 100.0);
    let _ = writeln!(s, r#"<text x="{}" y="{base}" text-anchor="end">0%</text>"#, LEFT - 4.0);
    for (i, label) in h.bins.iter().enumerate() {
        let x0 = LEFT + slot * i as f64 + slot * 0.1;
        for (k, (values, colour)) in
            [(&h.reference, REFERENCE_COLOUR), (&h.current, CURRENT_COLOUR)].into_iter().enumerate()
        {
            let v = values.get(i).copied().unwrap_or(0.0);
            let height = plot_h * v / max;
            let _ = writeln!(
                s,
                r#"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{height:.1}" fill="{colour}"><title>{}: {:.1}%</title></rect>"#,
                x0 + bar * k as f64,
                base - height,
                escape(label),
                v * 100.0
            );
        }
        let cx = x0 + bar;
        let _ = writeln!(
            s,
            r#"<text x="{cx:.1}" y="{:.1}" text-anchor="end" transform="rotate(-40 {cx:.1} {:.1})">{}</text>"#,
            base + 14.0,
            base + 14.0,
            escape(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// `h` itself when it has at most `MAX_BARS + 1` bins; else its `MAX_BARS` bins with the largest change in share
/// (in their original order), followed by one bin pooling the others.
fn pool_small_changes(h: &Histogram) -> Histogram {
    if h.bins.len() <= MAX_BARS + 1 {
        return h.clone();
    }
    let share = |v: &[f64], i: usize| v.get(i).copied().unwrap_or(0.0);
    let change = |i: usize| (share(&h.current, i) - share(&h.reference, i)).abs();
    let mut order: Vec<usize> = (0..h.bins.len()).collect();
    // Stable: equal changes keep the original order, so the chart is the same on every run.
    order.sort_by(|&a, &b| change(b).total_cmp(&change(a)));
    let mut kept = order[..MAX_BARS].to_vec();
    kept.sort_unstable();
    let rest = order.len() - MAX_BARS;
    let mut out = Histogram {
        bins: kept.iter().map(|&i| h.bins[i].clone()).collect(),
        reference: kept.iter().map(|&i| share(&h.reference, i)).collect(),
        current: kept.iter().map(|&i| share(&h.current, i)).collect(),
    };
    out.bins.push(format!("other ({rest} levels)"));
    out.reference.push(order[MAX_BARS..].iter().map(|&i| share(&h.reference, i)).sum());
    out.current.push(order[MAX_BARS..].iter().map(|&i| share(&h.current, i)).sum());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_two_bars_per_bin_and_escapes_labels() {
        let h =
            Histogram { bins: vec!["< 0".into(), "a&b".into()], reference: vec![0.25, 0.75], current: vec![0.5, 0.5] };
        let svg = histogram("x <drift>", &h);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 1 + 2 + 4);
        assert!(svg.contains("&lt; 0") && svg.contains("a&amp;b") && svg.contains("x &lt;drift&gt;"));
    }

    #[test]
    fn many_levels_keep_the_largest_changes_and_pool_the_rest() {
        // 30 levels of equal reference share; levels 3 and 17 gain share in the current data.
        let bins: Vec<String> = (0..30).map(|i| format!("L{i:02}")).collect();
        let reference = vec![1.0 / 30.0; 30];
        let mut current = vec![0.8 / 28.0; 30];
        current[3] = 0.15;
        current[17] = 0.05;
        let pooled = pool_small_changes(&Histogram { bins, reference, current });
        assert_eq!(pooled.bins.len(), MAX_BARS + 1);
        assert!(pooled.bins.contains(&"L03".to_owned()) && pooled.bins.contains(&"L17".to_owned()));
        assert_eq!(pooled.bins.last().unwrap(), "other (10 levels)");
        assert!((pooled.reference.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((pooled.current.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let svg = histogram("many", &pooled);
        assert_eq!(svg.matches("<rect").count(), 1 + 2 + 2 * (MAX_BARS + 1));
    }
}
