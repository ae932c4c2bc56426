//! Issue #31, items 5, 6 and 8: list flags that take repeats and comma lists, drift charts for features with
//! many levels, and the small things (causes that repeat the message, the audit user without $USER,
//! --metrics-file on every command that accepts it, the streamed sample export).

use std::process::Command;

use predicates::str::contains;
use serde_json::Value;

use crate::common::{TestProject, QUICK};

/// A CSV whose columns need the list flags: an id, a column whose name holds a comma, a code that looks numeric,
/// two numbers and a label that follows `x`.
fn listy(p: &TestProject) {
    let mut text = String::from("id,\"city, state\",code,x,z,y\n");
    for i in 0..120 {
        let city = ["Austin, TX", "Boston, MA", "Denver, CO"][i % 3];
        let x = (i * 37 % 100) as f64 / 10.0;
        let _ = std::fmt::Write::write_fmt(
            &mut text,
            format_args!("{i},\"{city}\",{},{x},{},{}\n", 100 + i % 4, (i * 13 % 50) as f64 / 7.0, u8::from(x > 5.0)),
        );
    }
    p.write("data/listy.csv", &text);
}

fn metadata(p: &TestProject, name: &str, version: &str) -> Value {
    let path = p.path(&format!("ml_models/{name}/{version}/metadata.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn feature_types(meta: &Value) -> Vec<(String, String)> {
    meta["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap().to_owned(), f["type"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn train_list_flags_take_repeats_comma_lists_and_a_quoted_name_with_a_comma() {
    let p = TestProject::new();
    listy(&p);
    p.mlctl()
        .args(["-q", "train", "data/listy.csv", "--target", "y", "--name", "m"])
        .args(["--drop", "id", "--drop", "\"city, state\",z", "--categorical", "code,", "--numeric", "x"])
        .args(["--set", "n_trees=7,max_depth=3"])
        .assert()
        .success();
    let meta = metadata(&p, "m", "1.0.0");
    assert_eq!(
        feature_types(&meta),
        [("code".to_owned(), "categorical".to_owned()), ("x".to_owned(), "numeric".to_owned())]
    );
    assert_eq!(meta["params"]["n_trees"], 7);
    assert_eq!(meta["params"]["max_depth"], 3);

    // In mlctl.toml a list names columns as written.
    p.write(
        "mlctl.toml",
        "[models.t]\ndata = \"data/listy.csv\"\ntarget = \"y\"\ndrop = [\"id\", \"city, state\", \"z\"]\n\
         categorical = [\"code\"]\n[models.t.params]\nn_trees = 7\n",
    );
    p.mlctl().args(["-q", "train", "--model", "t"]).assert().success();
    assert_eq!(feature_types(&metadata(&p, "t", "1.0.0")), feature_types(&meta));

    // Unquoted, the same name is two names, neither of them a column.
    p.mlctl()
        .args(["train", "data/listy.csv", "--target", "y", "--name", "m", "--drop", "city, state"])
        .assert()
        .code(1)
        .stderr(contains("column \"city\": --drop names no such column"));
    // An open quote is an error that says how to quote.
    p.mlctl()
        .args(["train", "data/listy.csv", "--target", "y", "--name", "m", "--drop", "\"city, state"])
        .assert()
        .code(2)
        .stderr(contains("a double quote is not closed"));
}

#[test]
fn compare_takes_repeats_as_well_as_a_comma_list() {
    let p = TestProject::new();
    listy(&p);
    let out = p
        .mlctl()
        .args(["--json", "-q", "train", "data/listy.csv", "--target", "y", "--name", "m", "--drop", "id"])
        .args(["--compare", "decision-tree", "--compare", "naive-bayes,logistic-regression", "--cv", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ranked = report["comparison"]["candidates"].as_array().map_or(0, Vec::len);
    assert_eq!(ranked, 3, "{:#}", report["comparison"]);
}

#[test]
fn evaluate_gates_take_comma_lists() {
    let p = TestProject::new();
    let data = p.sample("d", 800, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    let out = p
        .mlctl()
        .args([
            "--json",
            "evaluate",
            "m",
            "--data",
            &data,
            "--min",
            "f1=0.1,accuracy=0.999",
            "--max",
            "log_loss=9",
            "--allow-overlap",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let gates: Vec<String> =
        report["gates"].as_array().unwrap().iter().map(|g| g["metric"].as_str().unwrap().to_owned()).collect();
    assert_eq!(gates, ["f1", "accuracy", "log_loss"]);
}

#[test]
fn drift_stattest_and_threshold_take_comma_lists() {
    let p = TestProject::new();
    let data = p.sample("d", 800, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    let out = p
        .mlctl()
        .args(["--json", "drift", "m", "--data", &data])
        .args(["--stattest", "psi,task_priority=chisquare", "--threshold", "0.3,emp_workload_ratio=0.25"])
        .output()
        .unwrap();
    assert!(out.status.code() == Some(0), "{}", TestProject::stderr_of(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let feature =
        |name: &str| report["features"].as_array().unwrap().iter().find(|f| f["feature"] == name).unwrap().clone();
    assert_eq!(feature("task_priority")["test"], "chisquare");
    assert_eq!(feature("emp_workload_ratio")["test"], "psi");
    assert_eq!(feature("emp_workload_ratio")["threshold"], 0.25);
    assert_eq!(feature("skill_match_score")["threshold"], 0.3);
}

/// Reference: 40 airports, equally common. Current: AP07 takes a fifth of the rows and the rest go to AP00–AP14
/// (unevenly: nine of them gain 4.2 points, six 0.8), so AP15–AP39 lose 2.5 points each: 34 levels move by
/// more than a point, more than a chart draws.
fn airports(p: &TestProject) {
    let mut reference = String::from("airport,x,y\n");
    for i in 0..2000 {
        let _ = std::fmt::Write::write_fmt(&mut reference, format_args!("AP{:02},{},{}\n", i % 40, i % 7, i % 2));
    }
    p.write("data/reference.csv", &reference);
    let mut current = String::from("airport,x,y\n");
    for i in 0..2000 {
        let airport = if i % 10 < 2 { 7 } else { i % 15 };
        let _ = std::fmt::Write::write_fmt(&mut current, format_args!("AP{airport:02},{},{}\n", i % 7, i % 2));
    }
    p.write("data/current.csv", &current);
}

#[test]
fn a_feature_with_many_levels_draws_twenty_bars_and_one_for_the_rest_and_lists_the_moved_levels() {
    let p = TestProject::new();
    airports(&p);
    p.mlctl()
        .args(["-q", "train", "data/reference.csv", "--target", "y", "--name", "m", "--categorical", "airport"])
        .args(QUICK)
        .assert()
        .success();
    p.mlctl().args(["drift", "m", "--data", "data/current.csv", "--report", "r/drift.md"]).assert().code(3);
    let svg = std::fs::read_to_string(p.path("r/drift-airport.svg")).unwrap();
    let labels = svg.matches("transform=\"rotate(-40").count();
    assert_eq!(labels, 21, "20 levels and one pooled bar");
    assert!(svg.contains(">other (20 levels)</text>"), "{svg}");
    // AP07 and the nine 4.2-point gainers are drawn; of the 25 levels that lost 2.5 points the first 10 are; the
    // rest and the 0.8-point gainers are pooled.
    assert!(svg.contains(">AP07</text>") && svg.contains(">AP02</text>") && svg.contains(">AP25</text>"));
    assert!(!svg.contains(">AP00</text>") && !svg.contains(">AP26</text>") && !svg.contains(">AP39</text>"));

    let md = std::fs::read_to_string(p.path("r/drift.md")).unwrap();
    // The table lists every level that moved by more than a point, beyond the 20 drawn, largest change first.
    assert!(md.contains("Levels whose share changed by more than 1 point (34 of 40):"), "{md}");
    assert!(md.contains("|---:|\n| AP07 | 2.5% | 26.7% | +24.2 pt |\n| AP02 | 2.5% | 6.7% | +4.2 pt |"), "{md}");
    assert!(md.contains("| AP39 | 2.5% | 0.0% | -2.5 pt |"), "{md}");
    assert!(!md.contains("| AP00 |"), "{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with("| AP") && l.ends_with(" pt |")).count(), 34, "{md}");
    // x has 7 levels, none of which moved.
    p.mlctl()
        .args(["-q", "train", "data/reference.csv", "--target", "y", "--name", "n", "--categorical", "x,airport"])
        .args(QUICK)
        .assert()
        .success();
    p.mlctl().args(["drift", "n", "--data", "data/current.csv", "--report", "r/n.md"]).assert().code(3);
    let md = std::fs::read_to_string(p.path("r/n.md")).unwrap();
    assert!(md.contains("### x\n\n![x histogram](n-x.svg)\n\nNo level's share changed by more than 1 point."), "{md}");
}

#[test]
fn a_cause_that_repeats_the_message_is_not_printed() {
    let p = TestProject::new();
    let out = p.mlctl().args(["train", "missing.csv", "--target", "y"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = TestProject::stderr_of(&out);
    assert!(stderr.contains("missing.csv: No such file or directory"), "{stderr}");
    assert!(!stderr.contains("caused by"), "{stderr}");
    let out = p.mlctl().args(["--json", "train", "missing.csv", "--target", "y"]).output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["causes"], serde_json::json!([]));

    // A cause that says something new is still printed.
    p.write("mlctl.toml", "[models.m]\ntarget = \"y\"\n[models.m.drift]\nstattest = \"kss\"\n");
    let data = p.sample("d", 300, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    p.mlctl()
        .args(["drift", "m", "--data", &data])
        .assert()
        .code(1)
        .stderr(contains("error: in [models.m.drift] of"))
        .stderr(contains("caused by: "));
}

/// The uid's account name as `id -un` knows it; None when the uid has no entry.
fn account_name() -> Option<String> {
    let out = Command::new("id").arg("-un").output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn the_audit_user_falls_back_from_mlctl_user_to_user_logname_and_the_account() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    let train = |vars: &[(&str, &str)]| {
        let mut cmd = p.mlctl();
        for k in ["MLCTL_USER", "USER", "LOGNAME", "USERNAME"] {
            cmd.env_remove(k);
        }
        cmd.envs(vars.iter().copied());
        cmd.args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
        let events = p.registry()["models"]["m"]["events"].as_array().unwrap().clone();
        events.last().unwrap()["user"].as_str().unwrap().to_owned()
    };
    assert_eq!(train(&[("MLCTL_USER", "ci"), ("USER", "u"), ("LOGNAME", "l")]), "ci");
    assert_eq!(train(&[("USER", "u"), ("LOGNAME", "l")]), "u");
    assert_eq!(train(&[("LOGNAME", "l")]), "l");
    assert_eq!(train(&[]), account_name().unwrap_or_else(|| "unknown".to_owned()));
}

fn promtool_accepts(path: &std::path::Path) {
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(path).unwrap())
        .output()
        .expect("promtool is needed (scripts/install_promtool.sh installs it; make test runs it)");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn train_and_promote_write_their_gauges_and_other_commands_refuse_the_flag() {
    let p = TestProject::new();
    let data = p.sample("d", 600, 1);
    p.mlctl()
        .args(["-q", "--metrics-file", "t.prom", "train", &data, "--target", "success", "--name", "m"])
        .args(QUICK)
        .assert()
        .success();
    let text = std::fs::read_to_string(p.path("t.prom")).unwrap();
    assert!(text.contains("mlctl_train_metric{model=\"m\",version=\"1.0.0\",metric=\"f1\"} 0."), "{text}");
    assert!(text.contains("mlctl_train_rows{model=\"m\",version=\"1.0.0\"} 600"), "{text}");
    promtool_accepts(&p.path("t.prom"));
    p.mlctl()
        .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", "n_trees=9"])
        .assert()
        .success();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();

    // The gate refuses 1.1.0 (it must beat 1.0.0 by a full point of f1): exit 3, and the gauges say so.
    p.mlctl()
        .args(["--metrics-file", "p.prom", "promote", "m@1.1.0", "--to", "production", "--min-improvement", "1"])
        .assert()
        .code(3);
    let text = std::fs::read_to_string(p.path("p.prom")).unwrap();
    assert!(text.contains("mlctl_model_version_stage{model=\"m\",version=\"1.0.0\",stage=\"production\"} 1"), "{text}");
    assert!(
        text.contains("mlctl_model_version_stage{model=\"m\",version=\"1.1.0\",stage=\"development\"} 1"),
        "{text}"
    );
    assert!(text.contains("mlctl_model_version_stage{model=\"m\",version=\"1.1.0\",stage=\"production\"} 0"), "{text}");
    assert!(text.contains("mlctl_promotion_gate_passed{model=\"m\",version=\"1.1.0\",metric=\"f1\"} 0"), "{text}");
    assert!(text.contains("mlctl_promotion_refused{model=\"m\",version=\"1.1.0\",to=\"production\"} 1"), "{text}");
    promtool_accepts(&p.path("p.prom"));

    // A promotion to staging: no gate, the stages after it.
    p.mlctl().args(["--metrics-file", "s.prom", "promote", "m@1.1.0", "--to", "staging"]).assert().success();
    let text = std::fs::read_to_string(p.path("s.prom")).unwrap();
    assert!(text.contains("mlctl_model_version_stage{model=\"m\",version=\"1.1.0\",stage=\"staging\"} 1"), "{text}");
    assert!(!text.contains("mlctl_promotion_gate_passed"), "no gate ran for staging: {text}");
    promtool_accepts(&p.path("s.prom"));

    // A rollback writes the stages after it too.
    p.mlctl()
        .args(["-q", "promote", "m@1.1.0", "--to", "production", "--force", "--reason", "test"])
        .assert()
        .success();
    p.mlctl().args(["--metrics-file", "r.prom", "promote", "m", "--rollback"]).assert().success();
    let text = std::fs::read_to_string(p.path("r.prom")).unwrap();
    assert!(text.contains("mlctl_model_version_stage{model=\"m\",version=\"1.0.0\",stage=\"production\"} 1"), "{text}");
    assert!(text.contains("mlctl_model_version_stage{model=\"m\",version=\"1.1.0\",stage=\"archived\"} 1"), "{text}");
    promtool_accepts(&p.path("r.prom"));

    for args in
        [&["list"][..], &["show", "m"], &["prune", "m"], &["export", "--sample", "skill-assignment", "-o", "x.csv"]]
    {
        p.mlctl()
            .arg("--metrics-file")
            .arg("x.prom")
            .args(args)
            .assert()
            .code(2)
            .stderr(contains(format!("--metrics-file is not supported by `mlctl {}`", args[0])));
    }
    assert!(!p.path("x.prom").exists() && !p.path("x.csv").exists());
}

#[test]
fn a_streamed_sample_export_is_the_shipped_file_and_card() {
    let p = TestProject::new();
    p.sample("skill_assignment", 10_000, 42);
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/data/skill_assignment.csv");
    assert!(std::fs::read(p.path("data/skill_assignment.csv")).unwrap() == std::fs::read(shipped).unwrap());
    let card = |path: std::path::PathBuf| {
        let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("exported_at");
        v
    };
    assert_eq!(
        card(p.path("data/skill_assignment.csv.card.json")),
        card(format!("{shipped}.card.json").into()),
        "the card states the types and missing counts that reading the file back gives"
    );
}
