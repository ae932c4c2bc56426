//! `/metrics`: Prometheus text exposition format 0.0.4, written by hand (a few families do not justify a
//! metrics crate). Counters end in `_total`, times are in seconds, every family has HELP and TYPE, as
//! `promtool check metrics` requires.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use super::models::Served;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// (model, version, code) → requests. Model and version are empty for requests not about a model.
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    rows: BTreeMap<(String, String), u64>,
    classes: BTreeMap<(String, String, String), u64>,
}

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What one request did, for the metrics.
pub(crate) struct Observation<'a> {
    pub model: &'a str,
    pub version: &'a str,
    pub code: u16,
    pub seconds: f64,
    pub rows: usize,
    pub classes: &'a BTreeMap<String, usize>,
}

impl Metrics {
    pub fn observe(&self, o: &Observation<'_>) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *inner.requests.entry((o.model.to_owned(), o.version.to_owned(), o.code)).or_default() += 1;
        let h = inner.latency.entry(o.model.to_owned()).or_default();
        h.count += 1;
        h.sum += o.seconds;
        if let Some(i) = BUCKETS.iter().position(|&b| o.seconds <= b) {
            h.counts[i] += 1;
        }
        if o.rows > 0 {
            *inner.rows.entry((o.model.to_owned(), o.version.to_owned())).or_default() += o.rows as u64;
        }
        for (class, n) in o.classes {
            *inner.classes.entry((o.model.to_owned(), o.version.to_owned(), class.clone())).or_default() += *n as u64;
        }
    }

    pub fn render(&self, served: &Served) -> String {
        let inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::with_capacity(4096);
        family(
            &mut out,
            "mlctl_serve_requests_total",
            "counter",
            "HTTP requests answered, by model, version and status code.",
        );
        for ((model, version, code), n) in &inner.requests {
            let code = code.to_string();
            sample(
                &mut out,
                "mlctl_serve_requests_total",
                &[("model", model), ("version", version), ("code", &code)],
                *n as f64,
            );
        }
        family(
            &mut out,
            "mlctl_serve_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its answer, by model.",
        );
        for (model, h) in &inner.latency {
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let le = bound.to_string();
                sample(
                    &mut out,
                    "mlctl_serve_request_duration_seconds_bucket",
                    &[("model", model), ("le", &le)],
                    cumulative as f64,
                );
            }
            sample(
                &mut out,
                "mlctl_serve_request_duration_seconds_bucket",
                &[("model", model), ("le", "+Inf")],
                h.count as f64,
            );
            sample(&mut out, "mlctl_serve_request_duration_seconds_sum", &[("model", model)], h.sum);
            sample(&mut out, "mlctl_serve_request_duration_seconds_count", &[("model", model)], h.count as f64);
        }
        family(&mut out, "mlctl_serve_rows_predicted_total", "counter", "Rows predicted, by model and version.");
        for ((model, version), n) in &inner.rows {
            sample(&mut out, "mlctl_serve_rows_predicted_total", &[("model", model), ("version", version)], *n as f64);
        }
        family(
            &mut out,
            "mlctl_serve_predicted_class_total",
            "counter",
            "Rows predicted per class or segment, by model and version.",
        );
        for ((model, version, class), n) in &inner.classes {
            sample(
                &mut out,
                "mlctl_serve_predicted_class_total",
                &[("model", model), ("version", version), ("class", class)],
                *n as f64,
            );
        }
        drop(inner);
        models(&mut out, served);
        out
    }
}

/// The loaded versions: which one is served (an info gauge), how long it took to load, how old it is.
fn models(out: &mut String, served: &Served) {
    let loaded = served.loaded();
    let now = crate::clock::now().timestamp_millis() as f64 / 1000.0;
    family(out, "mlctl_serve_model_info", "gauge", "The version served for each model (1), with its stage.");
    for (name, live, stage) in &loaded {
        let version = live.model.record.version.to_string();
        let stage = stage.map_or("", |s| s.as_str());
        sample(out, "mlctl_serve_model_info", &[("model", name), ("version", &version), ("stage", stage)], 1.0);
    }
    family(out, "mlctl_serve_model_load_seconds", "gauge", "Time taken to load the served version.");
    for (name, live, _) in &loaded {
        let version = live.model.record.version.to_string();
        sample(out, "mlctl_serve_model_load_seconds", &[("model", name), ("version", &version)], live.load_seconds);
    }
    family(out, "mlctl_serve_model_age_seconds", "gauge", "Time since the served version was trained.");
    for (name, live, _) in &loaded {
        if let Some(created) = live.created_unix {
            let version = live.model.record.version.to_string();
            sample(out, "mlctl_serve_model_age_seconds", &[("model", name), ("version", &version)], now - created);
        }
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, value)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(key);
            out.push_str("=\"");
            for c in value.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = String::new();
        sample(&mut out, "m", &[("class", "a\"b\\c\nd")], 2.0);
        assert_eq!(out, "m{class=\"a\\\"b\\\\c\\nd\"} 2\n");
    }
}
