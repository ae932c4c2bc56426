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
use crate::registry::atomic::temp_path;
use crate::registry::loaded::{load, LoadedModel};
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
            other => Err(Error::Config(format!("--format {other}: expected csv, json or ndjson"))),
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
    pub log_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValueSummary {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

/// Where predictions go: stdout, or a temp file renamed over `-o` only when everything succeeded.
struct Sink {
    writer: Box<dyn Write>,
    commit: Option<(PathBuf, PathBuf)>,
}

impl Sink {
    fn open(output: Option<&Path>, stdout: Box<dyn Write>) -> Result<Sink> {
        match output {
            None => Ok(Sink { writer: stdout, commit: None }),
            Some(path) => {
                let tmp = temp_path(path);
                let file = std::fs::File::create(&tmp).at(&tmp)?;
                Ok(Sink { writer: Box::new(std::io::BufWriter::new(file)), commit: Some((tmp, path.to_path_buf())) })
            }
        }
    }

    fn finish(mut self) -> Result<()> {
        let target = self.commit.as_ref().map_or_else(|| PathBuf::from("<stdout>"), |(_, p)| p.clone());
        self.writer.flush().at(&target)?;
        if let Some((tmp, path)) = self.commit.take() {
            std::fs::rename(&tmp, &path).at(&path)?;
        }
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // Not committed: an error or interruption. Leave no partial output behind.
        if let Some((tmp, _)) = &self.commit {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

pub fn predict(
    opts: &PredictOptions,
    store: &Store,
    stdout: Box<dyn Write>,
    reporter: &dyn Reporter,
) -> Result<PredictReport> {
    let registry = store.load()?;
    let model = load(store, &registry, &opts.reference)?;
    let classes = &model.bundle.classes;
    let task = model.bundle.task;
    let binary = task == Task::Classification && classes.len() == 2;
    if opts.threshold.is_some() && task != Task::Classification {
        return Err(Error::Config(format!(
            "--threshold applies to binary classifiers; {} is a {} model",
            model.name,
            task.as_str()
        )));
    }
    if opts.threshold.is_some() && !binary {
        return Err(Error::Config(format!(
            "--threshold applies to binary models; {} has {} classes",
            model.name,
            classes.len()
        )));
    }
    if let Some(t) = opts.threshold.filter(|t| !(0.0..=1.0).contains(t)) {
        return Err(Error::Config(format!("--threshold {t}: expected a probability between 0 and 1")));
    }
    let threshold = binary.then(|| opts.threshold.unwrap_or(0.5));

    let (source, reader): (PathBuf, Box<dyn BufRead>) = match &opts.input {
        Input::File(p) => {
            let f = std::fs::File::open(p).at(p)?;
            (p.clone(), Box::new(std::io::BufReader::with_capacity(1 << 16, f)))
        }
        Input::Stdin => (PathBuf::from("<stdin>"), Box::new(std::io::BufReader::new(std::io::stdin()))),
    };
    let by_extension = match &opts.input {
        Input::File(p) => match p.extension().and_then(|e| e.to_str()) {
            Some("json") => Some(InputFormat::JsonArray),
            Some("ndjson" | "jsonl") => Some(InputFormat::Ndjson),
            Some("csv") => Some(InputFormat::Csv),
            _ => None,
        },
        Input::Stdin => None,
    };
    let mut stream = RecordStream::open(&source, reader, by_extension, opts.delimiter.unwrap_or(b','))?;
    let header = stream.header().to_vec();
    let features = &model.bundle.pipeline.features;
    let missing: Vec<&str> =
        features.iter().map(|f| f.name.as_str()).filter(|f| !header.iter().any(|h| h == f)).collect();
    if !missing.is_empty() {
        return Err(Error::data(
            &source,
            None,
            None,
            format!("is missing feature column(s) the model needs: {}", missing.join(", ")),
        ));
    }
    let types: HashMap<String, ColumnType> = features.iter().map(|f| (f.name.clone(), f.column_type())).collect();
    let passthrough: Vec<usize> = (0..header.len()).filter(|&i| !types.contains_key(&header[i])).collect();
    // JSON in gives JSON out, unless --format says otherwise.
    let format = opts.format.unwrap_or(match stream.format() {
        InputFormat::JsonArray => OutputFormat::Json,
        InputFormat::Ndjson | InputFormat::JsonObject => OutputFormat::Ndjson,
        InputFormat::Csv => OutputFormat::Csv,
    });

    let out_label = opts.output.clone().unwrap_or_else(|| PathBuf::from("<stdout>"));
    let mut sink = Sink::open(opts.output.as_deref(), stdout)?;
    let out = Output::new(format, &header, &passthrough, classes, task, opts.explain.is_some());
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
        log_file: log.as_ref().map(|l| l.path.display().to_string()),
    };

    out.begin(&mut sink.writer).at(&out_label)?;
    let mut values = Summary::default();
    let batch_rows = opts.batch_rows.max(1);
    let job = BatchJob {
        model: &model,
        source: &source,
        header: &header,
        types: &types,
        threshold,
        output: &out,
        log: log.is_some(),
        explain: opts.explain,
    };
    let mut finish = |done: BatchPredictions| -> Result<()> {
        let BatchPredictions { stats, decided, output, log_lines } = done;
        for (name, n) in stats.unknown_categories {
            *report.unknown_categories.entry(name).or_default() += n;
        }
        for (name, n) in stats.imputed {
            *report.imputed.entry(name).or_default() += n;
        }
        decided.count(classes, &mut report.prediction_counts);
        values.extend(decided.values());
        sink.writer.write_all(&output.at(&out_label)?).at(&out_label)?;
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
        let job = &job;
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
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run(batch)));
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
    out.end(&mut sink.writer).at(&out_label)?;
    sink.finish()?;
    report.value_summary = (task == Task::Regression && report.rows > 0).then(|| values.finish());
    if stream.ignored_keys > 0 {
        reporter.warn(&format!("{} JSON field(s) not in the first record were ignored", stream.ignored_keys));
    }
    for (col, n) in &report.unknown_categories {
        reporter.warn(&format!("{n} row(s) have a category of \"{col}\" unseen in training (encoded as unknown)"));
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

/// What predicting one batch needs.
struct BatchJob<'a> {
    model: &'a LoadedModel,
    source: &'a Path,
    header: &'a [String],
    types: &'a HashMap<String, ColumnType>,
    threshold: Option<f64>,
    output: &'a Output,
    /// Whether predictions are logged.
    log: bool,
    /// Key factors per prediction: how many.
    explain: Option<usize>,
}

/// One batch through the model.
struct BatchPredictions {
    stats: TransformStats,
    decided: Decided,
    /// The batch's output, formatted.
    output: std::io::Result<Vec<u8>>,
    /// Its prediction log lines, when logging.
    log_lines: Option<Vec<u8>>,
}

impl BatchJob<'_> {
    fn run(&self, batch: Batch) -> Result<BatchPredictions> {
        let batch = batch.into_text(self.source)?;
        let frame = batch.to_frame(self.source, self.header, self.types)?;
        let (x, stats) = self.model.bundle.pipeline.transform(&frame, None)?;
        let predictions = self.model.bundle.predict(&x);
        let decided = Decided::of(&predictions, self.threshold);
        let factors = match self.explain {
            Some(top) => Some(crate::ops::explain::key_factors(&self.model.bundle, &frame, &predictions, top)?),
            None => None,
        };
        let output = self.output.format_batch(&batch, &decided, factors.as_deref());
        let log_lines = self.log.then(|| self.log_lines(&frame, &decided)).transpose()?;
        Ok(BatchPredictions { stats, decided, output, log_lines })
    }

    /// The batch's prediction log lines.
    fn log_lines(&self, frame: &Frame, decided: &Decided) -> Result<Vec<u8>> {
        let bundle = &self.model.bundle;
        let version = self.model.record.version.to_string();
        let timestamp = crate::clock::now_rfc3339();
        let context = LineContext {
            model: self.model.name.as_str(),
            version: &version,
            timestamp: &timestamp,
            classes: &bundle.classes,
        };
        let features: Vec<_> = bundle.pipeline.features.iter().filter_map(|f| frame.column(&f.name)).collect();
        prediction_log::lines(&context, &features, frame.n_rows, |row| {
            decided.logged(row, &bundle.classes, self.threshold)
        })
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
