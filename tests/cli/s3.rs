//! The registry on S3 (`s3://BUCKET/PREFIX`) against a real S3 protocol server (moto, tests/cli/s3_server.rs):
//! the whole pipeline, parallel trains and promotions, SIGKILL during uploads and index updates, errors for bad
//! credentials and an unreachable endpoint, a tampered artifact, the offline cache, `registry copy`, and `serve`
//! following a promotion. No mlctl run here may print the secret key.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::TestProject;
use crate::s3_server::{free_port, S3Server, ACCESS_KEY_ID, BUCKET, SECRET};

/// A project whose registry is `s3://BUCKET/PREFIX` on a server of its own, with a cache of its own.
struct S3Project {
    p: TestProject,
    s3: S3Server,
    prefix: String,
    cache: tempfile::TempDir,
}

impl S3Project {
    fn new(prefix: &str) -> Option<Self> {
        let s3 = S3Server::start()?;
        Some(S3Project { p: TestProject::new(), s3, prefix: prefix.to_owned(), cache: tempfile::tempdir().unwrap() })
    }

    fn url(&self) -> String {
        format!("s3://{BUCKET}/{}", self.prefix)
    }

    fn key(&self, rel: &str) -> String {
        format!("{}/{rel}", self.prefix)
    }

    /// The S3 environment with the registry in MLCTL_REGISTRY, on `endpoint`, with `cache`.
    fn env(&self, cmd: &mut std::process::Command, endpoint: &str, cache: &std::path::Path) {
        cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env("MLCTL_REGISTRY", self.url())
            .env("MLCTL_CACHE_DIR", cache)
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_DEFAULT_REGION");
    }

    /// `mlctl` in the project against the bucket, with the project's cache.
    fn mlctl(&self) -> std::process::Command {
        self.mlctl_with_cache(self.cache.path())
    }

    fn mlctl_with_cache(&self, cache: &std::path::Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("mlctl"));
        cmd.current_dir(self.p.root()).env("MLCTL_USER", "tester").env_remove("NO_COLOR");
        self.env(&mut cmd, &self.s3.endpoint(), cache);
        cmd
    }

    /// The registry is the bucket's: nothing in the project's ml_models/, registry.json in the bucket.
    fn assert_remote_only(&self) {
        assert!(!self.p.path("ml_models").exists(), "the project's ml_models/ was written: the registry is S3");
        assert!(self.s3.get(&self.key("registry.json")).is_some(), "no registry.json in the bucket");
    }

    fn registry(&self) -> Value {
        self.s3.get_json(&self.key("registry.json"))
    }

    /// Version → stage, from the bucket's registry.json.
    fn stages(&self) -> Vec<(String, String)> {
        let reg = self.registry();
        reg["models"]["m"]["versions"]
            .as_array()
            .map(|vs| {
                vs.iter()
                    .map(|v| (v["version"].as_str().unwrap().into(), v["stage"].as_str().unwrap().into()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Version folders under `PREFIX/m/` in the bucket, whatever the index says.
    fn folders(&self) -> Vec<String> {
        let mut found: Vec<String> = self
            .s3
            .keys(&self.key("m/"))
            .iter()
            .filter_map(|k| {
                k.strip_prefix(&self.key("m/")).and_then(|rest| rest.split_once('/')).map(|(v, _)| v.into())
            })
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

/// Runs `cmd` and checks that the secret appears in neither stdout nor stderr.
fn run(cmd: &mut std::process::Command) -> Output {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    for (what, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(text);
        assert!(!text.contains(SECRET), "the secret key is in {what} of {cmd:?}: {text}");
    }
    out
}

/// Runs `cmd`, which must succeed; its stdout.
fn ok(cmd: &mut std::process::Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed ({}): {}", out.status, TestProject::stderr_of(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(cmd: &mut std::process::Command) -> Value {
    let stdout = ok(cmd.arg("--json"));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{cmd:?}: not one JSON document ({e}): {stdout}"))
}

fn listed(sp: &S3Project) -> Vec<String> {
    let doc = json(sp.mlctl().arg("list"));
    doc["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap().to_owned()).collect()
}

fn train(sp: &S3Project, data: &str, n_trees: u32) -> String {
    let doc = json(
        sp.mlctl()
            .args(["-q", "train", data, "--target", "success", "--name", "m", "--set"])
            .arg(format!("n_trees={n_trees}")),
    );
    doc["version"].as_str().unwrap().to_owned()
}

fn production(sp: &S3Project) -> Vec<String> {
    sp.stages().into_iter().filter(|(_, s)| s == "production").map(|(v, _)| v).collect()
}

#[test]
fn the_whole_pipeline_runs_against_s3_with_nothing_in_the_project_folder() {
    let Some(sp) = S3Project::new("team/hr") else { return };
    let data = sp.p.sample("d", 600, 1);
    let holdout = sp.p.sample("holdout", 300, 2);
    // The global flag wins over MLCTL_REGISTRY (pointed elsewhere here).
    let s3 = |args: &[&str]| {
        let mut cmd = sp.mlctl();
        cmd.env("MLCTL_REGISTRY", "s3://mlctl-test/elsewhere").arg("--registry").arg(sp.url()).args(args);
        cmd
    };
    ok(&mut s3(&["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=10"]));
    ok(&mut s3(&["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=20"]));
    assert_eq!(sp.stages(), [("1.0.0".into(), "development".into()), ("1.1.0".into(), "development".into())]);
    assert!(sp.s3.keys("elsewhere/").is_empty(), "--registry overrides MLCTL_REGISTRY");
    let list = json(&mut s3(&["list"]));
    assert_eq!(list["versions"].as_array().unwrap().len(), 2, "{list}");
    let shown = json(&mut s3(&["show", "m@1.1.0"]));
    assert_eq!(shown["record"]["version"], "1.1.0");
    assert_eq!(shown["metadata"]["params"]["n_trees"], 20);
    ok(&mut s3(&["-q", "evaluate", "m@1.0.0", "--data", &holdout]));
    ok(&mut s3(&["-q", "predict", "m@1.0.0", "--input", &holdout, "-o", "preds.csv"]));
    let preds = std::fs::read_to_string(sp.p.path("preds.csv")).unwrap();
    assert_eq!(preds.lines().count(), 301, "a header and one row per input row");
    ok(&mut s3(&["-q", "promote", "m@1.0.0", "--to", "staging"]));
    ok(&mut s3(&["-q", "promote", "m@1.0.0", "--to", "production"]));
    ok(&mut s3(&["-q", "promote", "m@1.1.0", "--to", "production", "--force", "--reason", "pipeline test"]));
    assert_eq!(production(&sp), ["1.1.0"]);
    ok(&mut s3(&["-q", "promote", "m", "--rollback"]));
    assert_eq!(production(&sp), ["1.0.0"]);
    let drift = run(&mut s3(&["-q", "drift", "m@production", "--data", &holdout]));
    assert!(matches!(drift.status.code(), Some(0 | 3)), "drift: {}", TestProject::stderr_of(&drift));
    assert!(ok(&mut s3(&["diff", "m@1.0.0", "m@1.1.0"])).contains("n_trees"));
    ok(&mut s3(&["-q", "prune", "m", "--keep", "1"]));
    ok(&mut s3(&["-q", "prune", "--orphans", "--older-than", "0s"]));

    let events = sp.registry()["models"]["m"]["events"].as_array().unwrap().len();
    assert!(events >= 6, "2 registrations, 3 promotions and a rollback are in the audit trail: {events}");
    assert!(!sp.p.path("ml_models").exists(), "nothing is written to the project's ml_models/");
    let local_md = std::fs::read_to_string(sp.p.path("MODEL_REGISTRY.md")).expect("MODEL_REGISTRY.md in the project");
    let remote_md =
        String::from_utf8(sp.s3.get(&sp.key("MODEL_REGISTRY.md")).expect("MODEL_REGISTRY.md in the bucket")).unwrap();
    for md in [&local_md, &remote_md] {
        assert!(md.contains("| 1.0.0 | production |"), "{md}");
        assert!(md.contains("pipeline test"), "the audit trail is in MODEL_REGISTRY.md: {md}");
    }
    for v in ["1.0.0", "1.1.0"] {
        for file in ["model.bin", "metadata.json", "reference.json", "fingerprint.bin"] {
            assert!(sp.s3.get(&sp.key(&format!("m/{v}/{file}"))).is_some(), "m/{v}/{file} is in the bucket");
        }
        let metadata = String::from_utf8(sp.s3.get(&sp.key(&format!("m/{v}/metadata.json"))).unwrap()).unwrap();
        assert!(!metadata.contains(SECRET) && !metadata.contains(ACCESS_KEY_ID), "no credentials in metadata");
    }
    let index = String::from_utf8(sp.s3.get(&sp.key("registry.json")).unwrap()).unwrap();
    assert!(!index.contains(SECRET) && !index.contains(ACCESS_KEY_ID), "no credentials in the index");
}

#[test]
fn eight_parallel_trains_with_separate_caches_register_eight_distinct_versions() {
    let Some(sp) = S3Project::new("parallel") else { return };
    let data = sp.p.sample("d", 300, 4);
    let caches: Vec<tempfile::TempDir> = (0..8).map(|_| tempfile::tempdir().unwrap()).collect();
    let children: Vec<Child> = caches
        .iter()
        .enumerate()
        .map(|(i, cache)| {
            sp.mlctl_with_cache(cache.path())
                .args(["--json", "-q", "train", &data, "--target", "success", "--name", "m", "--set"])
                .arg(format!("n_trees={}", 3 + i))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut reported: Vec<String> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(!String::from_utf8_lossy(&out.stderr).contains(SECRET));
            assert!(out.status.success(), "a parallel train failed: {}", TestProject::stderr_of(&out));
            let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
            doc["version"].as_str().unwrap().to_owned()
        })
        .collect();
    reported.sort();
    let mut distinct = reported.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 8, "each train reports its own version: {reported:?}");
    let mut versions = listed(&sp);
    versions.sort();
    assert_eq!(versions, reported, "list shows exactly the 8 versions the trains reported");
    assert_eq!(sp.folders(), versions, "every version has its folder in the bucket, and nothing else is there");
    let md = String::from_utf8(sp.s3.get(&sp.key("MODEL_REGISTRY.md")).unwrap()).unwrap();
    for v in &versions {
        assert!(md.contains(&format!("| {v} |")), "MODEL_REGISTRY.md in the bucket lacks {v}");
    }
    sp.assert_remote_only();
}

#[test]
fn concurrent_promotions_end_with_one_production_version_and_every_event_recorded() {
    let Some(sp) = S3Project::new("promotions") else { return };
    let data = sp.p.sample("d", 300, 5);
    // The registry named in mlctl.toml this time (MLCTL_REGISTRY unset).
    sp.p.write("mlctl.toml", &format!("registry = \"{}\"\n", sp.url()));
    let versions: Vec<String> = (0..5).map(|i| train(&sp, &data, 3 + i)).collect();
    let children: Vec<(String, Child)> = versions
        .iter()
        .map(|v| {
            let child = sp
                .mlctl()
                .env_remove("MLCTL_REGISTRY")
                .args(["-q", "promote", &format!("m@{v}"), "--to", "production", "--force", "--reason"])
                .arg(format!("race {v}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (v.clone(), child)
        })
        .collect();
    // The issue: a lost race re-reads the index and re-applies the change. A forced promotion has no gate whose
    // figures could go stale, so each one must land (today one exits 1: "production version changed").
    for (v, child) in children {
        let out = child.wait_with_output().unwrap();
        let stderr = TestProject::stderr_of(&out);
        assert!(!stderr.contains(SECRET));
        assert!(out.status.success(), "promoting {v} lost to a concurrent promotion instead of retrying: {stderr}");
    }
    let prod = production(&sp);
    assert_eq!(prod.len(), 1, "exactly one production version: {:?}", sp.stages());
    let reg = sp.registry();
    let promotions: Vec<&Value> =
        reg["models"]["m"]["events"].as_array().unwrap().iter().filter(|e| e["to"] == "production").collect();
    for v in &versions {
        let n = promotions.iter().filter(|e| e["version"] == v.as_str()).count();
        assert_eq!(n, 1, "the audit trail has {v}'s promotion once: {promotions:?}");
        assert!(promotions.iter().any(|e| e["reason"].as_str().unwrap().contains(&format!("race {v}"))));
    }
    assert_eq!(promotions.last().unwrap()["version"], prod[0].as_str(), "the last promotion is the one in force");
    let archived = sp.stages().iter().filter(|(_, s)| s == "archived").count();
    assert_eq!(archived, 4, "each displaced production version was archived: {:?}", sp.stages());
    sp.assert_remote_only();
}

/// The wall time of one successful train of the kill test's size.
fn timed_train(sp: &S3Project, data: &str) -> Duration {
    let start = Instant::now();
    ok(sp.mlctl().args(["-q", "train", data, "--target", "success", "--name", "m", "--set", "n_trees=30"]));
    start.elapsed()
}

/// Every version in `versions` predicts with a fresh cache (so its files are fetched from the bucket).
fn assert_all_predict(sp: &S3Project, versions: &[String]) {
    let cache = tempfile::tempdir().unwrap();
    for v in versions {
        ok(sp
            .mlctl_with_cache(cache.path())
            .args(["-q", "predict", &format!("m@{v}"), "--input", "data/few.csv", "-o"])
            .arg(sp.p.path("out.csv")));
    }
}

#[test]
fn sigkill_during_uploads_and_index_updates_leaves_a_valid_registry_and_prune_removes_the_debris() {
    let Some(sp) = S3Project::new("kill") else { return };
    let data = sp.p.sample("d", 4000, 6);
    sp.p.sample("few", 20, 7);
    let full = timed_train(&sp, &data);
    sp.assert_remote_only();
    let mut checked = listed(&sp);
    let (mut landed, mut rounds) = (0, 0);
    while landed < 10 {
        assert!(rounds < 30, "only {landed} of {rounds} kills landed while train was running");
        // From half the train's time to just past it: the late part, where it uploads and publishes.
        let delay = full.mul_f64(0.5 + 0.6 * f64::from(rounds % 12) / 11.0);
        rounds += 1;
        let mut child = sp
            .mlctl()
            .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set"])
            .arg(format!("n_trees={}", 30 + rounds))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            landed += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = listed(&sp);
        let new: Vec<String> = now.iter().filter(|v| !checked.contains(v)).cloned().collect();
        assert_all_predict(&sp, &new);
        checked = now;
    }
    assert_all_predict(&sp, &checked);
    // An upload that was never published, planted by hand, and whatever the kills left.
    let first = checked.last().unwrap().clone();
    let model = sp.s3.get(&sp.key(&format!("m/{first}/model.bin"))).unwrap();
    sp.s3.put(&sp.key("m/99.0.0/model.bin"), &model);
    let mut unpublished: Vec<String> = sp.folders().into_iter().filter(|f| !checked.contains(f)).collect();
    assert!(unpublished.contains(&"99.0.0".to_owned()));
    // The default age (1 h) spares fresh uploads: they may belong to a train still running.
    ok(sp.mlctl().args(["-q", "prune", "--orphans"]));
    assert!(sp.folders().contains(&"99.0.0".to_owned()), "prune --orphans spares uploads younger than an hour");
    let report = ok(sp.mlctl().args(["prune", "--orphans", "--older-than", "0s"]));
    unpublished.sort();
    for orphan in &unpublished {
        assert!(report.contains(orphan.as_str()), "prune --orphans names {orphan}: {report}");
    }
    let mut left = sp.folders();
    left.sort();
    let mut published = checked.clone();
    published.sort();
    assert_eq!(left, published, "only published versions are left in the bucket");
    assert_eq!(listed(&sp).len(), checked.len());
    assert_all_predict(&sp, &checked);
}

/// `list` against `endpoint` (with the given access key id) fails with exit 1 within 60 s; its stderr.
fn failing_list(sp: &S3Project, endpoint: &str, key_id: &str) -> String {
    let mut cmd = sp.mlctl();
    cmd.env("AWS_ENDPOINT_URL", endpoint).env("AWS_ACCESS_KEY_ID", key_id).arg("list");
    let start = Instant::now();
    let out = run(&mut cmd);
    assert!(start.elapsed() < Duration::from_secs(60), "giving up took {:?}", start.elapsed());
    assert_eq!(out.status.code(), Some(1), "{}", TestProject::stderr_of(&out));
    TestProject::stderr_of(&out)
}

#[test]
fn wrong_credentials_and_an_unreachable_endpoint_fail_naming_the_endpoint_and_not_the_secret() {
    let Some(sp) = S3Project::new("errors") else { return };
    let data = sp.p.sample("d", 300, 8);
    let stderr = failing_list(&sp, &sp.s3.endpoint(), "AKIA-WRONG-KEY");
    assert!(stderr.contains(&format!("127.0.0.1:{}", sp.s3.port)), "names the endpoint: {stderr}");
    let closed = free_port();
    let stderr = failing_list(&sp, &format!("http://127.0.0.1:{closed}"), ACCESS_KEY_ID);
    assert!(stderr.contains(&format!("127.0.0.1:{closed}")), "names the endpoint: {stderr}");
    // A train with wrong credentials fails too, and writes nothing anywhere.
    let out = run(sp
        .mlctl()
        .env("AWS_ACCESS_KEY_ID", "AKIA-WRONG-KEY")
        .args(["-q", "train", &data, "--target", "success", "--name", "m"]));
    assert_eq!(out.status.code(), Some(1), "{}", TestProject::stderr_of(&out));
    assert!(sp.s3.keys("").is_empty(), "nothing reached the bucket");
    assert!(!sp.p.path("ml_models").exists());
}

#[test]
fn a_tampered_model_in_the_bucket_is_refused_by_its_checksum() {
    let Some(sp) = S3Project::new("tamper") else { return };
    let data = sp.p.sample("d", 300, 9);
    sp.p.sample("few", 20, 10);
    let v = train(&sp, &data, 5);
    sp.assert_remote_only();
    let key = sp.key(&format!("m/{v}/model.bin"));
    let mut bytes = sp.s3.get(&key).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    sp.s3.put(&key, &bytes);
    let fresh = tempfile::tempdir().unwrap();
    let out = run(sp.mlctl_with_cache(fresh.path()).args(["predict", &format!("m@{v}"), "--input", "data/few.csv"]));
    let stderr = TestProject::stderr_of(&out).to_lowercase();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("model.bin"), "{stderr}");
    assert!(stderr.contains("checksum") || stderr.contains("corrupt"), "{stderr}");
    assert!(out.stdout.is_empty(), "no predictions from a tampered model");
}

#[test]
fn a_cached_pinned_version_predicts_with_the_store_down_and_the_index_fails_clearly() {
    let Some(mut sp) = S3Project::new("offline") else { return };
    let data = sp.p.sample("d", 300, 11);
    sp.p.sample("few", 20, 12);
    let v = train(&sp, &data, 5);
    sp.assert_remote_only();
    let online = ok(sp.mlctl().args(["predict", &format!("m@{v}"), "--input", "data/few.csv", "--no-log"]));
    let port = sp.s3.port;
    sp.s3.stop();
    let out = run(sp.mlctl().args(["predict", &format!("m@{v}"), "--input", "data/few.csv", "--no-log"]));
    let stderr = TestProject::stderr_of(&out);
    assert!(out.status.success(), "a cached pinned version predicts offline: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), online, "the same predictions");
    assert!(stderr.to_lowercase().contains("warn"), "a warning says the store was not reached: {stderr}");
    for args in [&["list"][..], &["predict", "m", "--input", "data/few.csv"]] {
        let out = run(sp.mlctl().args(args));
        let stderr = TestProject::stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?} needs the index: {stderr}");
        assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{args:?} names the endpoint: {stderr}");
    }
    // An uncached version cannot predict offline either.
    let fresh = tempfile::tempdir().unwrap();
    let out = run(sp.mlctl_with_cache(fresh.path()).args(["predict", &format!("m@{v}"), "--input", "data/few.csv"]));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn registry_copy_moves_a_folder_to_s3_and_back_byte_for_byte() {
    let Some(sp) = S3Project::new("copied") else { return };
    let data = sp.p.sample("d", 300, 13);
    for n in [4, 6] {
        sp.p.train_m(&data, n);
    }
    sp.p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    ok(sp.mlctl().args(["-q", "registry", "copy", "ml_models", &sp.url()]));
    assert_eq!(listed(&sp), ["1.1.0", "1.0.0"], "the bucket is a registry now");
    let again = run(sp.mlctl().args(["registry", "copy", "ml_models", &sp.url()]));
    assert_eq!(again.status.code(), Some(1), "the destination must be empty");
    ok(sp.mlctl().args(["-q", "registry", "copy", &sp.url(), "back"]));
    let read = |path: &str| std::fs::read(sp.p.path(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let index = |path: &str| serde_json::from_slice::<Value>(&read(path)).unwrap();
    assert_eq!(index("back/registry.json"), index("ml_models/registry.json"));
    for v in ["1.0.0", "1.1.0"] {
        let model = read(&format!("ml_models/m/{v}/model.bin"));
        assert_eq!(sp.s3.get(&sp.key(&format!("m/{v}/model.bin"))).unwrap(), model, "m@{v} in the bucket");
        assert!(read(&format!("back/m/{v}/model.bin")) == model, "m@{v}'s model.bin came back byte for byte");
    }
}

/// A child process killed when dropped, so a failed assertion leaves no server behind.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `mlctl serve` against the bucket; its stderr lines and base URL.
fn serve(sp: &S3Project) -> (Killed, Arc<Mutex<Vec<String>>>, String) {
    let mut child = sp
        .mlctl()
        .args(["serve", "m", "--port", "0", "--poll-ms", "200", "--no-log"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let log2 = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(addr) = line.split("listening on ").nth(1) {
                let _ = tx.send(addr.trim().to_owned());
            }
            log2.lock().unwrap().push(line);
        }
    });
    let Ok(base) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        panic!("serve did not start: {:?}", log.lock().unwrap());
    };
    (Killed(child), log, base)
}

fn served_version(base: &str) -> Option<String> {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let text = agent.get(&format!("{base}/v1/models")).call().ok()?.into_body().read_to_string().ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    doc["models"][0]["version"].as_str().map(str::to_owned)
}

#[test]
fn serve_follows_a_promotion_made_by_another_process() {
    let Some(sp) = S3Project::new("served") else { return };
    let data = sp.p.sample("d", 300, 14);
    let (a, b) = (train(&sp, &data, 4), train(&sp, &data, 6));
    ok(sp.mlctl().args(["-q", "promote", &format!("m@{a}"), "--to", "production"]));
    let (server, log, base) = serve(&sp);
    let until = |want: &str, secs: u64| {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while served_version(&base).as_deref() != Some(want) {
            if Instant::now() > deadline {
                panic!("serve did not switch to {want} within {secs} s: {:?}", log.lock().unwrap());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    until(&a, 20);
    // Another process, with a cache of its own, promotes: serve polls the bucket every 200 ms.
    let other = tempfile::tempdir().unwrap();
    ok(sp.mlctl_with_cache(other.path()).args([
        "-q",
        "promote",
        &format!("m@{b}"),
        "--to",
        "production",
        "--force",
        "--reason",
        "from elsewhere",
    ]));
    let promoted = Instant::now();
    assert_eq!(production(&sp), std::slice::from_ref(&b), "the promotion is in the bucket's index");
    sp.assert_remote_only();
    until(&b, 5);
    eprintln!("serve followed the promotion in {:?}", promoted.elapsed());
    drop(server);
    let text = log.lock().unwrap().join("\n");
    assert!(!text.contains(SECRET), "the secret is in serve's log");
}
