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
    let out = p.mlctl().args(["--json", "evaluate", "m", "--data", "h.csv"]).output().unwrap();
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

    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "staging", "--data", "h.csv"]).assert().success();
    p.write("none.csv", &table(10, false, |_, col| (col == "y").then(String::new)));
    p.mlctl()
        .args(["evaluate", "m", "--data", "none.csv"])
        .assert()
        .code(1)
        .stderr(contains("none.csv: row 1, column \"y\": the target is missing in 10 row(s)"));
}
