//! A throwaway S3-compatible server for the S3 registry tests: moto (installed into a venv by
//! scripts/install_moto.sh) run through scripts/s3_server.py on 127.0.0.1 and a free port, which serialises
//! requests so conditional writes are atomic as on S3. Killed with its process group on Drop, even when an
//! assertion fails. When moto cannot be had the test fails under CI=true and says it skipped otherwise, as the
//! PostgreSQL tests do.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// The access key id the server accepts (others get 403 InvalidAccessKeyId).
pub const ACCESS_KEY_ID: &str = "mlctl-test-key";
/// A recognisable secret: it must never appear in anything mlctl prints.
pub const SECRET: &str = "s3cr3t-TEST-KEY-9f8e";
/// The bucket every server starts with.
pub const BUCKET: &str = "mlctl-test";

pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
}

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("MLCTL_MOTO_VENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/mlctl/moto-venv"),
        PathBuf::from,
    );
    venv.join("bin/python")
}

fn moto_installed() -> bool {
    Command::new(venv_python())
        .args(["-c", "import moto, werkzeug"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs moto once per test run (the script is idempotent); Err says why it is not there.
fn ensure_moto() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            if moto_installed() {
                return Ok(());
            }
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install_moto.sh");
            let status = Command::new("bash").arg(script).status();
            if moto_installed() {
                Ok(())
            } else {
                Err(format!(
                    "moto is not installed at {} and {script} could not install it ({status:?}): \
                     run scripts/install_moto.sh",
                    venv_python().display()
                ))
            }
        })
        .clone()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

impl S3Server {
    /// A running server holding the bucket [`BUCKET`], or None when moto cannot be had and this is not CI.
    pub fn start() -> Option<Self> {
        if let Err(why) = ensure_moto() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{why}: CI needs the S3 server");
            }
            eprintln!("SKIPPED an S3 registry test: {why}");
            return None;
        }
        // A port free a moment ago may be taken by the time the server binds it: try a few.
        let mut last = String::new();
        for _ in 0..3 {
            match Self::spawn(free_port()) {
                Ok(server) => return Some(server),
                Err(why) => last = why,
            }
        }
        panic!("the S3 server did not start: {last}");
    }

    fn spawn(port: u16) -> Result<Self, String> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/s3_server.py");
        let mut child = Command::new(venv_python())
            .args([script, "--port", &port.to_string(), "--bucket", BUCKET, "--access-key-id", ACCESS_KEY_ID])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let mut server = S3Server { child: Some(child), port };
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.starts_with("ready") => Ok(server),
            other => {
                server.stop();
                Err(format!("no \"ready\" line within 30 s on port {port}: {other:?}"))
            }
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the server and its process group now (Drop does the same).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) takes plain integers; the negative pid names the server's own process group.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn url(&self, key: &str) -> String {
        format!("{}/{BUCKET}/{key}", self.endpoint())
    }

    /// The object's bytes, or None when it does not exist (unsigned: the server serves the tests as owner).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let response = agent().get(&self.url(key)).call().unwrap();
        match response.status().as_u16() {
            200 => Some(response.into_body().with_config().limit(1 << 30).read_to_vec().unwrap()),
            404 => None,
            status => panic!("GET {key}: {status}"),
        }
    }

    pub fn get_json(&self, key: &str) -> serde_json::Value {
        let bytes = self.get(key).unwrap_or_else(|| panic!("no {key} in the bucket"));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Overwrites (or creates) an object behind mlctl's back.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let response =
            agent().put(&self.url(key)).header("Content-Type", "application/octet-stream").send(bytes).unwrap();
        assert_eq!(response.status().as_u16(), 200, "PUT {key}");
    }

    /// Every key under `prefix`, following continuation tokens.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = agent().get(&format!("{}/{BUCKET}", self.endpoint())).query("list-type", "2");
            req = req.query("prefix", prefix);
            if let Some(t) = &token {
                req = req.query("continuation-token", t);
            }
            let text = req.call().unwrap().into_body().read_to_string().unwrap();
            keys.extend(between_all(&text, "<Key>", "</Key>"));
            token = between_all(&text, "<NextContinuationToken>", "</NextContinuationToken>").pop();
            if token.is_none() {
                return keys;
            }
        }
    }
}

/// The texts between each `open` and the next `close` (enough XML for a ListObjectsV2 answer).
fn between_all(text: &str, open: &str, close: &str) -> Vec<String> {
    text.split(open).skip(1).filter_map(|s| s.split_once(close).map(|(v, _)| v.replace("&amp;", "&"))).collect()
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
