//! Snapshots of the human output and the markdown people read (insta; `cargo insta review` or
//! `INSTA_UPDATE=always cargo test` after a deliberate change). The clock and user are fixed by TestProject;
//! the temp folder and timings are redacted.

use crate::common::TestProject;

/// Replaces the project's temp path with [PROJECT] and durations like "in 0.05s" with "in [TIME]".
fn redact(text: &str, p: &TestProject) -> String {
    let root = p.root().display().to_string();
    let mut out = text.replace(&root, "[PROJECT]");
    while let Some(start) = out.find(" in 0.").or_else(|| out.find(" in 1.")) {
        let rest = &out[start + 4..];
        let len = rest.find('s').unwrap_or(0);
        if len == 0 || !rest[..len].chars().all(|c| c.is_ascii_digit() || c == '.') {
            break;
        }
        out.replace_range(start + 4..start + 4 + len + 1, "[TIME]");
    }
    out
}

fn stdout(p: &TestProject, args: &[&str]) -> String {
    let out = p.mlctl().args(args).output().unwrap();
    redact(&String::from_utf8_lossy(&out.stdout), p)
}

/// Two versions (the second a weak one) and a holdout, all from fixed seeds.
fn project() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 1200, 1);
    p.sample("holdout", 400, 99);
    for set in [["n_trees=15", "max_depth=20"], ["n_trees=3", "max_depth=1"]] {
        p.mlctl()
            .args(["-q", "train", &data, "--target", "success", "--name", "m", "--set", set[0], "--set", set[1]])
            .assert()
            .success();
    }
    p
}

#[test]
fn human_output_of_each_command() {
    let p = project();
    insta::assert_snapshot!(
        "train",
        stdout(&p, &["train", "data/train.csv", "--target", "success", "--name", "m", "--set", "n_trees=15"])
    );
    insta::assert_snapshot!(
        "evaluate",
        stdout(&p, &["evaluate", "m@1.0.0", "--data", "data/holdout.csv", "--min", "f1=0.8"])
    );
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    insta::assert_snapshot!(
        "promote_refused",
        stdout(&p, &["promote", "m@1.1.0", "--to", "production", "--data", "data/holdout.csv"])
    );
    insta::assert_snapshot!("list", stdout(&p, &["list"]));
    insta::assert_snapshot!("diff", stdout(&p, &["diff", "m@1.0.0", "m@1.1.0"]));
    insta::assert_snapshot!("drift", stdout(&p, &["drift", "m@production", "--data", "data/holdout.csv"]));
}

#[test]
fn markdown_people_read() {
    let p = project();
    p.mlctl().args(["-q", "promote", "m@1.0.0", "--to", "production"]).assert().success();
    p.mlctl().args(["-q", "promote", "m@1.1.0", "--to", "staging"]).assert().success();
    p.mlctl()
        .args(["-q", "evaluate", "m@1.0.0", "--data", "data/holdout.csv", "--report", "reports/eval.md"])
        .assert()
        .success();
    // Exit 3 or 0, whichever the statistics say: the report is what is checked.
    p.mlctl()
        .args(["-q", "drift", "m@production", "--data", "data/holdout.csv", "--report", "reports/drift.md"])
        .output()
        .unwrap();
    let read = |rel: &str| redact(&std::fs::read_to_string(p.path(rel)).unwrap(), &p);
    insta::assert_snapshot!("model_registry_md", read("MODEL_REGISTRY.md"));
    insta::assert_snapshot!("evaluation_report_md", read("reports/eval.md"));
    insta::assert_snapshot!("drift_report_md", read("reports/drift.md"));
}
