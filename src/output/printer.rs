//! The printer decides once how to talk: JSON or human on stdout; on stderr, spinners on a terminal and plain
//! timestamped lines otherwise (cron logs), nothing with -q. stdout carries only the result.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use mlctl::reporter::Reporter;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::commands::usage::ErrorKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

pub struct Printer {
    pub json: bool,
    verbosity: Verbosity,
    /// stderr is a terminal and progress is wanted.
    live: bool,
    spinner: Mutex<Option<ProgressBar>>,
    /// Colour verdicts in the human result on stdout, and "error:" on stderr.
    color_out: bool,
    color_err: bool,
}

/// Verdicts worth a colour in the human output, painted after the tables are laid out (so widths stay right).
const RED: &[&str] = &["NOT passed", "NOT MET", "Refused:", "FAIL", "DRIFT", "Drift detected"];
const GREEN: &[&str] = &["→ passed", "Gates: all met", "No drift", "ok  "];

fn paint(text: &str) -> String {
    let mut out = text.to_owned();
    for (words, code) in [(RED, "31"), (GREEN, "32")] {
        for w in words {
            out = out.replace(w, &format!("\x1b[{code}m{w}\x1b[0m"));
        }
    }
    out
}

fn wants_color(choice: ColorChoice, terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && !no_color && !dumb,
    }
}

impl Printer {
    pub fn new(args: &GlobalArgs) -> Self {
        let verbosity = if args.quiet {
            Verbosity::Quiet
        } else if args.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        };
        let live = std::io::stderr().is_terminal() && !args.no_progress && verbosity == Verbosity::Normal;
        Printer {
            json: args.json,
            verbosity,
            live,
            spinner: Mutex::new(None),
            color_out: wants_color(args.color, std::io::stdout().is_terminal()),
            color_err: wants_color(args.color, std::io::stderr().is_terminal()),
        }
    }

    fn log_line(&self, level: &str, message: &str) {
        let stamp = mlctl::clock::now_rfc3339();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{stamp} {level} {message}");
    }

    pub fn verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }

    /// Stops any spinner, so the final output is not interleaved with it.
    pub fn finish_progress(&self) {
        if let Ok(mut s) = self.spinner.lock() {
            if let Some(bar) = s.take() {
                bar.finish_and_clear();
            }
        }
    }

    /// Writes the result: JSON when --json, else `human()`'s text. A closed pipe (| head) is not an error.
    pub fn result<T: Serialize>(&self, report: &T, human: impl FnOnce() -> String) -> std::io::Result<()> {
        self.finish_progress();
        let text = if self.json {
            let mut s = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
            s.push('\n');
            s
        } else if self.color_out {
            paint(&fit_lines(&human(), crate::output::width::get()))
        } else {
            fit_lines(&human(), crate::output::width::get())
        };
        if stdout_is_closed() {
            return Err(closed_stdout());
        }
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    /// The error, once, with each cause on its own line — only the causes that add something.
    pub fn error(&self, error: &anyhow::Error, kind: ErrorKind) {
        self.finish_progress();
        let causes = informative_causes(error);
        if self.json {
            // Still one JSON document on stdout, so a script reading it learns why.
            print_json_error(&error.to_string(), &causes, kind);
        }
        let mut err = std::io::stderr().lock();
        let label = if self.color_err { "\x1b[31merror:\x1b[0m" } else { "error:" };
        let _ = writeln!(err, "{label} {error}");
        for cause in &causes {
            let _ = writeln!(err, "  caused by: {cause}");
        }
    }
}

/// The human result with every line of prose wrapped to `width`. Tables are laid out for the width already
/// (their lines hold box-drawing characters and are left alone); a wrapped line continues under the text of a
/// `label    text` line, or two spaces in.
fn fit_lines(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let is_table = body.contains(['│', '┌', '╞', '└', '├']);
        if is_table || body.chars().count() <= width {
            out.push_str(line);
            continue;
        }
        out.push_str(&crate::output::width::wrap(body, hanging_indent(body), width));
        out.push_str(&line[body.len()..]);
    }
    out
}

/// Where the continuation of `line` starts: under the text after a label (`  task      text`), else two
/// columns in from the line's own indentation.
fn hanging_indent(line: &str) -> usize {
    let lead = line.len() - line.trim_start().len();
    let rest = &line[lead..];
    let label_end = rest.find(' ').unwrap_or(rest.len());
    let gap = rest[label_end..].len() - rest[label_end..].trim_start().len();
    if gap >= 2 && lead + label_end + gap <= 24 {
        lead + label_end + gap
    } else {
        lead + 2
    }
}

/// The one JSON document of a failed run (`--json`): also for clap's own errors, before a Printer exists.
pub fn print_json_error(error: &str, causes: &[String], kind: ErrorKind) {
    let doc = serde_json::json!({
        "error": error,
        "causes": causes,
        "kind": kind.as_str(),
        "exit_code": kind.exit_code(),
    });
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{doc:#}");
}

/// The causes of `error` whose text is not already part of what is printed before them. Typed errors often
/// put their source's text in their own message (`FILE: No such file or directory`); repeating it as a
/// "caused by" line says nothing new.
fn informative_causes(error: &anyhow::Error) -> Vec<String> {
    let mut printed = error.to_string();
    let mut causes = Vec::new();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        if !printed.contains(&text) {
            printed.push('\n');
            printed.push_str(&text);
            causes.push(text);
        }
    }
    causes
}

/// Whether stdout was closed when mlctl started (`mlctl ... >&-`). Rust's runtime then opens /dev/null
/// read-write in its place before main, so writes succeed and the result would vanish with exit 0. A user's own
/// `>/dev/null` opens it write-only, which tells the two apart.
pub fn stdout_is_closed() -> bool {
    // SAFETY: fcntl(F_GETFL) and fstat only read the descriptor's flags and status into locals.
    unsafe {
        let flags = libc::fcntl(1, libc::F_GETFL);
        if flags == -1 {
            return true;
        }
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(1, &mut st) != 0 {
            return true;
        }
        let dev_null = (st.st_mode & libc::S_IFMT) == libc::S_IFCHR && st.st_rdev == libc::makedev(1, 3);
        dev_null && (flags & libc::O_ACCMODE) == libc::O_RDWR
    }
}

/// The error for a result that has nowhere to go.
pub fn closed_stdout() -> std::io::Error {
    std::io::Error::other("stdout is closed: the result has nowhere to go (do not close it with >&-, or use -o FILE)")
}

impl Reporter for Printer {
    fn phase(&self, message: &str) {
        match self.verbosity {
            Verbosity::Quiet => {}
            _ if self.live => {
                if let Ok(mut s) = self.spinner.lock() {
                    let bar = s.get_or_insert_with(|| {
                        let bar = ProgressBar::new_spinner();
                        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
                            bar.set_style(style);
                        }
                        bar.enable_steady_tick(Duration::from_millis(100));
                        bar
                    });
                    bar.set_message(message.to_owned());
                }
            }
            _ => self.log_line("INFO", message),
        }
    }

    fn count(&self, label: &str, done: u64) {
        // Only on a terminal: the spinner's message becomes the running count. A log gets the phase and result.
        if !self.live {
            return;
        }
        if let Ok(s) = self.spinner.lock() {
            if let Some(bar) = s.as_ref() {
                bar.set_message(format!("{label}: {} rows", group_thousands(done)));
            }
        }
    }

    fn warn(&self, message: &str) {
        if self.verbosity == Verbosity::Quiet {
            return;
        }
        match self.spinner.lock().ok().as_ref().and_then(|s| s.as_ref()) {
            Some(bar) => bar.println(format!("warning: {message}")),
            None => self.log_line("WARN", message),
        }
    }
}

/// 1234567 → "1,234,567".
fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_are_painted_and_nothing_else() {
        let text = "Gates: NOT MET\n  FAIL f1 ≥ 0.9\n  ok   roc_auc ≥ 0.5\nplain";
        let painted = paint(text);
        assert!(painted.contains("\x1b[31mNOT MET\x1b[0m") && painted.contains("\x1b[31mFAIL\x1b[0m"));
        assert!(painted.contains("\x1b[32mok  \x1b[0m"));
        assert!(painted.ends_with("plain"));
        assert!(!wants_color(ColorChoice::Never, true));
        assert!(wants_color(ColorChoice::Always, false));
    }

    #[test]
    fn a_cause_already_in_the_message_is_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let error = anyhow::Error::new(io).context("data.csv: No such file or directory").context("training m");
        assert_eq!(informative_causes(&error), ["data.csv: No such file or directory"]);
    }

    #[test]
    fn prose_is_wrapped_and_tables_are_not() {
        let text = "  task      classification (inferred: target with 2 distinct values; --task overrides)\n│ a ┆ b │ and a long table line that stays as it is, however wide\nshort\n";
        let fitted = fit_lines(text, 50);
        let lines: Vec<&str> = fitted.lines().collect();
        assert!(lines[0].chars().count() <= 50 && lines[1].starts_with("            "), "{fitted}");
        assert!(fitted.contains("│ a ┆ b │ and a long table line that stays as it is, however wide\nshort\n"));
        assert_eq!(hanging_indent("Top features (mean decrease in impurity): a 0.2"), 2);
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }
}
