//! Regression tests for the four ways to lose data or write outside the project (issue 36, items 1-4): each
//! test is named after what it prevents, and fails on the code before the fix.

use std::os::unix::fs::FileTypeExt;

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

use crate::common::{assert_registry_valid, TestProject};

fn train_small(p: &TestProject, data: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    p.mlctl()
        .args(["-q", "train", data, "--target", "success", "--name", "m", "--set", "n_trees=3"])
        .args(extra)
        .assert()
}

#[test]
fn version_numbers_never_wrap_onto_an_existing_version() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    let max = u64::MAX;
    train_small(&p, &data, &[]).success();
    let model_before = std::fs::read(p.path("ml_models/m/1.0.0/model.bin")).unwrap();
    // Same spec → a patch bump past 1.0.MAX.
    train_small(&p, &data, &["--version", &format!("1.0.{max}")]).success();
    train_small(&p, &data, &[]).failure().stderr(contains("overflow").and(contains("--version")));
    // A new hyperparameter → a minor bump past 1.MAX.0.
    train_small(&p, &data, &["--version", &format!("1.{max}.0")]).success();
    train_small(&p, &data, &["--set", "max_depth=4"]).failure().stderr(contains("overflow"));
    // A new feature schema → a major bump past MAX.0.0.
    train_small(&p, &data, &["--version", &format!("{max}.0.0")]).success();
    p.write("data/renamed.csv", &std::fs::read_to_string(p.path(&data)).unwrap().replace("task_priority", "prio"));
    train_small(&p, "data/renamed.csv", &[]).failure().stderr(contains("overflow"));
    assert_eq!(std::fs::read(p.path("ml_models/m/1.0.0/model.bin")).unwrap(), model_before, "1.0.0 was overwritten");
    let versions = p.versions("m");
    let mut unique = versions.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), versions.len(), "a version is registered twice: {versions:?}");
    assert_registry_valid(&p);
}

#[test]
fn writing_to_a_fifo_or_device_never_replaces_it() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    train_small(&p, &data, &[]).success();
    let fifo = p.path("out.pipe");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(&fifo).unwrap())
    };
    p.mlctl()
        .args(["predict", "m", "--input", &data, "--no-log", "-o", "out.pipe", "--format", "csv"])
        .assert()
        .success();
    let text = reader.join().unwrap();
    assert_eq!(text.lines().count(), 301, "every prediction came through the pipe");
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced by a file");
    // /dev/null is a character device: written into (as root it used to be replaced), never a temp file beside.
    p.mlctl().args(["predict", "m", "--input", &data, "--no-log", "-o", "/dev/null"]).assert().success();
    p.mlctl().args(["export", "--sample", "skill-assignment", "--rows", "10", "-o", "/dev/null"]).assert().success();
    assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    // A folder is refused, naming the path the user gave.
    std::fs::create_dir(p.path("outdir")).unwrap();
    p.mlctl()
        .args(["predict", "m", "--input", &data, "--no-log", "-o", "outdir"])
        .assert()
        .failure()
        .stderr(contains("outdir").and(contains("folder")).and(contains(".tmp-").not()));
}

#[test]
fn a_symlinked_registry_lock_never_truncates_its_target() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    train_small(&p, &data, &[]).success();
    let victim = p.write("precious.txt", "do not truncate me\n");
    let lock = p.path("ml_models/.lock");
    let _ = std::fs::remove_file(&lock);
    std::os::unix::fs::symlink(&victim, &lock).unwrap();
    train_small(&p, &data, &[]).failure().stderr(contains(".lock").and(contains("symbolic link")));
    p.mlctl().args(["promote", "m@1.0.0", "--to", "staging"]).assert().failure();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "do not truncate me\n");
    assert_eq!(p.versions("m"), ["1.0.0"]);
}

#[test]
fn predicting_onto_its_own_input_never_replaces_the_dataset() {
    let p = TestProject::new();
    let data = p.sample("d", 300, 1);
    train_small(&p, &data, &[]).success();
    let before = std::fs::read(p.path(&data)).unwrap();
    p.mlctl()
        .args(["predict", "m", "--input", &data, "--no-log", "-o", &data])
        .assert()
        .failure()
        .stderr(contains("is the input file"));
    // Through a link to it, too.
    std::os::unix::fs::symlink(p.path(&data), p.path("alias.csv")).unwrap();
    p.mlctl()
        .args(["predict", "m", "--input", &data, "--no-log", "-o", "alias.csv"])
        .assert()
        .failure()
        .stderr(contains("is the input file"));
    p.mlctl().args(["export", "--from", &data, "-o", "alias.csv"]).assert().failure().stderr(contains("is the input"));
    p.mlctl()
        .args(["evaluate", "m", "--data", &data, "--report", &data])
        .assert()
        .failure()
        .stderr(contains("is the input"));
    assert_eq!(std::fs::read(p.path(&data)).unwrap(), before, "the dataset was replaced");
}
