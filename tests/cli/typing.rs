//! Typing and labelling rules of issue #31: rows without a target, stray tokens in numeric columns, extra
//! missing tokens, identifier-like columns and the infrequent one-hot slot.

use predicates::str::contains;

use crate::common::{TestProject, QUICK};

/// A CSV of `rows` rows: `x` numeric, `c` a category, and the target `y` (a class, or a number when
/// `regression`), learnable from `x`. `cell(i, column)` overrides a cell.
fn table(rows: usize, regression: bool, cell: impl Fn(usize, &str) -> Option<String>) -> String {
    let mut text = String::from("x,c,y\n");
    for i in 0..rows {
        let x = cell(i, "x").unwrap_or_else(|| (i % 50).to_string());
        let c = cell(i, "c").unwrap_or_else(|| ["red", "green", "blue"][i % 3].to_owned());
        let y = cell(i, "y").unwrap_or_else(|| {
            if regression {
                format!("{}.5", i % 50 * 2)
            } else {
                ((i % 50) / 25).to_string()
            }
        });
        text.push_str(&format!("{x},{c},{y}\n"));
    }
    text
}

fn metadata(p: &TestProject, model: &str, version: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p.path(&format!("ml_models/{model}/{version}/metadata.json"))).unwrap())
        .unwrap()
}

#[test]
fn rows_without_a_target_are_dropped_with_a_warning_and_counted() {
    let p = TestProject::new();
    let blank = |i: usize, col: &str| (col == "y" && (i == 4 || i == 9 || i % 40 == 39)).then(String::new);
    p.write("d.csv", &table(200, false, blank));
    let out =
        p.mlctl().args(["--json", "train", "d.csv", "--target", "y", "--name", "m"]).args(QUICK).output().unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("dropped 7 row(s) without a value of the target \"y\" (rows 5, 10, 40, 80, 120, …)"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["rows"].as_u64(), report["rows_without_target"].as_u64()), (Some(200), Some(7)));
    assert_eq!(report["train_rows"].as_u64().unwrap() + report["test_rows"].as_u64().unwrap(), 193);
    assert_eq!(metadata(&p, "m", "1.0.0")["rows_without_target"], 7);
    // --compare cross-validates on the same labelled rows.
    p.mlctl()
        .args(["train", "d.csv", "--target", "y", "--name", "c", "--compare", "random-forest,naive-bayes", "--cv", "2"])
        .args(QUICK)
        .assert()
        .success()
        .stderr(contains("dropped 7 row(s) without a value of the target"));
    assert_eq!(metadata(&p, "c", "1.0.0")["rows_without_target"], 7);

    // Regression alike; a missing-value token counts as missing.
    let na = |i: usize, col: &str| (col == "y" && i == 2).then(|| "NA".to_owned());
    p.write("r.csv", &table(100, true, na));
    p.mlctl()
        .args(["train", "r.csv", "--target", "y", "--name", "r", "--task", "regression"])
        .args(QUICK)
        .assert()
        .success()
        .stderr(contains("dropped 1 row(s) without a value of the target \"y\" (row 3)"));
    assert_eq!(metadata(&p, "r", "1.0.0")["rows_without_target"], 1);

    // --require-target (or require_target in mlctl.toml) refuses them, as a non-number target still is.
    p.mlctl()
        .args(["train", "d.csv", "--target", "y", "--name", "m", "--require-target"])
        .assert()
        .code(1)
        .stderr(contains("d.csv: row 5, column \"y\": the target is missing in 7 row(s) (rows 5, 10, 40, 80, 120, …)"));
    p.write("mlctl.toml", "[models.strict]\ndata = \"d.csv\"\ntarget = \"y\"\nrequire_target = true\n");
    p.mlctl().args(["train", "--model", "strict"]).assert().code(1).stderr(contains("--require-target refuses"));
    let word = |i: usize, col: &str| match (col, i) {
        ("y", 2) => Some(String::new()),
        ("y", 6) => Some("many".to_owned()),
        _ => None,
    };
    p.write("w.csv", &table(100, true, word));
    p.mlctl()
        .args(["train", "w.csv", "--target", "y", "--name", "w", "--task", "regression"])
        .assert()
        .code(1)
        .stderr(contains("w.csv: row 7, column \"y\": \"many\" is not a number"));
    assert!(p.versions("w").is_empty());
}

#[test]
fn evaluate_and_promote_score_only_the_rows_with_a_target() {
    let p = TestProject::new();
    p.write("d.csv", &table(200, false, |_, _| None));
    p.mlctl().args(["-q", "train", "d.csv", "--target", "y", "--name", "m"]).args(QUICK).assert().success();
    let blank = |i: usize, col: &str| (col == "y" && i % 10 == 3).then(String::new);
    p.write("h.csv", &table(100, false, blank));
    let out = p.mlctl().args(["--json", "evaluate", "m", "--data", "h.csv", "--allow-overlap"]).output().unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["data"]["rows"].as_u64(), report["data"]["rows_without_target"].as_u64()),
        (Some(100), Some(10))
    );
    let support: u64 = report["metrics"]["confusion_matrix"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(support, 90, "the confusion matrix counts the labelled rows");
    assert!(report["warnings"][0]
        .as_str()
        .unwrap()
        .contains("dropped 10 row(s) without a value of the target \"y\" (rows 4, 14, 24, 34, 44, …)"));

    p.mlctl()
        .args(["evaluate", "m", "--data", "h.csv", "--allow-overlap"])
        .assert()
        .success()
        .stdout(contains("on h.csv: 100 rows (10 without a target, left out)"));
    p.mlctl()
        .args(["-q", "promote", "m@1.0.0", "--to", "staging", "--data", "h.csv", "--allow-overlap"])
        .assert()
        .success();
    p.write("none.csv", &table(10, false, |_, col| (col == "y").then(String::new)));
    p.mlctl()
        .args(["evaluate", "m", "--data", "none.csv", "--allow-overlap"])
        .assert()
        .code(1)
        .stderr(contains("none.csv: row 1, column \"y\": the target is missing in 10 row(s)"));
}

/// `table` with `x` spelled "seven" in every seventh row and "?" in rows 5 and 50 (86% numbers).
fn stray(i: usize, col: &str) -> Option<String> {
    match col {
        "x" if i % 7 == 6 => Some("seven".to_owned()),
        "x" if i == 4 || i == 49 => Some("?".to_owned()),
        _ => None,
    }
}

#[test]
fn a_mostly_numeric_column_with_stray_tokens_is_refused_with_the_tokens_and_the_fixes() {
    let p = TestProject::new();
    p.write("d.csv", &table(140, false, stray));
    let out = p.mlctl().args(["train", "d.csv", "--target", "y", "--name", "m"]).output().unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "d.csv: row 5, column \"x\": looks numeric (118 of 140 values are numbers) but 22 value(s) are not",
        "\"seven\" ×20 (rows 7, 14, 21, …), \"?\" ×2 (rows 5, 50)",
        "--numeric x",
        "--categorical x",
        "--na-values",
    ] {
        assert!(stderr.contains(expected), "expected {expected:?} in {stderr}");
    }
    assert!(p.versions("m").is_empty());

    // Less than half numbers: a text column, as before.
    let words = |i: usize, col: &str| (col == "x" && !i.is_multiple_of(3)).then(|| format!("w{}", i % 4));
    p.write("w.csv", &table(60, false, words));
    p.mlctl().args(["-q", "train", "w.csv", "--target", "y", "--name", "w"]).args(QUICK).assert().success();
    assert_eq!(metadata(&p, "w", "1.0.0")["features"][0]["type"], "categorical");
}

#[test]
fn numeric_reads_stray_tokens_as_missing_at_training_and_prediction() {
    let p = TestProject::new();
    p.write("d.csv", &table(140, false, stray));
    p.mlctl()
        .args(["train", "d.csv", "--target", "y", "--name", "m", "--numeric", "x"])
        .args(QUICK)
        .assert()
        .success()
        .stderr(contains("column \"x\": 22 value(s) that are not numbers were read as missing values (--numeric x)"));
    let meta = metadata(&p, "m", "1.0.0");
    assert_eq!(
        (meta["features"][0]["type"].as_str(), meta["features"][0]["missing_in_training"].as_u64().map(|n| n > 0)),
        (Some("numeric"), Some(true))
    );
    // The model reads its column the same way.
    p.write("in.csv", "x,c\n3,red\nseven,blue\nlots,green\n");
    p.mlctl().args(["predict", "m", "--input", "in.csv", "--no-log"]).assert().success().stderr(contains(
        "column \"x\": 2 value(s) that are not numbers were read as missing values (trained with --numeric x)",
    ));
    p.write("h.csv", &table(60, false, stray));
    let drift = p.mlctl().args(["drift", "m", "--data", "h.csv"]).output().unwrap();
    assert!(matches!(drift.status.code(), Some(0 | 3)), "{}", TestProject::stderr_of(&drift));
    let evaluate = p.mlctl().args(["evaluate", "m", "--data", "h.csv", "--allow-overlap"]).output().unwrap();
    for (out, command) in [(&drift, "drift"), (&evaluate, "evaluate")] {
        let stderr = TestProject::stderr_of(out);
        let expected = "column \"x\": 10 value(s) that are not numbers were read as missing values";
        assert!(stderr.contains(expected), "{command}: {stderr}");
    }
}

#[test]
fn na_values_name_more_missing_tokens_and_the_model_keeps_them() {
    let p = TestProject::new();
    p.write("d.csv", &table(140, false, stray));
    let out = p
        .mlctl()
        .args(["train", "d.csv", "--target", "y", "--name", "m", "--na-values", "seven,?"])
        .args(QUICK)
        .output()
        .unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("not numbers"), "{stderr}");
    assert!(metadata(&p, "m", "1.0.0")["features"][0]["missing_in_training"].as_u64().unwrap() > 10);
    // predict, evaluate and drift read "?" as missing, and refuse any other word in the numeric column.
    p.write("in.csv", "x,c,y\n3,red,0\n?,blue,0\nseven,green,1\n40,red,1\n");
    p.mlctl().args(["-q", "predict", "m", "--input", "in.csv", "--no-log"]).assert().success();
    p.mlctl().args(["-q", "evaluate", "m", "--data", "in.csv", "--allow-overlap"]).assert().success();
    p.write("bad.csv", "x,c,y\n3,red,0\nlots,blue,0\n9,green,1\n40,red,1\n");
    for args in [
        vec!["predict", "m", "--input", "bad.csv", "--no-log"],
        vec!["evaluate", "m", "--data", "bad.csv", "--allow-overlap"],
        vec!["drift", "m", "--data", "bad.csv"],
    ] {
        p.mlctl().args(&args).assert().code(1).stderr(contains(
            "bad.csv: row 2, column \"x\": must be numeric (the model was trained on numbers) but 1 value(s) are not finite numbers: \"lots\" ×1 (row 2)",
        ));
    }
    // As na_values in mlctl.toml.
    p.write("mlctl.toml", "[models.t]\ndata = \"d.csv\"\ntarget = \"y\"\nna_values = [\"seven\", \"?\"]\n[models.t.params]\nn_trees = 10\n");
    p.mlctl().args(["-q", "train", "--model", "t"]).assert().success();
}

#[test]
fn identifier_columns_are_named_and_wide_columns_share_an_infrequent_slot() {
    let p = TestProject::new();
    let mut text = String::from("x,name,c,y\n");
    for i in 0..200 {
        let c = ["a", "a", "b", "b", "c", "a", "b", "c", "d", "a"][i % 10];
        text.push_str(&format!("{},person{i},{c},{}\n", i % 50, (i % 50) / 25));
    }
    p.write("d.csv", &text);
    let out = p
        .mlctl()
        .args(["--json", "train", "d.csv", "--target", "y", "--name", "m", "--set", "max_categories=3"])
        .args(QUICK)
        .output()
        .unwrap();
    let stderr = TestProject::stderr_of(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("column \"name\" looks like an identifier (200 distinct values in 200 rows)")
            && stderr.contains("--drop name"),
        "{stderr}"
    );
    assert!(!stderr.contains("column \"c\""), "{stderr}");
    let meta = metadata(&p, "m", "1.0.0");
    assert_eq!(meta["identifier_like"], serde_json::json!(["name"]));
    assert_eq!(meta["params"]["max_categories"], 3);
    // c: a 80, b 60, c 40, d 20 in all rows: the two most frequent are kept, c and d share the last slot.
    let encoded: Vec<&str> = meta["encoded_features"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let of_c: Vec<&str> = encoded.iter().copied().filter(|n| n.starts_with("c=")).collect();
    assert_eq!(of_c, ["c=a", "c=b", "c=(infrequent)"]);
    assert_eq!(encoded.iter().filter(|n| n.starts_with("name=")).count(), 3);
    let c = meta["features"].as_array().unwrap().iter().find(|f| f["name"] == "c").unwrap();
    assert_eq!(c["infrequent"]["levels"], 2);
    assert!(c["infrequent"]["rows"].as_u64().unwrap() > 0);
    // Unseen categories go to the infrequent slot: no warning about them.
    p.write("in.csv", "x,name,c\n3,someone,zzz\n");
    let out = p.mlctl().args(["predict", "m", "--input", "in.csv", "--no-log"]).output().unwrap();
    assert!(out.status.success());
    assert!(!TestProject::stderr_of(&out).contains("unseen"), "{}", TestProject::stderr_of(&out));
    p.mlctl()
        .args(["train", "d.csv", "--target", "y", "--name", "m", "--set", "max_categories=0"])
        .assert()
        .code(2)
        .stderr(contains("max_categories=0: expected an integer >= 1"));
}

/// A model written by the mlctl before artifact format 4 (`tests/fixtures/format3`, trained by that binary) still
/// loads: its pipeline has no missing-value tokens, lenient columns or infrequent slots.
#[test]
fn a_format_3_model_still_predicts_and_evaluates() {
    let p = TestProject::new();
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format3");
    let copy = |rel: &str| {
        std::fs::create_dir_all(p.path(rel).parent().unwrap()).unwrap();
        std::fs::copy(fixture.join(rel), p.path(rel)).unwrap();
    };
    for rel in ["d.csv", "ml_models/registry.json"] {
        copy(rel);
    }
    for file in ["model.bin", "metadata.json", "reference.json"] {
        copy(&format!("ml_models/old/1.0.0/{file}"));
    }
    assert_eq!(&std::fs::read(p.path("ml_models/old/1.0.0/model.bin")).unwrap()[8..10], &[3, 0], "format 3");
    p.mlctl().args(["-q", "predict", "old", "--input", "d.csv", "-o", "out.csv", "--no-log"]).assert().success();
    assert_eq!(std::fs::read_to_string(p.path("out.csv")).unwrap().lines().count(), 61);
    p.mlctl().args(["-q", "evaluate", "old", "--data", "d.csv", "--allow-overlap"]).assert().success();
    p.write("bad.csv", "x,c,y\n1,red,0\nlots,blue,1\n");
    p.mlctl()
        .args(["predict", "old", "--input", "bad.csv", "--no-log"])
        .assert()
        .code(1)
        .stderr(contains("column \"x\": must be numeric (the model was trained on numbers)"));
}
