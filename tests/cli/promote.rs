//! promote (gate, force, rollback, staging), prune (retention), list/show/diff, and the registry's safety under
//! parallel runs and SIGKILL.

use std::process::Stdio;
use std::time::Duration;

use predicates::str::contains;
use serde_json::Value;

use crate::common::{assert_registry_valid, TestProject};

/// `m@1.0.0` a decent forest, `m@1.1.0` a deliberately weak one (3 stumps), `m@1.2.0` a bigger forest; and a
/// holdout from another seed.
fn three_versions() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 1500, 3);
    p.sample("holdout", 500, 77);
    for set in [&["n_trees=20"][..], &["n_trees=3", "max_depth=1"], &["n_trees=40"]] {
        let mut cmd = p.mlctl();
        cmd.args(["-q", "train", &data, "--target", "success", "--name", "m"]);
        for s in set {
            cmd.args(["--set", s]);
        }
        cmd.assert().success();
    }
    p
}

fn json(p: &TestProject, args: &[&str]) -> (i32, Value) {
    let out = p.mlctl().arg("--json").args(args).output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: stdout is not one JSON document ({e}): {}", TestProject::stderr_of(&out))
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn stage_of(p: &TestProject, version: &str) -> String {
    let reg = p.registry();
    let v = reg["models"]["m"]["versions"].as_array().unwrap().iter().find(|v| v["version"] == version).unwrap();
    v["stage"].as_str().unwrap().to_owned()
}

#[test]
fn the_first_production_version_passes_and_a_worse_one_is_refused_with_both_figures() {
    let p = three_versions();
    p.mlctl()
        .args(["promote", "m@1.0.0", "--to", "production"])
        .assert()
        .success()
        .stdout(contains("no production version yet"));
    let out = p.mlctl().args(["promote", "m@1.1.0", "--to", "production"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a worse model is refused with exit 3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("candidate  1.1.0") && stdout.contains("production 1.0.0"), "{stdout}");
    assert!(stdout.contains("Refused"), "{stdout}");
    assert_eq!(stage_of(&p, "1.0.0"), "production");
    assert_eq!(stage_of(&p, "1.1.0"), "development");
    let events = p.registry()["models"]["m"]["events"].as_array().unwrap().len();
    assert_eq!(events, 4, "a refusal writes nothing to the audit trail");
    assert_registry_valid(&p);
}

#[test]
fn a_better_version_passes_and_displaces_production_with_the_figures_recorded() {
    let p = three_versions();
    // The weak 1.1.0 first (nothing to beat), then 1.0.0, which beats it by far.
    p.mlctl().args(["-q", "promote", "m@1.1.0", "--to", "production"]).assert().success();
    let (code, report) = json(&p, &["promote", "m@1.0.0", "--to", "production"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["gate"]["passed"], true);
    assert!(report["gate"]["improvement"].as_f64().unwrap() > 0.0);
    assert_eq!(stage_of(&p, "1.0.0"), "production");
    assert_eq!(stage_of(&p, "1.1.0"), "archived");
    let reg = p.registry();
    let last = reg["models"]["m"]["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["version"], "1.0.0");
    assert_eq!(last["from"], "development");
    assert_eq!(last["to"], "production");
    assert_eq!(last["user"], "tester");
    assert!(last["metrics"]["f1"].is_number() && last["metrics"]["production_f1"].is_number(), "{last}");
    // The displaced one, now archived, cannot come back past the gate either.
    p.mlctl().args(["promote", "m@1.1.0", "--to", "production"]).assert().code(3);
    assert_registry_valid(&p);
}

#[test]
fn with_data_both_versions_are_evaluated_on_the_same_rows() {
    let p = three_versions();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    let (code, report) = json(&p, &["promote", "m@1.1.0", "--to", "production", "--data", "data/holdout.csv"]);
    assert_eq!(code, 3);
    assert!(report["gate"]["basis"].as_str().unwrap().starts_with("both evaluated on"), "{report}");
    assert_eq!(report["refused"], true);
    // The figures are the holdout's, not the stored test metrics.
    let stored = p.registry()["models"]["m"]["versions"][1]["metrics"]["f1"].as_f64().unwrap();
    assert_ne!(report["gate"]["challenger_value"].as_f64().unwrap(), stored);
    // The margin and metric come from flags or mlctl.toml.
    p.write("mlctl.toml", "[models.m.promote]\nmetric = \"log_loss\"\nmin_improvement = 0.5\n");
    let (code, report) = json(&p, &["promote", "m@1.2.0", "--to", "production"]);
    assert_eq!(code, 3, "no model beats production's log loss by 0.5: {report}");
    assert_eq!(report["gate"]["metric"], "log_loss");
    assert_eq!(report["gate"]["higher_is_better"], false);
    p.mlctl()
        .args(["promote", "m@1.2.0", "--to", "production", "--metric", "f1_macr"])
        .assert()
        .code(2)
        .stderr(contains("did you mean \"f1_macro\""));
}

#[test]
fn force_needs_a_reason_and_records_it() {
    let p = three_versions();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    p.mlctl().args(["promote", "m@1.1.0", "--to", "production", "--force"]).assert().code(2);
    p.mlctl()
        .args(["promote", "m@1.1.0", "--to", "production", "--force", "--reason", "hotfix for the Q3 launch"])
        .assert()
        .success()
        .stdout(contains("forced past the gate"));
    assert_eq!(stage_of(&p, "1.1.0"), "production");
    let reg = p.registry();
    let last = reg["models"]["m"]["events"].as_array().unwrap().last().unwrap().clone();
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.contains("FORCED") && reason.contains("hotfix for the Q3 launch"), "{reason}");
    let md = std::fs::read_to_string(p.path("MODEL_REGISTRY.md")).unwrap();
    assert!(md.contains("hotfix for the Q3 launch"), "the audit trail is in MODEL_REGISTRY.md");
}

#[test]
fn rollback_restores_the_previous_production_version() {
    let p = three_versions();
    p.mlctl().args(["promote", "m", "--rollback"]).assert().code(1).stderr(contains("no earlier production version"));
    p.mlctl().args(["-q", "promote", "m@1.1.0", "--to", "production"]).assert().success();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    p.mlctl()
        .args(["promote", "m", "--rollback", "--reason", "latency regression"])
        .assert()
        .success()
        .stdout(contains("1.1.0 is in production again"));
    assert_eq!(stage_of(&p, "1.1.0"), "production");
    assert_eq!(stage_of(&p, "1.0.0"), "archived");
    // predict by stage follows the registry.
    p.mlctl()
        .args(["--json", "predict", "m@production", "--input", "data/holdout.csv", "-o", "p.csv", "--no-log"])
        .assert()
        .success()
        .stdout(contains("\"version\": \"1.1.0\""));
    // Rolling back again goes to the one before the current, 1.0.0.
    p.mlctl().args(["-q", "promote", "m", "--rollback"]).assert().success();
    assert_eq!(stage_of(&p, "1.0.0"), "production");
    assert_registry_valid(&p);
}

#[test]
fn one_version_per_stage_and_idempotent_repeats() {
    let p = three_versions();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "staging"]).assert().success();
    p.mlctl().args(["-q", "promote", "m@1.1.0", "--to", "staging"]).assert().success();
    assert_eq!(stage_of(&p, "1.0.0"), "archived");
    assert_eq!(stage_of(&p, "1.1.0"), "staging");
    p.mlctl().args(["promote", "m@1.1.0", "--to", "staging"]).assert().success().stdout(contains("already in staging"));
    p.mlctl().args(["-q", "promote", "m@staging", "--to", "production"]).assert().success();
    assert_eq!(stage_of(&p, "1.1.0"), "production");
    p.mlctl()
        .args(["promote", "m@1.0.0", "--to", "prod"])
        .assert()
        .code(2)
        .stderr(contains("did you mean \"production\""));
    p.mlctl().args(["promote", "m@1.0.0", "--to", "development"]).assert().code(2);
    p.mlctl()
        .args(["promote", "../m@1.0.0", "--to", "staging"])
        .assert()
        .code(2)
        .stderr(contains("invalid model name"));
    p.mlctl().args(["promote", "nope@1.0.0", "--to", "staging"]).assert().code(1).stderr(contains("no model named"));
    assert_registry_valid(&p);
}

#[test]
fn prune_archives_old_versions_and_can_delete_their_files_keeping_history() {
    let p = three_versions();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    let (code, report) = json(&p, &["prune", "m", "--keep", "1", "--delete-files"]);
    assert_eq!(code, 0, "{report}");
    // Production (1.0.0) is never touched; of 1.1.0 and 1.2.0 the newest is kept.
    assert_eq!(report["files_deleted"], serde_json::json!(["1.1.0"]));
    assert!(report["bytes_freed"].as_u64().unwrap() > 0);
    assert_eq!(stage_of(&p, "1.1.0"), "archived");
    assert_eq!(stage_of(&p, "1.2.0"), "development");
    assert_eq!(stage_of(&p, "1.0.0"), "production");
    assert!(!p.path("ml_models/m/1.1.0/model.bin").exists());
    assert!(!p.path("ml_models/m/1.1.0/reference.json").exists());
    assert!(p.path("ml_models/m/1.1.0/metadata.json").exists());
    // The pruned version says why it cannot be used, everywhere.
    p.mlctl().args(["promote", "m@1.1.0", "--to", "staging"]).assert().code(1).stderr(contains("deleted by retention"));
    p.mlctl()
        .args(["predict", "m@1.1.0", "--input", "data/holdout.csv", "-o", "x.csv"])
        .assert()
        .code(1)
        .stderr(contains("model file is missing"));
    p.mlctl().args(["list", "m"]).assert().success().stdout(contains("deleted"));
    p.mlctl().args(["show", "m@1.1.0"]).assert().success().stdout(contains("model files deleted by retention"));
    // Running it again changes nothing.
    let (_, again) = json(&p, &["prune", "m", "--keep", "1", "--delete-files"]);
    assert_eq!(again["archived"], serde_json::json!([]));
    assert_eq!(again["files_deleted"], serde_json::json!([]));
    p.mlctl().args(["prune", "m", "--keep", "0"]).assert().code(2);
    assert_registry_valid(&p);
}

#[test]
fn list_show_and_diff() {
    let p = three_versions();
    p.mlctl().args(["-q", "promote", "m@1.2.0", "--to", "production"]).assert().success();
    let (_, listed) = json(&p, &["list"]);
    let versions: Vec<&str> =
        listed["versions"].as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!(versions, ["1.2.0", "1.1.0", "1.0.0"]);
    p.mlctl().args(["list", "mm"]).assert().code(1).stderr(contains("known models: m"));

    let (_, shown) = json(&p, &["show", "m@production"]);
    assert_eq!(shown["record"]["version"], "1.2.0");
    assert_eq!(shown["metadata"]["params"]["n_trees"], 40);
    let history: Vec<&str> = shown["history"].as_array().unwrap().iter().map(|e| e["to"].as_str().unwrap()).collect();
    assert_eq!(history, ["development", "production"]);
    p.mlctl()
        .args(["show", "m@1.0.0"])
        .assert()
        .success()
        .stdout(contains("Stage history"))
        .stdout(contains("Feature importance"));

    let (_, d) = json(&p, &["diff", "m@1.0.0", "m@1.1.0"]);
    let row = |section: &str, key: &str| -> Value {
        d[section].as_array().unwrap().iter().find(|r| r["key"] == key).unwrap().clone()
    };
    assert_eq!(row("params", "n_trees")["delta"], -17.0);
    assert_eq!(row("params", "bootstrap")["changed"], false);
    let f1 = row("metrics", "f1");
    let delta = f1["b"].as_f64().unwrap() - f1["a"].as_f64().unwrap();
    assert!((f1["delta"].as_f64().unwrap() - delta).abs() < 1e-12);
    p.mlctl()
        .args(["diff", "m@1.0.0", "m@1.1.0"])
        .assert()
        .success()
        .stdout(contains("max_depth"))
        .stdout(contains("-19"));
}

#[test]
fn eight_parallel_trains_and_promotions_leave_a_valid_registry() {
    let p = three_versions();
    let bin = assert_cmd::cargo::cargo_bin("mlctl");
    let mut children = Vec::new();
    for i in 0..8 {
        let mut train = std::process::Command::new(&bin);
        train
            .current_dir(p.root())
            .args(["-q", "train", "data/train.csv", "--target", "success", "--name", "m", "--set"])
            .arg(format!("n_trees={}", 5 + i))
            .stdout(Stdio::null());
        children.push(train.spawn().unwrap());
        let mut promote = std::process::Command::new(&bin);
        let version = ["1.0.0", "1.1.0", "1.2.0"][i % 3];
        let stage = ["production", "staging"][i % 2];
        promote
            .current_dir(p.root())
            .args(["-q", "promote", &format!("m@{version}"), "--to", stage, "--force", "--reason", "race"])
            .stdout(Stdio::null());
        children.push(promote.spawn().unwrap());
    }
    for mut c in children {
        let status = c.wait().unwrap();
        // A promotion may lose the race on the production check and exit 1; it must never panic (101).
        assert!(matches!(status.code(), Some(0 | 1)), "{status}");
    }
    let mut versions = p.versions("m");
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), 11, "8 new distinct versions: {versions:?}");
    assert_registry_valid(&p);
}

#[test]
fn sigkill_during_training_leaves_a_valid_registry_and_no_half_written_version() {
    let p = TestProject::new();
    let data = p.sample("big", 20_000, 5);
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=5"])
        .assert()
        .success();
    let bin = assert_cmd::cargo::cargo_bin("mlctl");
    for delay_ms in [5, 40, 120, 250, 400, 700] {
        let mut child = std::process::Command::new(&bin)
            .current_dir(p.root())
            .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=150", "--cv", "3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        assert_registry_valid(&p);
    }
    // The next run cleans any debris of killed runs and registers normally.
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=6"])
        .assert()
        .success();
    assert_registry_valid(&p);
    let debris: Vec<String> = std::fs::read_dir(p.path("ml_models/m"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(debris.is_empty(), "no incoming folders left: {debris:?}");
    let registered = p.versions("m").len();
    let on_disk = std::fs::read_dir(p.path("ml_models/m")).unwrap().count();
    assert_eq!(registered, on_disk, "every version folder on disk is registered");
}
