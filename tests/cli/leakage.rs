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

/// The record of row `i` in `data/all.csv` of the split test, with its line end.
fn all_csv_record(i: usize) -> String {
    if i == 50 {
        return "50,last,1.0,churned\n".to_owned();
    }
    let label = if i.is_multiple_of(4) { "churned" } else { "stayed" };
    format!("{i},\"line one\nline two {i}\",{i}.50,{label}\n")
}

/// The ids of a part's records, in file order (a record's second line starts with "line two").
fn ids_in(part: &str) -> Vec<usize> {
    part.lines()
        .skip(1)
        .filter(|l| !l.starts_with("line two"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn split_copies_rows_as_they_are_in_order_with_cards_and_is_seeded() {
    let p = TestProject::new();
    // A quoted line break, a number written 1.0, and no line end after the last row: all copied as they are.
    let header = "id,note,amount,label\n";
    let all: String = std::iter::once(header.to_owned()).chain((0..=50).map(all_csv_record)).collect();
    p.write("data/all.csv", all.trim_end_matches('\n'));
    let split =
        ["split", "data/all.csv", "-o", "data/train.csv", "--holdout", "data/holdout.csv", "--stratify", "label"];
    let run = |seed: &str| {
        json_of(&p.mlctl().args(["--json"]).args(split).args(["--test-size", "0.25", "--seed", seed]).output().unwrap())
    };
    let v = run("7");
    assert_eq!((v["train"]["rows"].as_u64(), v["holdout"]["rows"].as_u64()), (Some(38), Some(13)));
    let train = std::fs::read_to_string(p.path("data/train.csv")).unwrap();
    let holdout = std::fs::read_to_string(p.path("data/holdout.csv")).unwrap();
    let mut seen = Vec::new();
    for part in [&train, &holdout] {
        let ids = ids_in(part);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "rows keep their order: {ids:?}");
        let expected: String =
            std::iter::once(header.to_owned()).chain(ids.iter().map(|&i| all_csv_record(i))).collect();
        assert_eq!(part, &expected, "rows are copied byte for byte");
        seen.extend(ids);
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..=50).collect::<Vec<_>>(), "every row lands in exactly one part");
    // Stratified: 14 of the 51 rows are churned; a quarter of them (3.5, rounded to 4) are held out.
    assert_eq!(ids_in(&holdout).iter().filter(|&&i| i.is_multiple_of(4) || i == 50).count(), 4);
    // Cards beside both files, as export writes them.
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("data/holdout.csv.card.json")).unwrap()).unwrap();
    assert_eq!(card["rows"], 13);
    assert_eq!(card["path"], "holdout.csv");
    assert_eq!(card["sha256"], v["holdout"]["sha256"]);
    assert!(card["source"].as_str().unwrap().contains("all.csv (holdout part of a split"));
    assert!(p.path("data/train.csv.card.json").exists());
    // The same seed gives the same files; another seed other rows.
    run("7");
    assert_eq!(std::fs::read_to_string(p.path("data/holdout.csv")).unwrap(), holdout);
    run("8");
    assert_ne!(std::fs::read_to_string(p.path("data/holdout.csv")).unwrap(), holdout);
}

#[test]
fn split_refuses_to_write_over_its_input_and_names_bad_flags() {
    let p = TestProject::new();
    let data = p.sample("all", 100, 1);
    let before = std::fs::read(p.path(&data)).unwrap();
    p.mlctl()
        .args(["split", &data, "-o", &data, "--holdout", "data/h.csv"])
        .assert()
        .code(1)
        .stderr(contains("is the input file"));
    p.mlctl()
        .args(["split", &data, "-o", "data/t.csv", "--holdout", "./data/all.csv"])
        .assert()
        .code(1)
        .stderr(contains("is the input file"));
    p.mlctl()
        .args(["split", &data, "-o", "data/t.csv", "--holdout", "data/t.csv"])
        .assert()
        .code(1)
        .stderr(contains("the same file"));
    p.mlctl()
        .args(["split", &data, "-o", "data/t.csv", "--holdout", "data/h.csv", "--stratify", "sucess"])
        .assert()
        .code(1)
        .stderr(contains("success"));
    p.mlctl()
        .args(["split", &data, "-o", "data/t.csv", "--holdout", "data/h.csv", "--test-size", "1"])
        .assert()
        .code(1)
        .stderr(contains("--test-size"));
    assert_eq!(std::fs::read(p.path(&data)).unwrap(), before);
    assert!(!p.path("data/t.csv").exists() && !p.path("data/h.csv").exists());
}

#[test]
fn a_split_holdout_passes_the_overlap_check() {
    let p = TestProject::new();
    let data = p.sample("all", 800, 1);
    p.mlctl()
        .args(["-q", "split", &data, "-o", "data/train.csv", "--holdout", "data/holdout.csv", "--stratify", "success"])
        .assert()
        .success();
    p.mlctl()
        .args(["-q", "train", "data/train.csv", "--target", "success", "--name", "m"])
        .args(QUICK)
        .assert()
        .success();
    let v = json_of(&p.mlctl().args(["--json", "evaluate", "m", "--data", "data/holdout.csv"]).output().unwrap());
    assert!(v["training_overlap"]["share"].as_f64().unwrap() < 0.05);
}

/// A binary CSV whose positive label (`pos`) is the minority and sorts first when renamed churned/stayed;
/// `offset` moves every feature value, so files with different offsets share no rows.
fn binary_csv(p: &TestProject, rel: &str, pos: &str, neg: &str, offset: f64) {
    let mut text = String::from("x,z,label\n");
    for i in 0..400 {
        let x = f64::from(i % 50) + offset;
        let positive = (i % 50 < 15) != (i % 9 == 0);
        let label = if positive { pos } else { neg };
        text.push_str(&format!("{x},{},{label}\n", (i * 37) % 11));
    }
    p.write(rel, &text);
}

fn train_json(p: &TestProject, data: &str, name: &str, extra: &[&str]) -> serde_json::Value {
    let args = ["--json", "train", data, "--target", "label", "--name", name];
    json_of(&p.mlctl().args(args).args(QUICK).args(extra).output().unwrap())
}

#[test]
fn the_positive_class_does_not_move_when_labels_are_renamed() {
    let p = TestProject::new();
    binary_csv(&p, "data/yes_no.csv", "yes", "no", 0.0);
    binary_csv(&p, "data/churn.csv", "churned", "stayed", 0.0);
    let yes = train_json(&p, "data/yes_no.csv", "a", &[]);
    let churn = train_json(&p, "data/churn.csv", "b", &[]);
    assert_eq!(yes["pos_label"], "yes");
    // The minority class, though "stayed" sorts last.
    assert_eq!(churn["pos_label"], "churned");
    assert_eq!(churn["classes"], serde_json::json!(["stayed", "churned"]));
    assert_eq!(yes["metrics"]["f1"], churn["metrics"]["f1"]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("ml_models/b/1.0.0/metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["pos_label"], "churned");
    // A 1/true/yes label is positive even as the majority.
    binary_csv(&p, "data/majority_yes.csv", "no", "yes", 0.0);
    assert_eq!(train_json(&p, "data/majority_yes.csv", "c", &[])["pos_label"], "yes");
    // --pos-label decides, and the output says which class the metrics are about.
    let stayed = train_json(&p, "data/churn.csv", "d", &["--pos-label", "stayed"]);
    assert_eq!(stayed["pos_label"], "stayed");
    assert_ne!(stayed["metrics"]["f1"], churn["metrics"]["f1"]);
    p.mlctl()
        .args(["train", "data/churn.csv", "--target", "label", "--name", "e"])
        .args(QUICK)
        .assert()
        .success()
        .stdout(contains("positive  class \"churned\""));
    p.mlctl()
        .args(["train", "data/churn.csv", "--target", "label", "--name", "f", "--pos-label", "gone"])
        .assert()
        .failure()
        .stderr(contains("--pos-label gone: not a class of the target; its classes are churned, stayed"));
}

#[test]
fn pos_label_comes_from_mlctl_toml() {
    let p = TestProject::new();
    binary_csv(&p, "data/churn.csv", "churned", "stayed", 0.0);
    p.write(
        "mlctl.toml",
        "[models.m]\ndata = \"data/churn.csv\"\ntarget = \"label\"\npos_label = \"stayed\"\n[models.m.params]\nn_trees = 15\n",
    );
    let v = json_of(&p.mlctl().args(["--json", "train", "--model", "m"]).output().unwrap());
    assert_eq!(v["pos_label"], "stayed");
}

#[test]
fn evaluate_and_promote_name_the_positive_class_in_gates() {
    let p = TestProject::new();
    binary_csv(&p, "data/churn.csv", "churned", "stayed", 0.0);
    binary_csv(&p, "data/holdout.csv", "churned", "stayed", 0.25);
    train_json(&p, "data/churn.csv", "m", &[]);
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/holdout.csv", "--min", "f1=0.01", "--min", "accuracy=0.01"])
        .assert()
        .success()
        .stdout(contains("positive class: churned"))
        .stdout(contains("ok   f1 (positive class: churned) ≥ 0.01"))
        .stdout(contains("ok   accuracy ≥ 0.01"));
    let eval = |extra: &[&str]| {
        let args = ["--json", "evaluate", "m", "--data", "data/holdout.csv"];
        json_of(&p.mlctl().args(args).args(extra).output().unwrap())
    };
    let churned = eval(&[]);
    let stayed = eval(&["--pos-label", "stayed"]);
    assert_eq!((churned["pos_label"].as_str(), stayed["pos_label"].as_str()), (Some("churned"), Some("stayed")));
    assert_ne!(churned["metrics"]["f1"], stayed["metrics"]["f1"]);
    assert_eq!(churned["metrics"]["accuracy"], stayed["metrics"]["accuracy"]);
    p.mlctl()
        .args(["promote", "m", "--to", "production", "--data", "data/holdout.csv"])
        .assert()
        .success()
        .stdout(contains("Gate on f1 (positive class: churned; higher is better)"));
    // Stored metrics are about the class the model was trained with.
    train_json(&p, "data/churn.csv", "m", &["--set", "n_trees=5"]);
    p.mlctl()
        .args(["promote", "m@1.1.0", "--to", "production", "--pos-label", "stayed"])
        .assert()
        .failure()
        .stderr(contains("is about class churned"));
}

#[test]
fn a_missing_column_is_reported_by_scoring_not_by_the_overlap_check() {
    let p = trained();
    let text = std::fs::read_to_string(p.path("data/fresh.csv")).unwrap();
    let without_first: String = text.lines().map(|l| l.split_once(',').unwrap().1.to_owned() + "\n").collect();
    p.write("data/fewer.csv", &without_first);
    p.mlctl()
        .args(["evaluate", "m", "--data", "data/fewer.csv"])
        .assert()
        .code(1)
        .stderr(contains("is missing feature column(s) the model needs: emp_experience_years"));
}
