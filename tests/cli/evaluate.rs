use predicates::str::contains;

use crate::common::{TestProject, QUICK};

/// A project with model `m` trained on one sample and a holdout from another seed.
fn trained() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 1200, 1);
    p.sample("holdout", 400, 99);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    p
}

#[test]
fn human_report_has_metrics_report_and_confusion_matrix() {
    let p = trained();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/holdout.csv"])
        .assert()
        .success()
        .stdout(contains("m@1.0.0 (development) on data/holdout.csv: 400 rows"))
        .stdout(contains("balanced_accuracy"))
        .stdout(contains("precision    recall  f1-score   support"))
        .stdout(contains("weighted avg"))
        .stdout(contains("true \\ predicted"));
}

#[test]
fn json_report_is_one_document_and_gates_set_the_exit_code() {
    let p = trained();
    let out = p
        .mlctl()
        .args(["--json", "evaluate", "m@1.0.0", "--data", "data/holdout.csv", "--min", "accuracy=0.5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["passed"], true);
    assert_eq!(v["data"]["rows"], 400);
    let acc = v["metrics"]["accuracy"].as_f64().unwrap();
    assert_eq!(v["gates"][0]["value"].as_f64().unwrap(), acc);

    p.mlctl()
        .args([
            "evaluate",
            "m",
            "--data",
            "data/holdout.csv",
            "--min",
            "f1=0.999",
            "--max",
            "log_loss=0.01",
            "--min",
            "accuracy=0.1",
        ])
        .assert()
        .code(3)
        .stdout(contains("Gates: NOT MET"))
        .stdout(contains("FAIL f1 (positive class: 1) ≥ 0.999"))
        .stdout(contains("FAIL log_loss ≤ 0.01"))
        .stdout(contains("ok   accuracy ≥ 0.1"));
}

#[test]
fn bad_gates_and_references_are_errors() {
    let p = trained();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/holdout.csv", "--min", "f11=0.5"])
        .assert()
        .code(2)
        .stderr(contains("did you mean \"f1\""));
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/holdout.csv", "--min", "f1"])
        .assert()
        .code(2)
        .stderr(contains("expected METRIC=VALUE"));
    p.mlctl()
        .args(["evaluate", "m@2.0.0", "--data", "data/holdout.csv"])
        .assert()
        .code(1)
        .stderr(contains("model \"m\" has no version 2.0.0"));
    p.mlctl()
        .args(["evaluate", "m@production", "--data", "data/holdout.csv"])
        .assert()
        .code(1)
        .stderr(contains("has no version in production"));
    p.mlctl()
        .args(["evaluate", "x", "--data", "data/holdout.csv"])
        .assert()
        .code(1)
        .stderr(contains("no model named \"x\" (known models: m)"));
}

#[test]
fn unlabelled_or_unknown_labels_are_errors_naming_the_row() {
    let p = trained();
    let holdout = std::fs::read_to_string(p.path("data/holdout.csv")).unwrap();
    let mut lines: Vec<String> = holdout.lines().map(str::to_owned).collect();
    lines[3] = format!("{}7", lines[3].trim_end_matches(['0', '1']));
    p.write("data/odd.csv", &(lines.join("\n") + "\n"));
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/odd.csv"])
        .assert()
        .code(1)
        .stderr(contains("odd.csv: row 3, column \"success\": label \"7\" is not a class the model knows (0, 1)"));
}

#[test]
fn a_corrupted_artifact_is_refused() {
    let p = trained();
    let path = p.path("ml_models/m/1.0.0/model.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/holdout.csv"])
        .assert()
        .code(1)
        .stderr(contains("model.bin: the model file is corrupt or was replaced"));
}

#[test]
fn metrics_file_holds_prometheus_gauges() {
    let p = trained();
    p.mlctl()
        .args([
            "--metrics-file",
            "metrics/m.prom",
            "evaluate",
            "m",
            "--data",
            "data/holdout.csv",
            "--min",
            "accuracy=0.99",
        ])
        .assert()
        .code(3);
    let text = std::fs::read_to_string(p.path("metrics/m.prom")).unwrap();
    assert!(text.contains("# TYPE mlctl_evaluation_metric gauge"), "{text}");
    assert!(text.contains("mlctl_evaluation_metric{model=\"m\",version=\"1.0.0\",metric=\"f1\"} 0."), "{text}");
    assert!(text.contains("mlctl_evaluation_gates_passed{model=\"m\",version=\"1.0.0\"} 0"), "{text}");
    assert!(text.contains("mlctl_evaluation_timestamp_seconds 1767323045"), "{text}");
}

#[test]
fn report_writes_markdown_with_charts_and_the_registry_links_it() {
    let p = trained();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/holdout.csv", "--report", "reports/eval.md", "--min", "f1=0.1"])
        .assert()
        .success();
    let md = std::fs::read_to_string(p.path("reports/eval.md")).unwrap();
    assert!(md.starts_with("# Evaluation: m@1.0.0 (development)"), "{md}");
    assert!(md.contains("| f1 |") && md.contains("weighted avg") && md.contains("ok f1 ≥ 0.1"), "{md}");
    for chart in ["confusion", "roc", "pr", "importance"] {
        let name = format!("eval-{chart}.svg");
        assert!(md.contains(&format!("]({name})")), "the report links {name}");
        let svg = std::fs::read_to_string(p.path(&format!("reports/{name}"))).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{name} is a whole SVG");
    }
    assert!(!md.contains('\u{1b}'), "no ANSI codes in files");
    let registry_md = std::fs::read_to_string(p.path("MODEL_REGISTRY.md")).unwrap();
    assert!(registry_md.contains("[report](<reports/eval.md>)"), "{registry_md}");
    assert_eq!(p.registry()["models"]["m"]["versions"][0]["report"], "reports/eval.md");
}

#[test]
fn a_misspelt_model_name_gets_a_suggestion() {
    let p = trained();
    p.mlctl()
        .args(["evaluate", "mm", "--data", "data/holdout.csv"])
        .assert()
        .code(1)
        .stderr(contains("no model named \"mm\" (did you mean \"m\"?) (known models: m)"));
}
