//! The `mlctl` binary: parse → print → exit code. All work happens in the library.

mod cli;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let printer = output::printer::Printer::new(&cli.global);
    match commands::dispatch(cli, &printer) {
        Ok(status) => status.into(),
        Err(error) => {
            printer.error(&error);
            ExitCode::FAILURE
        }
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
