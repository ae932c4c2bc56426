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
    p.mlctl()
        .args(["init", "proj"])
        .assert()
        .success()
        .stdout(contains("created mlctl.toml"))
        .stdout(contains("Next: `make all` writes sample data"));
    assert!(p.path("proj/Makefile").exists() && p.path("proj/data").is_dir() && p.path("proj/ml_models").is_dir());
    p.mlctl().args(["init", "proj"]).assert().success().stdout(contains("kept    mlctl.toml (already there)"));
}

/// From an empty folder: `mlctl init`, then the Makefile's targets in order, with the built mlctl on PATH.
#[test]
fn init_makefile_targets_run_in_sequence_from_an_empty_folder() {
    let p = TestProject::new();
    p.mlctl().args(["init", "proj"]).assert().success();
    let bin_dir = assert_cmd::cargo::cargo_bin("mlctl").parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    for target in ["data", "train", "evaluate"] {
        let out = std::process::Command::new("make")
            .arg(target)
            .current_dir(p.path("proj"))
            .env("PATH", &path)
            .env_remove("MAKEFLAGS")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make {target}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(p.path("proj/data/holdout.csv").exists() && p.path("proj/data/train.csv").exists());
    assert!(p.path("proj/ml_models/my_model/1.0.0/model.bin").exists());

    // No comment names a variable the Makefile does not define.
    let makefile = std::fs::read_to_string(p.path("proj/Makefile")).unwrap();
    let defined: Vec<&str> = makefile.lines().filter_map(|l| l.split_once("?=")).map(|(v, _)| v.trim()).collect();
    let comments: String = makefile.lines().filter(|l| l.trim_start().starts_with('#')).collect();
    for word in comments.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let shouty = word.len() >= 3
            && word.chars().any(|c| c.is_ascii_uppercase())
            && !word.chars().any(|c| c.is_ascii_lowercase());
        if shouty && word != "SELECT" {
            assert!(defined.contains(&word), "a comment names {word}, which the Makefile does not define");
        }
    }
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
