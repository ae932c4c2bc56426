//! One way to say each thing (#35): `--data FILE` for every command that reads a dataset, `predict -o` by
//! extension, class labels of their training type, usage errors exit 2, and `--help` that reads at 80 columns.

use predicates::prelude::*;
use predicates::str::contains;

use crate::common::{TestProject, QUICK};

/// Every command's help wraps at the terminal's width and lists its own options before the global ones.
#[test]
fn help_wraps_at_the_terminal_width_with_the_commands_own_options_first() {
    let p = TestProject::new();
    for command in ["train", "evaluate", "predict", "drift", "promote", "split", "outcomes", "monitor", "serve"] {
        let out = p.mlctl().args([command, "--help"]).env("COLUMNS", "80").output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let too_wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
        assert!(too_wide.is_empty(), "mlctl {command} --help has lines over 80 columns: {too_wide:#?}");
        let own = text.find("\nOptions:").expect("an Options section");
        let global = text.find("\nGlobal options:").expect("a Global options section");
        let project = text.find("--project").unwrap();
        assert!(own < global && global < project, "mlctl {command} --help:\n{text}");
    }
}

/// A project with model `m` (classification, target `success`) trained on `data/train.csv`.
fn trained() -> TestProject {
    let p = TestProject::new();
    let data = p.sample("train", 400, 1);
    p.mlctl().args(["-q", "train", &data, "--target", "success", "--name", "m"]).args(QUICK).assert().success();
    p
}

/// Runs `args` plain and with `--json`: exit 2 both times, the message on stderr, and with --json one JSON
/// document on stdout with "kind": "usage".
fn assert_usage_error(p: &TestProject, args: &[&str], says: &str) {
    p.mlctl().args(args).assert().code(2).stderr(contains(says)).stdout("");
    let out = p.mlctl().arg("--json").args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "--json {args:?}: {}", TestProject::stderr_of(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document on stdout");
    assert_eq!(doc["kind"], "usage", "{args:?}: {doc}");
    assert!(doc["error"].as_str().unwrap().contains(says), "{args:?}: {doc}");
}

#[test]
fn every_flag_value_that_cannot_be_used_is_a_usage_error() {
    let p = trained();
    let data = "data/train.csv";
    assert_usage_error(&p, &["promote", "m@1.0.0", "--to", "prod"], "--to prod");
    assert_usage_error(&p, &["evaluate", "m", "--data", data, "--min", "f2=0.5", "--allow-overlap"], "\"f2\"");
    assert_usage_error(&p, &["predict", "m", "--input", data, "--format", "parquet", "--no-log"], "parquet");
    assert_usage_error(&p, &["train", data, "--target", "success", "--cv", "1"], "--cv 1");
    assert_usage_error(&p, &["train", data, "--target", "success", "--algorithm", "foo"], "unknown algorithm");
    assert_usage_error(&p, &["train", data, "--target", "success", "--set", "n_tres=5"], "did you mean \"n_trees\"");
    assert_usage_error(&p, &["train", data, "--target", "success", "--set", "n_trees=many"], "n_trees=many");
    assert_usage_error(&p, &["drift", "m", "--data", data, "--stattest", "emp_availability=ks"], "does not apply");
    assert_usage_error(&p, &["drift", "m", "--data", data, "--threshold", "no_such_column=0.1"], "no_such_column");
}

/// The same mistakes in mlctl.toml are errors in that file (exit 1), not usage errors.
#[test]
fn the_same_values_from_mlctl_toml_are_errors_in_that_file() {
    let p = trained();
    p.write(
        "mlctl.toml",
        "[models.m]\ndata = \"data/train.csv\"\ntarget = \"success\"\nparams = { n_tres = 5 }\n\n\
         [models.m.drift.features.emp_availability]\nstattest = \"ks\"\n",
    );
    p.mlctl().args(["train", "--model", "m"]).assert().code(1).stderr(contains("did you mean \"n_trees\""));
    p.mlctl().args(["drift", "m", "--data", "data/train.csv"]).assert().code(1).stderr(contains("does not apply"));
}

/// `--data FILE` names the dataset for every command that reads one; train's and split's positional FILE,
/// `predict MODEL FILE` and predict's `--input` say the same, and two of them at once are a usage error.
#[test]
fn data_names_the_dataset_of_every_command() {
    let p = TestProject::new();
    let data = p.sample("all", 400, 1);
    p.mlctl()
        .args(["-q", "split", "--data", &data, "-o", "data/train.csv", "--holdout", "data/holdout.csv"])
        .assert()
        .success();
    p.mlctl()
        .args(["-q", "train", "--data", "data/train.csv", "--target", "success", "--name", "m"])
        .args(QUICK)
        .assert()
        .success();
    assert_eq!(p.versions("m"), ["1.0.0"]);
    let predictions = |args: &[&str]| {
        let out = p.mlctl().args(["predict", "m"]).args(args).arg("--no-log").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", TestProject::stderr_of(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let by_flag = predictions(&["--data", "data/holdout.csv"]);
    assert_eq!(by_flag.lines().count(), 81, "a header and 80 rows");
    assert_eq!(predictions(&["data/holdout.csv"]), by_flag);
    assert_eq!(predictions(&["--input", "data/holdout.csv"]), by_flag);
    assert_eq!(predictions(&["-i", "data/holdout.csv"]), by_flag);
    p.mlctl().args(["-q", "evaluate", "m", "--data", "data/holdout.csv"]).assert().success();
    p.mlctl().args(["-q", "drift", "m", "--data", "data/holdout.csv"]).assert().code(predicates::ord::lt(4));

    // Two names for the dataset at once: clap's usage error.
    for args in [
        vec!["train", "data/train.csv", "--data", "data/train.csv", "--target", "success"],
        vec!["split", "data/all.csv", "--data", "data/all.csv", "-o", "a.csv", "--holdout", "b.csv"],
        vec!["predict", "m", "data/holdout.csv", "--data", "data/holdout.csv"],
        vec!["predict", "m", "--input", "data/holdout.csv", "--data", "data/holdout.csv"],
    ] {
        p.mlctl().args(&args).assert().code(2).stderr(contains("cannot be used"));
    }
    p.mlctl().args(["predict", "m"]).assert().code(2).stderr(contains("--data"));
    assert!(!p.path("a.csv").exists());
}

/// `-` is stdin for predict; the commands that read their dataset by name refuse it as a usage error saying so.
#[test]
fn stdin_is_refused_where_the_dataset_is_read_by_name() {
    let p = trained();
    let holdout = std::fs::read_to_string(p.path("data/train.csv")).unwrap();
    let out = p.mlctl().args(["predict", "m", "-", "--no-log"]).write_stdin(holdout.clone()).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 401);
    for args in [
        vec!["train", "-", "--target", "success"],
        vec!["train", "--data", "-", "--target", "success"],
        vec!["split", "-", "-o", "a.csv", "--holdout", "b.csv"],
        vec!["evaluate", "m", "--data", "-"],
        vec!["drift", "m", "--data", "-"],
        vec!["promote", "m@1.0.0", "--to", "staging", "--data", "-"],
        vec!["outcomes", "m", "--data", "-", "--id-column", "id"],
    ] {
        assert_usage_error(&p, &args, "reads a file, not stdin");
    }
    assert_eq!(p.versions("m"), ["1.0.0"], "nothing registered");
}

/// `predict -o FILE` writes the format its extension names; `--format` wins; another extension is a usage error
/// that names it and the choices, and writes nothing.
#[test]
fn predict_output_format_follows_the_extension() {
    let p = trained();
    let predict = |args: &[&str]| {
        let out = p.mlctl().args(["-q", "predict", "m", "data/train.csv", "--no-log"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", TestProject::stderr_of(&out));
    };
    predict(&["-o", "p.json"]);
    let array: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(p.path("p.json")).unwrap()).unwrap();
    assert_eq!(array.len(), 400);
    for name in ["p.ndjson", "p.jsonl", "P.JSONL"] {
        predict(&["-o", name]);
        let text = std::fs::read_to_string(p.path(name)).unwrap();
        assert_eq!(text.lines().count(), 400, "{name}");
        assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Map<_, _>>(l).is_ok()), "{name}: {text}");
    }
    predict(&["-o", "p.csv"]);
    assert!(std::fs::read_to_string(p.path("p.csv")).unwrap().starts_with("success,prediction,probability\n"));
    // --format given explicitly wins over the extension.
    predict(&["-o", "forced.json", "--format", "csv"]);
    assert!(std::fs::read_to_string(p.path("forced.json")).unwrap().starts_with("success,prediction,probability\n"));
    predict(&["-o", "p.txt", "--format", "ndjson"]);
    assert_eq!(std::fs::read_to_string(p.path("p.txt")).unwrap().lines().count(), 400);

    for name in ["p.parquet", "p.tsv"] {
        let extension = name.rsplit('.').next().unwrap();
        let says = format!("the extension .{extension} names no format");
        assert_usage_error(&p, &["predict", "m", "data/train.csv", "--no-log", "-o", name], &says);
        p.mlctl()
            .args(["predict", "m", "data/train.csv", "--no-log", "-o", name])
            .assert()
            .stderr(contains(".csv, .json, .ndjson or .jsonl").and(contains("--format csv|json|ndjson")));
        assert!(!p.path(name).exists());
    }
}

/// A `.json` file holding one object is one record, answered with one JSON object, as on stdin.
#[test]
fn a_json_file_holding_one_object_is_one_record() {
    let p = trained();
    let csv = std::fs::read_to_string(p.path("data/train.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let row: Vec<&str> = lines.next().unwrap().split(',').collect();
    let record: serde_json::Map<String, serde_json::Value> = header
        .iter()
        .zip(&row)
        .filter(|(h, _)| **h != "success")
        .map(|(h, v)| ((*h).to_owned(), v.parse::<f64>().map_or_else(|_| (*v).into(), Into::into)))
        .collect();
    let pretty = serde_json::to_string_pretty(&record).unwrap();
    p.write("one.json", &pretty);
    let out = p.mlctl().args(["predict", "m", "--data", "one.json", "--no-log"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert!(answer["probability"].is_number(), "{answer}");
    let stdin = p.mlctl().args(["predict", "m", "-", "--no-log"]).write_stdin(pretty).output().unwrap();
    assert_eq!(stdin.stdout, out.stdout, "the same answer as on stdin");
}

/// predict, like train, evaluate and drift, says which --delimiter reads a ;-separated file.
#[test]
fn predict_suggests_the_delimiter_of_a_semicolon_separated_file() {
    let p = trained();
    let semicolons = std::fs::read_to_string(p.path("data/train.csv")).unwrap().replace(',', ";");
    p.write("semi.csv", &semicolons);
    for args in [
        vec!["predict", "m", "semi.csv", "--no-log"],
        vec!["evaluate", "m", "--data", "semi.csv"],
        vec!["drift", "m", "--data", "semi.csv"],
        vec!["train", "semi.csv", "--target", "success"],
    ] {
        p.mlctl().args(&args).assert().code(1).stderr(contains("semi.csv").and(contains("pass --delimiter ';'")));
    }
    let out = p.mlctl().args(["predict", "m", "semi.csv", "--no-log", "--delimiter", ";"]).output().unwrap();
    assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 401);
}

/// `source` (a sample) with its 0/1 target `success` rewritten by `label` (0 → label(false), 1 → label(true)),
/// written to data/NAME.csv.
pub fn relabelled(p: &TestProject, source: &str, name: &str, label: fn(bool) -> &'static str) -> String {
    let text = std::fs::read_to_string(p.path(source)).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    assert!(out.trim_end().ends_with(",success"), "the target is the last column: {out}");
    for line in lines {
        let (features, target) = line.rsplit_once(',').unwrap();
        out.push_str(&format!("{features},{}\n", label(target == "1")));
    }
    let rel = format!("data/{name}.csv");
    p.write(&rel, &out);
    rel
}

/// Class labels answer in JSON with the type they had in the training data: 0/1 as numbers, true/false as
/// booleans, text as text; CSV output is the same text either way.
#[test]
fn class_labels_keep_their_training_type_in_json() {
    let p = trained();
    let typed = |model: &str, format: &str| -> Vec<serde_json::Value> {
        let out =
            p.mlctl().args(["predict", model, "data/train.csv", "--no-log", "--format", format]).output().unwrap();
        assert!(out.status.success(), "{}", TestProject::stderr_of(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        match format {
            "json" => serde_json::from_str::<Vec<serde_json::Value>>(&text).unwrap(),
            _ => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
        }
        .into_iter()
        .map(|row| row["prediction"].clone())
        .collect()
    };
    for format in ["json", "ndjson"] {
        let numbers = typed("m", format);
        assert!(numbers.iter().all(|v| *v == 0 || *v == 1), "{format}: {numbers:?}");
        assert!(numbers.contains(&serde_json::json!(0)) && numbers.contains(&serde_json::json!(1)));
    }

    let booleans = relabelled(&p, "data/train.csv", "booleans", |b| if b { "True" } else { "False" });
    let words = relabelled(&p, "data/train.csv", "words", |b| if b { "yes" } else { "no" });
    for (name, data) in [("b", &booleans), ("w", &words)] {
        p.mlctl()
            .args(["-q", "train", "--data", data, "--target", "success", "--name", name])
            .args(QUICK)
            .assert()
            .success();
    }
    for format in ["json", "ndjson"] {
        assert!(typed("b", format).iter().all(serde_json::Value::is_boolean), "{format}");
        assert!(typed("w", format).iter().all(|v| *v == "yes" || *v == "no"), "{format}");
    }
    let csv = p.mlctl().args(["predict", "b", "data/train.csv", "--no-log"]).output().unwrap();
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.lines().skip(1).all(|l| l.contains(",True,") || l.contains(",False,")), "CSV keeps the text: {csv}");
}
