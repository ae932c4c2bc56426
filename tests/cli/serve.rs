//! `mlctl serve` through the real binary on 127.0.0.1 with `--port 0`, driven by a real HTTP client (ureq):
//! answers equal `mlctl predict`'s bit for bit in every body format, promotions are followed, bad input never
//! takes the server down, SIGTERM drains, /metrics passes promtool, and served traffic reaches `drift --logs`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::TestProject;

/// A running `mlctl serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(p: &TestProject, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("mlctl"))
            .current_dir(p.root())
            .env("MLCTL_USER", "tester")
            .envs(envs.iter().copied())
            .args(["serve", "--port", "0", "--poll-ms", "100"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        let _ = tx.send(addr.trim().to_owned());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("serve did not start: {:?}", log.lock().unwrap());
            }
        };
        Server { child, base, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits (up to 10 s) for a line of the server's stderr containing `needle`.
    fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.log_text().contains(needle) {
            assert!(Instant::now() < deadline, "no \"{needle}\" in the log: {}", self.log_text());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill takes plain integers and touches no memory of ours.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }

    /// SIGTERM, then the exit status (within 30 s).
    fn stop(mut self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop after SIGTERM: {}", self.log_text());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// (status, body) of a request.
fn send(agent: &ureq::Agent, method: &str, url: &str, headers: &[(&str, &str)], body: Option<&str>) -> (u16, String) {
    let response = match (method, body) {
        ("GET", _) => {
            let mut req = agent.get(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.call()
        }
        (_, body) => {
            let mut req = agent.post(url);
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send(body.unwrap_or("").as_bytes())
        }
    }
    .unwrap();
    let status = response.status().as_u16();
    let text = response.into_body().with_config().limit(256 << 20).read_to_string().unwrap();
    (status, text)
}

fn get(url: &str) -> (u16, Value) {
    let (status, text) = send(&agent(), "GET", url, &[], None);
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn post(url: &str, content_type: &str, body: &str) -> (u16, Value) {
    let (status, text) = send(&agent(), "POST", url, &[("Content-Type", content_type)], Some(body));
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}")))
}

/// A project with model `m` trained on 400 rows, 1.0.0 in production.
fn project() -> (TestProject, String) {
    let p = TestProject::new();
    let data = p.sample("d", 400, 1);
    p.train_m(&data, 15);
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    (p, data)
}

/// `mlctl predict m --format json` on a file: the rows as the CLI answers them.
fn cli_predictions(p: &TestProject, model: &str, input: &str) -> Vec<Value> {
    let out = p.mlctl().args(["predict", model, "--input", input, "--format", "json", "--no-log"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    serde_json::from_slice::<Value>(&out.stdout).unwrap().as_array().unwrap().clone()
}

/// The served rows with their ids removed, to compare with the CLI's (which has none).
fn without_ids(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut row = row.clone();
            assert!(row.as_object_mut().unwrap().remove("id").is_some(), "every served row has an id: {row}");
            row
        })
        .collect()
}

/// The same rows, with the probabilities compared bit for bit (parsed exactly: serde_json's float_roundtrip).
fn assert_same_predictions(served: &[Value], cli: &[Value]) {
    assert_eq!(served.len(), cli.len());
    for (s, c) in served.iter().zip(cli) {
        assert_eq!(s["prediction"], c["prediction"]);
        let (a, b) = (s["probability"].as_f64().unwrap(), c["probability"].as_f64().unwrap());
        assert_eq!(a.to_bits(), b.to_bits(), "served {a} vs predict {b}");
        assert_eq!(s, c);
    }
}

/// The CSV's first `n` data rows as JSON records (the way an application sends them).
fn records(p: &TestProject, csv: &str, n: usize) -> Vec<serde_json::Map<String, Value>> {
    let mut reader = csv::Reader::from_path(p.path(csv)).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_owned).collect();
    reader
        .records()
        .take(n)
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .filter(|(_, v)| !v.is_empty())
                .map(|(h, v)| {
                    let value = v.parse::<f64>().map_or_else(|_| Value::String(v.to_owned()), |x| serde_json::json!(x));
                    (h.clone(), value)
                })
                .collect()
        })
        .collect()
}

#[test]
fn served_answers_equal_predicts_bit_for_bit_in_every_body_format() {
    let (p, data) = project();
    let server = Server::start(&p, &["m", "--no-log"], &[]);
    server.wait_log("serving m as m@production: version 1.0.0 (production), loaded in");
    assert_eq!(get(&server.url("/health/live")).0, 200);
    assert_eq!(get(&server.url("/health/ready")).0, 200);
    let (status, models) = get(&server.url("/v1/models"));
    assert_eq!(status, 200);
    let model = &models["models"][0];
    assert_eq!(
        (model["name"].as_str(), model["version"].as_str(), model["stage"].as_str()),
        (Some("m"), Some("1.0.0"), Some("production"))
    );
    assert_eq!(model["task"], "classification");
    assert_eq!(model["target"], "success");
    assert_eq!(model["classes"], serde_json::json!(["0", "1"]));
    assert!(model["features"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "emp_availability" && f["type"] == "categorical"));

    // The same 25 records as a JSON array file for the CLI and in every body format for the server.
    let recs = records(&p, &data, 25);
    let array = serde_json::to_string(&recs).unwrap();
    p.write("data/recs.json", &array);
    let cli = cli_predictions(&p, "m@1.0.0", "data/recs.json");
    assert!(cli.iter().all(|row| row["prediction"].is_u64()), "a 0/1 target answers JSON numbers: {cli:?}");
    let predict = server.url("/v1/models/m/predict");
    let ndjson: String = recs.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
    let instances = serde_json::json!({ "instances": recs }).to_string();
    for (content_type, body) in
        [("application/json", array.as_str()), ("application/x-ndjson", &ndjson), ("application/json", &instances)]
    {
        let (status, answer) = post(&predict, content_type, body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!((answer["model"].as_str(), answer["version"].as_str()), (Some("m"), Some("1.0.0")));
        assert_same_predictions(&without_ids(&answer["predictions"]), &cli);
    }
    // One object in, one row out, equal to `predict --input -` on the same object.
    let one = serde_json::to_string(&recs[0]).unwrap();
    let (status, answer) = post(&predict, "application/json", &one);
    assert_eq!(status, 200);
    assert_same_predictions(&without_ids(&answer["predictions"]), &cli[..1]);
    // CSV in: the whole file, equal to predict on the file (pass-through columns included).
    let csv_text = std::fs::read_to_string(p.path(&data)).unwrap();
    let (status, answer) = post(&predict, "text/csv", &csv_text);
    assert_eq!(status, 200);
    assert_same_predictions(&without_ids(&answer["predictions"]), &cli_predictions(&p, "m@1.0.0", &data));
    // MLflow's scoring protocol.
    let columns: Vec<&String> = recs[0].keys().collect();
    let split_rows: Vec<Vec<&Value>> =
        recs.iter().map(|r| columns.iter().map(|c| r.get(*c).unwrap_or(&Value::Null)).collect()).collect();
    let mut column_arrays = serde_json::Map::new();
    for c in &columns {
        column_arrays.insert((*c).clone(), recs.iter().map(|r| r.get(*c).cloned().unwrap_or(Value::Null)).collect());
    }
    let invocations = server.url("/invocations");
    for body in [
        serde_json::json!({ "dataframe_split": { "columns": columns, "data": split_rows } }),
        serde_json::json!({ "dataframe_records": recs }),
        serde_json::json!({ "instances": recs }),
        serde_json::json!({ "inputs": column_arrays }),
    ] {
        let (status, answer) = post(&invocations, "application/json", &body.to_string());
        assert_eq!(status, 200, "{answer}");
        assert_same_predictions(&without_ids(&answer["predictions"]), &cli);
    }
    // ?threshold and ?explain as --threshold and --explain.
    let cli_t = p
        .mlctl()
        .args(["predict", "m@1.0.0", "--input", "data/recs.json", "--no-log", "--threshold", "0.7", "--explain", "3"])
        .output()
        .unwrap();
    let cli_t: Vec<Value> = serde_json::from_slice::<Value>(&cli_t.stdout).unwrap().as_array().unwrap().clone();
    let (status, answer) = post(&format!("{predict}?threshold=0.7&explain=3"), "application/json", &array);
    assert_eq!(status, 200, "{answer}");
    assert_same_predictions(&without_ids(&answer["predictions"]), &cli_t);
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn bad_input_gets_a_json_error_and_never_takes_the_server_down() {
    let (p, data) = project();
    let server = Server::start(&p, &["--max-body", "64KiB", "--no-log"], &[]);
    let predict = server.url("/v1/models/m/predict");
    let rec = records(&p, &data, 1).remove(0);
    let cases: Vec<(&str, String, u16, &str)> = vec![
        ("application/json", "{\"emp_experience_years\": ".to_owned(), 400, "not valid JSON"),
        ("application/json", "[1, 2]".to_owned(), 400, "expected a JSON object"),
        ("application/json", "[]".to_owned(), 400, "no records"),
        ("application/xml", "<x/>".to_owned(), 415, "Content-Type"),
        ("application/json", "x".repeat(70_000), 413, "--max-body"),
        ("application/json", serde_json::json!({ "task_priority": "high" }).to_string(), 422, "emp_experience_years"),
        ("text/csv", "a,b\n1,2\n".to_owned(), 422, "missing feature column"),
    ];
    for (content_type, body, status, needle) in cases {
        let (got, answer) = post(&predict, content_type, &body);
        assert_eq!(got, status, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(needle), "{needle}: {answer}");
    }
    // A wrongly typed value: 422 naming the row and the column.
    let mut bad = vec![rec.clone(), rec.clone()];
    bad[1].insert("emp_experience_years".into(), Value::String("seven".into()));
    let (status, answer) = post(&predict, "application/json", &serde_json::to_string(&bad).unwrap());
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        (answer["row"].as_u64(), answer["column"].as_str()),
        (Some(2), Some("emp_experience_years")),
        "{answer}"
    );
    assert_eq!(post(&server.url("/v1/models/nope/predict"), "application/json", "{}").0, 404);
    assert_eq!(post(&format!("{predict}?threshold=7"), "application/json", "{}").0, 400);
    assert_eq!(get(&server.url("/nowhere")).0, 404);
    assert_eq!(get(&predict).0, 405);
    // A client that sends half its headers and goes quiet does not hold anything up.
    let mut slow = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    std::io::Write::write_all(&mut slow, b"POST /v1/models/m/predict HTTP/1.1\r\nHost: x\r\n").unwrap();
    let (status, answer) = post(&predict, "application/json", &serde_json::to_string(&rec).unwrap());
    assert_eq!(status, 200, "{answer}");
    assert_eq!(get(&server.url("/health/ready")).0, 200);
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn a_token_is_required_when_set_and_never_printed() {
    let (p, data) = project();
    p.write("token.txt", "t0ps3cret\n");
    let server = Server::start(&p, &["m", "--token-file", "token.txt", "--no-log"], &[]);
    let agent = agent();
    let body = serde_json::to_string(&records(&p, &data, 1)[0]).unwrap();
    let predict = server.url("/v1/models/m/predict");
    let json = ("Content-Type", "application/json");
    assert_eq!(send(&agent, "POST", &predict, &[json], Some(&body)).0, 401);
    assert_eq!(send(&agent, "POST", &predict, &[json, ("Authorization", "Bearer wrong")], Some(&body)).0, 401);
    assert_eq!(send(&agent, "GET", &server.url("/metrics"), &[], None).0, 401);
    assert_eq!(send(&agent, "GET", &server.url("/v1/models"), &[], None).0, 401);
    assert_eq!(send(&agent, "POST", &predict, &[json, ("Authorization", "Bearer t0ps3cret")], Some(&body)).0, 200);
    assert_eq!(send(&agent, "GET", &server.url("/health/ready"), &[], None).0, 200);
    assert_eq!(send(&agent, "GET", &server.url("/health/live"), &[], None).0, 200);
    let log = server.log_text();
    assert!(!log.contains("t0ps3cret"), "{log}");
    drop(server);
    // MLCTL_SERVE_TOKEN does the same.
    let server = Server::start(&p, &["m", "--no-log"], &[("MLCTL_SERVE_TOKEN", "envtoken")]);
    assert_eq!(send(&agent, "GET", &server.url("/v1/models"), &[], None).0, 401);
    assert_eq!(send(&agent, "GET", &server.url("/v1/models"), &[("Authorization", "Bearer envtoken")], None).0, 200);
}

/// Polls /v1/models until model `m` is served at `version` (or `None`: unavailable); panics after 2 s.
fn wait_for_version(server: &Server, version: Option<&str>) -> Duration {
    let start = Instant::now();
    loop {
        let (_, models) = get(&server.url("/v1/models"));
        let m = models["models"].as_array().unwrap().iter().find(|m| m["name"] == "m").cloned().unwrap_or_default();
        if m["version"].as_str() == version && m["ready"].as_bool() == Some(version.is_some()) {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(2), "not {version:?} within 2 s: {m}\n{}", server.log_text());
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn promotions_rollbacks_and_archives_are_followed_within_two_seconds() {
    let (p, data) = project();
    p.train_m(&data, 16);
    let server = Server::start(&p, &[], &[]);
    let rec = serde_json::to_string(&records(&p, &data, 1)[0]).unwrap();
    let predict = server.url("/v1/models/m/predict");
    assert_eq!(post(&predict, "application/json", &rec).1["version"], "1.1.0".replace("1.1.0", "1.0.0"));
    p.mlctl()
        .args(["-q", "promote", "m@1.1.0", "--to", "production", "--force", "--reason", "test"])
        .assert()
        .success();
    wait_for_version(&server, Some("1.1.0"));
    assert_eq!(post(&predict, "application/json", &rec).1["version"], "1.1.0");
    p.mlctl().args(["-q", "promote", "m", "--rollback"]).assert().success();
    wait_for_version(&server, Some("1.0.0"));
    // A replaced (corrupt) model file is refused; the previous version keeps serving, and /v1/models says why.
    let model_file = p.path("ml_models/m/1.1.0/model.bin");
    let mut bytes = std::fs::read(&model_file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&model_file, bytes).unwrap();
    p.mlctl()
        .args(["-q", "promote", "m@1.1.0", "--to", "production", "--force", "--reason", "test"])
        .assert()
        .success();
    server.wait_log("m@1.1.0 failed to load, still serving the previous version");
    let (_, models) = get(&server.url("/v1/models"));
    assert_eq!(models["models"][0]["version"], "1.0.0", "{models}");
    assert!(models["models"][0]["problem"].as_str().unwrap().contains("failed to load"), "{models}");
    assert_eq!(post(&predict, "application/json", &rec).0, 200);
    // Archiving production leaves nothing to serve: 503, and ready says why.
    p.mlctl()
        .args(["-q", "promote", "m@1.1.0", "--to", "archived", "--force", "--reason", "withdrawn"])
        .assert()
        .success();
    wait_for_version(&server, None);
    assert_eq!(post(&predict, "application/json", &rec).0, 503);
    let (status, ready) = get(&server.url("/health/ready"));
    assert_eq!(status, 503);
    assert!(ready["reasons"][0].as_str().unwrap().contains("production"), "{ready}");
    // SIGHUP reloads at once (the registry changed while the poll is long).
    p.mlctl()
        .args(["-q", "promote", "m@1.0.0", "--to", "production", "--force", "--reason", "back"])
        .assert()
        .success();
    server.signal(libc::SIGHUP);
    wait_for_version(&server, Some("1.0.0"));
    server.wait_log("SIGHUP");
    assert_eq!(server.stop().code(), Some(0));
}

#[test]
fn thirty_two_concurrent_clients_get_no_errors_and_metrics_pass_promtool() {
    let (p, data) = project();
    let server = Server::start(&p, &["m"], &[]);
    let recs = records(&p, &data, 50);
    let predict = server.url("/v1/models/m/predict");
    let errors: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|t| {
                let (predict, recs) = (&predict, &recs);
                s.spawn(move || {
                    let agent = agent();
                    let mut errors = 0;
                    for i in 0..200 {
                        let body = serde_json::to_string(&recs[(t + i) % recs.len()]).unwrap();
                        let id = format!("c{t}-r{i}");
                        let headers = [("Content-Type", "application/json"), ("X-Request-Id", id.as_str())];
                        let (status, text) = send(&agent, "POST", predict, &headers, Some(&body));
                        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
                        if status != 200 || answer["predictions"][0]["id"] != id.as_str() {
                            errors += 1;
                        }
                    }
                    errors
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(errors, 0);
    let (status, metrics) = send(&agent(), "GET", &server.url("/metrics"), &[], None);
    assert_eq!(status, 200);
    assert!(
        metrics.contains("mlctl_serve_requests_total{model=\"m\",version=\"1.0.0\",code=\"200\"} 6400"),
        "{metrics}"
    );
    assert!(metrics.contains("mlctl_serve_model_info{model=\"m\",version=\"1.0.0\",stage=\"production\"} 1"));
    let file = p.write("metrics.prom", &metrics);
    let promtool =
        Command::new("promtool").args(["check", "metrics"]).stdin(std::fs::File::open(file).unwrap()).output();
    let promtool = promtool.expect("promtool is needed (scripts/install_promtool.sh installs it; make test runs it)");
    assert!(
        promtool.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&promtool.stdout),
        String::from_utf8_lossy(&promtool.stderr)
    );
    assert_eq!(server.stop().code(), Some(0));
    // Every served row was logged with its request id, and `drift --logs` reads the served traffic.
    let logged: Vec<Value> = std::fs::read_dir(p.path("logs/predictions/m"))
        .unwrap()
        .flat_map(|f| {
            std::fs::read_to_string(f.unwrap().path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect();
    assert_eq!(logged.len(), 6400);
    assert!(logged.iter().any(|l| l["id"] == "c31-r199" && l["version"] == "1.0.0"));
    let out = p
        .mlctl()
        .args(["drift", "m", "--logs", "--since", "3650d", "--json"])
        .env_remove("MLCTL_TEST_NOW")
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", TestProject::stderr_of(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["current_rows"], 6400, "{report}");
}

#[test]
fn sigterm_lets_in_flight_requests_finish_and_flushes_the_logs() {
    let (p, _) = project();
    let big = p.sample("big", 30_000, 3);
    let body = std::fs::read_to_string(p.path(&big)).unwrap();
    let server = Server::start(&p, &["m"], &[]);
    let predict = server.url("/v1/models/m/predict");
    let answers = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| send(&agent(), "POST", &predict, &[("Content-Type", "text/csv")], Some(&body))))
            .collect();
        std::thread::sleep(Duration::from_millis(150));
        server.signal(libc::SIGTERM);
        handles.into_iter().map(|h| h.join().unwrap()).collect::<Vec<_>>()
    });
    for (status, text) in &answers {
        assert_eq!(*status, 200, "{text}");
    }
    let status = server.stop();
    assert_eq!(status.code(), Some(0));
    let logged: usize = std::fs::read_dir(p.path("logs/predictions/m"))
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap().lines().count())
        .sum();
    assert_eq!(logged, 4 * 30_000, "every answered row is in the logs");
}

#[test]
fn an_id_field_in_the_records_is_the_rows_id_in_the_answer_and_the_log() {
    let (p, data) = project();
    let server = Server::start(&p, &["m"], &[]);
    let mut recs = records(&p, &data, 3);
    for (i, r) in recs.iter_mut().enumerate() {
        r.insert("id".into(), Value::String(format!("task-{i}")));
    }
    let (status, answer) =
        post(&server.url("/v1/models/m/predict"), "application/json", &serde_json::to_string(&recs).unwrap());
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<&str> = answer["predictions"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["task-0", "task-1", "task-2"]);
    assert_eq!(server.stop().code(), Some(0));
    let log = std::fs::read_dir(p.path("logs/predictions/m")).unwrap().next().unwrap().unwrap().path();
    let logged: Vec<Value> =
        std::fs::read_to_string(log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(logged.iter().map(|l| l["id"].as_str().unwrap()).collect::<Vec<_>>(), ["task-0", "task-1", "task-2"]);
}

/// A model with a date column (#31 item 4): the server reads the column as dates, answers as `predict` does,
/// and a value that is not a date is a 422 naming the row and the column.
#[test]
fn a_date_column_is_read_as_dates_and_a_bad_date_is_a_422() {
    let p = TestProject::new();
    let mut csv = String::from("signup,amount,churn\n");
    for i in 0..200u32 {
        let month = 1 + i % 12;
        let churn = if (6..=8).contains(&month) { "yes" } else { "no" };
        csv.push_str(&format!("2024-{month:02}-{:02},{},{churn}\n", 1 + i % 28, i % 17));
    }
    p.write("data/dated.csv", &csv);
    p.mlctl().args(["-q", "train", "data/dated.csv", "--target", "churn", "--name", "dated"]).assert().success();
    p.mlctl().args(["-q", "promote", "dated@1.0.0", "--to", "production"]).assert().success();
    p.write("new.json", r#"[{"signup": "2024-07-04", "amount": 3}, {"signup": "2024-01-10T08:00:00Z", "amount": 9}]"#);
    let cli = cli_predictions(&p, "dated", "new.json");

    let server = Server::start(&p, &["dated", "--no-log"], &[]);
    let (status, models) = get(&server.url("/v1/models"));
    assert_eq!(status, 200);
    assert!(models.to_string().contains(r#"{"name":"signup","type":"date"}"#), "{models}");
    let predict = server.url("/v1/models/dated/predict");
    let body = std::fs::read_to_string(p.path("new.json")).unwrap();
    let (status, answer) = post(&predict, "application/json", &body);
    assert_eq!(status, 200, "{answer}");
    assert_same_predictions(&without_ids(&answer["predictions"]), &cli);

    let bad = r#"[{"signup": "2024-07-04", "amount": 3}, {"signup": "2024-02-30", "amount": 9}]"#;
    let (status, answer) = post(&predict, "application/json", bad);
    assert_eq!(status, 422, "{answer}");
    assert_eq!((answer["row"].as_u64(), answer["column"].as_str()), (Some(2), Some("signup")), "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("\"2024-02-30\""), "{answer}");
    assert_eq!(server.stop().code(), Some(0));
}

/// `examples/serve/curl.sh` against a running server: every endpoint it shows answers (curl -f fails the script
/// on any error status).
#[test]
fn the_curl_example_reaches_every_endpoint() {
    let p = TestProject::new();
    let data = p.sample("skill_assignment", 300, 1);
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "skill_assignment", "--set", "n_trees=5"])
        .assert()
        .success();
    p.mlctl().args(["-q", "promote", "skill_assignment@1.0.0", "--to", "production"]).assert().success();
    let server = Server::start(&p, &["skill_assignment"], &[]);
    let out = Command::new("bash")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/serve/curl.sh"))
        .current_dir(p.root())
        .env("BASE", &server.base)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}\n{}", TestProject::stderr_of(&out), server.log_text());
    assert!(log.contains("order-1234"), "the request id comes back: {log}");
    assert!(log.contains("mlctl_"), "metrics: {log}");
}

/// A true/false target answers JSON booleans, served as `predict` answers them (and a 0/1 one numbers, above).
#[test]
fn a_boolean_target_answers_booleans_as_predict_does() {
    let (p, data) = project();
    let booleans = crate::surface::relabelled(&p, &data, "flags", |b| if b { "true" } else { "false" });
    p.mlctl().args(["-q", "train", &booleans, "--target", "success", "--name", "flags"]).assert().success();
    p.mlctl().args(["-q", "promote", "flags@1.0.0", "--to", "production"]).assert().success();
    let recs = records(&p, &data, 20);
    p.write("data/recs.json", &serde_json::to_string(&recs).unwrap());
    let cli = cli_predictions(&p, "flags", "data/recs.json");
    assert!(cli.iter().all(|row| row["prediction"].is_boolean()), "{cli:?}");

    let server = Server::start(&p, &["flags", "--no-log"], &[]);
    let body = std::fs::read_to_string(p.path("data/recs.json")).unwrap();
    let (status, answer) = post(&server.url("/v1/models/flags/predict"), "application/json", &body);
    assert_eq!(status, 200, "{answer}");
    assert_same_predictions(&without_ids(&answer["predictions"]), &cli);
    let mlflow = serde_json::json!({ "dataframe_records": recs }).to_string();
    let (status, answer) = post(&server.url("/invocations"), "application/json", &mlflow);
    assert_eq!(status, 200, "{answer}");
    assert_same_predictions(&without_ids(&answer["predictions"]), &cli);
    assert_eq!(server.stop().code(), Some(0));
}
