//! How wide the human output may be, decided once per run, as clap decides it for `--help`: `COLUMNS` when it
//! is set to a positive number (so a script or a test can ask for a width), else the terminal's width when
//! stdout is one, else [`DEFAULT`] (a log file or a pipe has no width of its own; 100 is clap's choice too).
//! Tables fit themselves to it (`table::Grid`) and long lines of text are wrapped to it ([`wrap`]).

use std::io::IsTerminal;
use std::sync::OnceLock;

/// The width when neither `COLUMNS` nor a terminal says otherwise.
pub const DEFAULT: usize = 100;
/// Narrower than this, nothing readable fits; a smaller `COLUMNS` is raised to it.
const MIN: usize = 40;

/// The output width of this run.
pub fn get() -> usize {
    static WIDTH: OnceLock<usize> = OnceLock::new();
    *WIDTH.get_or_init(|| {
        let terminal = if std::io::stdout().is_terminal() { terminal_columns() } else { None };
        choose(std::env::var("COLUMNS").ok().as_deref(), terminal)
    })
}

/// `COLUMNS` first, then the terminal, then [`DEFAULT`].
fn choose(columns: Option<&str>, terminal: Option<usize>) -> usize {
    columns.and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0).or(terminal).unwrap_or(DEFAULT).max(MIN)
}

/// The width of the terminal on stdout, from the kernel (TIOCGWINSZ).
fn terminal_columns() -> Option<usize> {
    let mut size = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
    // SAFETY: TIOCGWINSZ only fills the winsize struct passed to it, a local that outlives the call.
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &raw mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

/// `text` wrapped at spaces to `width` columns; lines after the first start with `indent` spaces. A word longer
/// than the width stays whole (a path or a command is worse broken than long).
pub fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    // Right after a break: the spaces that separated the words there are dropped with the break.
    let mut at_break = false;
    for (i, word) in text.split(' ').enumerate() {
        let len = word.chars().count();
        if at_break && word.is_empty() {
            continue;
        }
        if !at_break && line_len > indent && !word.is_empty() && line_len + 1 + len > width {
            out.truncate(out.trim_end_matches(' ').len());
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            line_len = indent;
            at_break = true;
            if word.is_empty() {
                continue;
            }
        } else if i > 0 && !at_break {
            out.push(' ');
            line_len += 1;
        }
        at_break = false;
        out.push_str(word);
        line_len += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_wins_then_the_terminal_then_the_default() {
        assert_eq!(choose(Some("80"), Some(120)), 80);
        assert_eq!(choose(None, Some(120)), 120);
        assert_eq!(choose(None, None), DEFAULT);
        assert_eq!(choose(Some("wide"), None), DEFAULT);
        assert_eq!(choose(Some("0"), Some(90)), 90);
        assert_eq!(choose(Some("10"), None), MIN);
    }

    #[test]
    fn text_wraps_at_spaces_under_its_indent() {
        let text = "  task      classification (inferred: target with 2 distinct values; --task overrides)";
        let wrapped = wrap(text, 12, 40);
        assert!(wrapped.lines().all(|l| l.chars().count() <= 40), "{wrapped}");
        assert!(wrapped.lines().skip(1).all(|l| l.starts_with("            ") && !l[12..].starts_with(' ')));
        assert_eq!(wrapped.split_whitespace().collect::<Vec<_>>(), text.split_whitespace().collect::<Vec<_>>());
        assert_eq!(wrap("short", 2, 40), "short");
        assert_eq!(wrap("a-very-long-word-indeed", 2, 10), "a-very-long-word-indeed");
    }
}
