//! `mlctl registry copy FROM TO`: moving a team's registry from a folder to a bucket (and back).

use std::fmt::Write as _;

use anyhow::Result;

use mlctl::ops::registry_copy::copy as copy_registry;
use mlctl::registry::{Location, Store};

use super::{Ctx, ExitStatus};
use crate::cli::RegistryCopyArgs;
use crate::output::printer::Printer;
use crate::output::table::fmt_bytes;

pub fn copy(args: &RegistryCopyArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let from = Store::open_standalone(&Location::parse(&args.from, &ctx.cwd)?)?;
    let to = Store::open_standalone(&Location::parse(&args.to, &ctx.cwd)?)?;
    if from.location() == to.location() {
        return Err(
            mlctl::error::Error::Usage(format!("registry copy: FROM and TO are both {}", from.location())).into()
        );
    }
    let report = copy_registry(&from, &to, printer)?;
    printer.result(&report, || {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "copied {} model(s), {} version(s), {} file(s) ({}) from {} to {}; every model.bin checked against its \
             SHA-256",
            report.models,
            report.versions,
            report.files,
            fmt_bytes(report.bytes),
            report.from,
            report.to
        );
        out
    })?;
    Ok(ExitStatus::Success)
}
