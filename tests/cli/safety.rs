//! Issue #35, "nothing a typo can destroy" and "usage errors exit 2": prune keeps what a rollback needs and can
//! show its plan first, production is never emptied by accident, a model reference is understood wherever a
//! model is named, and every mistake on the command line exits 2 (one JSON document with --json).

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde::Deserialize;
use serde_json::Value;

use crate::common::{assert_registry_valid, TestProject};

/// `m@1.0.0` … `m@1.3.0` (small forests), 1.0.0 in production and then replaced there by 1.1.0, so 1.0.0 is
/// what `promote --rollback` would restore.
fn history() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 400, 3);
    for n_trees in [3, 4, 5, 6] {
        p.train_m(&data, n_trees);
    }
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    // A negative margin lets the gate pass whatever the scores: the replacement needs no --force.
    p.mlctl().args(["-q", "promote", "m@1.1.0", "--to", "production", "--min-improvement", "-1"]).assert().success();
    p
}

fn json(p: &TestProject, args: &[&str]) -> (i32, Value) {
    let out = p.mlctl().arg("--json").args(args).output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: stdout is not one JSON document ({e}): {}", TestProject::stderr_of(&out))
    });
    (out.status.code().unwrap_or(-1), doc)
}

fn model_file(p: &TestProject, version: &str) -> std::path::PathBuf {
    p.path(&format!("ml_models/m/{version}/model.bin"))
}

#[test]
fn prune_keeps_the_files_of_rollback_targets_unless_forced() {
    let p = history();
    // Outside production: 1.3.0 (kept, newest), 1.2.0 and 1.0.0 (archived). 1.0.0 is the rollback target.
    let (code, report) = json(&p, &["prune", "m", "--keep", "1", "--delete-files"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files_deleted"], serde_json::json!(["1.2.0"]));
    assert_eq!(report["files_kept_for_rollback"], serde_json::json!(["1.0.0"]));
    assert!(model_file(&p, "1.0.0").exists() && !model_file(&p, "1.2.0").exists());
    p.mlctl()
        .args(["prune", "m", "--keep", "1", "--delete-files"])
        .assert()
        .success()
        .stdout(contains("Kept the model files of 1.0.0"))
        .stdout(contains("--force deletes them too"));

    // --force takes the safety net away, and says so by what it does: no rollback afterwards.
    let (code, report) = json(&p, &["prune", "m", "--keep", "1", "--delete-files", "--force"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["files_deleted"], serde_json::json!(["1.0.0"]));
    assert!(!model_file(&p, "1.0.0").exists());
    p.mlctl().args(["promote", "m", "--rollback"]).assert().code(1).stderr(contains("no earlier production version"));
    p.mlctl().args(["prune", "m", "--force"]).assert().code(2).stderr(contains("--delete-files"));
    assert_registry_valid(&p);
}

#[test]
fn a_rollback_still_works_after_the_default_prune() {
    let p = history();
    p.mlctl().args(["-q", "prune", "m", "--keep", "1", "--delete-files"]).assert().success();
    p.mlctl().args(["promote", "m", "--rollback"]).assert().success().stdout(contains("1.0.0 is in production again"));
    assert_registry_valid(&p);
}

#[test]
fn prune_dry_run_reports_the_plan_and_changes_nothing() {
    let p = history();
    let registry = std::fs::read(p.path("ml_models/registry.json")).unwrap();
    let markdown = std::fs::read(p.path("MODEL_REGISTRY.md")).unwrap();
    let (code, report) = json(&p, &["prune", "m", "--keep", "1", "--delete-files", "--dry-run"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["files_deleted"], serde_json::json!(["1.2.0"]));
    assert_eq!(report["archived"].as_array().unwrap().len(), 1, "1.2.0; 1.0.0 is archived already: {report}");
    assert!(report["bytes_freed"].as_u64().unwrap() > 0, "the bytes a run would free: {report}");
    p.mlctl()
        .args(["prune", "m", "--keep", "1", "--delete-files", "--dry-run"])
        .assert()
        .success()
        .stdout(contains("m: would archive 1 version(s)"))
        .stdout(contains("would delete the model files of 1.2.0"))
        .stdout(contains("Dry run: nothing changed."));
    assert_eq!(std::fs::read(p.path("ml_models/registry.json")).unwrap(), registry);
    assert_eq!(std::fs::read(p.path("MODEL_REGISTRY.md")).unwrap(), markdown);
    assert!(model_file(&p, "1.2.0").exists());
}

/// `script` gives the command a terminal; without it the interactive path cannot be reached from a test.
fn on_a_terminal(p: &TestProject, command: &str, answer: &str) -> (bool, String) {
    use std::io::Write;
    let bin = assert_cmd::cargo::cargo_bin("mlctl");
    let mut child = std::process::Command::new("script")
        .args(["-qec", &format!("{} {command}", bin.display()), "/dev/null"])
        .current_dir(p.root())
        .env("MLCTL_USER", "tester")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("util-linux `script` runs the command on a pseudo-terminal");
    child.stdin.take().unwrap().write_all(answer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn prune_asks_on_a_terminal_and_never_without_one() {
    let p = history();
    let (ok, screen) = on_a_terminal(&p, "prune m --keep 1 --delete-files", "n\n");
    assert!(!ok, "answering no is not a success: {screen}");
    assert!(screen.contains("would delete the model files of 1.2.0") && screen.contains("Go ahead? [y/N]"), "{screen}");
    assert!(screen.contains("nothing changed"), "{screen}");
    assert!(model_file(&p, "1.2.0").exists());
    assert_eq!(p.registry()["models"]["m"]["versions"][2]["stage"], "development");

    let (ok, screen) = on_a_terminal(&p, "prune m --keep 1 --delete-files", "y\n");
    assert!(ok, "{screen}");
    assert!(screen.contains("m: deleted the model files of 1.2.0"), "{screen}");
    assert!(!model_file(&p, "1.2.0").exists());

    // No terminal (cron): no question, it acts.
    let p = history();
    p.mlctl()
        .args(["prune", "m", "--keep", "1", "--delete-files"])
        .assert()
        .success()
        .stderr(contains("Go ahead").not());
    assert!(!model_file(&p, "1.2.0").exists());
}

#[test]
fn moving_the_production_version_out_needs_force_and_a_reason() {
    let p = history();
    let events = |p: &TestProject| p.registry()["models"]["m"]["events"].as_array().unwrap().clone();
    let before = events(&p).len();
    p.mlctl()
        .args(["promote", "m@production", "--to", "staging"])
        .assert()
        .code(3)
        .stdout(contains("Refused: m@1.1.0 is the production version"))
        .stdout(contains("--force --reason"));
    let (code, report) = json(&p, &["promote", "m@1.1.0", "--to", "archived"]);
    assert_eq!((code, &report["refused"], &report["leaves_production_empty"]), (3, &Value::from(true), &true.into()));
    assert_eq!(events(&p).len(), before, "a refusal writes nothing");
    p.mlctl().args(["promote", "m@production", "--to", "archived", "--force"]).assert().code(2);
    p.mlctl()
        .args(["promote", "m@production", "--to", "archived", "--force", "--reason", "  "])
        .assert()
        .code(2)
        .stderr(contains("--force needs a --reason"));

    p.mlctl()
        .args(["promote", "m@production", "--to", "archived", "--force", "--reason", "withdrawn: bad data"])
        .assert()
        .success()
        .stdout(contains("forced: no version is in production now"));
    let last = events(&p).last().cloned().unwrap();
    assert_eq!((last["version"].as_str(), last["to"].as_str()), (Some("1.1.0"), Some("archived")));
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.contains("FORCED out of production") && reason.contains("withdrawn: bad data"), "{reason}");
    assert_registry_valid(&p);
}

#[test]
fn a_model_reference_is_understood_wherever_a_model_is_named() {
    let p = history();
    p.write("outcomes.csv", "id,success\na,1\n");
    for (args, says) in [
        (&["prune", "m@1.0.0"][..], "mlctl prune m@1.0.0: prune works on all the versions of a model"),
        (&["list", "m@1.0.0"], "(`mlctl show` shows one); give the model's name alone: mlctl list m"),
        (&["monitor", "m@production"], "monitor follows every version of the model"),
        (&["outcomes", "m@1.0.0", "--data", "outcomes.csv", "--id-column", "id"], "outcomes belong to the model"),
        (&["promote", "m@1.0.0", "--rollback"], "a rollback restores the version that was in production"),
    ] {
        let out = p.mlctl().args(args).output().unwrap();
        let stderr = TestProject::stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says) && !stderr.contains("invalid model name"), "{args:?}: {stderr}");
    }
    p.mlctl()
        .args(["train", "data/train.csv", "--target", "success", "--name", "m@2.0.0"])
        .assert()
        .code(2)
        .stderr(contains("--name m@2.0.0: a model is named alone"))
        .stderr(contains("--version 2.0.0"));
    p.mlctl().args(["list", "m@latest"]).assert().success().stdout(contains("1.3.0"));
    p.mlctl().args(["prune", "../m"]).assert().code(2).stderr(contains("invalid model name \"../m\""));
}

#[test]
fn usage_errors_exit_2_and_data_errors_exit_1() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 2);
    p.train_m(&data, 3);
    let usage: &[(&[&str], &str)] = &[
        (&["promote", "m@1.0.0", "--to", "prod"], "--to prod"),
        (&["evaluate", "m", "--data", &data, "--min", "f2=0.5"], "unknown metric \"f2\""),
        (&["predict", "m", "--input", &data, "--format", "parquet"], "--format parquet"),
        (&["train", &data, "--target", "success", "--cv", "1"], "--cv 1"),
        (&["train", &data, "--target", "success", "--test-size", "1.5"], "--test-size 1.5"),
        (&["train", &data, "--target", "success", "--algorithm", "forst"], "unknown algorithm \"forst\""),
        (&["train", &data, "--target", "success", "--drop", "\"a,b"], "a double quote is not closed"),
        (&["train", &data, "--target", "success", "--delimiter", "ab"], "--delimiter ab"),
        (&["drift", "m", "--logs", "--since", "yesterday"], "--since yesterday"),
        (&["monitor", "m", "--window", "0d"], "--window 0d"),
        (&["prune", "m", "--keep", "0"], "--keep must be at least 1"),
        (&["train", &data, "--no-such-flag"], "unexpected argument '--no-such-flag'"),
    ];
    for (args, says) in usage {
        p.mlctl().args(*args).assert().code(2).stderr(contains(*says));
    }
    // What is wrong with the data or the files is not a usage error.
    let errors: &[(&[&str], &str)] = &[
        (&["train", &data, "--target", "nope"], "no such target column"),
        (&["evaluate", "m", "--data", "missing.csv"], "missing.csv"),
        (&["evaluate", "nope", "--data", &data], "no model named \"nope\""),
    ];
    for (args, says) in errors {
        p.mlctl().args(*args).assert().code(1).stderr(contains(*says));
    }
    assert_eq!(p.versions("m"), ["1.0.0"], "nothing was trained by a refused command");
}

/// The --json error document, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ErrorDoc {
    error: String,
    causes: Vec<String>,
    kind: String,
    exit_code: i32,
}

fn json_error(p: &TestProject, args: &[&str]) -> (i32, ErrorDoc) {
    let out = p.mlctl().arg("--json").args(args).output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{args:?}: stdout is not one error document ({e}): {}", String::from_utf8_lossy(&out.stdout))
    });
    (out.status.code().unwrap_or(-1), doc)
}

#[test]
fn with_json_every_error_is_one_document_with_its_kind() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 2);
    p.train_m(&data, 3);
    let (code, doc) = json_error(&p, &["promote", "m@1.0.0", "--to", "prod"]);
    assert_eq!((code, doc.kind.as_str(), doc.exit_code), (2, "usage", 2), "{doc:?}");
    assert!(doc.error.contains("--to prod: expected one of staging, production, archived"), "{doc:?}");
    // clap's own errors, which happen before mlctl has a printer.
    let (code, doc) = json_error(&p, &["train", &data, "--no-such-flag"]);
    assert_eq!((code, doc.kind.as_str(), doc.exit_code), (2, "usage", 2), "{doc:?}");
    assert_eq!(doc.error, "unexpected argument '--no-such-flag' found");
    assert!(doc.causes.iter().any(|c| c.starts_with("Usage: mlctl train")), "{doc:?}");
    let (code, doc) = json_error(&p, &["promote", "m@1.0.0"]);
    assert_eq!((code, doc.kind.as_str()), (2, "usage"), "{doc:?}");
    // Not a usage error: still one document, of kind "error".
    let (code, doc) = json_error(&p, &["evaluate", "nope", "--data", &data]);
    assert_eq!((code, doc.kind.as_str(), doc.exit_code), (1, "error", 1), "{doc:?}");
    // --help and --version are not errors: their text, exit 0.
    p.mlctl().args(["--json", "--version"]).assert().success().stdout(contains("mlctl"));
}
