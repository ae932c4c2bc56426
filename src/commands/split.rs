//! `mlctl split`: a training file and a holdout from one CSV.

use anyhow::Result;

use mlctl::ops::export::card_path;
use mlctl::ops::split::{split, SplitOptions};

use super::{parse_delimiter, Ctx, ExitStatus};
use crate::cli::SplitArgs;
use crate::output::printer::Printer;

pub fn run(args: &SplitArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let opts = SplitOptions {
        input: ctx.dataset("split", args.dataset(), ", and its SHA-256 goes into both dataset cards")?,
        train: ctx.user_path(&args.output),
        holdout: ctx.user_path(&args.holdout),
        test_size: args.test_size,
        stratify: args.stratify.clone(),
        seed: args.seed,
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
    };
    let report = split(&opts, printer)?;
    printer.result(&report, || {
        let line = |what: &str, path: &std::path::Path, card: &mlctl::ops::export::DatasetCard| {
            format!(
                "{what} {} rows to {} (sha256 {}, card {})\n",
                card.rows,
                ctx.show(path),
                &card.sha256[..12],
                ctx.show(&card_path(path))
            )
        };
        let how = report.stratify.as_ref().map_or_else(String::new, |c| format!(", stratified by {c}"));
        format!(
            "Split {} ({} rows; test size {}, seed {}{how}):\n  {}  {}",
            ctx.show(&opts.input),
            report.rows,
            report.test_size,
            report.seed,
            line("training", &opts.train, &report.train),
            line("holdout ", &opts.holdout, &report.holdout)
        )
    })?;
    Ok(ExitStatus::Success)
}
