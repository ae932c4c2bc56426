//! Numbers that would be silently wrong: scoring on training rows (#35), made holdouts (`mlctl split`) and the
//! positive class of binary metrics.

use predicates::str::contains;

use crate::common::{TestProject, QUICK};

/// A project with `m` trained on `data/train.csv` (600 rows, seed 1) and a fresh sample `data/fresh.csv`.
fn trained() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 600, 1);
    p.sample("fresh", 300, 2);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    p
}

/// `data/train.csv`'s rows in reverse order: the same rows, another file (another SHA-256).
fn reversed_training_rows(p: &TestProject) {
    let text = std::fs::read_to_string(p.path("data/train.csv")).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let header = lines.remove(0);
    lines.reverse();
    p.write("data/copy.csv", &format!("{header}\n{}\n", lines.join("\n")));
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", TestProject::stderr_of(out));
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

#[test]
fn evaluate_refuses_the_training_file_unless_allowed() {
    let p = trained();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/train.csv"])
        .assert()
        .code(1)
        .stderr(contains("data/train.csv: is the file m@1.0.0 was trained on"))
        .stderr(contains("--allow-overlap"));
    // The default-seed trap: a "holdout" exported with the training seed is the training file again.
    p.sample("holdout", 600, 1);
    p.mlctl().args(["evaluate", "m", "--data", "data/holdout.csv"]).assert().code(1);
    let out = p.mlctl().args(["--json", "evaluate", "m", "--data", "data/train.csv", "--allow-overlap"]).output();
    let v = json_of(&out.unwrap());
    assert_eq!(v["training_overlap"]["training_file"], true);
    assert!(v["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("was trained on")));
}

#[test]
fn evaluate_refuses_training_rows_in_another_file_and_reports_the_share() {
    let p = trained();
    reversed_training_rows(&p);
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/copy.csv"])
        .assert()
        .code(1)
        .stderr(contains("of its 600 rows"))
        .stderr(contains("are rows m@1.0.0 was trained on"));
    let v = json_of(
        &p.mlctl().args(["--json", "evaluate", "m", "--data", "data/copy.csv", "--allow-overlap"]).output().unwrap(),
    );
    let share = v["training_overlap"]["share"].as_f64().unwrap();
    // The training split is 80% of the rows.
    assert!((share - 0.8).abs() < 0.03, "share {share}");
    assert_eq!(v["training_overlap"]["training_file"], false);
}

#[test]
fn fresh_rows_pass_with_their_overlap_reported() {
    let p = trained();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/fresh.csv"])
        .assert()
        .success()
        .stdout(contains("overlap with training: "))
        .stdout(contains("% of rows were training rows"));
    let v = json_of(&p.mlctl().args(["--json", "evaluate", "m", "--data", "data/fresh.csv"]).output().unwrap());
    let share = v["training_overlap"]["share"].as_f64().unwrap();
    assert!(share < 0.05, "share {share}");
    assert!(v["training_overlap"]["false_positive_rate"].as_f64().unwrap() < 0.02);
}

#[test]
fn rows_match_whatever_the_number_formatting() {
    let p = TestProject::new();
    let mut train = String::from("x,z,colour,label\n");
    let mut same = String::from("x,z,colour,label\n");
    for i in 0..200 {
        let colour = ["red", "green", "blue"][i % 3];
        let label = if (i * 7) % 5 < 2 { "yes" } else { "no" };
        train.push_str(&format!("{},{}.5,{colour},{label}\n", i, i % 13));
        // The same values written another way: 3 as 3.0, 4.5 as 4.50.
        same.push_str(&format!("{}.0,{}.50,{colour},{label}\n", i, i % 13));
    }
    p.write("data/t.csv", &train);
    p.write("data/same.csv", &same);
    p.mlctl().args(["-q", "train", "data/t.csv", "--target", "label", "--name", "m"]).args(QUICK).assert().success();
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/same.csv"])
        .assert()
        .code(1)
        .stderr(contains("are rows m@1.0.0 was trained on"));
}

#[test]
fn a_version_without_a_fingerprint_is_scored_with_a_note() {
    let p = trained();
    std::fs::remove_file(p.path("ml_models/m/1.0.0/fingerprint.bin")).unwrap();
    reversed_training_rows(&p);
    let v = json_of(&p.mlctl().args(["--json", "evaluate", "m", "--data", "data/copy.csv"]).output().unwrap());
    assert!(v["training_overlap"]["share"].is_null());
    assert!(v["training_overlap"]["note"].as_str().unwrap().contains("trained before mlctl kept a fingerprint"));
    // The training file itself is still known by its hash.
    p.mlctl().args(["evaluate", "m", "--data", "data/train.csv"]).assert().code(1);
}

#[test]
fn promote_data_refuses_training_rows_unless_allowed() {
    let p = trained();
    reversed_training_rows(&p);
    p.mlctl()
        .args(["promote", "m@1.0.0", "--to", "production", "--data", "data/train.csv"])
        .assert()
        .code(1)
        .stderr(contains("is the file m@1.0.0 was trained on"));
    p.mlctl()
        .args(["promote", "m@1.0.0", "--to", "production", "--data", "data/copy.csv"])
        .assert()
        .code(1)
        .stderr(contains("are rows m@1.0.0 was trained on"));
    let v = json_of(
        &p.mlctl()
            .args(["--json", "promote", "m@1.0.0", "--to", "production", "--data", "data/copy.csv", "--allow-overlap"])
            .output()
            .unwrap(),
    );
    assert_eq!(v["changed"], true);
    let share = v["gate"]["training_overlap"][0][1].as_f64().unwrap();
    assert!(share > 0.7, "share {share}");
    // On fresh rows the gate runs and names the share.
    p.mlctl()
        .args(["-q", "train", "data/train.csv", "--target", "success", "--name", "m", "--set", "n_trees=20"])
        .assert()
        .success();
    p.mlctl()
        .args(["promote", "m@1.1.0", "--to", "production", "--data", "data/fresh.csv", "--min-improvement", "-1"])
        .assert()
        .success()
        .stdout(contains("rows of the data each version was trained on: 1.1.0 "));
}
