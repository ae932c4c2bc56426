//! Crash safety and containment: SIGKILL at random points of train, promote and export (a minimum number of
//! them observed to interrupt a write); links planted in the registry.

use std::process::Stdio;
use std::time::Duration;

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::common::{assert_registry_valid, TestProject};

/// A small, seeded generator for kill delays: the same points on every run, spread over each command's life.
struct Delays(u64);

impl Delays {
    fn next_ms(&mut self, max: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % max
    }
}

/// Kills that must interrupt a write (see [`left_a_write_unfinished`]) for the kill test to have tested anything.
const MIN_LANDED_KILLS: usize = 8;

/// Whether process `pid` left a write unfinished somewhere under `root`: an atomic write's temp file
/// (`.NAME.tmp-PID-N`) or train's staging folder (`.incoming-VERSION-PID`). Either exists only while a write is
/// under way, and only a kill leaves it behind (the next write of the same place removes it).
fn left_a_write_unfinished(root: &std::path::Path, pid: u32) -> bool {
    let (temp, staging) = (format!(".tmp-{pid}-"), format!("-{pid}"));
    let Ok(entries) = std::fs::read_dir(root) else { return false };
    entries.flatten().any(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        name.contains(&temp)
            || (name.starts_with(".incoming-") && name.ends_with(&staging))
            || (e.file_type().is_ok_and(|t| t.is_dir()) && left_a_write_unfinished(&e.path(), pid))
    })
}

#[test]
fn sigkill_at_random_points_of_train_promote_and_export_loses_nothing() {
    let p = TestProject::new();
    let data = p.sample("big", 20_000, 5);
    let holdout = p.sample("holdout", 20_000, 6);
    for n in ["5", "6"] {
        p.mlctl()
            .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set"])
            .arg(format!("n_trees={n}"))
            .assert()
            .success();
    }
    let bin = assert_cmd::cargo::cargo_bin("mlctl");
    let command = |op: usize, round: usize| {
        let mut cmd = std::process::Command::new(&bin);
        cmd.current_dir(p.root()).stdout(Stdio::null()).stderr(Stdio::null());
        match op {
            0 => cmd.args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=120"]),
            1 => {
                let (version, stage) =
                    if round.is_multiple_of(2) { ("1.0.0", "production") } else { ("1.0.1", "staging") };
                cmd.args(["-q", "promote", &format!("m@{version}"), "--to", stage, "--data", &holdout]).args([
                    "--force",
                    "--reason",
                    "kill test",
                ])
            }
            _ => {
                cmd.args(["-q", "export", "--sample", "skill-assignment", "--rows", "200000", "-o", "data/export.csv"])
            }
        };
        cmd
    };
    // How long each command takes uninterrupted on this machine, so the kills land inside it.
    let durations: Vec<u64> = (0..3)
        .map(|op| {
            let start = std::time::Instant::now();
            assert!(command(op, 0).status().unwrap().success());
            (start.elapsed().as_millis() as u64).max(5)
        })
        .collect();
    let mut delays = Delays(2026);
    let mut kills = 0;
    // Kills that interrupted a write: the killed process left its temp file or staging folder behind.
    let mut landed = [0; 3];
    let mut round = 0;
    while (kills < 24 || landed.iter().sum::<usize>() < MIN_LANDED_KILLS) && round < 150 {
        let op = round % 3;
        let mut child = command(op, round).spawn().unwrap();
        // Train writes only at its end: it is killed in its last third, where the writes are.
        let delay = if op == 0 {
            durations[op] * 2 / 3 + delays.next_ms(durations[op] / 3)
        } else {
            delays.next_ms(durations[op] * 9 / 10)
        };
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        if left_a_write_unfinished(p.root(), child.id()) {
            landed[op] += 1;
        }
        assert_registry_valid(&p);
        // An export is either absent or whole: every row of the 200,000 and the header.
        if let Ok(text) = std::fs::read_to_string(p.path("data/export.csv")) {
            assert_eq!(text.lines().count(), 200_001, "round {round}: data/export.csv is half-written");
        }
        round += 1;
    }
    assert!(kills >= 24, "only {kills} of {round} runs were still running when killed");
    assert!(
        landed.iter().sum::<usize>() >= MIN_LANDED_KILLS,
        "only {landed:?} kills (train, promote, export) of {round} runs interrupted a write"
    );

    // The next runs clean up after the killed ones and work normally.
    std::fs::remove_file(p.path("data/export.csv")).ok();
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=7"])
        .assert()
        .success();
    p.mlctl()
        .args(["-q", "export", "--sample", "skill-assignment", "--rows", "100", "-o", "data/export.csv"])
        .assert()
        .success();
    assert_registry_valid(&p);
    for dir in ["ml_models/m", "ml_models", "data"] {
        let debris: Vec<String> = std::fs::read_dir(p.path(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with('.') && n != ".lock")
            .collect();
        assert!(debris.is_empty(), "debris left in {dir}: {debris:?}");
    }
}

#[cfg(unix)]
#[test]
fn links_planted_in_the_registry_are_not_followed() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(p.path("ml_models")).unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path("ml_models/m")).unwrap();
    p.mlctl()
        .args(["train", &data, "--target", "success", "--name", "m", "--set", "n_trees=3"])
        .assert()
        .code(1)
        .stderr(contains("symbolic link"));
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing was written through the link");
    assert!(p.versions("m").is_empty());

    // A version whose model.bin was swapped for a link to another file is refused on load.
    std::fs::remove_file(p.path("ml_models/m")).unwrap();
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=3"])
        .assert()
        .success();
    let artifact = p.path("ml_models/m/1.0.0/model.bin");
    let copy = outside.path().join("model.bin");
    std::fs::rename(&artifact, &copy).unwrap();
    std::os::unix::fs::symlink(&copy, &artifact).unwrap();
    p.mlctl()
        .args(["predict", "m", "--input", &data, "-o", "out.csv"])
        .assert()
        .code(1)
        .stderr(contains("symbolic link"));
}

fn mkfifo(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_fifo_in_place_of_a_registry_file_is_refused_never_waited_on() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    p.train_m(&data, 3);
    mkfifo(&p.path("ml_models/m/1.0.0/reference.json"));
    p.mlctl()
        .args(["drift", "m", "--data", &data])
        .timeout(Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(contains("reference.json").and(contains("not a regular file")));
    mkfifo(&p.path("ml_models/m/1.0.0/model.bin"));
    p.mlctl()
        .args(["predict", "m", "--input", &data, "--no-log"])
        .timeout(Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(contains("model.bin").and(contains("not a regular file")));
    mkfifo(&p.path("ml_models/registry.json"));
    p.mlctl()
        .args(["list"])
        .timeout(Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(contains("registry.json").and(contains("not a regular file")));
}

#[test]
fn an_oversized_registry_or_profile_is_refused_before_it_is_read() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    p.train_m(&data, 3);
    // Sparse files: the size is there, the disk blocks are not.
    let profile = std::fs::OpenOptions::new().write(true).open(p.path("ml_models/m/1.0.0/reference.json")).unwrap();
    profile.set_len(3 << 30).unwrap();
    p.mlctl()
        .args(["drift", "m", "--data", &data])
        .timeout(Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(contains("reference.json").and(contains("refusing to read it")));
    let registry = std::fs::OpenOptions::new().write(true).open(p.path("ml_models/registry.json")).unwrap();
    registry.set_len(3 << 30).unwrap();
    p.mlctl()
        .args(["list"])
        .timeout(Duration::from_secs(30))
        .assert()
        .failure()
        .stderr(contains("registry.json").and(contains("refusing to read it")));
}

#[test]
fn a_closed_stdout_is_an_error_not_a_silent_success() {
    let p = TestProject::new();
    let data = p.sample("d", 200, 1);
    p.train_m(&data, 3);
    let bin = assert_cmd::cargo::cargo_bin("mlctl");
    for args in [format!("{} list", bin.display()), format!("{} predict m --input {data} --no-log", bin.display())] {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{args} >&-"))
            .current_dir(p.root())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("stdout is closed"), "{args}");
    }
    // A closed pipe (| head) stays a success.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} predict m --input {data} --no-log | head -1 >/dev/null; exit ${{PIPESTATUS:-0}}",
            bin.display()
        ))
        .current_dir(p.root())
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn input_columns_named_like_the_output_or_repeated_are_refused() {
    let p = TestProject::new();
    let data = p.sample("d", 200, 1);
    p.train_m(&data, 3);
    let text = std::fs::read_to_string(p.path(&data)).unwrap();
    let (header, rest) = text.split_once('\n').unwrap();
    for (name, extra, needle) in [
        ("prediction", "prediction", "predictions add"),
        ("probability", "probability", "predictions add"),
        ("dup", "emp_active_tasks", "appears twice"),
        ("empty", "", "has no name"),
    ] {
        let rows: String = rest.lines().map(|l| format!("{l},x\n")).collect();
        let file = p.write(&format!("data/{name}.csv"), &format!("{header},{extra}\n{rows}"));
        p.mlctl().args(["predict", "m", "--no-log", "--input"]).arg(&file).assert().failure().stderr(contains(needle));
    }
}

#[test]
fn free_text_in_the_audit_trail_cannot_break_model_registry_md() {
    let p = TestProject::new();
    let data = p.sample("d", 200, 1);
    p.train_m(&data, 3);
    let reason = "line one\n# Injected heading\n<img src=x onerror=alert(1)> | cell";
    p.mlctl()
        .args(["-q", "promote", "m@1.0.0", "--to", "staging", "--reason", reason])
        .env("MLCTL_USER", "eve\n## user heading")
        .assert()
        .success();
    let md = std::fs::read_to_string(p.path("MODEL_REGISTRY.md")).unwrap();
    assert!(!md.lines().any(|l| l.starts_with("# Injected") || l.starts_with("## user")), "{md}");
    assert!(!md.replace("\\<", "").contains("<img"), "{md}");
    let history_row = md.lines().find(|l| l.contains("Injected heading")).unwrap();
    assert_eq!(history_row.matches(" | ").count(), 4, "one row of five cells: {history_row}");
    // registry.json keeps the raw text.
    assert!(p.registry()["models"]["m"]["events"].as_array().unwrap().iter().any(|e| e["reason"] == reason));
}

#[test]
fn a_hand_edited_registry_breaking_an_invariant_is_refused_naming_the_rule() {
    let p = TestProject::new();
    let data = p.sample("d", 200, 1);
    p.train_m(&data, 3);
    p.train_m(&data, 4);
    let original = std::fs::read_to_string(p.path("ml_models/registry.json")).unwrap();
    let mut reg = p.registry();
    for v in reg["models"]["m"]["versions"].as_array_mut().unwrap() {
        v["stage"] = "production".into();
    }
    std::fs::write(p.path("ml_models/registry.json"), reg.to_string()).unwrap();
    p.mlctl().args(["list"]).assert().failure().stderr(contains("2 versions are in production (1.0.0, 1.1.0)"));
    let mut reg: serde_json::Value = serde_json::from_str(&original).unwrap();
    let first = reg["models"]["m"]["versions"][0].clone();
    reg["models"]["m"]["versions"].as_array_mut().unwrap().push(first);
    std::fs::write(p.path("ml_models/registry.json"), reg.to_string()).unwrap();
    p.mlctl()
        .args(["predict", "m", "--input", &data])
        .assert()
        .failure()
        .stderr(contains("version 1.0.0 is listed twice"));
}

#[test]
fn errors_never_echo_a_file_that_is_not_a_table() {
    let p = TestProject::new();
    p.write("shadow", "root:$6$secrethash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n");
    p.write("mlctl.toml", "[models.m]\ndata = \"shadow\"\ntarget = \"success\"\n");
    p.mlctl().args(["train", "--model", "m"]).assert().failure().stderr(contains("secrethash").not());
    p.mlctl()
        .args(["train", "shadow", "--target", "success", "--name", "../x"])
        .assert()
        .failure()
        .stderr(contains("--name").and(contains("pass --name NAME").not()));
}
