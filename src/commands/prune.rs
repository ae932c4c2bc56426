//! `mlctl prune`: retention, with `--dry-run`, and a question before acting when a person is at a terminal.
//! A cron job has no terminal, so it is never asked and keeps working unattended.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};

use anyhow::{bail, Context, Result};

use mlctl::ops::prune::{prune, prune_orphans, PruneOptions, PruneReport};

use super::promote::moves;
use super::usage::whole_model;
use super::{Ctx, ExitStatus};
use crate::cli::PruneArgs;
use crate::output::printer::Printer;
use crate::output::table::fmt_bytes;

pub fn run(args: PruneArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    if args.orphans {
        return orphans(&args, ctx, printer);
    }
    let name = args.name.as_deref().unwrap_or_default();
    let name = whole_model("mlctl prune", name, "prune works on all the versions of a model")?;
    let mut opts = PruneOptions {
        name,
        keep: args.keep,
        delete_files: args.delete_files,
        force: args.force,
        dry_run: args.dry_run,
    };
    let store = ctx.store()?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.dry_run && !args.yes && interactive {
        // Show the plan first; act only on a yes.
        let mut plan = prune(&PruneOptions { dry_run: true, ..opts.clone() }, &store, printer)?;
        if plan.archived.is_empty() && plan.files_deleted.is_empty() {
            // Nothing to ask about: a real run would change nothing either, so this is its result.
            plan.dry_run = false;
            printer.result(&plan, || human(&plan))?;
            return Ok(ExitStatus::Success);
        }
        printer.finish_progress();
        if !confirm(&human(&plan))? {
            bail!("nothing changed (answer y to prune, or pass --yes)");
        }
        opts.dry_run = false;
    }
    let report = prune(&opts, &store, printer)?;
    printer.result(&report, || human(&report))?;
    Ok(ExitStatus::Success)
}

/// `prune --orphans`: version folders the registry does not name, older than `--older-than`, removed (listed only
/// with --dry-run).
fn orphans(args: &PruneArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    let older_than = age(&args.older_than)?;
    let report = prune_orphans(&ctx.store()?, older_than, args.dry_run)?;
    printer.result(&report, || {
        let mut out = String::new();
        let verb = if report.dry_run { "would remove" } else { "removed" };
        if report.removed.is_empty() {
            let _ = writeln!(out, "{}: no unpublished version folders to remove", report.registry);
        } else {
            let _ = writeln!(out, "{}: {verb} {} unpublished version folder(s)", report.registry, report.removed.len());
        }
        for o in &report.removed {
            let _ = writeln!(out, "  {}@{}  {}  {}s old", o.model, o.version, fmt_bytes(o.bytes), o.age_secs);
        }
        for o in &report.too_young {
            let _ = writeln!(
                out,
                "  left {}@{}: {}s old, younger than --older-than (an upload in progress?)",
                o.model, o.version, o.age_secs
            );
        }
        out
    })?;
    Ok(ExitStatus::Success)
}

/// `--older-than`: `0s`, `90s`, `30m`, `2h`, `7d`.
fn age(text: &str) -> Result<std::time::Duration> {
    let bad = || mlctl::error::Error::Usage(format!("--older-than {text}: expected an age such as 0s, 30m, 2h or 7d"));
    let t = text.trim();
    let (n, unit) = t.split_at(t.len().saturating_sub(1));
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    };
    Ok(std::time::Duration::from_secs(secs.ok_or_else(bad)?))
}

/// Prints the plan on stderr and reads the answer from stdin: only "y" or "yes" goes ahead.
fn confirm(plan: &str) -> Result<bool> {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{plan}Go ahead? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("reading the answer from stdin")?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

fn human(r: &PruneReport) -> String {
    let mut out = String::new();
    let (archive, delete) = if r.dry_run { ("would archive", "would delete") } else { ("archived", "deleted") };
    if r.archived.is_empty() && r.files_deleted.is_empty() {
        let _ = writeln!(
            out,
            "{}: nothing to prune (keeping the newest {} outside production and staging)",
            r.model, r.keep
        );
    } else if !r.archived.is_empty() {
        let _ = writeln!(out, "{}: {archive} {} version(s)", r.model, r.archived.len());
        moves(&mut out, &r.archived);
    }
    if !r.files_deleted.is_empty() {
        let _ = writeln!(
            out,
            "{}: {delete} the model files of {} ({} freed); metadata and history kept",
            r.model,
            list(&r.files_deleted),
            fmt_bytes(r.bytes_freed)
        );
    }
    if !r.files_kept_for_rollback.is_empty() {
        let _ = writeln!(
            out,
            "Kept the model files of {}: earlier production versions, which `mlctl promote {} --rollback` may need \
             (--force deletes them too)",
            list(&r.files_kept_for_rollback),
            r.model
        );
    }
    if r.dry_run {
        let _ = writeln!(out, "Dry run: nothing changed.");
    }
    out
}

fn list(versions: &[semver::Version]) -> String {
    versions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
