//! Request bodies → records: one JSON object, an array of objects, `{"instances": [...]}`, NDJSON or CSV for
//! `/v1/models/{name}/predict`, and MLflow's scoring protocol (`dataframe_split`, `dataframe_records`,
//! `instances`, `inputs`, CSV) for `/invocations`. Malformed bodies are the client's error (400), named by
//! what was expected.

use std::path::Path;

use serde_json::{Map, Value};

use super::error::HttpError;
use crate::data::stream::{InputFormat, RecordStream};

/// The body's format, from its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Ndjson,
    Csv,
}

impl BodyKind {
    pub fn of(content_type: Option<&str>) -> Result<Self, HttpError> {
        let essence = content_type.map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
        match essence.as_deref() {
            // curl -d sends its default form type with whatever it is given: JSON, in practice.
            None | Some("" | "application/json" | "application/x-www-form-urlencoded") => Ok(BodyKind::Json),
            Some("application/x-ndjson" | "application/ndjson" | "application/jsonl" | "application/jsonlines") => {
                Ok(BodyKind::Ndjson)
            }
            Some("text/csv") => Ok(BodyKind::Csv),
            Some(other) => Err(HttpError::new(
                415,
                format!(
                    "Content-Type {other} is not accepted: send application/json, application/x-ndjson or text/csv"
                ),
            )),
        }
    }
}

/// Which protocol the body speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    /// `/v1/models/{name}/predict`.
    Native,
    /// `/invocations` (MLflow's scoring server).
    Mlflow,
}

/// The records of a request body, named `source` in errors.
pub(crate) fn records(
    source: &Path,
    body: &[u8],
    kind: BodyKind,
    protocol: Protocol,
) -> Result<RecordStream, HttpError> {
    let objects = match kind {
        BodyKind::Csv => {
            let reader = Box::new(std::io::Cursor::new(body.to_vec()));
            return RecordStream::open(source, reader, Some(InputFormat::Csv), b',').map_err(HttpError::from_error);
        }
        BodyKind::Ndjson => ndjson(body)?,
        BodyKind::Json => {
            let value: Value = serde_json::from_slice(body)
                .map_err(|e| HttpError::new(400, format!("the body is not valid JSON: {e}")))?;
            match protocol {
                Protocol::Native => native(value)?,
                Protocol::Mlflow => mlflow(value)?,
            }
        }
    };
    if objects.is_empty() {
        return Err(HttpError::new(400, "the body holds no records"));
    }
    RecordStream::from_objects(source, objects).map_err(HttpError::from_error)
}

fn ndjson(body: &[u8]) -> Result<Vec<Map<String, Value>>, HttpError> {
    let mut objects = Vec::new();
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_slice(line)
            .map_err(|e| HttpError::new(400, format!("NDJSON line {}: not valid JSON: {e}", i + 1)))?;
        objects.push(object(value, i + 1)?);
    }
    Ok(objects)
}

/// One object, an array of objects, or `{"instances": [...]}`.
fn native(value: Value) -> Result<Vec<Map<String, Value>>, HttpError> {
    match value {
        Value::Array(items) => objects(items),
        Value::Object(mut map) if map.len() == 1 && matches!(map.get("instances"), Some(Value::Array(_))) => {
            objects(array(map.remove("instances"))?)
        }
        Value::Object(map) => Ok(vec![map]),
        other => Err(HttpError::new(
            400,
            format!("expected a JSON object, an array of objects or {{\"instances\": [...]}}; found {}", kind(&other)),
        )),
    }
}

/// MLflow's scoring protocol: exactly one of its four keys.
fn mlflow(value: Value) -> Result<Vec<Map<String, Value>>, HttpError> {
    const KEYS: [&str; 4] = ["dataframe_split", "dataframe_records", "instances", "inputs"];
    let Value::Object(mut map) = value else {
        return Err(HttpError::new(400, format!("expected a JSON object with one of {}", KEYS.join(", "))));
    };
    let present: Vec<&str> = KEYS.iter().copied().filter(|k| map.contains_key(*k)).collect();
    let [key] = present[..] else {
        return Err(HttpError::new(
            400,
            format!("expected exactly one of {} in the body; found {}", KEYS.join(", "), keys(&map)),
        ));
    };
    let payload = map.remove(key).unwrap_or(Value::Null);
    match key {
        "dataframe_split" => dataframe_split(payload),
        "inputs" if payload.is_object() => columns(payload),
        _ => objects(array(Some(payload))?),
    }
}

/// `{"columns": [...], "data": [[...], ...]}` (pandas' split orientation; "index" is ignored).
fn dataframe_split(payload: Value) -> Result<Vec<Map<String, Value>>, HttpError> {
    let Value::Object(mut split) = payload else {
        return Err(HttpError::new(400, "dataframe_split: expected an object with \"columns\" and \"data\""));
    };
    let columns: Vec<String> = match split.remove("columns") {
        Some(Value::Array(cols)) => cols
            .into_iter()
            .map(|c| match c {
                Value::String(s) => Ok(s),
                other => Err(HttpError::new(400, format!("dataframe_split.columns: expected names, found {other}"))),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(HttpError::new(400, "dataframe_split: \"columns\" must be an array of column names")),
    };
    let rows = array(split.remove("data"))
        .map_err(|_| HttpError::new(400, "dataframe_split: \"data\" must be an array of rows (arrays of values)"))?;
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| match row {
            Value::Array(cells) if cells.len() == columns.len() => Ok(columns.iter().cloned().zip(cells).collect()),
            Value::Array(cells) => Err(HttpError::new(
                400,
                format!("dataframe_split.data row {}: {} values for {} columns", i + 1, cells.len(), columns.len()),
            )),
            other => Err(HttpError::new(
                400,
                format!("dataframe_split.data row {}: expected an array, found {}", i + 1, kind(&other)),
            )),
        })
        .collect()
}

/// `{"inputs": {"col": [v1, v2, ...], ...}}`: columns of equal length.
fn columns(payload: Value) -> Result<Vec<Map<String, Value>>, HttpError> {
    let Value::Object(cols) = payload else { return Ok(Vec::new()) };
    let mut n = None;
    let mut arrays = Vec::with_capacity(cols.len());
    for (name, values) in cols {
        let Value::Array(values) = values else {
            return Err(HttpError::new(400, format!("inputs.{name}: expected an array of values (one per row)")));
        };
        if *n.get_or_insert(values.len()) != values.len() {
            return Err(HttpError::new(
                400,
                format!("inputs.{name}: {} values; other columns have {}", values.len(), n.unwrap_or(0)),
            ));
        }
        arrays.push((name, values.into_iter()));
    }
    let mut rows = Vec::with_capacity(n.unwrap_or(0));
    for _ in 0..n.unwrap_or(0) {
        rows.push(
            arrays.iter_mut().map(|(name, values)| (name.clone(), values.next().unwrap_or(Value::Null))).collect(),
        );
    }
    Ok(rows)
}

fn array(value: Option<Value>) -> Result<Vec<Value>, HttpError> {
    match value {
        Some(Value::Array(items)) => Ok(items),
        other => Err(HttpError::new(
            400,
            format!("expected an array of records, found {}", other.as_ref().map_or("nothing", kind)),
        )),
    }
}

fn objects(items: Vec<Value>) -> Result<Vec<Map<String, Value>>, HttpError> {
    items.into_iter().enumerate().map(|(i, v)| object(v, i + 1)).collect()
}

fn object(value: Value, row: usize) -> Result<Map<String, Value>, HttpError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(HttpError::new(
            400,
            format!("record {row}: expected a JSON object of feature values, found {}", kind(&other)),
        )),
    }
}

fn keys(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return "an empty object".to_owned();
    }
    map.keys().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(body: &str, protocol: Protocol) -> Result<usize, u16> {
        let mut stream = records(Path::new("body"), body.as_bytes(), BodyKind::Json, protocol).map_err(|e| e.status)?;
        let mut n = 0;
        while let Some(batch) = stream.next_batch(1000).map_err(|_| 0u16)? {
            n += batch.rows();
        }
        Ok(n)
    }

    #[test]
    fn every_accepted_shape_gives_its_rows() {
        assert_eq!(rows(r#"{"a": 1, "b": "x"}"#, Protocol::Native), Ok(1));
        assert_eq!(rows(r#"[{"a": 1}, {"a": 2}]"#, Protocol::Native), Ok(2));
        assert_eq!(rows(r#"{"instances": [{"a": 1}, {"a": 2}, {"a": 3}]}"#, Protocol::Native), Ok(3));
        assert_eq!(
            rows(r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"], [2, "y"]]}}"#, Protocol::Mlflow),
            Ok(2)
        );
        assert_eq!(rows(r#"{"dataframe_records": [{"a": 1}]}"#, Protocol::Mlflow), Ok(1));
        assert_eq!(rows(r#"{"instances": [{"a": 1}]}"#, Protocol::Mlflow), Ok(1));
        assert_eq!(rows(r#"{"inputs": {"a": [1, 2], "b": ["x", "y"]}}"#, Protocol::Mlflow), Ok(2));
        assert_eq!(rows(r#"{"inputs": [{"a": 1}]}"#, Protocol::Mlflow), Ok(1));
    }

    #[test]
    fn malformed_bodies_are_client_errors() {
        assert_eq!(rows("{not json", Protocol::Native), Err(400));
        assert_eq!(rows("[1, 2]", Protocol::Native), Err(400));
        assert_eq!(rows("[]", Protocol::Native), Err(400));
        assert_eq!(rows(r#"{"a": 1}"#, Protocol::Mlflow), Err(400));
        assert_eq!(rows(r#"{"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}"#, Protocol::Mlflow), Err(400));
        assert_eq!(BodyKind::of(Some("application/xml")).map_err(|e| e.status), Err(415));
        assert_eq!(BodyKind::of(Some("text/csv; charset=utf-8")).ok(), Some(BodyKind::Csv));
    }
}
