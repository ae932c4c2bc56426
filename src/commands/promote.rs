//! `mlctl promote` (and `--rollback`): the gate settings merged from flags over `[models.NAME.promote]`, the
//! workflow, and exit 3 when the gate (or the rule that production is never left empty unforced) refuses.

use std::fmt::Write;

use anyhow::{Context, Result};

use mlctl::config::Config;
use mlctl::ops::promote::{promote, rollback, GateDecision, GateSpec, Move, PromoteOptions, PromoteReport};
use mlctl::prometheus::Sample;
use mlctl::registry::{ModelName, Stage};

use super::usage::{model_ref, usage, whole_model, UsageExt};
use super::{overlap_policy, parse_delimiter, Ctx, ExitStatus};
use crate::cli::PromoteArgs;
use crate::output::printer::Printer;

pub fn run(args: PromoteArgs, ctx: &Ctx, printer: &Printer) -> Result<ExitStatus> {
    if args.rollback {
        let why = "a rollback restores the version that was in production before the current one";
        let name = whole_model("mlctl promote --rollback", &args.model, why)?;
        let report = rollback(&name, args.reason.as_deref(), &ctx.store()?, printer)?;
        write_gauges(ctx, &name, None)?;
        printer.result(&report, || {
            let mut out = format!("Rolled back {}: {} is in production again\n", report.model, report.to_version);
            moves(&mut out, &report.moves);
            out
        })?;
        return Ok(ExitStatus::Success);
    }
    let reference = model_ref(&args.model)?;
    let to_text = args.to.as_deref().unwrap_or_default();
    let to = Stage::parse(to_text)
        .with_context(|| {
            let names = ["staging", "production", "archived"];
            format!("--to {to_text}: expected one of {}{}", names.join(", "), mlctl::suggest::hint(to_text, names))
        })
        .usage()?;
    if args.force && args.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        return Err(usage("--force needs a --reason \"...\" saying why: it is recorded in the audit trail"));
    }
    let config_path = ctx.project.config_path();
    let spec = Config::load(&config_path)?.models.get(reference.name.as_str()).and_then(|m| m.promote.clone());
    let metric = args.metric.clone().or_else(|| spec.as_ref().and_then(|s| s.metric.clone()));
    let min_improvement = args.min_improvement.or_else(|| spec.as_ref().and_then(|s| s.min_improvement)).unwrap_or(0.0);
    let gate = GateSpec::new(metric.as_deref(), min_improvement).with_context(|| {
        format!("the promotion gate (--metric, or [models.{}.promote] in mlctl.toml)", reference.name)
    });
    // A bad value on the command line is a usage error; the same in mlctl.toml is an error in that file.
    let gate = if args.metric.is_some() || args.min_improvement.is_some() { gate.usage()? } else { gate? };
    let opts = PromoteOptions {
        reference,
        to,
        gate,
        data: args.data.as_deref().map(|p| ctx.user_path(p)),
        delimiter: args.delimiter.as_deref().map(parse_delimiter).transpose()?,
        overlap: overlap_policy(args.allow_overlap),
        pos_label: args.pos_label.clone(),
        force: args.force,
        reason: args.reason.clone(),
    };
    let report = promote(&opts, &ctx.store()?, printer)?;
    write_gauges(ctx, &opts.reference.name, Some(&report))?;
    printer.result(&report, || human(&report))?;
    Ok(if report.refused { ExitStatus::CheckFailed } else { ExitStatus::Success })
}

/// With --metrics-file: the stage of every version of the model after the change (one 0/1 gauge per stage, so
/// an alert can ask "which version is in production"), and for a promotion the gate's verdict.
fn write_gauges(ctx: &Ctx, name: &ModelName, report: Option<&PromoteReport>) -> Result<()> {
    if ctx.metrics_file.is_none() {
        return Ok(());
    }
    let registry = ctx.store()?.load()?;
    let mut out = Vec::new();
    for v in registry.models.get(name).map(|e| e.versions.as_slice()).unwrap_or_default() {
        for stage in Stage::ALL {
            out.push(
                Sample::new(
                    "mlctl_model_version_stage",
                    "1 for the stage a model version is in, 0 for the other stages.",
                    f64::from(u8::from(v.stage == stage)),
                )
                .label("model", name.to_string())
                .label("version", v.version.to_string())
                .label("stage", stage.as_str()),
            );
        }
    }
    if let Some(r) = report {
        out.extend(verdict_gauges(r));
    }
    out.push(Sample::new(
        "mlctl_promotion_timestamp_seconds",
        "When the stage change ran (Unix time).",
        mlctl::clock::now().timestamp() as f64,
    ));
    ctx.write_metrics(&out)
}

fn verdict_gauges(r: &PromoteReport) -> Vec<Sample> {
    let flag = |b: bool| f64::from(u8::from(b));
    let mut out = Vec::new();
    if let Some(g) = &r.gate {
        out.push(
            Sample::new("mlctl_promotion_gate_passed", "1 when the promotion gate passed, else 0.", flag(g.passed))
                .label("model", r.model.clone())
                .label("version", r.version.to_string())
                .label("metric", g.metric.clone()),
        );
    }
    out.push(
        Sample::new(
            "mlctl_promotion_refused",
            "1 when the gate refused the promotion (exit 3), else 0.",
            flag(r.refused),
        )
        .label("model", r.model.clone())
        .label("version", r.version.to_string())
        .label("to", r.to.as_str()),
    );
    out
}

fn human(r: &PromoteReport) -> String {
    let mut out = String::new();
    let target = format!("{}@{}", r.model, r.version);
    if let Some(g) = &r.gate {
        gate_lines(&mut out, g);
    }
    if r.refused && r.leaves_production_empty {
        let _ = writeln!(
            out,
            "Refused: {target} is the production version, and moving it to {} leaves {} with no version in \
             production.\nPromote another version to production to replace it, roll back with `mlctl promote {} \
             --rollback`, or override with --force --reason \"...\" (recorded in the audit trail).",
            r.to, r.model, r.model
        );
    } else if r.refused {
        let _ = writeln!(
            out,
            "Refused: {target} stays in {}. Override with --force --reason \"...\" (recorded in the audit trail).",
            r.from
        );
    } else if !r.changed {
        let _ = writeln!(out, "{target} is already in {}; nothing changed.", r.to);
    } else {
        let forced = match (r.forced, r.leaves_production_empty) {
            (true, true) => " (forced: no version is in production now)",
            (true, false) => " (forced past the gate)",
            (false, _) => "",
        };
        let _ = writeln!(out, "Promoted {target}: {} → {}{forced}", r.from, r.to);
        moves(&mut out, &r.moves);
    }
    out
}

fn gate_lines(out: &mut String, g: &GateDecision) {
    let direction = if g.higher_is_better { "higher is better" } else { "lower is better" };
    let about = g.pos_label.as_ref().map_or_else(String::new, |p| format!("positive class: {p}; "));
    let _ = writeln!(out, "Gate on {} ({about}{direction}), {}:", g.metric, g.basis);
    let _ = writeln!(out, "  candidate  {}  {:.4}", g.challenger, g.challenger_value);
    match (&g.champion, g.champion_value, g.improvement) {
        (Some(c), Some(v), Some(i)) => {
            let _ = writeln!(out, "  production {c}  {v:.4}");
            let verdict = if g.passed { "passed" } else { "NOT passed" };
            let _ = writeln!(out, "  improvement {i:+.4}, needed ≥ {} → {verdict}", g.min_improvement);
        }
        _ => {
            let _ = writeln!(out, "  no production version yet → passed");
        }
    }
    if !g.training_overlap.is_empty() {
        let shares: Vec<String> = g
            .training_overlap
            .iter()
            .map(|(v, share)| match share {
                Some(s) => format!("{v} {:.1}%", s * 100.0),
                None => format!("{v} not checked (trained before row fingerprints)"),
            })
            .collect();
        let _ = writeln!(out, "  rows of the data each version was trained on: {}", shares.join(", "));
    }
}

pub(super) fn moves(out: &mut String, moves: &[Move]) {
    for m in moves {
        let _ = writeln!(out, "  {}: {} → {}", m.version, m.from, m.to);
    }
}
