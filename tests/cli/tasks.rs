//! Regression, clustering, multiclass and `--compare` end to end through the real binary: train (task inferred),
//! evaluate with gates, predict (values, segments, key factors), drift, promote, and the errors of a wrong task.

use serde_json::Value;

use crate::common::{assert_registry_valid, TestProject};

/// Copies a quality fixture (scikit-learn's public datasets) into the project.
fn fixture(p: &TestProject, name: &str) -> String {
    let src = format!("{}/tests/fixtures/quality/{name}.csv", env!("CARGO_MANIFEST_DIR"));
    let rel = format!("data/{name}.csv");
    std::fs::create_dir_all(p.path("data")).unwrap();
    std::fs::copy(src, p.path(&rel)).unwrap();
    rel
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", TestProject::stderr_of(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn regression_is_inferred_trained_gated_predicted_explained_and_promoted() {
    let p = TestProject::new();
    let data = fixture(&p, "diabetes");
    let report =
        json(&p.mlctl().args(["--json", "train", &data, "--target", "progression", "--name", "d"]).output().unwrap());
    assert_eq!(report["task"], "regression");
    assert!(report["task_inferred"].as_str().unwrap().contains("distinct values"));
    let rmse = report["metrics"]["rmse"].as_f64().unwrap();
    assert!(rmse > 30.0 && rmse < 80.0, "{rmse}");
    assert!(report["metrics"].get("accuracy").is_none());

    // Gates in the metric's own direction; a classification metric on a regressor is an error, not a pass.
    let gate = |flag: &str, value: String| {
        p.mlctl().args(["evaluate", "d@1.0.0", "--data", &data, "--allow-overlap", flag, &value]).output().unwrap()
    };
    assert_eq!(gate("--max", format!("rmse={}", rmse * 2.0)).status.code(), Some(0));
    assert_eq!(gate("--max", "rmse=1".into()).status.code(), Some(3));
    assert_eq!(gate("--min", "r2=0.99".into()).status.code(), Some(3));
    let wrong = gate("--min", "f1=0.5".into());
    assert_eq!(wrong.status.code(), Some(2), "{}", TestProject::stderr_of(&wrong));
    assert!(TestProject::stderr_of(&wrong).contains("f1: that is a classification metric"));

    // Values out, with key factors; --threshold makes no sense here.
    let out = p.mlctl().args(["predict", "d", "--input", &data, "--no-log", "--explain", "2"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("progression,prediction,key_factors"));
    let first: Vec<&str> = lines.next().unwrap().splitn(3, ',').collect();
    assert!(first[1].parse::<f64>().is_ok(), "{first:?}");
    assert_eq!(first[2].matches('=').count(), 2, "{first:?}");
    assert_eq!(text.lines().count(), 443);
    let t = p.mlctl().args(["predict", "d", "--input", &data, "--threshold", "0.3"]).output().unwrap();
    assert_eq!(t.status.code(), Some(2), "a flag that does not apply to the model is a usage error");

    // Predictions are logged as values; drift of the training file against itself finds nothing.
    p.mlctl().args(["predict", "d", "--input", &data, "-o", "preds.csv"]).assert().success();
    let drift = p.mlctl().args(["--json", "drift", "d", "--data", &data]).output().unwrap();
    let drift: Value = serde_json::from_slice(&drift.stdout).unwrap();
    assert_eq!(drift["prediction_drift"], false, "{drift}");
    assert_eq!(drift["predictions"].as_array().unwrap().len(), 1, "regression has a score but no classes");
    p.mlctl().args(["drift", "d", "--logs", "--since", "7d"]).assert().success();

    // Promotion is gated on rmse, lower is better: a worse ridge cannot replace the forest.
    p.mlctl().args(["promote", "d@1.0.0", "--to", "production"]).assert().success();
    p.mlctl()
        .args([
            "-q",
            "train",
            &data,
            "--target",
            "progression",
            "--name",
            "d",
            "--algorithm",
            "knn",
            "--set",
            "n_neighbors=1",
        ])
        .assert()
        .success();
    let refused = p.mlctl().args(["--json", "promote", "d@1.1.0", "--to", "production"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(3), "{}", TestProject::stderr_of(&refused));
    let refused: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(refused["gate"]["metric"], "rmse");
    assert_eq!(refused["gate"]["higher_is_better"], false);
    assert_registry_valid(&p);
}

#[test]
fn segmentation_without_a_target_assigns_and_scores_segments() {
    let p = TestProject::new();
    let data = fixture(&p, "iris");
    let report = json(
        &p.mlctl()
            .args(["--json", "train", &data, "--drop", "species", "--name", "seg", "--set", "k=3"])
            .output()
            .unwrap(),
    );
    assert_eq!(report["task"], "clustering");
    assert_eq!(report["classes"].as_array().unwrap().len(), 3);
    let sizes: Vec<u64> =
        report["metrics"]["segment_sizes"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert_eq!(sizes.iter().sum::<u64>(), 150);
    assert_eq!(report["importance_method"], "segment-separation");

    // The same file scores the same on evaluate; new rows get a segment and a distance.
    let eval = json(
        &p.mlctl().args(["--json", "evaluate", "seg", "--data", &data, "--min", "silhouette=0.3"]).output().unwrap(),
    );
    assert_eq!(eval["metrics"]["silhouette"], report["metrics"]["silhouette"]);
    assert_eq!(eval["metrics"]["inertia"], report["metrics"]["inertia"]);
    let out = p.mlctl().args(["predict", "seg", "--input", &data, "--no-log"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("species,segment,distance\n"), "{text}");
    let one = p
        .mlctl()
        .args(["predict", "seg", "--input", "-", "--explain", "2"])
        .write_stdin(r#"{"sepal_length_cm":5.0,"sepal_width_cm":3.4,"petal_length_cm":1.5,"petal_width_cm":0.2}"#)
        .output()
        .unwrap();
    let one: Value = serde_json::from_slice(&one.stdout).unwrap();
    assert!(one["segment"].is_u64() && one["distance"].as_f64().unwrap() >= 0.0, "{one}");
    assert_eq!(one["key_factors"].as_array().unwrap().len(), 2);

    // k=auto chooses by silhouette; a target is refused for clustering; the same data gives the same bytes.
    let auto =
        json(&p.mlctl().args(["--json", "train", &data, "--drop", "species", "--name", "auto"]).output().unwrap());
    let note = auto["notes"][0].as_str().unwrap();
    assert!(note.starts_with("k=auto chose k=2 by silhouette") && note.contains("10: "), "{note}");
    p.mlctl()
        .args(["-q", "train", &data, "--drop", "species", "--name", "auto"])
        .env("RAYON_NUM_THREADS", "1")
        .assert()
        .success();
    let bin = |v: &str| std::fs::read(p.path(&format!("ml_models/auto/{v}/model.bin"))).unwrap();
    assert!(bin("1.0.0") == bin("1.0.1"));
    let refused = p
        .mlctl()
        .args(["train", &data, "--target", "species", "--task", "clustering", "--name", "x"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(TestProject::stderr_of(&refused).contains("clustering learns without a target"));
    assert_registry_valid(&p);
}

#[test]
fn multiclass_models_give_a_probability_per_class() {
    let p = TestProject::new();
    let data = fixture(&p, "iris");
    for algorithm in ["logistic-regression", "naive-bayes", "knn", "decision-tree", "gradient-boosting"] {
        let r = json(
            &p.mlctl()
                .args(["--json", "train", &data, "--target", "species", "--name", "iris", "--algorithm", algorithm])
                .output()
                .unwrap(),
        );
        assert_eq!(r["classes"], serde_json::json!(["setosa", "versicolor", "virginica"]), "{algorithm}");
        assert!(r["metrics"]["accuracy"].as_f64().unwrap() > 0.85, "{algorithm}: {}", r["metrics"]);
        let out = p.mlctl().args(["predict", "iris", "--input", &data, "--no-log"]).output().unwrap();
        let header = String::from_utf8(out.stdout).unwrap().lines().next().unwrap().to_owned();
        assert_eq!(header, "species,prediction,probability_setosa,probability_versicolor,probability_virginica");
        let shown = p.mlctl().args(["show", "iris"]).output().unwrap();
        assert!(String::from_utf8_lossy(&shown.stdout).contains("Feature importance ("), "{algorithm}");
    }
}

#[test]
fn compare_cross_validates_writes_model_comparison_and_registers_the_winner() {
    let p = TestProject::new();
    let data = fixture(&p, "breast_cancer");
    let algorithms = "random-forest,gradient-boosting,logistic-regression";
    let r = json(
        &p.mlctl()
            .args([
                "--json",
                "train",
                &data,
                "--target",
                "diagnosis",
                "--name",
                "bc",
                "--compare",
                algorithms,
                "--cv",
                "3",
            ])
            .args(["--set", "random-forest.n_trees=20"])
            .output()
            .unwrap(),
    );
    let winner = r["comparison"]["winner"].as_str().unwrap();
    assert_eq!(r["algorithm"], winner);
    let ranked: Vec<f64> = r["comparison"]["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["metrics"]["f1"]["mean"].as_f64().unwrap())
        .collect();
    assert_eq!(ranked.len(), 3);
    assert!(ranked.windows(2).all(|w| w[0] >= w[1]), "best first: {ranked:?}");
    assert_eq!(r["cross_validation"]["metrics"]["f1"]["mean"].as_f64(), Some(ranked[0]));
    let md = std::fs::read_to_string(p.path("MODEL_COMPARISON.md")).unwrap();
    for a in algorithms.split(',') {
        assert!(md.contains(a), "{a} missing from MODEL_COMPARISON.md");
    }
    assert!(md.contains(&format!("| 1 | **{winner}** |")), "{md}");
    assert!(md.contains("\"n_trees\":20"), "the prefixed setting reached the forest only");
    assert_eq!(p.registry()["models"]["bc"]["versions"][0]["spec"]["algorithm"], winner);

    // A setting no candidate has is an error, as is an algorithm of another task.
    let typo = p
        .mlctl()
        .args(["train", &data, "--target", "diagnosis", "--name", "bc", "--compare", "random-forest,knn"])
        .args(["--set", "n_neighbours=3"])
        .output()
        .unwrap();
    assert_eq!(typo.status.code(), Some(1));
    assert!(TestProject::stderr_of(&typo).contains("none of the compared algorithms"));
    let wrong = p
        .mlctl()
        .args(["train", &data, "--target", "diagnosis", "--name", "bc", "--compare", "random-forest,ridge"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(1));
    assert!(TestProject::stderr_of(&wrong).contains("ridge is for regression, not classification"));
}

#[test]
fn hyperparameters_are_validated_per_algorithm() {
    let p = TestProject::new();
    let data = fixture(&p, "iris");
    let out = p
        .mlctl()
        .args(["train", &data, "--target", "species", "--algorithm", "knn", "--set", "neighbors=3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a --set typo is a usage error");
    let err = TestProject::stderr_of(&out);
    assert!(err.contains("unknown hyperparameter \"neighbors\" for knn"), "{err}");
    assert!(err.contains("n_neighbors (default 5") && err.contains("weights (default uniform"), "{err}");
    let bad = p
        .mlctl()
        .args(["train", &data, "--target", "species", "--algorithm", "logistic-regression", "--set", "C=-1"])
        .output()
        .unwrap();
    assert!(TestProject::stderr_of(&bad).contains("C=-1: expected a number > 0"), "{}", TestProject::stderr_of(&bad));
}
