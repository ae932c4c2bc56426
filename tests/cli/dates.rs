//! Date columns (#31 item 4) through the binary: typed as dates, encoded as calendar features that are listed
//! in metadata.json and `show`, importance per date column, read as dates by predict, evaluate and drift; a
//! column with a few dates among text stays categorical; `--categorical` and `--date` settle a column's type.

use serde_json::Value;

use crate::common::TestProject;

/// `rows` rows: `signup` (dates, one missing in 40), `seen_at` (date-times), `amount`, `note` (text with a date
/// in one row of 25) and `churn`, which follows the summer months of `signup`.
fn dated_csv(rows: usize) -> String {
    let mut out = String::from("signup,seen_at,amount,note,churn\n");
    let mut state: u64 = 7;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for i in 0..rows {
        let (month, day, hour) = (1 + next() % 12, 1 + next() % 28, next() % 24);
        let year = 2022 + next() % 3;
        let signup = if i % 40 == 7 { String::new() } else { format!("{year}-{month:02}-{day:02}") };
        let seen_at = format!("{year}-{month:02}-{day:02}T{hour:02}:{:02}:00", next() % 60);
        let note =
            if i % 25 == 3 { "2024-01-05".to_owned() } else { ["ok", "late", "vip"][(next() % 3) as usize].to_owned() };
        let summer = (6..=8).contains(&month);
        let churn = if summer != (next() % 10 == 0) { "yes" } else { "no" };
        out.push_str(&format!("{signup},{seen_at},{},{note},{churn}\n", next() % 100));
    }
    out
}

fn metadata(p: &TestProject, model: &str, version: &str) -> Value {
    let text = std::fs::read_to_string(p.path(&format!("ml_models/{model}/{version}/metadata.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn feature<'a>(meta: &'a Value, name: &str) -> &'a Value {
    meta["features"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

fn derived(meta: &Value, name: &str) -> Vec<String> {
    feature(meta, name)["fitted"]["date"]["derived"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} is not a date: {}", feature(meta, name)))
        .iter()
        .map(|d| d["feature"].as_str().unwrap().to_owned())
        .collect()
}

fn train_dated(p: &TestProject, extra: &[&str]) {
    p.write("data/dated.csv", &dated_csv(400));
    p.mlctl()
        .args(["-q", "train", "data/dated.csv", "--target", "churn", "--name", "dated", "--set", "n_trees=20"])
        .args(extra)
        .assert()
        .success();
}

#[test]
fn date_columns_become_calendar_features_listed_in_metadata_and_show() {
    let p = TestProject::new();
    train_dated(&p, &[]);
    let meta = metadata(&p, "dated", "1.0.0");
    assert_eq!(feature(&meta, "signup")["type"], "date");
    assert_eq!(feature(&meta, "signup")["missing_in_training"].as_u64().map(|n| n > 0), Some(true));
    assert_eq!(feature(&meta, "seen_at")["type"], "date");
    assert_eq!(
        derived(&meta, "signup"),
        [
            "year",
            "month",
            "month_sin",
            "month_cos",
            "day_of_week",
            "day_of_week_sin",
            "day_of_week_cos",
            "day_of_year",
            "day_of_year_sin",
            "day_of_year_cos",
            "days_since_epoch"
        ]
    );
    // Date-times add the hour and its pair.
    assert_eq!(&derived(&meta, "seen_at")[10..], ["hour", "hour_sin", "hour_cos", "days_since_epoch"]);
    // A text column with a date in a few rows stays text.
    assert_eq!(feature(&meta, "note")["type"], "categorical");
    let encoded: Vec<&str> = meta["encoded_features"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(encoded.contains(&"signup:month_sin") && encoded.contains(&"seen_at:hour_cos"), "{encoded:?}");
    assert!(encoded.contains(&"note=2024-01-05"), "{encoded:?}");
    assert_eq!(encoded.len(), 11 + 14 + 1 + 4);
    // Importance is per input column: the date as a whole, not its derived features.
    let importances: Vec<&str> =
        meta["feature_importances"].as_array().unwrap().iter().map(|f| f[0].as_str().unwrap()).collect();
    assert_eq!(importances.len(), 4, "{importances:?}");
    let mut top_two = importances[..2].to_vec();
    top_two.sort_unstable();
    assert_eq!(top_two, ["seen_at", "signup"], "churn follows the month both dates hold: {importances:?}");

    let show = p.mlctl().args(["show", "dated"]).output().unwrap();
    let show = String::from_utf8(show.stdout).unwrap();
    assert!(show.contains("signup (date → year, month, month_sin, month_cos, day_of_week, day_of_week_sin,"), "{show}");
    assert!(show.contains("hour_cos, days_since_epoch), amount (numeric), note (categorical)"), "{show}");
}

#[test]
fn predict_evaluate_and_drift_read_the_date_column_as_dates() {
    let p = TestProject::new();
    train_dated(&p, &[]);
    p.write(
        "new.csv",
        "signup,seen_at,amount,note\n2024-07-01,2024-07-01 10:00,5,ok\n2024-01-05,2024-01-05T23:59:59Z,50,vip\n,,7,ok\n",
    );
    let run = || p.mlctl().args(["predict", "dated", "--input", "new.csv"]).output().unwrap();
    let (first, second) = (run(), run());
    assert!(first.status.success(), "{}", TestProject::stderr_of(&first));
    assert_eq!(first.stdout, second.stdout, "the same input gives the same bytes");
    let out = String::from_utf8(first.stdout).unwrap();
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.lines().nth(1).unwrap().starts_with("yes,"), "a July signup churns: {out}");

    // The logged features are the dates in ISO form, which drift --logs reads back as dates.
    let logs = std::fs::read_dir(p.path("logs/predictions/dated")).unwrap().next().unwrap().unwrap().path();
    let logged = std::fs::read_to_string(logs).unwrap();
    assert!(logged.contains("\"signup\":\"2024-07-01\"") && logged.contains("\"seen_at\":\"2024-07-01T10:00:00Z\""));
    let drift = p.mlctl().args(["--json", "drift", "dated", "--logs"]).output().unwrap();
    assert!(matches!(drift.status.code(), Some(0 | 3)), "{}", TestProject::stderr_of(&drift));

    let drift = p.mlctl().args(["--json", "drift", "dated", "--data", "data/dated.csv"]).output().unwrap();
    assert_eq!(drift.status.code(), Some(0), "{}", TestProject::stderr_of(&drift));
    let report: Value = serde_json::from_slice(&drift.stdout).unwrap();
    let signup = report["features"].as_array().unwrap().iter().find(|f| f["feature"] == "signup").unwrap();
    assert_eq!((signup["type"].as_str(), signup["test"].as_str()), (Some("date"), Some("ks")), "{signup}");
    assert_eq!(signup["statistic"].as_f64(), Some(0.0), "the training data against itself");

    p.mlctl().args(["-q", "evaluate", "dated", "--data", "data/dated.csv", "--allow-overlap"]).assert().success();
}

#[test]
fn a_value_that_is_not_a_date_at_predict_names_its_row_and_column() {
    let p = TestProject::new();
    train_dated(&p, &[]);
    p.write("bad.csv", "signup,seen_at,amount,note\n2024-07-01,2024-07-01 10:00,5,ok\n2023-02-29,2024-01-05,5,ok\n");
    let out = p.mlctl().args(["predict", "dated", "--input", "bad.csv", "--no-log"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = TestProject::stderr_of(&out);
    assert!(err.contains("bad.csv: row 2, column \"signup\": must be a date"), "{err}");
    assert!(err.contains("\"2023-02-29\"") && err.contains("YYYY-MM-DD"), "{err}");

    p.write("bad.csv", "signup,seen_at,amount,note\n2024-07-01,07/01/2024,5,ok\n");
    let out = p.mlctl().args(["evaluate", "dated", "--data", "bad.csv"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = TestProject::stderr_of(&out);
    assert!(err.contains("column \"seen_at\"") && err.contains("\"07/01/2024\""), "{err}");
}

#[test]
fn categorical_forces_one_hot_and_date_declares_a_date_column() {
    let p = TestProject::new();
    p.write("data/dated.csv", &dated_csv(400));
    let stderr = p
        .mlctl()
        .args(["train", "data/dated.csv", "--target", "churn", "--name", "declared", "--date", "note"])
        .output()
        .unwrap();
    assert_eq!(stderr.status.code(), Some(1));
    let err = TestProject::stderr_of(&stderr);
    assert!(err.contains("column \"note\": must be a date but"), "{err}");

    p.mlctl()
        .args(["-q", "train", "data/dated.csv", "--target", "churn", "--name", "forced", "--categorical", "signup"])
        .assert()
        .success();
    let meta = metadata(&p, "forced", "1.0.0");
    assert_eq!(feature(&meta, "signup")["type"], "categorical");
    assert_eq!(feature(&meta, "seen_at")["type"], "date");

    // Declared dates, in mlctl.toml too: the column is a date even without inference (it would be anyway).
    p.write("mlctl.toml", "[models.toml_dated]\ndata = \"data/dated.csv\"\ntarget = \"churn\"\ndate = [\"signup\"]\n");
    p.mlctl().args(["-q", "train", "--model", "toml_dated"]).assert().success();
    assert_eq!(feature(&metadata(&p, "toml_dated", "1.0.0"), "signup")["type"], "date");
}

#[test]
fn exported_dates_and_timestamps_are_written_in_a_form_train_types_as_dates() {
    let p = TestProject::new();
    let mut ndjson = String::new();
    for i in 0..60u32 {
        let churn = if i % 3 == 0 { "yes" } else { "no" };
        ndjson.push_str(&format!(
            "{{\"day\": \"2024-{:02}-{:02}\", \"at\": \"2024-03-{:02}T{:02}:15:00+02:00\", \"x\": {i}, \"churn\": \"{churn}\"}}\n",
            1 + i % 12,
            1 + i % 28,
            1 + i % 28,
            i % 24
        ));
    }
    p.write("raw.ndjson", &ndjson);
    p.mlctl().args(["-q", "export", "--from", "raw.ndjson", "-o", "data/exported.csv"]).assert().success();
    let csv = std::fs::read_to_string(p.path("data/exported.csv")).unwrap();
    p.mlctl().args(["-q", "train", "data/exported.csv", "--target", "churn", "--name", "exported"]).assert().success();
    let meta = metadata(&p, "exported", "1.0.0");
    assert_eq!(feature(&meta, "day")["type"], "date", "{csv}");
    assert_eq!(feature(&meta, "at")["type"], "date", "{csv}");
    assert!(derived(&meta, "at").contains(&"hour".to_owned()));
}

#[test]
fn a_column_of_dates_but_for_a_few_values_trains_as_categories_with_a_warning_naming_them() {
    let p = TestProject::new();
    let mut csv = String::from("day,x,y\n");
    for i in 0..100u32 {
        let day = if i == 4 { "2023-02-29".to_owned() } else { format!("2024-{:02}-{:02}", 1 + i % 12, 1 + i % 28) };
        csv.push_str(&format!("{day},{},{}\n", i % 7, ["a", "b"][(i % 2) as usize]));
    }
    p.write("near.csv", &csv);
    let out = p.mlctl().args(["train", "near.csv", "--target", "y", "--name", "near"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let err = TestProject::stderr_of(&out);
    assert!(
        err.contains("column \"day\": 99 of 100 values are dates but the rest are not (first: row 5: \"2023-02-29\")"),
        "{err}"
    );
    assert!(err.contains("--date day"), "{err}");
    assert_eq!(feature(&metadata(&p, "near", "1.0.0"), "day")["type"], "categorical");
    // Data whose date columns are all dates gets no such warning.
    p.write("data/dated.csv", &dated_csv(100));
    let out = p.mlctl().args(["train", "data/dated.csv", "--target", "churn", "--name", "dated"]).output().unwrap();
    assert!(out.status.success() && !TestProject::stderr_of(&out).contains("are dates but"));
}
