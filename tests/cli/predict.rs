use predicates::str::contains;

use crate::common::{TestProject, QUICK};

fn trained() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 1000, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    p
}

const FEATURES: &str = "emp_experience_years,emp_workload_ratio,emp_performance_rating,emp_active_tasks,emp_availability,task_priority,task_complexity_score,task_estimated_hours,task_urgency_score,skill_match_score,workload_compatibility";

fn csv_rows() -> String {
    format!(
        "id,{FEATURES}\nA1,4,0.5,3.5,5,available,high,3,12,0.7,0.9,0.6\nA2,,0.9,,9,busy,critical,5,30,0.95,0.2,0.1\nA3,10,0.3,4.5,2,on_leave,low,1,3,0.2,0.95,0.8\n"
    )
}

#[test]
fn csv_in_csv_out_with_ids_passed_through_and_a_log() {
    let p = trained();
    p.write("new.csv", &csv_rows());
    let out = p.mlctl().args(["predict", "m", "--input", "new.csv"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "id,prediction,probability");
    assert_eq!(lines.len(), 4);
    assert!(lines[1].starts_with("A1,") && lines[3].starts_with("A3,"), "{text}");
    let p_a2: f64 = lines[2].split(',').nth(2).unwrap().parse().unwrap();
    assert!((0.0..=1.0).contains(&p_a2));
    let stderr = TestProject::stderr_of(&out);
    assert!(stderr.contains("1 row(s) have a category of \"emp_availability\" unseen in training"), "{stderr}");

    let log = std::fs::read_to_string(p.path("logs/predictions/m/2026-01-02.jsonl")).unwrap();
    let entries: Vec<serde_json::Value> = log.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["version"], "1.0.0");
    assert_eq!(entries[0]["features"]["emp_experience_years"], 4.0);
    assert_eq!(entries[1]["features"]["emp_experience_years"], serde_json::Value::Null);
    assert_eq!(entries[0]["threshold"], 0.5);
    assert!(entries[0]["probabilities"]["1"].is_number());

    p.mlctl().args(["predict", "m", "--input", "new.csv", "--no-log"]).assert().success();
    assert_eq!(std::fs::read_to_string(p.path("logs/predictions/m/2026-01-02.jsonl")).unwrap().lines().count(), 3);
}

#[test]
fn passed_through_fields_that_need_quotes_are_quoted_and_read_back_the_same() {
    let p = trained();
    let row = "4,0.5,3.5,5,available,high,3,12,0.7,0.9,0.6";
    let ids = ["Smith, Bob", "say \"hi\"", "two\nlines", "plain", ""];
    let mut input = csv::Writer::from_writer(Vec::new());
    input.write_record(std::iter::once("id").chain(FEATURES.split(','))).unwrap();
    for id in ids {
        input.write_record(std::iter::once(id).chain(row.split(','))).unwrap();
    }
    p.write("quoted.csv", &String::from_utf8(input.into_inner().unwrap()).unwrap());
    let out = p.mlctl().args(["predict", "m", "--input", "quoted.csv", "--no-log"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\"Smith, Bob\",") && text.contains("\"say \"\"hi\"\"\","), "{text}");
    let mut read = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(read.headers().unwrap(), vec!["id", "prediction", "probability"]);
    let records: Vec<csv::StringRecord> = read.records().map(|r| r.unwrap()).collect();
    let back: Vec<&str> = records.iter().map(|r| &r[0]).collect();
    assert_eq!(back, ids, "every id comes back as it went in");
    // The same features give the same prediction, whatever the id.
    assert!(records.windows(2).all(|w| w[0][1] == w[1][1] && w[0][2] == w[1][2]), "{text}");
}

#[test]
fn threshold_changes_decisions_and_is_recorded() {
    let p = trained();
    p.write("new.csv", &csv_rows());
    let all_pos =
        p.mlctl().args(["predict", "m", "--input", "new.csv", "--threshold", "0", "--no-log"]).output().unwrap();
    let text = String::from_utf8(all_pos.stdout).unwrap();
    assert!(text.lines().skip(1).all(|l| l.split(',').nth(1) == Some("1")), "{text}");
    let none = p.mlctl().args(["predict", "m", "--input", "new.csv", "--threshold", "1", "--no-log"]).output().unwrap();
    let text = String::from_utf8(none.stdout).unwrap();
    assert!(text.lines().skip(1).all(|l| l.split(',').nth(1) == Some("0")), "{text}");
    p.mlctl()
        .args(["predict", "m", "--input", "new.csv", "--threshold", "1.5"])
        .assert()
        .code(2)
        .stderr(contains("between 0 and 1"));
}

#[test]
fn a_single_json_object_on_stdin_gets_a_single_json_answer() {
    let p = trained();
    let record = r#"{"emp_experience_years": 4, "emp_workload_ratio": 0.5, "emp_performance_rating": 3.5,
        "emp_active_tasks": 5, "emp_availability": "available", "task_priority": "high", "task_complexity_score": 3,
        "task_estimated_hours": 12, "task_urgency_score": 0.7, "skill_match_score": 0.9, "workload_compatibility": 0.6,
        "request_id": "r-17"}"#;
    let out = p.mlctl().args(["predict", "m@1.0.0", "--input", "-"]).write_stdin(record).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a single JSON object");
    assert_eq!(v["request_id"], "r-17");
    assert!(v["prediction"] == 0 || v["prediction"] == 1, "a 0/1 target answers JSON numbers: {v}");
    assert!(v["probability"].as_f64().unwrap() >= 0.0);
}

#[test]
fn ndjson_and_json_array_inputs_and_output_file() {
    let p = trained();
    let obj = r#"{"emp_experience_years": 4, "emp_workload_ratio": 0.5, "emp_performance_rating": null, "emp_active_tasks": 5, "emp_availability": "available", "task_priority": "high", "task_complexity_score": 3, "task_estimated_hours": 12, "task_urgency_score": 0.7, "skill_match_score": 0.9, "workload_compatibility": 0.6}"#;
    p.write("in.ndjson", &format!("{obj}\n{obj}\n"));
    let out = p.mlctl().args(["predict", "m", "--input", "in.ndjson", "--no-log"]).output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);

    p.write("in.json", &format!("[{obj}, {obj}, {obj}]"));
    p.mlctl()
        .args(["--json", "predict", "m", "--input", "in.json", "-o", "preds.csv", "--format", "csv", "--no-log"])
        .assert()
        .success()
        .stdout(contains("\"rows\": 3"));
    let preds = std::fs::read_to_string(p.path("preds.csv")).unwrap();
    assert_eq!(preds.lines().next(), Some("prediction,probability"));
    assert_eq!(preds.lines().count(), 4);
    let arr = p.mlctl().args(["--json", "predict", "m", "--input", "in.ndjson", "--no-log"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&arr.stdout).expect("--json gives one JSON array");
    assert_eq!(v.as_array().unwrap().len(), 2);
}

#[test]
fn schema_errors_name_columns_and_rows_and_leave_no_output() {
    let p = trained();
    p.write("missing.csv", "id,emp_experience_years\n1,3\n");
    p.mlctl().args(["predict", "m", "--input", "missing.csv", "-o", "out.csv"]).assert().code(1).stderr(contains(
        "missing.csv: is missing feature column(s) the model needs: emp_workload_ratio, emp_performance_rating",
    ));
    let bad = csv_rows().replace("A3,10,", "A3,ten,");
    p.write("bad.csv", &bad);
    p.mlctl()
        .args(["predict", "m", "--input", "bad.csv", "-o", "out.csv", "--batch-size", "1"])
        .assert()
        .code(1)
        .stderr(contains("bad.csv: row 3, column \"emp_experience_years\": must be numeric (the model was trained on numbers) but 1 value(s) are not finite numbers: \"ten\" ×1 (row 3)"));
    assert!(!p.path("out.csv").exists());
    let leftovers: Vec<_> = std::fs::read_dir(p.root())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn batches_give_the_same_predictions_as_one_pass() {
    let p = trained();
    let data = std::fs::read_to_string(p.path("data/train.csv")).unwrap();
    p.write("all.csv", &data);
    let one = p.mlctl().args(["predict", "m", "--input", "all.csv", "--no-log"]).output().unwrap();
    let many =
        p.mlctl().args(["predict", "m", "--input", "all.csv", "--no-log", "--batch-size", "7"]).output().unwrap();
    assert!(one.status.success());
    assert_eq!(one.stdout, many.stdout);
    assert_eq!(String::from_utf8(one.stdout).unwrap().lines().count(), 1001);
    // JSON out too: batches predicted side by side still write one array, in input order.
    let json = |batch: &str| {
        let args = ["predict", "m", "--input", "all.csv", "--no-log", "--format", "json", "--batch-size", batch];
        let out = p.mlctl().args(args).output().unwrap();
        assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
        out.stdout
    };
    let whole = json("100000");
    assert_eq!(whole, json("7"));
    let rows: serde_json::Value = serde_json::from_slice(&whole).expect("one JSON array");
    assert_eq!(rows.as_array().map(Vec::len), Some(1000));
}

#[test]
fn an_earlier_batchs_error_comes_before_a_later_ones() {
    let p = trained();
    // Row 2 does not type (found while predicting its batch), row 3 does not parse (found while reading).
    let rows = csv_rows().replace("A2,,0.9", "A2,ten,0.9").replace(",low,1,3,", ",low,1,3,9,");
    p.write("bad.csv", &rows);
    let out = p
        .mlctl()
        .args(["predict", "m", "--input", "bad.csv", "-o", "out.csv", "--no-log", "--batch-size", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = TestProject::stderr_of(&out);
    assert!(stderr.contains("row 2, column \"emp_experience_years\""), "{stderr}");
    assert!(!stderr.contains("fields"), "{stderr}");
    assert!(!p.path("out.csv").exists());
}

#[test]
fn crlf_blank_lines_and_a_late_quoted_field_predict_alike_in_any_batches() {
    let p = trained();
    let data = std::fs::read_to_string(p.path("data/train.csv")).unwrap();
    let lines: Vec<&str> = data.lines().collect();
    // Windows line ends, blank lines here and there, and from row 40 on a quoted category (CSV read record by
    // record from there): the rows and their predictions are the same as the plain file's.
    let mut odd = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i >= 41 {
            odd.push_str(&line.replacen(",available,", ",\"available\",", 1));
        } else {
            odd.push_str(line);
        }
        odd.push_str(if i % 5 == 0 { "\r\n\r\n" } else { "\r\n" });
    }
    assert!(odd.contains(",\"available\","), "the quoted rows are there");
    p.write("plain.csv", &data);
    p.write("odd.csv", &odd);
    let predict = |file: &str, batch: &str| {
        let out =
            p.mlctl().args(["predict", "m", "--input", file, "--no-log", "--batch-size", batch]).output().unwrap();
        assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
        out.stdout
    };
    let plain = predict("plain.csv", "100000");
    assert_eq!(String::from_utf8_lossy(&plain).lines().count(), 1001);
    for batch in ["1", "7", "64", "100000"] {
        assert_eq!(predict("odd.csv", batch), plain, "batches of {batch}");
    }
    // A short row after the first batches is named by its data-row number.
    let mut ragged = lines[..30].join("\n");
    ragged.push_str("\n1,2\n");
    p.write("ragged.csv", &ragged);
    p.mlctl()
        .args(["predict", "m", "--input", "ragged.csv", "--no-log", "--batch-size", "4"])
        .assert()
        .code(1)
        .stderr(contains("ragged.csv: row 30: has 2 fields but the header has"));
}

#[test]
fn a_bare_name_predicts_with_production_not_an_unvetted_newer_version() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    p.train_m(&data, 3);
    p.train_m(&data, 4);
    let version_of = |model: &str| {
        let out = p
            .mlctl()
            .args(["--json", "predict", model, "--input", &data, "--no-log", "-o", "out.csv"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["version"].as_str().unwrap().to_owned()
    };
    // No production version yet: the newest.
    assert_eq!(version_of("m"), "1.1.0");
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    assert_eq!(version_of("m"), "1.0.0");
    assert_eq!(version_of("m@latest"), "1.1.0");
}
