//! The command-line surface (CLI.md). Each field's doc comment is its `--help` text.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "mlctl",
    version,
    about = "Train, evaluate, version and ship tabular ML models from the command line."
)]
// Help wraps at the terminal's width (clap's wrap_help), up to 110 columns.
#[command(max_term_width = 110)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Shown after each command's own options in its `--help`, under their own heading.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Project folder (default: the nearest ancestor holding mlctl.toml, else the current folder)
    #[arg(long, global = true, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Print one JSON document on stdout and nothing else there
    #[arg(long, global = true)]
    pub json: bool,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (plain log lines, no progress bars)
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never draw progress bars or spinners
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// Colour verdicts on a terminal: auto (unless NO_COLOR is set or TERM=dumb), always or never
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Also write the result as Prometheus gauges to this file (node-exporter textfile format, atomic):
    /// train, evaluate, predict, drift, promote and monitor; other commands refuse it
    #[arg(long, global = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Where the registry is: a folder, file://PATH or s3://BUCKET/PREFIX (default: `registry` in mlctl.toml,
    /// else the project's ml_models/); S3 settings come from the AWS_* environment
    #[arg(long, global = true, value_name = "URL", env = "MLCTL_REGISTRY", hide_env_values = true)]
    pub registry: Option<String>,
}

impl Cli {
    /// Parses the command line like `Cli::parse`, and also refuses (as clap does, with a usage error) a global flag
    /// that the chosen command would silently ignore: clap has no way to offer a global flag to some subcommands
    /// only. The caller exits with the error (`main`, which also knows about `--json`).
    pub fn parse_checked() -> Result<Cli, clap::Error> {
        let mut command = Cli::command();
        let matches = command.clone().try_get_matches()?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut command))?;
        if cli.global.metrics_file.is_some() && !cli.command.writes_metrics() {
            let name = matches.subcommand_name().unwrap_or_default();
            let message = format!(
                "--metrics-file is not supported by `mlctl {name}`: only train, evaluate, predict, drift, \
                 promote and monitor write gauges"
            );
            return Err(command.error(clap::error::ErrorKind::ArgumentConflict, message));
        }
        Ok(cli)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

// Parsed once per run and matched once: the size of the largest variant (train's many flags) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Produce a dataset CSV from a sample generator, a database or a data file (with a dataset card beside it)
    Export(ExportArgs),
    /// Split a CSV into a training file and a holdout (rows copied as they are, with dataset cards)
    Split(SplitArgs),
    /// Fit a preprocessing pipeline and a model on a CSV and register a new version
    Train(Box<TrainArgs>),
    /// Score a registered version on labelled data, compare with production, check CI gates (exit 3 if unmet)
    Evaluate(EvaluateArgs),
    /// Predict with a registered version: CSV, JSON or NDJSON in (a file or - for stdin), predictions out
    Predict(PredictArgs),
    /// Compare current data (a CSV or the prediction logs) with a version's training data (exit 3 on drift)
    Drift(DriftArgs),
    /// Move a version to staging, production or archived, gated on metrics against production (exit 3 if refused)
    Promote(PromoteArgs),
    /// List models and their versions with stage and key metrics
    List(ListArgs),
    /// Show one version: metadata, metrics, parameters, features and stage history
    Show(ShowArgs),
    /// Compare two versions' parameters and metrics side by side
    Diff(DiffArgs),
    /// Retention: archive all but the newest N versions outside production and staging
    Prune(PruneArgs),
    /// Work on a whole registry: `registry copy FROM TO` (a folder to a bucket and back)
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Serve predictions over HTTP, following promotions in the registry (see README, "Serving")
    Serve(ServeArgs),
    /// Record real outcomes (labels) of logged predictions, joined by id (logs/outcomes/<name>/<date>.jsonl)
    Outcomes(OutcomesArgs),
    /// Performance over time from logged predictions and outcomes, and model age: OK, or RETRAIN DUE (exit 3)
    Monitor(MonitorArgs),
    /// Scaffold a project: mlctl.toml, data/, ml_models/, a Makefile with a weekly cron line (never overwrites)
    Init(InitArgs),
    /// Print a shell completion script: mlctl completions bash > /etc/bash_completion.d/mlctl
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout
    #[command(hide = true)]
    Manpage,
}

impl Command {
    /// The commands whose result becomes Prometheus gauges with --metrics-file.
    pub fn writes_metrics(&self) -> bool {
        matches!(
            self,
            Command::Train(_)
                | Command::Evaluate(_)
                | Command::Predict(_)
                | Command::Drift(_)
                | Command::Promote(_)
                | Command::Monitor(_)
        )
    }
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Folder to scaffold (default: the current folder)
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("current").required(true).args(["data", "logs"])))]
pub struct DriftArgs {
    /// NAME (latest), NAME@X.Y.Z or NAME@stage (e.g. skill_assignment@production)
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Current data: a CSV with the feature columns (other columns are ignored)
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Current data: this version's prediction logs (logs/predictions/<name>/*.jsonl)
    #[arg(long)]
    pub logs: bool,
    /// With --logs: entries from this point on: 7d, 24h, 30m, 2w, a date (2026-01-01) or an RFC 3339 time
    #[arg(long, value_name = "WHEN", default_value = "7d", requires = "logs")]
    pub since: String,
    /// Test for every feature it applies to (TEST) or for one (FEATURE=TEST): ks, wasserstein (numeric),
    /// chisquare (categorical), jensenshannon, psi (both); repeatable or a comma list. Default: ks / chisquare
    /// unless both samples have 5,000 rows or more, then wasserstein / jensenshannon
    #[arg(long, value_name = "[FEATURE=]TEST")]
    pub stattest: Vec<String>,
    /// Drift threshold for every feature (X) or one (FEATURE=X): a p-value for ks/chisquare (for every feature,
    /// the family-wise level: divided by the number of p-value tests unless --no-bonferroni), else a distance;
    /// repeatable or a comma list: --threshold 0.1,emp_age=0.2
    #[arg(long, value_name = "[FEATURE=]X")]
    pub threshold: Vec<String>,
    /// Exit 3 when: any (a feature drifted; default) or share=X (at least that share of features drifted)
    #[arg(long, value_name = "RULE")]
    pub fail_on: Option<String>,
    /// Divide the p-value thresholds (ks, chisquare) by the number of such tests, so that testing many
    /// features does not by itself make a false alarm likely (the default)
    #[arg(long, overrides_with = "no_bonferroni")]
    pub bonferroni: bool,
    /// Test each feature at the full threshold instead (more false alarms with many features)
    #[arg(long, overrides_with = "bonferroni")]
    pub no_bonferroni: bool,
    /// Also write a markdown report here, with one SVG histogram per feature beside it
    #[arg(long, value_name = "FILE.md")]
    pub report: Option<PathBuf>,
    /// Field separator of the CSV, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("action").required(true).args(["to", "rollback"])))]
pub struct PromoteArgs {
    /// NAME@X.Y.Z, NAME@stage or NAME (latest); with --rollback just NAME
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Target stage: staging, production or archived
    #[arg(long, value_name = "STAGE")]
    pub to: Option<String>,
    /// Restore the previous production version (the current one is archived)
    #[arg(long, conflicts_with_all = ["to", "data", "force", "metric", "min_improvement", "pos_label"])]
    pub rollback: bool,
    /// Gate on this labelled data: evaluate this version and production on the same rows
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Primary metric of the gate (default: [models.NAME.promote] metric in mlctl.toml, else f1)
    #[arg(long, value_name = "METRIC")]
    pub metric: Option<String>,
    /// The margin by which the version must beat production (default: mlctl.toml, else 0)
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub min_improvement: Option<f64>,
    /// Promote even when the gate refuses, or move the production version out of production with no version
    /// replacing it (needs --reason, which is recorded)
    #[arg(long, requires = "reason")]
    pub force: bool,
    /// Why, for the audit trail
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Field separator of the --data CSV, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Gate on --data even when it is the training file or more than 10% of its rows were training rows
    #[arg(long, requires = "data")]
    pub allow_overlap: bool,
    /// The positive class of a binary gate metric (precision, recall, f1); another than the model's needs --data
    #[arg(long, value_name = "LABEL")]
    pub pos_label: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this model
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// NAME (latest), NAME@X.Y.Z or NAME@stage
    #[arg(value_name = "MODEL")]
    pub model: String,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The first version, e.g. skill_assignment@1.0.0
    #[arg(value_name = "A")]
    pub a: String,
    /// The second version, e.g. skill_assignment@production
    #[arg(value_name = "B")]
    pub b: String,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("dataset").required(true).args(["input", "data"])))]
// clap does not wrap the usage line it builds; this one fits 80 columns.
#[command(override_usage = "mlctl split [OPTIONS] <FILE> -o <TRAIN.csv> --holdout <HOLDOUT.csv>")]
pub struct SplitArgs {
    /// The CSV to split (or --data FILE)
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The CSV to split, as every command that reads a dataset names it
    #[arg(long, value_name = "FILE", conflicts_with = "input")]
    pub data: Option<PathBuf>,
    /// Where the training part goes
    #[arg(short = 'o', long = "output", value_name = "TRAIN.csv")]
    pub output: PathBuf,
    /// Where the held-out part goes
    #[arg(long, value_name = "HOLDOUT.csv")]
    pub holdout: PathBuf,
    /// Share of the rows held out, between 0 and 1
    #[arg(long, value_name = "SHARE", default_value_t = 0.2)]
    pub test_size: f64,
    /// Keep this column's value proportions (e.g. the target's classes) the same in both parts
    #[arg(long, value_name = "COLUMN")]
    pub stratify: Option<String>,
    /// Seed of the shuffle: the same seed gives the same files
    #[arg(long, value_name = "N", default_value_t = 42)]
    pub seed: u64,
    /// Field separator of the CSV, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Copy a whole registry, every version's files checked against its SHA-256: how a team moves from a folder to
    /// a bucket (`mlctl registry copy ml_models s3://team-models/mlctl`). TO must hold no registry yet.
    Copy(RegistryCopyArgs),
}

#[derive(Debug, Args)]
pub struct RegistryCopyArgs {
    /// The registry to copy: a folder, file://PATH or s3://BUCKET/PREFIX
    #[arg(value_name = "FROM")]
    pub from: String,
    /// Where to: a folder, file://PATH or s3://BUCKET/PREFIX, without a registry
    #[arg(value_name = "TO")]
    pub to: String,
}

impl SplitArgs {
    /// FILE or --data FILE (clap requires one of them, and refuses both).
    pub fn dataset(&self) -> &std::path::Path {
        self.data.as_deref().or(self.input.as_deref()).expect("clap's `dataset` group requires FILE or --data")
    }
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// The model whose old versions to archive
    #[arg(value_name = "NAME", required_unless_present = "orphans")]
    pub name: Option<String>,
    /// Instead: list and remove version folders the registry does not name (uploads never published, left by a
    /// killed run), of every model
    #[arg(long, conflicts_with_all = ["name", "delete_files", "keep"])]
    pub orphans: bool,
    /// With --orphans: leave alone those younger than this (another machine's upload may be about to be
    /// published), e.g. 30m, 2h, 0s
    #[arg(long, value_name = "DURATION", default_value = "1h", requires = "orphans")]
    pub older_than: String,
    /// How many of the newest versions outside production and staging to leave as they are
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub keep: usize,
    /// Also delete the archived versions' model.bin and reference.json (metadata and history stay), except
    /// those of the last N production versions, which `promote --rollback` needs
    #[arg(long)]
    pub delete_files: bool,
    /// With --delete-files: delete the files of earlier production versions too (no rollback to them after)
    #[arg(long, requires = "delete_files")]
    pub force: bool,
    /// Print what would be archived and deleted, and change nothing
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
    /// Do not ask on a terminal (without one, prune never asks)
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// NAME (latest), NAME@X.Y.Z or NAME@stage (e.g. skill_assignment@production)
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Labelled data (CSV with the target column)
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Gate: fail (exit 3) unless METRIC >= VALUE; repeatable or a comma list: --min f1=0.82,roc_auc=0.9
    #[arg(long, value_name = "METRIC=VALUE")]
    pub min: Vec<String>,
    /// Gate for losses: fail (exit 3) unless METRIC <= VALUE, e.g. --max log_loss=0.45 (repeatable or a comma list)
    #[arg(long, value_name = "METRIC=VALUE")]
    pub max: Vec<String>,
    /// Field separator of the CSV, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Also write a markdown report here, with ROC, precision-recall, confusion-matrix and feature-importance
    /// charts as SVG files beside it (MODEL_REGISTRY.md links to it)
    #[arg(long, value_name = "FILE.md")]
    pub report: Option<PathBuf>,
    /// Score even when the data is the training file or more than 10% of its rows were training rows
    #[arg(long)]
    pub allow_overlap: bool,
    /// The positive class of binary metrics (precision, recall, f1), if not the one the model was trained with
    #[arg(long, value_name = "LABEL")]
    pub pos_label: Option<String>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("dataset").required(true).args(["file", "data"])))]
// clap would put the FILE-or---data group before MODEL.
#[command(override_usage = "mlctl predict [OPTIONS] <MODEL> <FILE|-|--data FILE|->")]
pub struct PredictArgs {
    /// NAME (latest), NAME@X.Y.Z or NAME@stage (e.g. skill_assignment@production)
    #[arg(value_name = "MODEL")]
    pub model: String,
    /// Input records (the same as --data FILE)
    #[arg(value_name = "FILE|-")]
    pub file: Option<String>,
    /// Input records: a .csv, .json (an array, or one object: one record) or .ndjson file, or - for stdin
    /// (format detected)
    #[arg(long, short = 'i', visible_alias = "input", value_name = "FILE|-", conflicts_with = "file")]
    pub data: Option<String>,
    /// Write predictions here (atomically) instead of stdout, in the format its extension names (.csv, .json,
    /// .ndjson or .jsonl; another needs --format); a summary goes to stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format (default: -o FILE's extension, else the input's: csv for CSV, json for a JSON array, ndjson
    /// for NDJSON or one object)
    #[arg(long, value_name = "csv|json|ndjson")]
    pub format: Option<String>,
    /// Binary models: predict the positive class when its probability exceeds T (default 0.5)
    #[arg(long, value_name = "T")]
    pub threshold: Option<f64>,
    /// Do not append predictions to logs/predictions/<name>/<date>.jsonl
    #[arg(long)]
    pub no_log: bool,
    /// Rows per batch (memory is bounded by this, not by the input size)
    #[arg(long, default_value_t = 8192, value_name = "N")]
    pub batch_size: usize,
    /// Add the N key factors of each prediction (default 5): each feature's effect when replaced by its
    /// typical training value
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "5")]
    pub explain: Option<usize>,
    /// Field separator of CSV input, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// The input column holding each row's id: logged as the prediction's "id", which `mlctl outcomes` joins
    /// on (without it, logged rows get generated ids, shown in JSON output)
    #[arg(long, value_name = "COL")]
    pub id_column: Option<String>,
}

impl PredictArgs {
    /// FILE, --data FILE or --input FILE (clap requires one of them, and refuses two).
    pub fn dataset(&self) -> &str {
        self.data.as_deref().or(self.file.as_deref()).expect("clap's `dataset` group requires FILE or --data")
    }
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["sample", "from"])))]
pub struct ExportArgs {
    /// Generate a built-in sample dataset (available: skill-assignment)
    #[arg(long, value_name = "NAME")]
    pub sample: Option<String>,
    /// Export from a database or a file: sqlite:PATH, postgres://USER@HOST:PORT/DB (password from the URL,
    /// PGPASSWORD or ~/.pgpass), or FILE.parquet / .json / .ndjson / .csv (a validated, normalised copy)
    #[arg(long, value_name = "SOURCE")]
    pub from: Option<String>,
    /// With --from a database: export every row of this table (schema.table allowed)
    #[arg(long, value_name = "NAME", requires = "from", conflicts_with = "query")]
    pub table: Option<String>,
    /// With --from a database: export the rows of this SQL query
    #[arg(long, value_name = "SQL", requires = "from")]
    pub query: Option<String>,
    /// With --sample: number of rows to generate
    #[arg(long, default_value_t = 10_000, requires = "sample")]
    pub rows: usize,
    /// With --sample: seed of the generator (the same rows and seed give the same file)
    #[arg(long, default_value_t = 42, requires = "sample")]
    pub seed: u64,
    /// With --sample: covariate shift, in standard deviations, of every feature (X) or one (COLUMN=X):
    /// numeric features move, categorical shares tilt; the outcome follows the features as before.
    /// Repeatable or a comma list: --shift skill_match_score=0.5,task_priority=1
    #[arg(long, value_name = "[COLUMN=]X", requires = "sample", allow_hyphen_values = true)]
    pub shift: Vec<String>,
    /// With --sample: concept shift from 0 to 1, how far the effects of skill match and performance on the
    /// outcome are turned round (0.5 removes them, 1 reverses them); the features are drawn as without it
    #[arg(long, value_name = "X", default_value_t = 0.0, requires = "sample")]
    pub concept_shift: f64,
    /// Output CSV path (a FILE.card.json is written beside it)
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data (CSV with a header row); the same as --data FILE
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Training data (CSV with a header row), as every command that reads a dataset names it
    #[arg(long, value_name = "FILE", conflicts_with = "file")]
    pub data: Option<PathBuf>,
    /// Take the spec from [models.NAME] in mlctl.toml (flags given here override it)
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Target column to predict (none: clustering)
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
    /// Model name in the registry (default: --model, else the data file's stem)
    #[arg(long)]
    pub name: Option<String>,
    /// classification, regression or clustering (default: inferred from the target: none → clustering; numeric
    /// with fractions or over 20 distinct values → regression; else classification)
    #[arg(long)]
    pub task: Option<String>,
    /// Algorithm (default random-forest; k-means for clustering). Classification: random-forest,
    /// gradient-boosting, decision-tree, logistic-regression, knn, naive-bayes. Regression: random-forest,
    /// gradient-boosting, decision-tree, knn, linear, ridge, lasso, elastic-net. Clustering: k-means
    #[arg(long, conflicts_with = "compare")]
    pub algorithm: Option<String>,
    /// Cross-validate these algorithms (repeatable or a comma list) on the same folds (--cv K, default 5),
    /// write MODEL_COMPARISON.md and register the best by the primary metric
    #[arg(long, value_name = "A,B,...")]
    pub compare: Vec<String>,
    /// Hyperparameter; repeatable or a comma list: --set n_trees=200,max_depth=12
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Seed for the split, the folds and the model (default 42)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Share of rows held out for the test metrics (default 0.2)
    #[arg(long)]
    pub test_size: Option<f64>,
    /// The positive class of a binary target, which precision, recall and F1 are about (default: 1, true or
    /// yes when the labels are such a pair, else the minority class)
    #[arg(long, value_name = "LABEL")]
    pub pos_label: Option<String>,
    /// Also run K-fold cross-validation on the training split and report mean ± std
    #[arg(long, value_name = "K")]
    pub cv: Option<usize>,
    /// Register under this exact version instead of the automatic bump (an existing version is refused)
    #[arg(long, value_name = "X.Y.Z")]
    pub version: Option<String>,
    /// Treat these columns as categorical even if they look numeric (repeatable or a comma list)
    #[arg(long, value_name = "COLUMN,...")]
    pub categorical: Vec<String>,
    /// Treat these columns as numeric (repeatable or a comma list); cells in them that are not numbers are read as
    /// missing values, with a warning that counts them
    #[arg(long, value_name = "COLUMN,...")]
    pub numeric: Vec<String>,
    /// Treat these columns as dates (repeatable or a comma list): YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]; anything
    /// else in them is an error
    #[arg(long, value_name = "COLUMN,...")]
    pub date: Vec<String>,
    /// Leave these columns out of the features, e.g. an id (repeatable or a comma list; a name holding a comma
    /// goes in double quotes: --drop '"city, state"')
    #[arg(long, value_name = "COLUMN,...")]
    pub drop: Vec<String>,
    /// Field separator of the CSV, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Refuse rows without a target value instead of dropping them with a warning
    #[arg(long)]
    pub require_target: bool,
    /// Extra cell values read as missing, in every column (repeatable or a comma list), e.g. --na-values
    /// "unknown,?"; always missing: empty, NA, N/A, NaN, nan, null, NULL, None
    #[arg(long, value_name = "A,B,...")]
    pub na_values: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Models to serve: NAME (its production version), NAME@stage (follows the registry) or NAME@X.Y.Z (pinned);
    /// none: every model with a production version
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,
    /// Address to listen on (only this machine by default)
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    pub host: String,
    /// Port to listen on (0: one the OS chooses, printed in the "listening on" line)
    #[arg(long, default_value_t = 8080, value_name = "PORT")]
    pub port: u16,
    /// Do not append served predictions to logs/predictions/<name>/<date>.jsonl
    #[arg(long)]
    pub no_log: bool,
    /// Largest request body accepted (413 beyond), e.g. 16MiB, 512KiB or a number of bytes
    #[arg(long, default_value = "16MiB", value_name = "SIZE")]
    pub max_body: String,
    /// Require `Authorization: Bearer TOKEN` on every endpoint but the health checks, with TOKEN read from
    /// this file (or from MLCTL_SERVE_TOKEN)
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// How often the registry is checked for promotions, in milliseconds
    #[arg(long, default_value_t = 500, value_name = "MS", hide = true)]
    pub poll_ms: u64,
}

#[derive(Debug, Args)]
pub struct OutcomesArgs {
    /// The model whose predictions these outcomes belong to (labels are checked against the version a bare name
    /// predicts with: production, else the newest)
    #[arg(value_name = "NAME")]
    pub model: String,
    /// A CSV with an id column and the outcome column
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The column holding each prediction's id (as given to `predict --id-column`)
    #[arg(long, value_name = "COL")]
    pub id_column: String,
    /// The column holding the outcome (default: the model's target)
    #[arg(long, value_name = "COL")]
    pub target: Option<String>,
    /// Field separator of the CSV, e.g. ';' or 'tab'
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The model to watch (every version that logged predictions in the period)
    #[arg(value_name = "NAME")]
    pub model: String,
    /// Predictions from this point on: 30d, 12w, a date (2026-01-01) or an RFC 3339 time
    #[arg(long, value_name = "WHEN", default_value = "30d")]
    pub since: String,
    /// Window length: 7d, 24h, 1w, ...
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    pub window: String,
    /// RETRAIN DUE when a metric of the latest window with enough outcomes (or, newer and without them, its
    /// estimate) is worse than the test score by more than X (repeat or comma list; default: f1=0.05 for
    /// classifiers, r2=0.05 for regression)
    #[arg(long, value_name = "METRIC=X")]
    pub max_drop: Vec<String>,
    /// RETRAIN DUE when the version in production (else the newest) was trained longer ago than this (e.g. 30d)
    #[arg(long, value_name = "DURATION")]
    pub max_age: Option<String>,
    /// Windows with fewer labelled rows than this are reported but not judged
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub min_labels: usize,
    /// RETRAIN DUE when the latest window's logged features drifted from the training data: share=X (at least
    /// that share of features drifted; default share=0.5) or any
    #[arg(long, value_name = "RULE", default_value = "share=0.5")]
    pub fail_on: String,
    /// Also write a markdown report here, with an SVG trend chart per metric beside it
    #[arg(long, value_name = "FILE.md")]
    pub report: Option<PathBuf>,
}
