//! Small commands around the pipeline: `init`, `completions`, and the man page.

use std::io::Write;

use anyhow::{Context, Result};
use clap::CommandFactory;

use mlctl::ops::init::init as scaffold;

use super::{Ctx, ExitStatus};
use crate::cli::{Cli, CompletionsArgs, InitArgs};
use crate::output::printer::Printer;

pub fn init(args: InitArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let root = args.dir.as_deref().map_or_else(|| ctx.cwd.clone(), |d| ctx.user_path(d));
    let report = scaffold(&root)?;
    printer.result(&report, || {
        let mut s = format!("Project at {}\n", root.display());
        for c in &report.created {
            s.push_str(&format!("  created {c}\n"));
        }
        for k in &report.kept {
            s.push_str(&format!("  kept    {k} (already there)\n"));
        }
        s.push_str(
            "Next: `make all` writes sample data to data/ (`make data`: mlctl export --sample, then mlctl split), \
             trains my_model and evaluates it on the holdout. For your own data, change the Makefile's data step \
             and the target in mlctl.toml.\n",
        );
        s
    })?;
    Ok(ExitStatus::Success)
}

pub fn completions(args: &CompletionsArgs) -> Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "mlctl", &mut out);
    out.flush().context("writing the completion script")?;
    Ok(ExitStatus::Success)
}

pub fn manpage() -> Result<ExitStatus> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(Cli::command()).render(&mut out).context("writing the man page")?;
    Ok(ExitStatus::Success)
}
