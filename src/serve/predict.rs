//! A prediction request: body → records → the shared prediction core → the answer, its log lines and what the
//! metrics count. Runs on a blocking thread, never on the I/O threads.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::HttpError;
use super::models::Live;
use super::payload::{self, BodyKind, Protocol};
use super::Shared;
use crate::ops::predict::{Decision, OutputFormat, Predictor, RowIds};

/// `?threshold=T&explain=true|N`, as `mlctl predict --threshold T --explain N`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Query {
    threshold: Option<f64>,
    explain: Option<usize>,
}

/// Key factors per prediction with `?explain=true`, as `predict --explain` without a number.
const DEFAULT_EXPLAIN: usize = 5;
/// After a batch of at least this many rows, freed memory goes back to the OS (soon after, not at once).
const TRIM_AFTER_ROWS: usize = 1000;
/// A request id longer than this is cut (it is copied into every logged line).
const MAX_REQUEST_ID: usize = 128;

impl Query {
    pub fn parse(query: Option<&str>) -> Result<Self, HttpError> {
        let mut out = Query::default();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "threshold" => {
                    let t = value.parse::<f64>().ok().filter(|t| (0.0..=1.0).contains(t)).ok_or_else(|| {
                        HttpError::new(400, format!("threshold={value}: expected a probability between 0 and 1"))
                    })?;
                    out.threshold = Some(t);
                }
                "explain" => {
                    out.explain = match value {
                        "true" | "1" | "" => Some(DEFAULT_EXPLAIN),
                        "false" | "0" => None,
                        n => Some(n.parse::<usize>().ok().filter(|n| (1..=100).contains(n)).ok_or_else(|| {
                            HttpError::new(
                                400,
                                format!("explain={n}: expected true, false or a number of factors (1-100)"),
                            )
                        })?),
                    };
                }
                other => {
                    return Err(HttpError::new(
                        400,
                        format!("unknown query parameter \"{other}\" (known: threshold, explain)"),
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// The answer to one prediction request.
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub rows: usize,
    pub counts: BTreeMap<String, usize>,
}

/// What a prediction request carries besides the model.
pub(crate) struct Request<'a> {
    pub body: &'a [u8],
    pub kind: BodyKind,
    pub protocol: Protocol,
    pub query: Query,
    pub request_id: Option<&'a str>,
}

pub(crate) fn answer(shared: &Shared, live: &Live, request: &Request<'_>) -> Result<Answer, HttpError> {
    let source = Path::new("request body");
    let mut stream = payload::records(source, request.body, request.kind, request.protocol)?;
    let decision = Decision { threshold: request.query.threshold, explain: request.query.explain };
    let predictor = Predictor::new(&live.model, source, stream.header().to_vec(), decision, OutputFormat::Json)
        .map_err(HttpError::from_error)?;
    // The whole body is one batch: its size is bounded by --max-body, and the model predicts it in parallel.
    let batch = stream
        .next_batch(usize::MAX)
        .map_err(HttpError::from_error)?
        .ok_or_else(|| HttpError::new(400, "the body holds no records"))?;
    // An "id" field in the records is each row's id; else the request's X-Request-Id, or a generated one.
    let generated;
    let row_ids = match predictor.column("id") {
        Some(column) => RowIds::Column(column),
        None => {
            generated = ids(request.request_id, batch.rows());
            RowIds::Given(&generated)
        }
    };
    let mut done = predictor.run(batch, shared.logs.is_some(), Some(row_ids)).map_err(HttpError::from_error)?;
    let rows = done.rows();
    if let (Some(logs), Some(lines)) = (&shared.logs, done.take_log_lines()) {
        logs.send(live.model.name.as_str(), lines);
    }
    let predictions = done.output().map_err(|e| HttpError::new(500, format!("cannot format the answer: {e}")))?;
    let mut body = Vec::with_capacity(predictions.len() + 96);
    match request.protocol {
        Protocol::Native => {
            body.extend_from_slice(b"{\"model\":");
            push_json(&mut body, live.model.name.as_str());
            body.extend_from_slice(b",\"version\":");
            push_json(&mut body, &live.model.record.version.to_string());
            body.extend_from_slice(b",\"predictions\":[");
        }
        Protocol::Mlflow => body.extend_from_slice(b"{\"predictions\":["),
    }
    body.extend_from_slice(predictions);
    body.extend_from_slice(b"\n]}\n");
    let counts = done.counts(&live.model.bundle.classes);
    drop(done);
    if rows >= TRIM_AFTER_ROWS {
        super::want_trim();
    }
    Ok(Answer { body, rows, counts })
}

fn push_json(buf: &mut Vec<u8>, text: &str) {
    // Serialising a string into a Vec cannot fail.
    let _ = serde_json::to_writer(buf, text);
}

/// Each row's id: the request's X-Request-Id (with `-N` for the N-th row of a batch), or a generated one.
fn ids(request_id: Option<&str>, rows: usize) -> Vec<String> {
    let base = match request_id.map(clean_id).filter(|id| !id.is_empty()) {
        Some(id) if rows == 1 => return vec![id],
        Some(id) => id,
        None => generated_id(),
    };
    if rows == 1 {
        return vec![base];
    }
    (1..=rows).map(|n| format!("{base}-{n}")).collect()
}

/// The printable ASCII of a client's id, at most [`MAX_REQUEST_ID`] characters.
fn clean_id(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_graphic()).take(MAX_REQUEST_ID).collect()
}

/// A process-unique id: the server's unique prefix and a counter.
fn generated_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", crate::ops::predict::unique_prefix(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_request_id() {
        assert_eq!(ids(Some("req-7"), 1), ["req-7"]);
        assert_eq!(ids(Some("req-7"), 2), ["req-7-1", "req-7-2"]);
        let generated = ids(None, 2);
        assert!(generated[0].ends_with("-1") && generated[1].ends_with("-2"));
        assert_ne!(ids(None, 1), ids(None, 1));
        assert_eq!(ids(Some("a b\n"), 1), ["ab"]);
    }

    #[test]
    fn query_parameters_are_checked() {
        assert_eq!(Query::parse(Some("threshold=0.6")).unwrap().threshold, Some(0.6));
        assert_eq!(Query::parse(Some("explain=true")).unwrap().explain, Some(DEFAULT_EXPLAIN));
        assert_eq!(Query::parse(Some("explain=3")).unwrap().explain, Some(3));
        assert_eq!(Query::parse(Some("threshold=2")).map_err(|e| e.status).err(), Some(400));
        assert_eq!(Query::parse(Some("nope=1")).map_err(|e| e.status).err(), Some(400));
    }
}
