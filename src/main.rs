//! The `mlctl` binary: parse → print → exit code. All work happens in the library.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse_checked().unwrap_or_else(|e| exit_on_usage_error(&e));
    if matches!(cli.command, cli::Command::Predict(_)) {
        keep_freed_memory_for_reuse();
    }
    let printer = output::printer::Printer::new(&cli.global);
    match commands::dispatch(cli, &printer) {
        Ok(status) => status.into(),
        Err(error) => {
            let kind = commands::usage::ErrorKind::of(&error);
            printer.error(&error, kind);
            kind.into()
        }
    }
}

/// Exits as clap does (its text on stderr, exit 2; help and version on stdout, exit 0), and with `--json` among
/// the arguments also prints the usage error as the one JSON document on stdout that --json promises: clap
/// fails before there is a Printer, so the raw arguments are all there is to go by.
fn exit_on_usage_error(error: &clap::Error) -> ! {
    let json = std::env::args_os().skip(1).take_while(|a| a != "--").any(|a| a == "--json");
    if json && error.use_stderr() {
        // clap's text: the message (up to the first blank line), then tips and the usage line.
        let text = error.render().to_string();
        let (message, rest) = text.split_once("\n\n").unwrap_or((&text, ""));
        let message = message.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        let message = message.strip_prefix("error: ").unwrap_or(&message);
        let details: Vec<String> = rest
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
            .map(str::to_owned)
            .collect();
        output::printer::print_json_error(message, &details, commands::usage::ErrorKind::Usage);
    }
    error.exit()
}

/// Has glibc's allocator serve blocks up to 32 MiB from its heaps and keep up to 128 MiB of freed memory,
/// instead of mapping every block above its (adaptive) threshold afresh and handing it back when freed.
/// Prediction allocates a few such buffers per batch of rows; each fresh mapping was paid for again in page
/// faults, a large share of a prediction's CPU time. Prediction only: training keeps large blocks alive for
/// long, and kept memory raised its peak for no gain in time. Figures: bench/NOTES.md.
fn keep_freed_memory_for_reuse() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before the command starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::cli::Cli::command().debug_assert();
    }
}
