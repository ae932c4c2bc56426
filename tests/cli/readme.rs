//! The README's word against the binary: its marked command blocks run as written (the convention is in the
//! README's "README commands are tested"), and statements it makes about output hold.

use std::path::Path;
use std::process::Command;

use crate::common::TestProject;

/// The marker line before a block that must run.
const MARKER: &str = "<!-- readme-test -->";

/// One command of a marked block and the exit code the README documents for it.
struct Step {
    line: usize,
    command: String,
    exit: i32,
}

/// The commands of every marked ```sh block, in order; continuation lines (`\`) joined.
fn marked_steps(readme: &str) -> (usize, Vec<Step>) {
    let mut steps = Vec::new();
    let mut blocks = 0;
    let mut lines = readme.lines().enumerate();
    while let Some((_, line)) = lines.next() {
        if line.trim() != MARKER {
            continue;
        }
        let (n, fence) = lines.next().expect("a block after the marker");
        assert_eq!(fence.trim(), "```sh", "README line {}: the marker must precede a ```sh block", n + 1);
        blocks += 1;
        let mut pending = String::new();
        for (n, line) in lines.by_ref() {
            if line.trim() == "```" {
                break;
            }
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                continue;
            }
            pending.push_str(line);
            let command = std::mem::take(&mut pending);
            if !command.trim().is_empty() && !command.trim_start().starts_with('#') {
                steps.push(Step { line: n + 1, exit: documented_exit(&command), command });
            }
        }
    }
    (blocks, steps)
}

/// `# exit N` in the trailing comment, else 0.
fn documented_exit(command: &str) -> i32 {
    command
        .rsplit_once(" # ")
        .and_then(|(_, comment)| comment.trim().strip_prefix("exit "))
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
fn readme_command_blocks_run_in_order() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(repo.join("README.md")).unwrap();
    let (blocks, steps) = marked_steps(&readme);
    assert!(blocks >= 4 && steps.len() >= 15, "{blocks} marked blocks, {} commands", steps.len());
    assert!(steps.iter().any(|s| s.exit == 3), "the expected exits are read");

    let p = TestProject::new();
    std::fs::copy(repo.join("mlctl.toml"), p.path("mlctl.toml")).unwrap();
    let bin_dir = assert_cmd::cargo::cargo_bin("mlctl").parent().unwrap().to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    for step in &steps {
        let out = Command::new("sh")
            .arg("-c")
            .arg(&step.command)
            .current_dir(p.root())
            .env("PATH", &path)
            .env("MLCTL_USER", "tester")
            .env_remove("COLUMNS")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(step.exit),
            "README.md line {}: `{}`\nstdout:\n{}\nstderr:\n{}",
            step.line,
            step.command,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The JSON example wrote one document.
    let json = std::fs::read_to_string(p.path("evaluation.json")).unwrap();
    let _: serde_json::Value = serde_json::from_str(&json).expect("one JSON document");
}

#[test]
fn marked_blocks_are_parsed_with_their_expected_exits() {
    let text = "x\n<!-- readme-test -->\n```sh\nmlctl a --b \\\n  c   # note\n\nmlctl d   # exit 3: gate\n```\n```sh\nmlctl never\n```\n";
    let (blocks, steps) = marked_steps(text);
    assert_eq!(blocks, 1);
    assert_eq!(steps.len(), 2);
    assert_eq!((steps[0].command.as_str(), steps[0].exit), ("mlctl a --b   c   # note", 0));
    assert_eq!(steps[1].exit, 3);
}

/// README: gradient boosting's importances are the total split gain per feature; output and metadata say so.
#[test]
fn gradient_boosting_importance_is_labelled_split_gain() {
    let p = TestProject::new();
    let data = p.sample("d", 400, 3);
    let out = p
        .mlctl()
        .args(["train", &data, "--target", "success", "--name", "m", "--algorithm", "gradient-boosting"])
        .args(["--set", "max_iter=10"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Top features (total split gain)") && !stdout.contains("impurity"), "{stdout}");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("ml_models/m/1.0.0/metadata.json")).unwrap()).unwrap();
    assert_eq!(meta["importance_method"], "split-gain");
}
