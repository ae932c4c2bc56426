//! The printer decides once how to talk: JSON or human on stdout; on stderr, spinners on a terminal and plain
//! timestamped lines otherwise (cron logs), nothing with -q. stdout carries only the result.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use mlctl::reporter::Reporter;

use crate::cli::GlobalArgs;

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
        Printer { json: args.json, verbosity, live, spinner: Mutex::new(None) }
    }

    fn log_line(&self, level: &str, message: &str) {
        let stamp = mlctl::clock::now_rfc3339();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{stamp} {level} {message}");
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
        } else {
            human()
        };
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other,
        }
    }

    /// The error, once, with each cause on its own line.
    pub fn error(&self, error: &anyhow::Error) {
        self.finish_progress();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {error}");
        for cause in error.chain().skip(1) {
            let _ = writeln!(err, "  caused by: {cause}");
        }
    }
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
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::group_thousands(0), "0");
        assert_eq!(super::group_thousands(999), "999");
        assert_eq!(super::group_thousands(1_000), "1,000");
        assert_eq!(super::group_thousands(1_234_567), "1,234,567");
    }
}
