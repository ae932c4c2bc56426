//! One file per subcommand: turn clap's Args into validated options, call the library's workflow, hand the
//! report to the printer, return the exit status. Exit codes are mapped here and nowhere else (CLI.md).

mod drift;
mod evaluate;
mod export;
mod extras;
mod inspect;
mod list_flag;
mod monitor;
mod outcomes;
mod predict;
mod promote;
mod prune;
mod registry;
mod serve;
mod split;
mod train;
pub mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use mlctl::project::Project;
use mlctl::registry::{Location, Store};

use crate::cli::{Cli, Command, RegistryCommand};
use crate::output::printer::Printer;

/// What a command concluded. Errors travel as `Err`: exit 1, or 2 for a usage error ([`usage::ErrorKind`]);
/// clap's own usage errors exit 2 before we run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// A check said no: a gate not met, a promotion refused, drift detected.
    CheckFailed,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::CheckFailed => ExitCode::from(3),
        }
    }
}

impl From<usage::ErrorKind> for ExitCode {
    fn from(kind: usage::ErrorKind) -> ExitCode {
        ExitCode::from(kind.exit_code())
    }
}

pub fn dispatch(cli: Cli, printer: &Printer) -> Result<ExitStatus> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let project = Project::discover(cli.global.project.as_deref(), &cwd);
    let metrics_file =
        cli.global.metrics_file.as_deref().map(|p| if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) });
    let ctx = Ctx { project, cwd, metrics_file, registry: cli.global.registry.clone() };
    match cli.command {
        Command::Export(args) => export::run(args, &ctx, printer),
        Command::Split(args) => split::run(&args, &ctx, printer),
        Command::Train(args) => train::run(*args, &ctx, printer),
        Command::Evaluate(args) => evaluate::run(args, &ctx, printer),
        Command::Predict(args) => predict::run(args, &ctx, printer),
        Command::Init(args) => extras::init(args, &ctx, printer),
        Command::Completions(args) => extras::completions(&args),
        Command::Manpage => extras::manpage(),
        Command::Drift(args) => drift::run(args, &ctx, printer),
        Command::Promote(args) => promote::run(args, &ctx, printer),
        Command::List(args) => inspect::list(args, &ctx, printer),
        Command::Show(args) => inspect::show(args, &ctx, printer),
        Command::Diff(args) => inspect::diff(args, &ctx, printer),
        Command::Prune(args) => prune::run(args, &ctx, printer),
        Command::Registry(RegistryCommand::Copy(args)) => registry::copy(&args, &ctx, printer),
        Command::Serve(args) => serve::run(args, &ctx, printer),
        Command::Outcomes(args) => outcomes::run(args, &ctx, printer),
        Command::Monitor(args) => monitor::run(args, &ctx, printer),
    }
}

/// What every command gets besides its own arguments.
pub struct Ctx {
    pub project: Project,
    pub cwd: PathBuf,
    pub metrics_file: Option<PathBuf>,
    /// `--registry` or MLCTL_REGISTRY, as given.
    pub registry: Option<String>,
}

impl Ctx {
    /// Where the registry is: `--registry`/MLCTL_REGISTRY (relative to the current folder), else mlctl.toml's
    /// `registry` (relative to the project), else the project's ml_models/.
    pub fn registry_location(&self) -> Result<Location> {
        if let Some(url) = &self.registry {
            return Ok(Location::parse(url, &self.cwd)?);
        }
        let config = mlctl::config::Config::load(&self.project.config_path())?;
        match &config.registry {
            Some(url) => Ok(Location::parse(url, self.project.root())?),
            None => Ok(Location::Folder(self.project.models_dir())),
        }
    }

    pub fn store(&self) -> Result<Store> {
        Ok(Store::open(&self.registry_location()?, self.project.registry_markdown())?)
    }

    /// A path given on the command line, relative to where the user stands.
    pub fn user_path(&self, p: &std::path::Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        }
    }

    /// A path from mlctl.toml, relative to the project root.
    pub fn project_path(&self, p: &str) -> PathBuf {
        let p = std::path::Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.project.root().join(p)
        }
    }

    /// Writes `samples` to --metrics-file when one was given.
    pub fn write_metrics(&self, samples: &[mlctl::prometheus::Sample]) -> Result<()> {
        if let Some(path) = &self.metrics_file {
            mlctl::prometheus::write(path, samples)?;
        }
        Ok(())
    }

    /// A path for display: relative to the current folder when inside it.
    pub fn show(&self, p: &std::path::Path) -> String {
        p.strip_prefix(&self.cwd).unwrap_or(p).display().to_string()
    }
}

/// `--allow-overlap` → the policy for scoring data that repeats training rows.
pub fn overlap_policy(allow: bool) -> mlctl::ops::leakage::OverlapPolicy {
    if allow {
        mlctl::ops::leakage::OverlapPolicy::Allow
    } else {
        mlctl::ops::leakage::OverlapPolicy::Refuse
    }
}

/// `--delimiter` text → byte.
pub fn parse_delimiter(s: &str) -> Result<u8> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        s if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(usage::usage(format!("--delimiter {s}: expected one ASCII character such as ';' or 'tab'"))),
    }
}
