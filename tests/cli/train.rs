use predicates::str::contains;

use crate::common::{TestProject, QUICK};

fn train(p: &TestProject, data: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    p.mlctl().args(["train", data, "--target", "success", "--name", "m"]).args(QUICK).args(extra).assert()
}

#[test]
fn trains_writes_the_artifact_metadata_and_registry() {
    let p = TestProject::new();
    let data = p.sample("d", 1500, 1);
    train(&p, &data, &[]).success().stdout(contains("Registered m@1.0.0 (first version)")).stdout(contains("roc_auc"));

    let dir = p.path("ml_models/m/1.0.0");
    let model = std::fs::read(dir.join("model.bin")).unwrap();
    assert_eq!(&model[..8], b"MLCTLBIN");
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["name"], "m");
    assert_eq!(meta["version"], "1.0.0");
    assert_eq!(meta["algorithm"], "random-forest");
    assert_eq!(meta["params"]["n_trees"], 15);
    assert_eq!(meta["classes"], serde_json::json!(["0", "1"]));
    assert_eq!(meta["created_at"], "2026-01-02T03:04:05Z");
    assert_eq!(meta["dataset"]["rows"], 1500);
    assert_eq!(meta["dataset"]["path"], "data/d.csv");
    assert_eq!(meta["split"]["test_rows"], 300);
    assert_eq!(meta["features"].as_array().unwrap().len(), 11);
    assert_eq!(meta["features"][4]["type"], "categorical");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path("data/d.csv.card.json")).unwrap()).unwrap();
    assert_eq!(meta["dataset"]["sha256"], card["sha256"], "the model traces back to its export");
    let sha = mlctl::fs::sha256_hex(&model);
    assert_eq!(meta["artifact_sha256"], sha.as_str());
    let auc = meta["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.75 && auc <= 1.0, "roc_auc {auc}");

    let reg = p.registry();
    let v = &reg["models"]["m"]["versions"][0];
    assert_eq!(v["stage"], "development");
    assert_eq!(v["artifact_sha256"], sha.as_str());
    assert_eq!(reg["models"]["m"]["events"][0]["user"], "tester");
    let md = std::fs::read_to_string(p.path("MODEL_REGISTRY.md")).unwrap();
    assert!(
        md.contains("## m") && md.contains("| 1.0.0 | development | 2026-01-02T03:04:05Z | random-forest |"),
        "{md}"
    );
}

#[test]
fn versions_follow_what_changed_and_retrains_are_byte_identical() {
    let p = TestProject::new();
    let data = p.sample("d", 800, 2);
    train(&p, &data, &[]).success();
    train(&p, &data, &[]).success().stdout(contains("m@1.0.1 (patch"));
    let a = std::fs::read(p.path("ml_models/m/1.0.0/model.bin")).unwrap();
    let b = std::fs::read(p.path("ml_models/m/1.0.1/model.bin")).unwrap();
    assert!(a == b, "same data, spec and seed must give the same bytes");

    train(&p, &data, &["--set", "max_depth=6"]).success().stdout(contains("m@1.1.0 (minor"));
    train(&p, &data, &["--set", "max_depth=6", "--drop", "task_priority"]).success().stdout(contains("m@2.0.0 (major"));
    train(&p, &data, &["--seed", "7"]).success();
    assert_eq!(p.versions("m"), ["1.0.0", "1.0.1", "1.1.0", "2.0.0", "3.0.0"]);

    train(&p, &data, &["--version", "9.0.0"]).success().stdout(contains("m@9.0.0"));
    train(&p, &data, &["--version", "1.0.1"]).code(1).stderr(contains("m@1.0.1 already exists"));
    assert_eq!(p.versions("m").len(), 6);
}

#[test]
fn a_different_seed_gives_a_different_model() {
    let p = TestProject::new();
    let data = p.sample("d", 600, 3);
    train(&p, &data, &[]).success();
    train(&p, &data, &["--seed", "1"]).success();
    let a = std::fs::read(p.path("ml_models/m/1.0.0/model.bin")).unwrap();
    let b = std::fs::read(p.path("ml_models/m/1.0.1/model.bin")).unwrap();
    assert!(a != b);
}

#[test]
fn bad_input_exits_1_names_the_problem_and_registers_nothing() {
    let p = TestProject::new();
    let ok_header = "a,b,success\n";
    let cases: &[(&str, String, &str)] = &[
        ("empty.csv", String::new(), "empty.csv: the file is empty"),
        ("header.csv", ok_header.to_owned(), "header.csv: has a header but no data rows"),
        (
            "ragged.csv",
            format!("{ok_header}1,2,0\n3,4\n5,6,1\n"),
            "ragged.csv: row 2: has 2 fields but the header has 3",
        ),
        (
            "target.csv",
            format!("{ok_header}1,2,0\n3,4,1\n"),
            "target.csv, column \"sucess\": no such target column (did you mean \"success\"?)",
        ),
        (
            "single.csv",
            format!("{ok_header}1,2,1\n3,4,1\n5,6,1\n"),
            "single.csv, column \"success\": has a single class (1)",
        ),
        (
            "gaps.csv",
            format!("{ok_header}1,2,\n3,4,\n5,6,NA\n"),
            "gaps.csv: row 1, column \"success\": the target is missing in 3 row(s) (rows 1, 2, 3): there is nothing",
        ),
        ("only_target.csv", "success\n1\n0\n".to_owned(), "has no feature columns besides the target"),
        ("missing.csv", String::new(), "missing.csv: No such file"),
    ];
    for (name, text, expected) in cases {
        if *name != "missing.csv" {
            p.write(name, text);
        }
        let target = if *name == "target.csv" { "sucess" } else { "success" };
        let out = p.mlctl().args(["train", name, "--target", target, "--name", "m"]).output().unwrap();
        let stderr = TestProject::stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: expected {expected:?} in {stderr:?}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    assert!(p.versions("m").is_empty());
    assert!(!p.path("ml_models/m").exists());
}

#[test]
fn a_numeric_column_with_stray_tokens_is_refused_with_rows_and_values() {
    let p = TestProject::new();
    let mut text = String::from("x,c,success\n");
    for i in 0..60 {
        let x = if i == 10 {
            "?".to_owned()
        } else if i == 33 {
            "12,5".to_owned()
        } else {
            i.to_string()
        };
        let x = if x.contains(',') { format!("\"{x}\"") } else { x };
        text.push_str(&format!("{x},{},{}\n", if i % 2 == 0 { "a" } else { "b" }, i % 3 % 2));
    }
    p.write("d.csv", &text);
    p.mlctl()
        .args(["train", "d.csv", "--target", "success", "--name", "m"])
        .assert()
        .code(1)
        .stderr(contains("d.csv: row 11, column \"x\": looks numeric (58 of 60 values are numbers)"))
        .stderr(contains("\"?\" ×1 (row 11), \"12,5\" ×1 (row 34)"));
    // Declaring it categorical settles it.
    p.mlctl()
        .args(["train", "d.csv", "--target", "success", "--name", "m", "--categorical", "x"])
        .args(QUICK)
        .assert()
        .success();
}

#[test]
fn unknown_hyperparameters_and_algorithms_list_the_valid_ones() {
    let p = TestProject::new();
    let data = p.sample("d", 100, 1);
    train(&p, &data, &["--set", "max_dept=3"])
        .code(2)
        .stderr(contains("unknown hyperparameter \"max_dept\" for random-forest (did you mean \"max_depth\"?)"))
        .stderr(contains("min_samples_leaf (default 2"));
    train(&p, &data, &["--algorithm", "random-forrest"]).code(2).stderr(contains("did you mean \"random-forest\""));
    train(&p, &data, &["--set", "n_trees=0"]).code(2).stderr(contains("n_trees=0: expected a whole number ≥ 1"));
    assert!(p.versions("m").is_empty());
}

#[test]
fn mlctl_toml_specs_and_flag_overrides() {
    let p = TestProject::new();
    p.sample("hr", 700, 4);
    p.write(
        "mlctl.toml",
        "[models.hr]\ndata = \"data/hr.csv\"\ntarget = \"success\"\nseed = 5\ndrop = [\"task_priority\"]\n[models.hr.params]\nn_trees = 12\n",
    );
    // From a subfolder: the project is found by walking up to mlctl.toml.
    std::fs::create_dir_all(p.path("sub")).unwrap();
    p.mlctl().current_dir(p.path("sub")).args(["train", "--model", "hr"]).assert().success();
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path("ml_models/hr/1.0.0/metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["params"]["n_trees"], 12);
    assert_eq!(meta["seed"], 5);
    assert_eq!(meta["features"].as_array().unwrap().len(), 10);
    p.mlctl().args(["train", "--model", "hr", "--set", "n_trees=13"]).assert().success();
    assert_eq!(p.versions("hr"), ["1.0.0", "1.1.0"]);
    p.mlctl().args(["train", "--model", "hx"]).assert().code(1).stderr(contains("did you mean \"hr\""));
}

#[test]
fn cross_validation_and_json_output() {
    let p = TestProject::new();
    let data = p.sample("d", 600, 6);
    let out = p
        .mlctl()
        .args(["--json", "train", &data, "--target", "success", "--name", "m", "--cv", "3"])
        .args(QUICK)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document on stdout");
    assert_eq!(v["version"], "1.0.0");
    assert_eq!(v["cross_validation"]["folds"], 3);
    let f1 = &v["cross_validation"]["metrics"]["f1"];
    assert!(f1["mean"].as_f64().unwrap() > 0.5 && f1["std"].as_f64().unwrap() >= 0.0, "{f1}");
    assert_eq!(v["metrics"]["confusion_matrix"].as_array().unwrap().len(), 2);
}

#[test]
fn parallel_trains_get_distinct_versions_and_leave_a_valid_registry() {
    let p = TestProject::new();
    let data = p.sample("d", 400, 8);
    let children: Vec<_> = (0..4)
        .map(|i| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("mlctl"))
                .current_dir(p.root())
                .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=5", "--seed"])
                .arg(i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let mut versions = p.versions("m");
    versions.sort();
    assert_eq!(versions, ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]);
    for v in &versions {
        assert!(p.path(&format!("ml_models/m/{v}/model.bin")).exists());
    }
    let entries: Vec<_> = std::fs::read_dir(p.path("ml_models/m")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(entries.len(), 4, "no debris: {entries:?}");
}

#[test]
fn the_committed_reference_model_is_reproduced_bit_for_bit() {
    // The repository is itself an mlctl project: retraining its spec on its shipped data must give exactly the
    // committed artifact (same data, config and seed → same bytes, on any machine).
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let p = TestProject::new();
    std::fs::create_dir_all(p.path("data")).unwrap();
    std::fs::copy(repo.join("data/skill_assignment.csv"), p.path("data/skill_assignment.csv")).unwrap();
    std::fs::copy(repo.join("mlctl.toml"), p.path("mlctl.toml")).unwrap();
    p.mlctl().args(["-q", "train", "--model", "skill_assignment"]).assert().success();
    let fresh = std::fs::read(p.path("ml_models/skill_assignment/1.0.0/model.bin")).unwrap();
    let committed = std::fs::read(repo.join("ml_models/skill_assignment/1.0.0/model.bin")).unwrap();
    assert!(fresh == committed, "retraining differs from the committed reference model: run make reference-model");
}

#[test]
fn the_model_is_the_same_bytes_for_any_thread_count() {
    let p = TestProject::new();
    let data = p.sample("d", 1500, 11);
    for threads in ["1", "2", "3"] {
        p.mlctl()
            .env("RAYON_NUM_THREADS", threads)
            .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=24", "--cv", "2"])
            .assert()
            .success();
    }
    let bytes: Vec<Vec<u8>> = ["1.0.0", "1.0.1", "1.0.2"]
        .iter()
        .map(|v| std::fs::read(p.path(&format!("ml_models/m/{v}/model.bin"))).unwrap())
        .collect();
    assert!(bytes[0] == bytes[1] && bytes[1] == bytes[2], "thread count changed the model");
    let meta = |v: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p.path(&format!("ml_models/m/{v}/metadata.json"))).unwrap()).unwrap()
    };
    assert_eq!(meta("1.0.0")["metrics"], meta("1.0.2")["metrics"]);
    assert_eq!(meta("1.0.0")["cross_validation"], meta("1.0.2")["cross_validation"]);
}

#[test]
fn gradient_boosting_trains_evaluates_and_predicts_with_the_same_bytes_for_any_thread_count() {
    let p = TestProject::new();
    let data = p.sample("d", 2000, 21);
    let holdout = p.sample("holdout", 500, 22);
    // Early stopping forced on (it would be off by default at this size) so the seeded validation split is
    // part of what must not depend on the thread count.
    let args = ["--algorithm", "gradient-boosting", "--set", "max_iter=40", "--set", "early_stopping=true"];
    for threads in ["1", "2", "3"] {
        p.mlctl()
            .env("RAYON_NUM_THREADS", threads)
            .args(["-q", "train", &data, "--target", "success", "--name", "gb"])
            .args(args)
            .assert()
            .success();
    }
    let bytes: Vec<Vec<u8>> = ["1.0.0", "1.0.1", "1.0.2"]
        .iter()
        .map(|v| std::fs::read(p.path(&format!("ml_models/gb/{v}/model.bin"))).unwrap())
        .collect();
    assert!(bytes[0] == bytes[1] && bytes[1] == bytes[2], "thread count changed the model");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.path("ml_models/gb/1.0.0/metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["algorithm"], "gradient-boosting");
    assert_eq!(meta["params"]["max_iter"], 40);
    assert_eq!(meta["params"]["max_leaf_nodes"], 31);
    assert_eq!(meta["params"]["min_samples_leaf"], 20);
    let auc = meta["metrics"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.75 && auc <= 1.0, "roc_auc {auc}");
    let importances = meta["feature_importances"].to_string();
    assert!(importances.contains("skill_match_score"), "{importances}");

    p.mlctl()
        .args(["evaluate", "gb@1.0.0", "--data", &holdout, "--min", "roc_auc=0.7"])
        .assert()
        .success()
        .stdout(contains("roc_auc"));
    p.mlctl().args(["predict", "gb@1.0.0", "--input", &holdout, "-o", "preds.csv", "--no-log"]).assert().success();
    let preds = std::fs::read_to_string(p.path("preds.csv")).unwrap();
    let mut lines = preds.lines();
    assert!(lines.next().unwrap().ends_with("prediction,probability"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 500);
    for row in rows {
        let probability: f64 = row.rsplit(',').next().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&probability), "{row}");
    }

    // Its own keys, listed with scikit-learn's defaults; the forest's are not accepted.
    p.mlctl()
        .args(["train", &data, "--target", "success", "--name", "gb", "--algorithm", "gradient-boosting"])
        .args(["--set", "n_trees=5"])
        .assert()
        .code(2)
        .stderr(contains("unknown hyperparameter \"n_trees\" for gradient-boosting"))
        .stderr(contains("max_iter (default 100"));
}
