use predicates::str::contains;

use crate::common::TestProject;

#[test]
fn completions_for_every_shell() {
    let p = TestProject::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        p.mlctl().args(["completions", shell]).assert().success().stdout(contains("mlctl")).stdout(contains("train"));
    }
    p.mlctl().args(["completions", "tcsh"]).assert().code(2);
}

#[test]
fn man_page_renders() {
    TestProject::new().mlctl().arg("manpage").assert().success().stdout(contains(".TH mlctl"));
}

#[test]
fn init_scaffolds_a_project_that_trains() {
    let p = TestProject::new();
    p.mlctl().args(["init", "proj"]).assert().success().stdout(contains("created mlctl.toml"));
    let config = std::fs::read_to_string(p.path("proj/mlctl.toml")).unwrap();
    assert!(p.path("proj/Makefile").exists() && p.path("proj/data").is_dir() && p.path("proj/ml_models").is_dir());
    p.mlctl().args(["init", "proj"]).assert().success().stdout(contains("kept    mlctl.toml (already there)"));
    // Point the template at real data and train from it.
    p.mlctl()
        .args(["export", "--sample", "skill-assignment", "--rows", "300", "-o", "proj/data/train.csv"])
        .assert()
        .success();
    std::fs::write(p.path("proj/mlctl.toml"), config.replace("target = \"label\"", "target = \"success\"")).unwrap();
    p.mlctl()
        .current_dir(p.path("proj/data"))
        .args(["-q", "train", "--model", "my_model", "--set", "n_trees=5"])
        .assert()
        .success();
    assert!(p.path("proj/ml_models/my_model/1.0.0/model.bin").exists());
}

#[test]
fn colour_only_when_asked_or_on_a_terminal_and_json_errors_are_json() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 2);
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=3"])
        .assert()
        .success();
    let gate = ["evaluate", "m", "--data", data.as_str(), "--min", "f1=0.99", "--allow-overlap"];
    // Not a terminal: plain text, as in a cron log.
    let plain = p.mlctl().args(gate).output().unwrap();
    assert!(!String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'));
    let forced = p.mlctl().args(["--color", "always"]).args(gate).output().unwrap();
    assert!(String::from_utf8_lossy(&forced.stdout).contains("\u{1b}[31mFAIL\u{1b}[0m"));
    // With --json, an error is still exactly one JSON document on stdout.
    let out = p.mlctl().args(["--json", "evaluate", "nope", "--data", data.as_str()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert!(doc["error"].as_str().unwrap().contains("no model named \"nope\""), "{doc}");
    assert_eq!(doc["exit_code"], 1);
}
