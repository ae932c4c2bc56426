//! Prometheus textfile output (`--metrics-file PATH`) for cron jobs: node-exporter's textfile collector reads
//! gauges from `*.prom` files, so a weekly job's accuracy, prediction counts and drift become alertable. Written
//! atomically, because the collector may read at any moment.

use std::fmt::Write;
use std::path::Path;

use crate::error::Result;
use crate::fs::write_atomic;

/// One gauge sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Sample {
    pub fn new(name: &str, help: &'static str, value: f64) -> Self {
        Sample { name: name.to_owned(), help, labels: Vec::new(), value }
    }

    pub fn label(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.labels.push((key, value.into()));
        self
    }
}

/// The exposition text: one HELP/TYPE block per metric name, in first-seen order.
pub fn render(samples: &[Sample]) -> String {
    let mut out = String::new();
    let mut seen: Vec<&str> = Vec::new();
    for s in samples {
        if !seen.contains(&s.name.as_str()) {
            seen.push(&s.name);
            let _ = writeln!(out, "# HELP {} {}\n# TYPE {} gauge", s.name, s.help, s.name);
            for t in samples.iter().filter(|t| t.name == s.name) {
                let labels: Vec<String> = t.labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
                let value = if t.value.is_nan() { "NaN".to_owned() } else { format!("{}", t.value) };
                if labels.is_empty() {
                    let _ = writeln!(out, "{} {value}", t.name);
                } else {
                    let _ = writeln!(out, "{}{{{}}} {value}", t.name, labels.join(","));
                }
            }
        }
    }
    out
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn write(path: &Path, samples: &[Sample]) -> Result<()> {
    write_atomic(path, render(samples).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_textfile_format() {
        let text = render(&[
            Sample::new("mlctl_model_metric", "Metric of a model version on evaluation data.", 0.82)
                .label("model", "m")
                .label("metric", "f1"),
            Sample::new("mlctl_model_metric", "Metric of a model version on evaluation data.", 0.9)
                .label("model", "m\"x")
                .label("metric", "roc_auc"),
            Sample::new("mlctl_rows", "Rows.", 10.0),
        ]);
        assert_eq!(
            text,
            "# HELP mlctl_model_metric Metric of a model version on evaluation data.\n# TYPE mlctl_model_metric gauge\n\
             mlctl_model_metric{model=\"m\",metric=\"f1\"} 0.82\nmlctl_model_metric{model=\"m\\\"x\",metric=\"roc_auc\"} 0.9\n\
             # HELP mlctl_rows Rows.\n# TYPE mlctl_rows gauge\nmlctl_rows 10\n"
        );
    }
}
