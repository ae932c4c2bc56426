//! The pictures in the reports: predicted against actual and residuals for regression, the folds of
//! `--compare`, k=auto's silhouette per k, and counts labelled as integers.

use serde_json::Value;

use crate::common::TestProject;

fn fixture(p: &TestProject, name: &str) -> String {
    let src = format!("{}/tests/fixtures/quality/{name}.csv", env!("CARGO_MANIFEST_DIR"));
    let rel = format!("data/{name}.csv");
    std::fs::create_dir_all(p.path("data")).unwrap();
    std::fs::copy(src, p.path(&rel)).unwrap();
    rel
}

fn run(p: &TestProject, args: &[&str]) -> String {
    let out = p.mlctl().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", TestProject::stderr_of(&out));
    String::from_utf8(out.stdout).unwrap()
}

fn read(p: &TestProject, rel: &str) -> String {
    std::fs::read_to_string(p.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn regression_report_has_predicted_against_actual_and_residual_charts() {
    let p = TestProject::new();
    let data = fixture(&p, "diabetes");
    run(&p, &["split", &data, "-o", "data/train.csv", "--holdout", "data/holdout.csv"]);
    let holdout_rows = read(&p, "data/holdout.csv").lines().count() - 1;
    run(&p, &["train", "data/train.csv", "--target", "progression", "--name", "d", "--set", "n_trees=10"]);
    run(&p, &["evaluate", "d", "--data", "data/holdout.csv", "--report", "reports/eval.md"]);
    let md = read(&p, "reports/eval.md");
    assert!(md.contains("](eval-predicted.svg)") && md.contains("](eval-residuals.svg)"), "{md}");
    for chart in ["reports/eval-predicted.svg", "reports/eval-residuals.svg"] {
        let svg = read(&p, chart);
        assert!(svg.starts_with("<svg"), "{chart}");
        assert_eq!(svg.matches("<circle").count(), holdout_rows, "{chart}: one dot per holdout row");
        assert_eq!(svg.matches("stroke-dasharray").count(), 1, "{chart}: the guide line");
    }
    assert!(read(&p, "reports/eval-residuals.svg").contains("actual − predicted"));
}

#[test]
fn compare_writes_a_chart_of_the_fold_scores_per_algorithm() {
    let p = TestProject::new();
    let data = p.sample("d", 400, 5);
    run(
        &p,
        &["train", &data, "--target", "success", "--name", "m", "--set", "n_trees=5"]
            .into_iter()
            .chain(["--compare", "random-forest,logistic-regression", "--cv", "3"])
            .collect::<Vec<_>>(),
    );
    let md = read(&p, "MODEL_COMPARISON.md");
    assert!(md.contains("## f1 per fold") && md.contains("](MODEL_COMPARISON-folds.svg)"), "{md}");
    let svg = read(&p, "MODEL_COMPARISON-folds.svg");
    assert_eq!(svg.matches("<circle").count(), 2 * 3, "a dot per fold and algorithm");
    assert_eq!(svg.matches("<title>mean").count(), 2, "a mean per algorithm");
    assert!(svg.contains(">random-forest</text>") && svg.contains(">logistic-regression</text>"));
}

#[test]
fn k_auto_draws_the_silhouette_per_k_and_segment_counts_are_integers() {
    let p = TestProject::new();
    let data = fixture(&p, "iris");
    let report: Value =
        serde_json::from_str(&run(&p, &["--json", "train", &data, "--drop", "species", "--name", "auto"])).unwrap();
    let tried = report["k_search"].as_array().unwrap();
    assert!(tried.len() >= 2, "{report}");
    assert_eq!(tried.iter().filter(|k| k["chosen"] == true).count(), 1);

    let human = run(&p, &["train", &data, "--drop", "species", "--name", "auto"]);
    assert!(human.contains("silhouette per k (k=auto):"), "{human}");
    let bars: Vec<&str> = human.lines().filter(|l| l.starts_with("    k=")).collect();
    assert_eq!(bars.len(), tried.len(), "{human}");
    assert_eq!(bars.iter().filter(|l| l.ends_with("← chosen")).count(), 1, "{human}");
    assert!(bars.iter().any(|l| l.contains('█')), "{human}");

    run(&p, &["evaluate", "auto", "--data", &data, "--allow-overlap", "--report", "seg.md"]);
    let segments = read(&p, "seg-segments.svg");
    assert!(!segments.contains(".000<"), "counts are integers: {segments}");
    let counts: Vec<&str> = segments.split("\">").filter_map(|t| t.split_once("</text>").map(|x| x.0)).collect();
    assert!(counts.iter().any(|c| c.parse::<u64>().is_ok()), "{segments}");
}
