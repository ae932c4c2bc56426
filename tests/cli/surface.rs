//! One way to say each thing (#35): `--data FILE` for every command that reads a dataset, `predict -o` by
//! extension, class labels of their training type, usage errors exit 2, and `--help` that reads at 80 columns.

use predicates::str::contains;

use crate::common::TestProject;

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
