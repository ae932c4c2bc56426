//! The HTTP layer: the accept loop, limits and timeouts, routing, authentication, JSON errors, and the drain
//! on shutdown. HTTP/1.1 with keep-alive (hyper); every prediction runs on a blocking thread, so a large batch
//! never holds up the I/O threads, and a panic in one is answered with 500 while the server stays up.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::json;

use super::error::HttpError;
use super::metrics::Observation;
use super::models::Lookup;
use super::payload::{BodyKind, Protocol};
use super::predict::{answer, Query, Request as PredictRequest};
use super::Shared;

/// A client that has not sent its request headers within this is dropped.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A client that has not sent its whole body within this gets 408.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long SIGTERM waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

fn error_response(e: &HttpError) -> Response<Full<Bytes>> {
    let mut body = json!({ "error": e.message });
    if let Some(row) = e.row {
        body["row"] = json!(row);
    }
    if let Some(column) = &e.column {
        body["column"] = json!(column);
    }
    json_response(e.status, body.to_string().into_bytes())
}

fn json_response(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}

/// Accepts connections until `stop` turns true, then lets in-flight requests finish (bounded) and returns
/// whether they all did.
pub(crate) async fn run(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> bool {
    let graceful = Arc::new(GracefulShutdown::new());
    let watcher = graceful.clone();
    let accept = tokio::spawn(async move {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT).keep_alive(true);
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                // Out of file descriptors and the like: wait a little rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let watched = watcher.watch(connection);
            tokio::spawn(async move {
                let _ = watched.await;
            });
        }
    });
    let _ = stop.wait_for(|stopped| *stopped).await;
    accept.abort();
    let _ = accept.await;
    // The accept task held the other reference; it has ended.
    let Ok(graceful) = Arc::try_unwrap(graceful) else { return false };
    tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_ok()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let started = Instant::now();
    // The request line for the -v log, taken before the request is consumed (and only then).
    let request_line = shared.verbose.then(|| format!("{} {}", req.method(), req.uri().path()));
    let mut seen = Seen { model: String::new(), version: String::new(), rows: 0, counts: Default::default() };
    let response = match route(&shared, req, &mut seen).await {
        Ok(response) => response,
        Err(e) => error_response(&e),
    };
    let code = response.status().as_u16();
    let seconds = started.elapsed().as_secs_f64();
    shared.metrics.observe(&Observation {
        model: &seen.model,
        version: &seen.version,
        code,
        seconds,
        rows: seen.rows,
        classes: &seen.counts,
    });
    if let Some(line) = request_line {
        (shared.log)(&format!("{line} {code} {:.3} ms {} rows", seconds * 1000.0, seen.rows));
    }
    Ok(response)
}

/// What a request touched, for the metrics and the log line.
struct Seen {
    model: String,
    version: String,
    rows: usize,
    counts: std::collections::BTreeMap<String, usize>,
}

async fn route(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    seen: &mut Seen,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    match (&method, path.as_str()) {
        (&Method::GET, "/health/live") => return Ok(json_response(200, br#"{"status":"live"}"#.to_vec())),
        (&Method::GET, "/health/ready") => return Ok(ready(shared)),
        _ => {}
    }
    if let Some(token) = &shared.token {
        let header = req.headers().get(hyper::header::AUTHORIZATION).map(|v| v.as_bytes());
        if !token.accepts(header) {
            let mut response =
                error_response(&HttpError::new(401, "missing or wrong bearer token (Authorization: Bearer TOKEN)"));
            response
                .headers_mut()
                .insert(hyper::header::WWW_AUTHENTICATE, hyper::header::HeaderValue::from_static("Bearer"));
            return Ok(response);
        }
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (&method, segments.as_slice()) {
        (&Method::GET, ["v1", "models"]) => {
            Ok(json_response(200, json!({ "models": shared.models.infos() }).to_string().into_bytes()))
        }
        (&Method::GET, ["metrics"]) => {
            let mut response = Response::new(Full::new(Bytes::from(shared.metrics.render(&shared.models))));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            Ok(response)
        }
        (&Method::POST, ["v1", "models", name, "predict"]) => {
            let name = (*name).to_owned();
            predict(shared, req, &name, Protocol::Native, seen).await
        }
        (&Method::POST, ["invocations"]) => {
            let Some(name) = shared.models.single() else {
                return Err(HttpError::new(
                    400,
                    format!(
                        "/invocations needs exactly one served model; {} are served: use /v1/models/{{name}}/predict",
                        shared.models.names().join(", ")
                    ),
                ));
            };
            predict(shared, req, &name, Protocol::Mlflow, seen).await
        }
        (_, ["health", "live" | "ready"] | ["v1", "models"] | ["metrics"]) => {
            Err(HttpError::new(405, format!("{method} {path}: use GET")))
        }
        (_, ["v1", "models", _, "predict"] | ["invocations"]) => {
            Err(HttpError::new(405, format!("{method} {path}: use POST")))
        }
        _ => Err(HttpError::new(
            404,
            format!("no endpoint {method} {path} (see GET /v1/models, POST /v1/models/{{name}}/predict, GET /metrics)"),
        )),
    }
}

fn ready(shared: &Shared) -> Response<Full<Bytes>> {
    match shared.models.not_ready() {
        None => {
            json_response(200, json!({ "status": "ready", "models": shared.models.names() }).to_string().into_bytes())
        }
        Some(reasons) => {
            json_response(503, json!({ "status": "not ready", "reasons": reasons }).to_string().into_bytes())
        }
    }
}

async fn predict(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    name: &str,
    protocol: Protocol,
    seen: &mut Seen,
) -> Result<Response<Full<Bytes>>, HttpError> {
    let live = match shared.models.get(name) {
        Lookup::Ready(live) => live,
        Lookup::Unavailable(why) => {
            return Err(HttpError::new(503, format!("model \"{name}\" is not available: {why}")))
        }
        Lookup::Unknown => {
            let served = shared.models.names();
            let hint = crate::suggest::hint(name, served.iter().map(String::as_str));
            return Err(HttpError::new(
                404,
                format!("no model \"{name}\" is served{hint} (served: {})", served.join(", ")),
            ));
        }
    };
    seen.model = live.model.name.to_string();
    seen.version = live.model.record.version.to_string();
    let query = Query::parse(req.uri().query())?;
    let header = |h: hyper::header::HeaderName| req.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let kind = BodyKind::of(header(hyper::header::CONTENT_TYPE).as_deref())?;
    let request_id = header(hyper::header::HeaderName::from_static("x-request-id"));
    let body = read_body(req.into_body(), shared.max_body).await?;
    let shared_for_work = shared.clone();
    let work = tokio::task::spawn_blocking(move || {
        let request = PredictRequest { body: &body, kind, protocol, query, request_id: request_id.as_deref() };
        answer(&shared_for_work, &live, &request)
    });
    let answered = match work.await {
        Ok(result) => result?,
        Err(join) => {
            let why = if join.is_panic() { "a panic" } else { "cancellation" };
            (shared.log)(&format!("POST {name}: the prediction ended in {why}; answered 500, still serving"));
            return Err(HttpError::new(
                500,
                format!("internal error while predicting ({why}); the server is still up"),
            ));
        }
    };
    seen.rows = answered.rows;
    seen.counts = answered.counts;
    Ok(json_response(200, answered.body))
}

/// The whole body, at most `max` bytes (413 beyond), within [`BODY_TIMEOUT`] (408 after).
async fn read_body(body: Incoming, max: usize) -> Result<Bytes, HttpError> {
    let too_large = || HttpError::new(413, format!("the body is larger than --max-body ({max} bytes)"));
    if hyper::body::Body::size_hint(&body).lower() > max as u64 {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, max).collect()).await {
        Err(_) => Err(HttpError::new(408, format!("the body did not arrive within {} s", BODY_TIMEOUT.as_secs()))),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(e)) => Err(HttpError::new(400, format!("cannot read the body: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}
