//! `mlctl export`.

use anyhow::Result;

use mlctl::ops::export::{card_path, export, ExportOptions};

use super::{Ctx, ExitStatus};
use crate::cli::ExportArgs;
use crate::output::printer::Printer;

pub fn run(args: ExportArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let opts =
        ExportOptions { sample: args.sample, rows: args.rows, seed: args.seed, output: ctx.user_path(&args.output) };
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
