//! `mlctl outcomes`: record the real outcomes of logged predictions.

use anyhow::Result;

use mlctl::ops::outcomes::{outcomes, OutcomesOptions, OutcomesReport};

use super::usage::whole_model;
use super::{parse_delimiter, Ctx, ExitStatus};
use crate::cli::OutcomesArgs;
use crate::output::printer::Printer;

pub fn run(args: OutcomesArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let opts = OutcomesOptions {
        name: whole_model(
            "mlctl outcomes",
            &args.model,
            "outcomes belong to the model, whichever version predicted them",
        )?,
        data: ctx.user_path(&args.data),
        id_column: args.id_column,
        target: args.target,
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        log_dir: ctx.project.outcome_logs_dir(),
    };
    let report = outcomes(&opts, &ctx.store()?, printer)?;
    printer.result(&report, || human(&report, ctx))?;
    Ok(ExitStatus::Success)
}

fn human(r: &OutcomesReport, ctx: &Ctx) -> String {
    let mut s = format!(
        "{} outcome(s) of {} recorded in {} (labels checked against {})",
        r.recorded,
        r.model,
        ctx.show(std::path::Path::new(&r.log_file)),
        r.checked_against
    );
    if r.without_label > 0 {
        s.push_str(&format!("; {} row(s) without a label skipped", r.without_label));
    }
    if r.repeated_ids > 0 {
        s.push_str(&format!("; {} id(s) given more than once (the last row wins)", r.repeated_ids));
    }
    s + "\n"
}
