//! `mlctl predict`: stream records through a registered version in bounded batches (memory stays flat for any
//! input size), enforce the training schema, pass non-feature columns (ids) through, and log each prediction as a
//! JSON line for monitoring (`logs/predictions/<name>/<YYYY-MM-DD>.jsonl`), which `drift --logs` reads.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::data::frame::Frame;
use crate::data::schema::ColumnType;
use crate::data::stream::{Batch, InputFormat, RecordStream, TextBatch};
use crate::error::{Error, IoContext, Result};
use crate::models::{Predictions, Task};
use crate::ops::csv_text;
use crate::ops::prediction_log::{self, LineContext, Logged, PredictionLog};
use crate::pipeline::TransformStats;
use crate::registry::atomic::{refuse_same_file, AtomicFile};
use crate::registry::loaded::{load_reference, LoadedModel};
use crate::registry::{ModelRef, Store};
use crate::reporter::Reporter;

pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// Batches predicted at the same time while the next is read. Results are taken in input order, so with two
/// in flight a worker that finished the newer batch sat idle until the older one was done; with four it takes
/// the next (100k-row boosting predict, 41 alternating runs: 59 → 56 ms median; peak RSS 24 → 26 MB).
const BATCHES_IN_FLIGHT: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Csv,
    Json,
    Ndjson,
}

impl OutputFormat {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            "ndjson" | "jsonl" => Ok(OutputFormat::Ndjson),
            other => Err(Error::Usage(format!("--format {other}: expected csv, json or ndjson"))),
        }
    }
}

pub enum Input {
    File(PathBuf),
    Stdin,
}

pub struct PredictOptions {
    pub reference: ModelRef,
    pub input: Input,
    pub output: Option<PathBuf>,
    pub format: Option<OutputFormat>,
    /// Binary models: the positive class is predicted when its probability exceeds this (default 0.5, which is
    /// the same decision as the most probable class).
    pub threshold: Option<f64>,
    /// Append prediction logs under this folder (None: no logging).
    pub log_dir: Option<PathBuf>,
    pub batch_rows: usize,
    pub delimiter: Option<u8>,
    /// `--explain N`: the N key factors of every prediction.
    pub explain: Option<usize>,
    /// `--id-column COL`: each row's prediction id (logged as `"id"`, joined with outcomes by `monitor`).
    /// Without it, logged rows get generated ids.
    pub id_column: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    pub model: String,
    pub version: semver::Version,
    pub rows: usize,
    pub output: Option<String>,
    pub format: OutputFormat,
    pub threshold: Option<f64>,
    pub task: Task,
    pub positive_class: Option<String>,
    /// Rows per predicted class or segment (empty for regression).
    pub prediction_counts: BTreeMap<String, usize>,
    /// Regression: mean, min and max of the predicted values.
    pub value_summary: Option<ValueSummary>,
    pub unknown_categories: BTreeMap<String, usize>,
    pub imputed: BTreeMap<String, usize>,
    /// Cells that were not numbers read as missing, per numeric feature trained with `--numeric`.
    pub stray_as_missing: BTreeMap<String, usize>,
    pub log_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValueSummary {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Where predictions go: stdout, or `-o` written atomically (committed only when everything succeeded; dropped
/// on an error, it leaves nothing behind).
enum Sink {
    Stdout(Box<dyn Write>),
    File(AtomicFile),
}

impl Sink {
    fn open(output: Option<&Path>, stdout: Box<dyn Write>) -> Result<Sink> {
        match output {
            None => Ok(Sink::Stdout(stdout)),
            Some(path) => Ok(Sink::File(AtomicFile::create(path)?)),
        }
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::Stdout(w) => w,
            Sink::File(f) => f,
        }
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Stdout(mut w) => w.flush().at(Path::new("<stdout>")),
            Sink::File(f) => f.commit(),
        }
    }
}

/// How predictions are decided and what comes with them: the same for `mlctl predict` and `mlctl serve`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Decision {
    /// Binary models: the positive class is predicted when its probability exceeds this (None: 0.5).
    pub threshold: Option<f64>,
    /// The N key factors of every prediction.
    pub explain: Option<usize>,
}

/// The prediction core that `mlctl predict` and `mlctl serve` share: a loaded model, an input header checked
/// against its training schema, and the decision settings. [`Predictor::run`] takes a batch of records to
/// formatted output and prediction log lines, so a served answer is the CLI's, byte for byte.
pub struct Predictor<'a> {
    model: &'a LoadedModel,
    /// The input's name in messages.
    source: PathBuf,
    header: Vec<String>,
    types: HashMap<String, ColumnType>,
    /// The effective threshold (binary models only).
    threshold: Option<f64>,
    explain: Option<usize>,
    output: Output,
}

impl<'a> Predictor<'a> {
    /// Checks the decision settings against the model and `header` against its features (every missing one is
    /// named); the columns that are not features pass through to the output.
    pub fn new(
        model: &'a LoadedModel,
        source: &Path,
        header: Vec<String>,
        decision: Decision,
        format: OutputFormat,
    ) -> Result<Self> {
        let threshold = effective_threshold(model, decision.threshold)?;
        let features = &model.bundle.pipeline.features;
        let missing: Vec<&str> =
            features.iter().map(|f| f.name.as_str()).filter(|f| !header.iter().any(|h| h == f)).collect();
        if !missing.is_empty() {
            return Err(Error::data(
                source,
                None,
                None,
                format!("is missing feature column(s) the model needs: {}", missing.join(", ")),
            ));
        }
        check_header(source, &header)?;
        let types: HashMap<String, ColumnType> = features.iter().map(|f| (f.name.clone(), f.column_type())).collect();
        let passthrough: Vec<usize> = (0..header.len()).filter(|&i| !types.contains_key(&header[i])).collect();
        let (classes, task) = (&model.bundle.classes, model.bundle.task);
        let output = Output::new(format, &header, &passthrough, classes, task, decision.explain.is_some());
        if let Some(&clash) = passthrough.iter().find(|&&i| output.names[passthrough.len()..].contains(&header[i])) {
            return Err(Error::data(
                source,
                None,
                Some(&header[clash]),
                "has the name of a column the predictions add; rename or drop that input column",
            ));
        }
        Ok(Predictor {
            model,
            source: source.to_path_buf(),
            header,
            types,
            threshold,
            explain: decision.explain,
            output,
        })
    }

    pub fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// The position of an input column, if the input has it.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// One batch through the model: typed with the training schema, transformed, predicted, decided, formatted,
    /// and (when `log`) its prediction log lines, each with its id from `ids` when given.
    pub fn run(&self, batch: Batch, log: bool, ids: Option<RowIds<'_>>) -> Result<BatchPredictions> {
        let batch = batch.into_text(&self.source)?;
        let from_column: Vec<String>;
        let ids = match ids {
            Some(RowIds::Given(ids)) => Some(ids),
            Some(RowIds::Column(c)) => {
                from_column = batch.columns[c].iter().map(|cell| cell.unwrap_or("").to_owned()).collect();
                Some(from_column.as_slice())
            }
            Some(RowIds::Numbered(prefix)) => {
                from_column = (0..batch.len).map(|i| format!("{prefix}-{}", batch.first_row + i)).collect();
                Some(from_column.as_slice())
            }
            None => None,
        };
        let pipeline = &self.model.bundle.pipeline;
        let (frame, stray) =
            batch.to_frame(&self.source, &self.header, &self.types, &pipeline.na_values, &pipeline.stray_as_missing)?;
        let (x, mut stats) = pipeline.transform(&frame, None)?;
        stats.stray_as_missing = stray;
        let predictions = self.model.bundle.predict(&x);
        let decided = Decided::of(&predictions, self.threshold);
        let factors = match self.explain {
            Some(top) => Some(crate::ops::explain::key_factors(&self.model.bundle, &frame, &predictions, top)?),
            None => None,
        };
        let output = self.output.format_batch(&batch, &decided, factors.as_deref(), ids);
        let log_lines = log.then(|| self.log_lines(&frame, &decided, ids)).transpose()?;
        Ok(BatchPredictions { stats, decided, output, log_lines })
    }

    /// The batch's prediction log lines.
    fn log_lines(&self, frame: &Frame, decided: &Decided, ids: Option<&[String]>) -> Result<Vec<u8>> {
        let bundle = &self.model.bundle;
        let version = self.model.record.version.to_string();
        let timestamp = crate::clock::now_rfc3339();
        let context = LineContext {
            model: self.model.name.as_str(),
            version: &version,
            timestamp: &timestamp,
            classes: &bundle.classes,
            ids,
        };
        let features: Vec<_> = bundle.pipeline.features.iter().filter_map(|f| frame.column(&f.name)).collect();
        prediction_log::lines(&context, &features, frame.n_rows, |row| {
            decided.logged(row, &bundle.classes, self.threshold)
        })
    }
}

/// Where each row's prediction id comes from.
#[derive(Debug, Clone, Copy)]
pub enum RowIds<'a> {
    /// One per row, in order.
    Given(&'a [String]),
    /// An input column (its position in the header).
    Column(usize),
    /// `PREFIX-N` for data row N: unique when the prefix is ([`unique_prefix`]).
    Numbered(&'a str),
}

/// A prefix no other run or server shares: the start time of this process (nanoseconds) and its id, in hex.
pub fn unique_prefix() -> &'static str {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        format!("{nanos:x}{:x}", std::process::id())
    })
}

/// Refuses an input header with an empty or repeated column name, as `train` does: a value could not be told
/// from its neighbour's.
fn check_header(source: &Path, header: &[String]) -> Result<()> {
    if let Some(i) = header.iter().position(|h| h.trim().is_empty()) {
        return Err(Error::data(source, None, None, format!("column {} of the header has no name", i + 1)));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(Error::data(source, None, Some(dup), "appears twice in the header; column names must be unique"));
    }
    Ok(())
}

/// Where each row's id comes from: `--id-column`, else generated when the predictions are logged (so that each
/// logged row can be joined with its outcome), else none.
fn row_ids<'a>(predictor: &Predictor<'_>, source: &Path, opts: &'a PredictOptions) -> Result<Option<RowIds<'a>>> {
    match &opts.id_column {
        Some(name) => match predictor.column(name) {
            Some(c) => Ok(Some(RowIds::Column(c))),
            None => Err(Error::data(source, None, Some(name), "--id-column names no column of the input")),
        },
        None => Ok(opts.log_dir.is_some().then(|| RowIds::Numbered(unique_prefix()))),
    }
}

/// The threshold a binary model decides with (0.5 unless given); an error for any other model, or outside 0..1.
fn effective_threshold(model: &LoadedModel, threshold: Option<f64>) -> Result<Option<f64>> {
    let (classes, task) = (&model.bundle.classes, model.bundle.task);
    let binary = task == Task::Classification && classes.len() == 2;
    if threshold.is_some() && task != Task::Classification {
        return Err(Error::Usage(format!(
            "--threshold applies to binary classifiers; {} is a {} model",
            model.name,
            task.as_str()
        )));
    }
    if threshold.is_some() && !binary {
        return Err(Error::Usage(format!(
            "--threshold applies to binary models; {} has {} classes",
            model.name,
            classes.len()
        )));
    }
    if let Some(t) = threshold.filter(|t| !(0.0..=1.0).contains(t)) {
        return Err(Error::Usage(format!("--threshold {t}: expected a probability between 0 and 1")));
    }
    Ok(binary.then(|| threshold.unwrap_or(0.5)))
}

/// The input format a file's extension names, if any.
fn format_of_extension(input: &Input) -> Option<InputFormat> {
    match input {
        Input::File(p) => match p.extension().and_then(|e| e.to_str()) {
            Some("json") => Some(InputFormat::JsonArray),
            Some("ndjson" | "jsonl") => Some(InputFormat::Ndjson),
            Some("csv") => Some(InputFormat::Csv),
            _ => None,
        },
        Input::Stdin => None,
    }
}

pub fn predict(
    opts: &PredictOptions,
    store: &Store,
    stdout: Box<dyn Write>,
    reporter: &dyn Reporter,
) -> Result<PredictReport> {
    let model = load_reference(store, &opts.reference, &|why| reporter.warn(why))?;
    let classes = &model.bundle.classes;
    let task = model.bundle.task;
    let binary = task == Task::Classification && classes.len() == 2;
    if let (Input::File(input), Some(output)) = (&opts.input, &opts.output) {
        refuse_same_file(input, output)?;
    }
    let (source, reader): (PathBuf, Box<dyn BufRead + Send>) = match &opts.input {
        Input::File(p) => {
            let f = std::fs::File::open(p).at(p)?;
            (p.clone(), Box::new(std::io::BufReader::with_capacity(1 << 16, f)))
        }
        Input::Stdin => (PathBuf::from("<stdin>"), Box::new(std::io::BufReader::new(std::io::stdin()))),
    };
    let mut stream =
        RecordStream::open(&source, reader, format_of_extension(&opts.input), opts.delimiter.unwrap_or(b','))?;
    // JSON in gives JSON out, unless --format says otherwise.
    let format = opts.format.unwrap_or(match stream.format() {
        InputFormat::JsonArray => OutputFormat::Json,
        InputFormat::Ndjson | InputFormat::JsonObject => OutputFormat::Ndjson,
        InputFormat::Csv => OutputFormat::Csv,
    });
    let decision = Decision { threshold: opts.threshold, explain: opts.explain };
    let predictor = Predictor::new(&model, &source, stream.header().to_vec(), decision, format)?;
    let threshold = predictor.threshold();
    let row_ids = row_ids(&predictor, &source, opts)?;

    let out_label = opts.output.clone().unwrap_or_else(|| PathBuf::from("<stdout>"));
    let mut sink = Sink::open(opts.output.as_deref(), stdout)?;
    let mut log = opts.log_dir.as_ref().map(|dir| PredictionLog::open(dir, model.name.as_str())).transpose()?;
    let mut report = PredictReport {
        model: model.name.to_string(),
        version: model.record.version.clone(),
        rows: 0,
        output: opts.output.as_ref().map(|p| p.display().to_string()),
        format,
        threshold,
        task,
        positive_class: binary.then(|| classes[1].clone()),
        prediction_counts: BTreeMap::new(),
        value_summary: None,
        unknown_categories: BTreeMap::new(),
        imputed: BTreeMap::new(),
        stray_as_missing: BTreeMap::new(),
        log_file: log.as_ref().map(|l| l.path.display().to_string()),
    };

    predictor.output.begin(sink.writer()).at(&out_label)?;
    let mut values = Summary::default();
    let batch_rows = opts.batch_rows.max(1);
    let logging = log.is_some();
    let mut finish = |done: BatchPredictions| -> Result<()> {
        let BatchPredictions { stats, decided, output, log_lines } = done;
        for (name, n) in stats.unknown_categories {
            *report.unknown_categories.entry(name).or_default() += n;
        }
        for (name, n) in stats.imputed {
            *report.imputed.entry(name).or_default() += n;
        }
        for (name, n) in stats.stray_as_missing {
            *report.stray_as_missing.entry(name).or_default() += n;
        }
        decided.count(classes, &mut report.prediction_counts);
        values.extend(decided.values());
        sink.writer().write_all(&output.at(&out_label)?).at(&out_label)?;
        if let (Some(log), Some(lines)) = (&mut log, log_lines) {
            log.append(&lines)?;
        }
        report.rows += decided.len();
        if report.rows % (batch_rows * 16) < decided.len() {
            reporter.phase(&format!("{} rows predicted", report.rows));
        }
        Ok(())
    };
    // Batches are read on this thread and predicted on the thread pool, up to [`BATCHES_IN_FLIGHT`] at a time,
    // and written here in input order. Reading is serial, and so is most of a batch's own work (typing,
    // formatting): with one batch at a time, a core sat idle for a third of the run. On the pool, a batch's
    // parallel prediction and the other batches share the cores without more threads than cores. Errors keep
    // their order: an earlier batch's come before a later one's and before the reader's. (This thread waits
    // for results, so it must not be one of the pool's: the command runs on the main thread.)
    rayon::in_place_scope(|scope| -> Result<()> {
        let predictor = &predictor;
        let (sender, receiver) = std::sync::mpsc::channel();
        let mut results = InOrder::new(receiver);
        let mut next_result = || results.next().unwrap_or_else(|| Err(Error::Model("a batch was lost".to_owned())));
        let (mut spawned, mut in_flight) = (0, 0);
        loop {
            let batch = match stream.next_batch(batch_rows) {
                Ok(Some(batch)) => batch,
                Ok(None) => break,
                Err(read_error) => {
                    for _ in 0..in_flight {
                        finish(next_result()?)?;
                    }
                    return Err(read_error);
                }
            };
            let (sender, number) = (sender.clone(), spawned);
            spawned += 1;
            scope.spawn(move |_| {
                let result =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| predictor.run(batch, logging, row_ids)));
                // Sending fails only if an error has ended the loop, and then nobody waits for this result.
                let _ = sender.send((number, result));
            });
            in_flight += 1;
            if in_flight == BATCHES_IN_FLIGHT {
                finish(next_result()?)?;
                in_flight -= 1;
            }
        }
        for _ in 0..in_flight {
            finish(next_result()?)?;
        }
        Ok(())
    })?;
    predictor.output.end(sink.writer()).at(&out_label)?;
    sink.finish()?;
    report.value_summary = (task == Task::Regression && report.rows > 0).then(|| values.finish());
    if stream.ignored_keys > 0 {
        reporter.warn(&format!("{} JSON field(s) not in the first record were ignored", stream.ignored_keys));
    }
    for (col, n) in &report.unknown_categories {
        reporter.warn(&format!("{n} row(s) have a category of \"{col}\" unseen in training (encoded as unknown)"));
    }
    for warning in crate::ops::train::stray_warnings(&report.stray_as_missing, "trained with --numeric") {
        reporter.warn(&warning);
    }
    Ok(report)
}

/// The results of numbered jobs (0, 1, 2, …), which finish in any order, handed back in number order.
struct InOrder<T> {
    receiver: std::sync::mpsc::Receiver<(usize, std::thread::Result<T>)>,
    arrived: BTreeMap<usize, std::thread::Result<T>>,
    next: usize,
}

impl<T> InOrder<T> {
    fn new(receiver: std::sync::mpsc::Receiver<(usize, std::thread::Result<T>)>) -> Self {
        InOrder { receiver, arrived: BTreeMap::new(), next: 0 }
    }

    /// The next job's result, once it has arrived (a panic in the job is resumed here); None if every sender
    /// is gone before it.
    fn next(&mut self) -> Option<T> {
        loop {
            if let Some(result) = self.arrived.remove(&self.next) {
                self.next += 1;
                return Some(result.unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            }
            let (number, result) = self.receiver.recv().ok()?;
            self.arrived.insert(number, result);
        }
    }
}

/// One batch through the model.
pub struct BatchPredictions {
    stats: TransformStats,
    decided: Decided,
    /// The batch's output, formatted.
    output: std::io::Result<Vec<u8>>,
    /// Its prediction log lines, when logging.
    log_lines: Option<Vec<u8>>,
}

impl BatchPredictions {
    /// The batch's output, formatted as the predictor's format says.
    pub fn output(&self) -> std::io::Result<&[u8]> {
        match &self.output {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }

    /// The prediction log lines, when logging, handed over (they go to a writer thread).
    pub fn take_log_lines(&mut self) -> Option<Vec<u8>> {
        self.log_lines.take()
    }

    pub fn rows(&self) -> usize {
        self.decided.len()
    }

    /// Rows per predicted class or segment (empty for regression).
    pub fn counts(&self, classes: &[String]) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        self.decided.count(classes, &mut counts);
        counts
    }

    /// Rows with a category unseen in training, per column.
    pub fn unknown_categories(&self) -> &BTreeMap<String, usize> {
        &self.stats.unknown_categories
    }
}

/// A batch's predictions, decided: classes (with their probabilities), values or segments.
enum Decided {
    Classes { predicted: Vec<u32>, proba: Vec<f64>, n_classes: usize },
    Values(Vec<f64>),
    Segments { segments: Vec<u32>, distances: Vec<f64> },
}

impl Decided {
    /// The positive class above the threshold for binary models, else the most probable class.
    fn of(predictions: &Predictions, threshold: Option<f64>) -> Decided {
        match predictions {
            Predictions::Classes { proba, n_classes } => {
                let predicted = match threshold {
                    Some(t) if *n_classes == 2 => proba.chunks_exact(2).map(|p| u32::from(p[1] > t)).collect(),
                    _ => crate::models::argmax_rows(proba, *n_classes),
                };
                Decided::Classes { predicted, proba: proba.clone(), n_classes: *n_classes }
            }
            Predictions::Values(v) => Decided::Values(v.clone()),
            Predictions::Segments { segments, distances } => {
                Decided::Segments { segments: segments.clone(), distances: distances.clone() }
            }
        }
    }

    fn count(&self, classes: &[String], counts: &mut BTreeMap<String, usize>) {
        let labels = match self {
            Decided::Classes { predicted, .. } => predicted,
            Decided::Segments { segments, .. } => segments,
            Decided::Values(_) => return,
        };
        for &c in labels {
            let name = classes.get(c as usize).cloned().unwrap_or_else(|| c.to_string());
            *counts.entry(name).or_default() += 1;
        }
    }

    fn len(&self) -> usize {
        match self {
            Decided::Classes { predicted, .. } => predicted.len(),
            Decided::Values(v) => v.len(),
            Decided::Segments { segments, .. } => segments.len(),
        }
    }

    fn values(&self) -> &[f64] {
        match self {
            Decided::Values(v) => v,
            _ => &[],
        }
    }

    /// The prediction of `row` as output text: the class name, the value, or the segment.
    fn label(&self, row: usize, classes: &[String]) -> String {
        let mut out = String::new();
        self.write_label(row, classes, &mut out);
        out
    }

    fn write_label(&self, row: usize, classes: &[String], out: &mut String) {
        use std::fmt::Write;
        let _ = match self {
            Decided::Classes { predicted, .. } => {
                out.push_str(classes.get(predicted[row] as usize).map_or("", String::as_str));
                Ok(())
            }
            Decided::Values(v) => {
                crate::ops::float_text::push_f64(out, v[row]);
                Ok(())
            }
            Decided::Segments { segments, .. } => write!(out, "{}", segments[row]),
        };
    }

    /// What the prediction log says of `row`.
    fn logged<'a>(&'a self, row: usize, classes: &'a [String], threshold: Option<f64>) -> Logged<'a> {
        match self {
            Decided::Classes { predicted, proba, n_classes } => Logged::Class {
                label: classes.get(predicted[row] as usize).map(String::as_str),
                probabilities: &proba[row * n_classes..(row + 1) * n_classes],
                threshold,
            },
            Decided::Values(v) => Logged::Value(v[row]),
            Decided::Segments { segments, distances } => {
                Logged::Segment { segment: segments[row], distance: distances[row] }
            }
        }
    }

    /// The numbers written after the prediction: P(positive) or every class's probability; the distance to the
    /// segment's centre; nothing for a value.
    fn extra(&self, row: usize) -> &[f64] {
        match self {
            Decided::Classes { proba, n_classes, .. } => {
                let p = &proba[row * n_classes..(row + 1) * n_classes];
                if *n_classes == 2 {
                    &p[1..]
                } else {
                    p
                }
            }
            Decided::Values(_) => &[],
            Decided::Segments { distances, .. } => &distances[row..=row],
        }
    }
}

/// Running mean, min and max of predicted values.
#[derive(Default)]
struct Summary {
    n: usize,
    sum: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn extend(&mut self, values: &[f64]) {
        for &v in values {
            if self.n == 0 {
                (self.min, self.max) = (v, v);
            }
            self.n += 1;
            self.sum += v;
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    fn finish(&self) -> ValueSummary {
        ValueSummary { mean: self.sum / self.n.max(1) as f64, min: self.min, max: self.max }
    }
}

/// Writes predictions in one format.
struct Output {
    format: OutputFormat,
    names: Vec<String>,
    passthrough: Vec<usize>,
    classes: Vec<String>,
    /// The name of the prediction column: "prediction", or "segment" for clustering.
    label_name: String,
    explain: bool,
}

impl Output {
    fn new(
        format: OutputFormat,
        header: &[String],
        passthrough: &[usize],
        classes: &[String],
        task: Task,
        explain: bool,
    ) -> Self {
        let mut names: Vec<String> = passthrough.iter().map(|&i| header[i].clone()).collect();
        let label_name = if task == Task::Clustering { "segment" } else { "prediction" }.to_owned();
        names.push(label_name.clone());
        match task {
            Task::Classification if classes.len() == 2 => names.push("probability".to_owned()),
            Task::Classification => names.extend(classes.iter().map(|c| format!("probability_{c}"))),
            Task::Clustering => names.push("distance".to_owned()),
            Task::Regression => {}
        }
        if explain {
            names.push("key_factors".to_owned());
        }
        Output { format, names, passthrough: passthrough.to_vec(), classes: classes.to_vec(), label_name, explain }
    }

    fn begin(&self, w: &mut dyn Write) -> std::io::Result<()> {
        match self.format {
            OutputFormat::Csv => {
                let mut header = Vec::new();
                for (i, name) in self.names.iter().enumerate() {
                    if i > 0 {
                        header.push(b',');
                    }
                    csv_text::push_field(&mut header, name.as_bytes());
                }
                header.push(b'\n');
                w.write_all(&header)
            }
            OutputFormat::Json => w.write_all(b"["),
            OutputFormat::Ndjson => Ok(()),
        }
    }

    /// The text of `batch`'s rows with their predictions.
    fn format_batch(
        &self,
        batch: &TextBatch,
        decided: &Decided,
        factors: Option<&[Vec<crate::ops::explain::Factor>]>,
        ids: Option<&[String]>,
    ) -> std::io::Result<Vec<u8>> {
        let cells = &batch.columns;
        let rows = decided.len();
        let mut w = Vec::with_capacity(rows * 48);
        let extra_names = &self.names[self.passthrough.len() + 1..self.names.len() - usize::from(self.explain)];
        match self.format {
            OutputFormat::Csv => {
                // Written field by field into the batch's buffer, as the csv crate would write them (see
                // `csv_text`), the numbers through one reused string: no allocation per row.
                let mut text = String::new();
                for row in 0..rows {
                    for &c in &self.passthrough {
                        csv_text::push_field(&mut w, cells[c].get(row).unwrap_or("").as_bytes());
                        w.push(b',');
                    }
                    text.clear();
                    decided.write_label(row, &self.classes, &mut text);
                    csv_text::push_field(&mut w, text.as_bytes());
                    for x in decided.extra(row) {
                        text.clear();
                        crate::ops::float_text::push_f64(&mut text, *x);
                        w.push(b',');
                        w.extend_from_slice(text.as_bytes());
                    }
                    if let Some(f) = factors {
                        w.push(b',');
                        csv_text::push_field(&mut w, crate::ops::explain::as_text(&f[row]).as_bytes());
                    }
                    w.push(b'\n');
                }
            }
            OutputFormat::Json | OutputFormat::Ndjson => {
                for row in 0..rows {
                    let mut obj = Map::new();
                    for (name, &c) in self.names.iter().zip(&self.passthrough) {
                        obj.insert(
                            name.clone(),
                            cells[c].get(row).map_or(Value::Null, |s| Value::String(s.to_owned())),
                        );
                    }
                    let label = match decided {
                        Decided::Values(v) => json!(v[row]),
                        Decided::Segments { segments, .. } => json!(segments[row]),
                        Decided::Classes { .. } => Value::String(decided.label(row, &self.classes)),
                    };
                    obj.insert(self.label_name.clone(), label);
                    for (name, x) in extra_names.iter().zip(decided.extra(row)) {
                        obj.insert(name.clone(), json!(x));
                    }
                    if let Some(f) = factors {
                        obj.insert("key_factors".into(), json!(f[row]));
                    }
                    if let Some(id) = ids.and_then(|ids| ids.get(row)) {
                        obj.insert("id".into(), Value::String(id.clone()));
                    }
                    let text = serde_json::to_string(&obj).map_err(std::io::Error::other)?;
                    if self.format == OutputFormat::Json {
                        // Batches follow each other from the first data row: only the very first row has no comma.
                        let first = batch.first_row == 1 && row == 0;
                        w.extend_from_slice(if first { b"\n" } else { b",\n" });
                        w.extend_from_slice(text.as_bytes());
                    } else {
                        w.extend_from_slice(text.as_bytes());
                        w.push(b'\n');
                    }
                }
            }
        }
        Ok(w)
    }

    fn end(&self, w: &mut dyn Write) -> std::io::Result<()> {
        if self.format == OutputFormat::Json {
            w.write_all(b"\n]\n")?;
        }
        Ok(())
    }
}
