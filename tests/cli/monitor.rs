//! Prediction ids, `mlctl outcomes` and `mlctl monitor`: the join of logged predictions with outcomes recorded
//! later, scored per window exactly as `evaluate` scores a file, and the verdict's exit code.

use std::process::Command as Process;

use predicates::str::contains;
use serde::Deserialize;

use crate::common::{TestProject, QUICK};

/// Model `m` trained on 1,500 generated rows (trained at the test clock, 2026-01-02), and two later batches of
/// 300 rows each with a `task_id` column: `data/week1.csv` (ids w1-…) and `data/week2.csv` (ids w2-…).
fn project() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 1500, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    for (week, seed) in [("week1", 2), ("week2", 3)] {
        p.sample(week, 300, seed);
        add_ids(&p, week, |i| format!("w{}-{i}", &week[4..]), |_, _| true);
    }
    p
}

/// Rewrites the generated `data/NAME.csv` with a `task_id` column (`id(i)` for data row i, counted before `keep`
/// leaves rows out, given the header and the row's cells); returns how many rows it keeps.
fn add_ids(
    p: &TestProject,
    name: &str,
    id: impl Fn(usize) -> String,
    keep: impl Fn(&[&str], &[&str]) -> bool,
) -> usize {
    let rel = format!("data/{name}.csv");
    let text = std::fs::read_to_string(p.path(&rel)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let columns: Vec<&str> = header.split(',').collect();
    let mut out = vec![format!("task_id,{header}")];
    for (i, line) in lines.enumerate() {
        if keep(&columns, &line.split(',').collect::<Vec<_>>()) {
            out.push(format!("{},{line}", id(i)));
        }
    }
    p.write(&rel, &(out.join("\n") + "\n"));
    out.len() - 1
}

/// Predicts `week` at `now` with its ids logged.
fn predict_at(p: &TestProject, week: &str, now: &str) {
    p.mlctl()
        .env("MLCTL_TEST_NOW", now)
        .args(["-q", "predict", "m", "--input", &format!("data/{week}.csv"), "--id-column", "task_id"])
        .args(["-o", &format!("{week}-predictions.csv")])
        .assert()
        .success();
}

/// `data/NAME-labels.csv`: the week's ids and true outcomes; with `flip`, every outcome inverted (the world
/// changed: the model's predictions no longer come true).
fn labels(p: &TestProject, week: &str, flip: bool) -> String {
    let text = std::fs::read_to_string(p.path(&format!("data/{week}.csv"))).unwrap();
    let mut out = vec!["task_id,success".to_owned()];
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let y = cells[cells.len() - 1];
        let y = if flip {
            if y == "1" {
                "0"
            } else {
                "1"
            }
        } else {
            y
        };
        out.push(format!("{},{y}", cells[0]));
    }
    p.write(&format!("data/{week}-labels.csv"), &(out.join("\n") + "\n"));
    format!("data/{week}-labels.csv")
}

fn record(p: &TestProject, labels: &str) {
    p.mlctl().args(["-q", "outcomes", "m", "--data", labels, "--id-column", "task_id"]).assert().success();
}

/// The --json document, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Report {
    model: String,
    task: String,
    since: String,
    until: String,
    window_seconds: i64,
    windows: Vec<Window>,
    join: Join,
    age: serde_json::Value,
    age_days: f64,
    rules: serde_json::Value,
    estimation: String,
    verdict: String,
    reasons: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Window {
    start: String,
    end: String,
    predicted: usize,
    labelled: usize,
    versions: std::collections::BTreeMap<String, usize>,
    metrics: std::collections::BTreeMap<String, f64>,
    compared_with: Option<String>,
    test_metrics: std::collections::BTreeMap<String, f64>,
    change: std::collections::BTreeMap<String, f64>,
    judged: bool,
    estimated: std::collections::BTreeMap<String, f64>,
    estimated_rows: usize,
    estimated_change: std::collections::BTreeMap<String, f64>,
    drift_share: Option<f64>,
    drifted_features: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Join {
    predictions: usize,
    predictions_with_outcome: usize,
    predictions_without_id: usize,
    outcomes: usize,
    outcomes_without_prediction: usize,
    outcomes_replaced: usize,
    unmatched: usize,
    torn_lines: usize,
}

fn monitor_json(p: &TestProject, now: &str, args: &[&str]) -> (Report, i32) {
    let out = p.mlctl().env("MLCTL_TEST_NOW", now).args(["--json", "monitor", "m"]).args(args).output().unwrap();
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", TestProject::stderr_of(&out)));
    (report, out.status.code().unwrap())
}

fn evaluate_f1(p: &TestProject, data: &str) -> f64 {
    let out = p.mlctl().args(["--json", "evaluate", "m", "--data", data]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["metrics"]["f1"].as_f64().unwrap()
}

#[test]
fn predict_logs_the_id_column_and_generates_unique_ids_otherwise() {
    let p = project();
    predict_at(&p, "week1", "2026-01-05T10:00:00Z");
    let log = std::fs::read_to_string(p.path("logs/predictions/m/2026-01-05.jsonl")).unwrap();
    let ids: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 300);
    assert_eq!(ids[0], "w1-0");
    assert_eq!(ids[299], "w1-299");

    // Without --id-column: generated ids, unique across runs, in the JSON output and the log alike.
    for _ in 0..2 {
        p.mlctl().args(["-q", "predict", "m", "--input", "data/week2.csv", "--format", "ndjson"]).assert().success();
    }
    let out = p.mlctl().args(["predict", "m", "--input", "data/week2.csv", "--format", "ndjson"]).output().unwrap();
    let shown: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    let log = std::fs::read_to_string(p.path("logs/predictions/m/2026-01-02.jsonl")).unwrap();
    let logged: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(logged.len(), 900);
    assert_eq!(&logged[600..], &shown[..], "the output shows the ids that were logged");
    let unique: std::collections::HashSet<_> = logged.iter().collect();
    assert_eq!(unique.len(), 900, "generated ids are unique across runs");

    // Not logged: no ids to show.
    let out = p.mlctl().args(["predict", "m", "--input", "data/week2.csv", "--format", "ndjson", "--no-log"]).output();
    assert!(!String::from_utf8(out.unwrap().stdout).unwrap().contains("\"id\""));
    p.mlctl()
        .args(["predict", "m", "--input", "data/week2.csv", "--id-column", "ticket"])
        .assert()
        .code(1)
        .stderr(contains("data/week2.csv"))
        .stderr(contains("ticket"));
}

#[test]
fn outcomes_are_checked_against_the_model_and_a_bad_file_records_nothing() {
    let p = project();
    p.write("data/bad.csv", "task_id,success\nw1-0,1\nw1-1,0\nw1-2,yes\n");
    p.mlctl()
        .args(["outcomes", "m", "--data", "data/bad.csv", "--id-column", "task_id"])
        .assert()
        .code(1)
        .stderr(contains("data/bad.csv"))
        .stderr(contains("row 3"))
        .stderr(contains("\"yes\" is not a class"));
    assert!(
        !p.path("logs/outcomes").join("m").exists()
            || std::fs::read_dir(p.path("logs/outcomes/m")).unwrap().count() == 0
    );
    p.write("data/noid.csv", "task_id,success\nw1-0,1\n,0\n");
    p.mlctl()
        .args(["outcomes", "m", "--data", "data/noid.csv", "--id-column", "task_id"])
        .assert()
        .code(1)
        .stderr(contains("row 2"));
    p.mlctl()
        .args(["outcomes", "m", "--data", "data/noid.csv", "--id-column", "ticket"])
        .assert()
        .code(1)
        .stderr(contains("ticket"));

    // Missing labels are not known yet: skipped. "1.0" is class "1".
    p.write("data/ok.csv", "task_id,success\nw1-0,1.0\nw1-1,\nw1-2,0\n");
    let out = p.mlctl().args(["--json", "outcomes", "m", "--data", "data/ok.csv", "--id-column", "task_id"]).output();
    let v: serde_json::Value = serde_json::from_slice(&out.unwrap().stdout).unwrap();
    assert_eq!(v["recorded"], 2);
    assert_eq!(v["without_label"], 1);
    let log = std::fs::read_to_string(p.path("logs/outcomes/m/2026-01-02.jsonl")).unwrap();
    assert_eq!(log, "{\"id\":\"w1-0\",\"label\":\"1\",\"recorded_at\":\"2026-01-02T03:04:05Z\"}\n{\"id\":\"w1-2\",\"label\":\"0\",\"recorded_at\":\"2026-01-02T03:04:05Z\"}\n");
}

#[test]
fn monitor_scores_each_window_as_evaluate_does_and_says_retrain_due_when_outcomes_stop_coming_true() {
    let p = project();
    predict_at(&p, "week1", "2026-01-05T10:00:00Z");
    predict_at(&p, "week2", "2026-01-12T10:00:00Z");
    let labels1 = labels(&p, "week1", false);
    record(&p, &labels1);

    // Week 2's outcomes not known yet: judged on week 1 alone, which matches the test score.
    let now = "2026-01-15T00:00:00Z";
    let (r, code) = monitor_json(&p, now, &["--since", "2026-01-04", "--window", "7d"]);
    assert_eq!(code, 0, "{r:?}");
    assert_eq!(r.verdict, "OK");
    assert_eq!(r.windows.len(), 2);
    assert_eq!((r.windows[0].predicted, r.windows[0].labelled), (300, 300));
    assert_eq!((r.windows[1].predicted, r.windows[1].labelled), (300, 0));
    assert_eq!(r.windows[0].metrics["f1"], evaluate_f1(&p, "data/week1.csv"), "the same score as evaluate");
    assert_eq!(r.windows[0].compared_with.as_deref(), Some("1.0.0"));
    assert_eq!(r.join.predictions_with_outcome, 300);

    // Week 2's outcomes say the opposite of what was predicted: RETRAIN DUE, with the reason, exit 3.
    let labels2 = labels(&p, "week2", true);
    record(&p, &labels2);
    let (r, code) = monitor_json(&p, now, &["--since", "2026-01-04", "--window", "7d"]);
    assert_eq!(code, 3);
    assert_eq!(r.verdict, "RETRAIN DUE");
    assert_eq!(r.reasons.len(), 1, "{:?}", r.reasons);
    assert!(r.reasons[0].starts_with("f1 fell from"), "{}", r.reasons[0]);
    assert!(r.windows[1].change["f1"] < -0.05);
    // The estimate cannot see that kind of change (concept shift): it stays near the test score.
    assert!(r.windows[1].estimated_change["f1"].abs() < 0.05, "{:?}", r.windows[1].estimated_change);

    // The human view says the same, with the table.
    p.mlctl()
        .env("MLCTL_TEST_NOW", now)
        .args(["monitor", "m", "--since", "2026-01-04"])
        .assert()
        .code(3)
        .stdout(contains("RETRAIN DUE"))
        .stdout(contains("2026-01-08 – 2026-01-15"));
}

#[test]
fn monitor_counts_what_does_not_join_and_the_latest_outcome_wins() {
    let p = project();
    predict_at(&p, "week1", "2026-01-05T10:00:00Z");
    // First recorded wrong, then corrected: the correction wins.
    let wrong = labels(&p, "week1", true);
    record(&p, &wrong);
    let right = labels(&p, "week1", false);
    record(&p, &right);
    // An outcome for an id never predicted; a prediction log line cut by a killed writer.
    p.write("data/stray.csv", "task_id,success\nzz-1,1\n");
    record(&p, "data/stray.csv");
    let log = p.path("logs/predictions/m/2026-01-05.jsonl");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str("{\"features\":{\"emp_active");
    std::fs::write(&log, text).unwrap();

    let (r, code) = monitor_json(&p, "2026-01-08T00:00:00Z", &["--since", "7d"]);
    assert_eq!(code, 0, "{r:?}");
    assert_eq!(r.windows[0].metrics["f1"], evaluate_f1(&p, "data/week1.csv"));
    assert_eq!(r.join.predictions, 300);
    assert_eq!(r.join.outcomes, 301);
    assert_eq!(r.join.outcomes_replaced, 300);
    assert_eq!(r.join.outcomes_without_prediction, 1);
    assert_eq!(r.join.torn_lines, 1);
    assert!(r.warnings.iter().any(|w| w.contains("torn")), "{:?}", r.warnings);
}

#[test]
fn monitor_checks_age_writes_a_report_and_gauges_that_promtool_accepts() {
    let p = project();
    predict_at(&p, "week1", "2026-01-05T10:00:00Z");
    record(&p, &labels(&p, "week1", false));
    // Trained 2026-01-02; 40 days later.
    p.mlctl()
        .env("MLCTL_TEST_NOW", "2026-02-11T03:04:05Z")
        .args(["--metrics-file", "monitor.prom", "monitor", "m", "--since", "2026-01-01", "--max-age", "30d"])
        .args(["--report", "reports/monitor.md"])
        .assert()
        .code(3)
        .stdout(contains("trained 40.0 days ago (--max-age 30.0 days)"));
    let md = std::fs::read_to_string(p.path("reports/monitor.md")).unwrap();
    assert!(md.contains("**RETRAIN DUE**"));
    assert!(md.contains("![f1 per window](monitor-f1.svg)"));
    assert!(std::fs::read_to_string(p.path("reports/monitor-f1.svg")).unwrap().starts_with("<svg"));
    let prom = std::fs::read_to_string(p.path("monitor.prom")).unwrap();
    assert!(prom.contains("mlctl_monitor_retrain_due{model=\"m\"} 1"), "{prom}");
    let check = Process::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(p.path("monitor.prom")).unwrap())
        .output()
        .expect("promtool is needed (scripts/install_promtool.sh installs it; make test runs it)");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

#[test]
fn monitor_refuses_bad_rules_and_models_without_outcomes() {
    let p = project();
    for (args, message) in [
        (&["--window", "0d"][..], "--window 0d"),
        (&["--max-drop", "f9=0.1"][..], "unknown metric \"f9\""),
        (&["--max-drop", "f1"][..], "expected METRIC=X"),
        (&["--since", "1m", "--window", "1s"][..], "--window 1s"),
    ] {
        p.mlctl().args(["monitor", "m"]).args(args).assert().code(2).stderr(contains(message));
    }
    p.mlctl().args(["monitor", "nope"]).assert().code(1).stderr(contains("no model named nope"));
    // Nothing logged yet: OK, but says why performance was not judged.
    p.mlctl().args(["monitor", "m"]).assert().success().stderr(contains("performance not judged"));
}

/// Under covariate shift (the inputs move, how outcomes depend on them does not), CBPE's estimates from the
/// calibrated probabilities track the realised metrics before any outcome is known.
#[test]
fn estimates_before_outcomes_track_the_realised_metrics_under_covariate_shift() {
    let p = TestProject::new();
    let data = p.sample("train", 8000, 1);
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=50"])
        .assert()
        .success();
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("ml_models/m/1.0.0/metadata.json")).unwrap()).unwrap();
    let calibration = &meta["calibration"];
    assert_eq!(calibration["map"]["method"], "isotonic", "1,600 test rows: isotonic");
    assert!(calibration["ece_calibrated"].as_f64().unwrap() < calibration["ece_raw"].as_f64().unwrap());

    // The shift: only well-matched assignments, or busy employees (a third of the rows are left out).
    p.sample("shifted", 12000, 21);
    let kept = add_ids(
        &p,
        "shifted",
        |i| format!("t{i}"),
        |columns, cells| {
            let at = |name: &str| columns.iter().position(|c| *c == name).unwrap();
            cells[at("skill_match_score")].parse::<f64>().unwrap() > 0.6 || cells[at("emp_availability")] == "busy"
        },
    );
    assert!(kept > 5000, "{kept}");
    labels(&p, "shifted", false);
    predict_at(&p, "shifted", "2026-01-05T10:00:00Z");

    let now = "2026-01-08T00:00:00Z";
    let (before, code) = monitor_json(&p, now, &["--since", "7d"]);
    assert_eq!(code, 0, "{before:?}");
    let w = &before.windows[0];
    assert_eq!((w.labelled, w.estimated_rows), (0, kept));
    // The inputs did move: the window's drift names the feature, below the default rule's share of one half.
    assert!(w.drifted_features.contains(&"skill_match_score".to_owned()), "{:?}", w.drifted_features);
    assert!(w.drift_share.unwrap() < 0.5);
    let (strict, code) = monitor_json(&p, now, &["--since", "7d", "--fail-on", "any"]);
    assert_eq!(code, 3);
    assert!(
        strict.reasons.iter().any(|r| r.contains("drifted") && r.contains("skill_match_score")),
        "{:?}",
        strict.reasons
    );
    record(&p, "data/shifted-labels.csv");
    let (after, _) = monitor_json(&p, now, &["--since", "7d"]);
    let realised = &after.windows[0].metrics;
    assert!(realised["accuracy"] - w.test_metrics["accuracy"] > 0.02, "the shift moved the realised accuracy");
    for metric in ["accuracy", "roc_auc"] {
        let (estimated, realised) = (w.estimated[metric], realised[metric]);
        assert!((estimated - realised).abs() <= 0.02, "{metric}: estimated {estimated}, realised {realised}");
    }
}

/// The sample generator's own shifts: a covariate shift (`--shift`) moves the estimate with the realised score;
/// a concept shift (`--concept-shift`) lowers the realised score, which `monitor` reports as RETRAIN DUE, while
/// the estimate, which cannot see it, stays near the test score.
#[test]
fn generated_covariate_shift_is_estimated_and_concept_shift_is_caught_by_the_outcomes() {
    let p = TestProject::new();
    let data = p.sample("train", 8000, 1);
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=50"])
        .assert()
        .success();
    let week = |name: &str, shift: &[&str], now: &str| {
        let rel = format!("data/{name}.csv");
        p.mlctl()
            .args(["-q", "export", "--sample", "skill-assignment", "--rows", "5000", "--seed", "21", "-o", &rel])
            .args(shift)
            .assert()
            .success();
        add_ids(&p, name, |i| format!("{name}-{i}"), |_, _| true);
        labels(&p, name, false);
        predict_at(&p, name, now);
    };
    week("covariate", &["--shift", "0.5"], "2026-01-05T10:00:00Z");
    record(&p, "data/covariate-labels.csv");
    let (r, _) = monitor_json(&p, "2026-01-08T00:00:00Z", &["--since", "7d", "--fail-on", "share=1"]);
    let w = &r.windows[0];
    for metric in ["accuracy", "roc_auc"] {
        let (estimated, realised) = (w.estimated[metric], w.metrics[metric]);
        assert!((estimated - realised).abs() <= 0.02, "{metric}: estimated {estimated}, realised {realised}");
    }

    week("concept", &["--concept-shift", "1"], "2026-01-12T10:00:00Z");
    record(&p, "data/concept-labels.csv");
    let (r, code) = monitor_json(&p, "2026-01-15T00:00:00Z", &["--since", "7d", "--fail-on", "share=1"]);
    let w = &r.windows[0];
    assert_eq!(code, 3, "{:?}", r.reasons);
    assert!(r.reasons.iter().any(|x| x.starts_with("f1 fell")), "{:?}", r.reasons);
    assert!(w.change["f1"] < -0.05);
    assert!(w.estimated_change["f1"].abs() < 0.05, "the estimate cannot see a concept shift: {:?}", w.estimated_change);
}
