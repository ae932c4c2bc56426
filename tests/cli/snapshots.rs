//! Snapshots of the human output and the markdown people read (insta; `cargo insta review` or
//! `INSTA_UPDATE=always cargo test` after a deliberate change). The clock and user are fixed by TestProject;
//! the temp folder and timings are redacted.

use crate::common::TestProject;

/// Replaces the project's temp path with [PROJECT] and every duration ("in 0.05s", "in 12.31s", "in 3.5 ms")
/// with "in [TIME]", so that a slow machine does not change a snapshot.
fn redact(text: &str, p: &TestProject) -> String {
    let root = p.root().display().to_string();
    mask_durations(&text.replace(&root, "[PROJECT]"))
}

/// The regex `\bin \d+\.\d+ ?m?s\b`, by hand (the regex crate is not a dependency of ours, and adding it with
/// other features would rebuild polars): each match's number and unit become `[TIME]`.
fn mask_durations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("in ") {
        let word_start = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        match duration_len(after) {
            Some(len) if word_start => {
                out.push_str("[TIME]");
                rest = &after[len..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

/// The length of a leading `\d+\.\d+ ?m?s` that ends a word, if `text` starts with one.
fn duration_len(text: &str) -> Option<usize> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let whole = digits(text);
    if whole == 0 || text.as_bytes().get(whole) != Some(&b'.') {
        return None;
    }
    let fraction = digits(&text[whole + 1..]);
    if fraction == 0 {
        return None;
    }
    let mut len = whole + 1 + fraction;
    let unit = text[len..].strip_prefix(' ').map_or(&text[len..], |u| u);
    len += text[len..].len() - unit.len();
    let unit_len = if unit.starts_with("ms") {
        2
    } else if unit.starts_with('s') {
        1
    } else {
        return None;
    };
    len += unit_len;
    let ends_word = !text[len..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
    ends_word.then_some(len)
}

/// A command's stdout, redacted, with its exit code as the last line: a change of exit code is a change of
/// the snapshot.
fn stdout(p: &TestProject, args: &[&str]) -> String {
    let out = p.mlctl().args(args).output().unwrap();
    let code = out.status.code().map_or_else(|| "signal".to_owned(), |c| c.to_string());
    format!("{}[exit {code}]\n", redact(&String::from_utf8_lossy(&out.stdout), p))
}

#[test]
fn durations_are_masked_whatever_their_length() {
    let cases = [
        ("Registered m@1.0.0 (major) in 0.05s", "Registered m@1.0.0 (major) in [TIME]"),
        ("Registered m@1.0.0 in 12.31s\n", "Registered m@1.0.0 in [TIME]\n"),
        ("trained in 2.00s · seed 7", "trained in [TIME] · seed 7"),
        ("loaded in 3.5 ms, then in 140.25ms.", "loaded in [TIME], then in [TIME]."),
        // Not durations: no unit, no fraction, a longer word, or a unit that goes on.
        ("in 0.5 of the rows", "in 0.5 of the rows"),
        ("in 3s", "in 3s"),
        ("within 1.5s", "within 1.5s"),
        ("in 1.5sec", "in 1.5sec"),
    ];
    for (text, masked) in cases {
        assert_eq!(mask_durations(text), masked, "{text:?}");
    }
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
