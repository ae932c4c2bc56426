//! `mlctl export`.

use anyhow::Result;

use mlctl::data::sample::Shift;
use mlctl::data::source::Source;
use mlctl::ops::export::{card_path, export, ExportOptions, Input};

use super::usage::{usage, UsageExt};
use super::{list_flag, Ctx, ExitStatus};
use crate::cli::ExportArgs;
use crate::output::printer::Printer;

pub fn run(args: ExportArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let input = match (args.sample, args.from) {
        (Some(name), _) => {
            let shift = Shift::parse(&list_flag::split("--shift", &args.shift)?, args.concept_shift).usage()?;
            Input::Sample { name, rows: args.rows, seed: args.seed, shift }
        }
        // clap's `requires = "sample"` does not fire for these (nor for --rows/--seed), so they are checked here
        // rather than silently ignored.
        (None, Some(_)) if !args.shift.is_empty() || args.concept_shift != 0.0 => {
            return Err(usage(
                "--shift and --concept-shift move a generated sample: use them with --sample, not --from",
            ))
        }
        (None, Some(from)) => {
            Input::Source { source: Source::parse(&from).usage()?, table: args.table, query: args.query }
        }
        (None, None) => return Err(usage("give --sample NAME or --from SOURCE")),
    };
    let opts = ExportOptions { input, output: ctx.user_path(&args.output) };
    let card = export(&opts, printer)?;
    printer.result(&card, || {
        let mut text = format!(
            "Exported {} rows × {} columns to {} (sha256 {})\nDataset card: {}\n",
            card.rows,
            card.columns.len(),
            ctx.show(&opts.output),
            &card.sha256[..12],
            ctx.show(&card_path(&opts.output))
        );
        let missing: Vec<String> =
            card.columns.iter().filter(|c| c.missing > 0).map(|c| format!("{} ({})", c.name, c.missing)).collect();
        if !missing.is_empty() {
            text.push_str(&format!("Missing values: {}\n", missing.join(", ")));
        }
        text
    })?;
    Ok(ExitStatus::Success)
}
