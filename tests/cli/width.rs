//! The human output fits the width it is given (COLUMNS here, as on a terminal): the widest tables leave out
//! their least useful columns and say so, and long lines of text wrap.

use crate::common::TestProject;

fn at_80(p: &TestProject, args: &[&str]) -> String {
    let out = p.mlctl().env("COLUMNS", "80").args(args).output().unwrap();
    assert!(out.status.success() || out.status.code() == Some(3), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn assert_fits(text: &str, width: usize) {
    for line in text.lines() {
        assert!(line.chars().count() <= width, "line of {} characters:\n{line}\nin\n{text}", line.chars().count());
    }
}

#[test]
fn list_drift_and_compare_fit_80_columns() {
    let p = TestProject::new();
    let data = p.sample("train", 600, 1);
    p.sample("current", 300, 2);
    let compare = at_80(
        &p,
        &[
            "train",
            &data,
            "--target",
            "success",
            "--name",
            "a_rather_long_model_name",
            "--compare",
            "random-forest,logistic-regression,gradient-boosting",
            "--cv",
            "2",
            "--set",
            "n_trees=10",
        ],
    );
    assert_fits(&compare, 80);
    assert!(compare.contains("hidden at 80 columns: predict ms/fold"), "{compare}");
    let list = at_80(&p, &["list"]);
    assert_fits(&list, 80);
    assert!(list.contains("a_rather_long_model_name") && list.contains("hidden at 80 columns: created"), "{list}");
    let drift = at_80(&p, &["drift", "a_rather_long_model_name", "--data", "data/current.csv"]);
    assert_fits(&drift, 80);
    assert!(drift.contains("emp_performance_rating") && drift.contains("hidden at 80 columns: threshold"), "{drift}");

    // Wide enough, nothing is left out.
    let wide = p.mlctl().env("COLUMNS", "200").arg("list").output().unwrap();
    let wide = String::from_utf8(wide.stdout).unwrap();
    assert!(wide.contains("created") && !wide.contains("hidden"), "{wide}");
}

#[test]
fn parameters_print_as_key_value_lines() {
    let p = TestProject::new();
    let data = p.sample("train", 300, 1);
    let train = at_80(&p, &["train", &data, "--target", "success", "--name", "m", "--set", "n_trees=7"]);
    assert!(train.lines().any(|l| l.trim() == "n_trees=7"), "{train}");
    assert!(train.lines().any(|l| l.trim() == "max_features=sqrt"), "{train}");
    assert!(!train.contains("{\""), "{train}");
    assert_fits(&train, 80);
    let show = at_80(&p, &["show", "m"]);
    assert!(show.lines().any(|l| l.trim() == "n_trees=7") && !show.contains("{\""), "{show}");
    assert_fits(&show, 80);
}
