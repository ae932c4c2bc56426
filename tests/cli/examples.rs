//! The scripts in examples/ are run for real, so what we show people keeps working.

use crate::common::{assert_registry_valid, TestProject};

fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn project_with_spec() -> TestProject {
    let p = TestProject::new();
    std::fs::copy(repo("mlctl.toml"), p.path("mlctl.toml")).unwrap();
    p.write(
        "mlctl.toml",
        &std::fs::read_to_string(repo("mlctl.toml")).unwrap().replace("n_trees = 100", "n_trees = 15"),
    );
    p
}

fn weekly_retrain(p: &TestProject, gates: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(repo("examples/cron/weekly_retrain.sh"))
        .current_dir(p.root())
        .env("MLCTL", assert_cmd::cargo::cargo_bin("mlctl"))
        .env("EXPORT", "--sample skill-assignment --rows 1500 --seed 3");
    if let Some(g) = gates {
        cmd.env("GATES", g);
    }
    cmd.output().unwrap()
}

#[test]
fn weekly_retrain_trains_gates_and_promotes() {
    let p = project_with_spec();
    let out = weekly_retrain(&p, None);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", TestProject::stderr_of(&out));
    assert!(log.contains("skill_assignment@1.0.0 is in production"), "{log}");
    // A version that misses its absolute gates stays in development, and the script says so with exit 3.
    let out = weekly_retrain(&p, Some("--min f1=0.999"));
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stdout));
    let reg = p.registry();
    let versions = reg["models"]["skill_assignment"]["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["stage"], "production");
    assert_eq!(versions[1]["stage"], "development");
    assert_registry_valid(&p);
}

#[test]
fn the_ci_makefile_fragment_runs_its_gates() {
    let p = project_with_spec();
    p.sample("skill_assignment", 1500, 3);
    p.sample("holdout", 500, 8);
    let make = |gates: &str| {
        std::process::Command::new("make")
            .args(["-f", repo("examples/ci/Makefile.ci").to_str().unwrap(), "ci-model"])
            .arg(format!("MLCTL={}", assert_cmd::cargo::cargo_bin("mlctl").display()))
            .arg(format!("CI_GATES={gates}"))
            .current_dir(p.root())
            .output()
            .unwrap()
    };
    let out = make("--min f1=0.999");
    assert!(!out.status.success(), "an unmet gate fails the job");
    assert!(TestProject::stderr_of(&out).contains("ci-evaluate] Error 3"), "{}", TestProject::stderr_of(&out));
    std::fs::remove_dir_all(p.path("ml_models")).unwrap();
    let out = make("--min f1=0.5 --max log_loss=0.9");
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), TestProject::stderr_of(&out));
    for f in ["train.json", "evaluate.json", "evaluate.prom", "drift.md"] {
        assert!(p.path(&format!("ci-artifacts/{f}")).exists(), "{f} kept as a CI artefact");
    }
    let train: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("ci-artifacts/train.json")).unwrap()).unwrap();
    assert_eq!(train["version"], "1.0.0");
}

#[test]
fn nightly_outcomes_records_the_dropped_file_and_the_weekly_retrain_monitors_with_it() {
    let p = project_with_spec();
    assert!(weekly_retrain(&p, None).status.success());
    // A week of predictions with ids, and their outcomes dropped as a CSV.
    let text = std::fs::read_to_string(p.path(&p.sample("week", 400, 11))).unwrap();
    let mut lines = text.lines();
    let mut tasks = vec![format!("task_id,{}", lines.next().unwrap())];
    let mut outcomes = vec!["task_id,success".to_owned()];
    for (i, line) in lines.enumerate() {
        tasks.push(format!("t{i},{line}"));
        outcomes.push(format!("t{i},{}", line.rsplit(',').next().unwrap()));
    }
    p.write("data/tasks.csv", &(tasks.join("\n") + "\n"));
    p.mlctl()
        .args([
            "-q",
            "predict",
            "skill_assignment",
            "--input",
            "data/tasks.csv",
            "--id-column",
            "task_id",
            "-o",
            "p.csv",
        ])
        .assert()
        .success();
    let nightly = || {
        std::process::Command::new("bash")
            .arg(repo("examples/cron/nightly_outcomes.sh"))
            .current_dir(p.root())
            .env("MLCTL", assert_cmd::cargo::cargo_bin("mlctl"))
            .env("MLCTL_TEST_NOW", "2026-01-02T03:04:05Z")
            .output()
            .unwrap()
    };
    let out = nightly();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to record"));
    p.write("data/outcomes/today.csv", &(outcomes.join("\n") + "\n"));
    let out = nightly();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    assert!(!p.path("data/outcomes/today.csv").exists(), "the dropped file is moved aside once recorded");
    let recorded = std::fs::read_to_string(p.path("logs/outcomes/skill_assignment/2026-01-02.jsonl")).unwrap();
    assert_eq!(recorded.lines().count(), 400);

    // The predictions were logged at the test clock's date (2026-01-02); the script runs on the real one.
    let out = std::process::Command::new("bash")
        .arg(repo("examples/cron/weekly_retrain.sh"))
        .current_dir(p.root())
        .env("MLCTL", assert_cmd::cargo::cargo_bin("mlctl"))
        .env("EXPORT", "--sample skill-assignment --rows 1500 --seed 4")
        .env("MONITOR", "--since 2026-01-01 --window 60d")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", TestProject::stderr_of(&out));
    assert!(log.contains("monitor: skill_assignment's production version still performs as tested"), "{log}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("400 of"), "{log}");
}

/// A project whose production model has a week of logged predictions from `data/week.csv`.
fn production_with_logged_week(shift: Option<&str>) -> TestProject {
    let p = project_with_spec();
    p.sample("skill_assignment", 1500, 3);
    p.mlctl().args(["-q", "train", "--model", "skill_assignment"]).assert().success();
    p.mlctl().args(["-q", "promote", "skill_assignment@1.0.0", "--to", "production"]).assert().success();
    let mut export = p.mlctl();
    export.args(["export", "--sample", "skill-assignment", "--rows", "800", "--seed", "5", "-o", "data/week.csv"]);
    if let Some(shift) = shift {
        export.args(["--shift", shift]);
    }
    export.assert().success();
    p.mlctl().args(["-q", "predict", "skill_assignment", "--input", "data/week.csv", "-o", "p.csv"]).assert().success();
    // What `make retrain` runs (the Makefile `mlctl init` writes has the same target).
    p.write("Makefile", "retrain:\n\t$(MLCTL) train --model $(MODEL)\n");
    p
}

fn weekly_drift_check(p: &TestProject) -> std::process::Output {
    std::process::Command::new("bash")
        .arg(repo("examples/cron/weekly_drift_check.sh"))
        .current_dir(p.root())
        .env("MLCTL", assert_cmd::cargo::cargo_bin("mlctl"))
        // The predictions were logged at the test clock's date; the check looks back from the same date.
        .env("MLCTL_TEST_NOW", "2026-01-02T03:04:05Z")
        .env("REPORT_DIR", "reports/drift/week")
        .output()
        .unwrap()
}

#[test]
fn weekly_drift_check_keeps_the_report_and_retrains_only_on_drift() {
    let p = production_with_logged_week(None);
    let out = weekly_drift_check(&p);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", TestProject::stderr_of(&out));
    assert!(log.contains("skill_assignment@production: no drift since 7d"), "{log}");
    assert!(p.path("reports/drift/week/drift.md").exists());
    assert_eq!(p.versions("skill_assignment"), ["1.0.0"], "no drift, no retraining");

    let p = production_with_logged_week(Some("2"));
    let out = weekly_drift_check(&p);
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", TestProject::stderr_of(&out));
    assert!(log.contains("drift detected since 7d"), "{log}");
    assert_eq!(p.versions("skill_assignment"), ["1.0.0", "1.0.1"], "drift retrains the spec: a patch version");
    assert_registry_valid(&p);
}

#[test]
fn weekly_drift_check_does_not_retrain_after_an_error() {
    let p = project_with_spec();
    p.write("Makefile", "retrain:\n\ttouch retrained\n");
    let out = weekly_drift_check(&p);
    assert_eq!(out.status.code(), Some(1), "no model: the check fails with mlctl's exit code");
    assert!(TestProject::stderr_of(&out).contains("the drift check failed (exit 1); not retraining"));
    assert!(!p.path("retrained").exists());
}

#[test]
fn the_walkthrough_runs_from_an_empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg(repo("examples/walkthrough.sh"))
        .current_dir(dir.path())
        .env("MLCTL", assert_cmd::cargo::cargo_bin("mlctl"))
        .env("STEP", "0")
        .env("ROWS", "1500")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", TestProject::stderr_of(&out));
    for file in ["mlctl.toml", "predictions.csv", "MODEL_REGISTRY.md", "ml_models/skill_assignment/1.1.0/model.bin"] {
        assert!(dir.path().join(file).exists(), "{file}\n{log}");
    }
    assert!(log.contains("$ ") && log.contains("show skill_assignment@production"), "{log}");
}

#[test]
fn the_serve_demo_starts_answers_and_stops_cleanly() {
    let p = production_with_logged_week(None);
    let out = std::process::Command::new("bash")
        .arg(repo("examples/serve/demo.sh"))
        .env("DEMO", p.root())
        .env("MLCTL", assert_cmd::cargo::cargo_bin("mlctl"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{log}\n{}", TestProject::stderr_of(&out));
    assert!(log.contains("\"predictions\""), "one prediction answered: {log}");
    assert!(log.contains("serve stopped (exit 0)"), "{log}");
}
