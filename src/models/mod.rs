//! Models: the [`Estimator`] trait every algorithm implements for training, and [`TrainedModel`], the fitted
//! model as plain data (a serde enum, not a trait object), which is what the artifact stores.
//!
//! The algorithms themselves live in their own modules (`forest` is our tree engine); `adapters` turn
//! `--set key=value` settings into their parameters and their fitted types into [`TrainedModel`]s.

mod adapters;
pub mod forest;
pub mod importance;
pub mod kmeans;
pub mod linear;
pub mod naive_bayes;
pub mod neighbors;
pub mod params;

use serde::{Deserialize, Serialize};

use crate::data::matrix::Matrix;
use crate::error::{Error, Result};
use params::Settings;

/// What a model learns. Variants are encoded by index in model.bin: new ones go at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// A class per row (binary or multiclass), with probabilities.
    Classification,
    /// A number per row.
    Regression,
    /// A segment per row, learnt without a target.
    Clustering,
}

impl Task {
    pub const ALL: [Task; 3] = [Task::Classification, Task::Regression, Task::Clustering];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Regression => "regression",
            Task::Clustering => "clustering",
        }
    }

    pub fn parse(s: &str) -> Result<Task> {
        Task::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            Error::Config(format!(
                "unknown task \"{s}\"{}; expected classification, regression or clustering",
                crate::suggest::hint(s, Task::ALL.iter().map(|t| t.as_str()))
            ))
        })
    }

    /// The algorithm used when none is named.
    pub fn default_algorithm(self) -> Algorithm {
        match self {
            Task::Classification | Task::Regression => Algorithm::RandomForest,
            Task::Clustering => Algorithm::KMeans,
        }
    }
}

/// Every algorithm mlctl trains, by its command-line name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    RandomForest,
    GradientBoosting,
    DecisionTree,
    LogisticRegression,
    Knn,
    NaiveBayes,
    Linear,
    Ridge,
    Lasso,
    ElasticNet,
    KMeans,
}

impl Algorithm {
    pub const ALL: [Algorithm; 11] = [
        Algorithm::RandomForest,
        Algorithm::GradientBoosting,
        Algorithm::DecisionTree,
        Algorithm::LogisticRegression,
        Algorithm::Knn,
        Algorithm::NaiveBayes,
        Algorithm::Linear,
        Algorithm::Ridge,
        Algorithm::Lasso,
        Algorithm::ElasticNet,
        Algorithm::KMeans,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RandomForest => "random-forest",
            Algorithm::GradientBoosting => "gradient-boosting",
            Algorithm::DecisionTree => "decision-tree",
            Algorithm::LogisticRegression => "logistic-regression",
            Algorithm::Knn => "knn",
            Algorithm::NaiveBayes => "naive-bayes",
            Algorithm::Linear => "linear",
            Algorithm::Ridge => "ridge",
            Algorithm::Lasso => "lasso",
            Algorithm::ElasticNet => "elastic-net",
            Algorithm::KMeans => "k-means",
        }
    }

    /// The most features the algorithm can fit, where its engine has a limit: our tree engine indexes
    /// features with 16 bits (see `forest::check_shape`).
    pub fn max_features(self) -> Option<usize> {
        match self {
            Algorithm::RandomForest | Algorithm::GradientBoosting | Algorithm::DecisionTree => {
                Some(usize::from(u16::MAX))
            }
            _ => None,
        }
    }

    /// The tasks this algorithm can learn.
    pub fn tasks(self) -> &'static [Task] {
        match self {
            Algorithm::RandomForest | Algorithm::GradientBoosting | Algorithm::DecisionTree | Algorithm::Knn => {
                &[Task::Classification, Task::Regression]
            }
            Algorithm::LogisticRegression | Algorithm::NaiveBayes => &[Task::Classification],
            Algorithm::Linear | Algorithm::Ridge | Algorithm::Lasso | Algorithm::ElasticNet => &[Task::Regression],
            Algorithm::KMeans => &[Task::Clustering],
        }
    }

    /// The algorithms that learn `task`, in the order of [`Algorithm::ALL`].
    pub fn for_task(task: Task) -> Vec<Algorithm> {
        Algorithm::ALL.into_iter().filter(|a| a.tasks().contains(&task)).collect()
    }

    pub fn parse(s: &str) -> Result<Algorithm> {
        let s = s.trim();
        let aliases = [
            ("kmeans", Algorithm::KMeans),
            ("elasticnet", Algorithm::ElasticNet),
            ("logistic", Algorithm::LogisticRegression),
        ];
        if let Some((_, a)) = aliases.iter().find(|(alias, _)| *alias == s) {
            return Ok(*a);
        }
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
            Error::Config(format!(
                "unknown algorithm \"{s}\"{}; available: {}",
                crate::suggest::hint(s, names.iter().copied()),
                names.join(", ")
            ))
        })
    }

    /// Refuses an algorithm that does not learn `task`, naming those that do.
    pub fn check_task(self, task: Task) -> Result<()> {
        if self.tasks().contains(&task) {
            return Ok(());
        }
        let fit: Vec<&str> = Algorithm::for_task(task).iter().map(|a| a.as_str()).collect();
        let own: Vec<&str> = self.tasks().iter().map(|t| t.as_str()).collect();
        Err(Error::Config(format!(
            "{} is for {}, not {}; {} algorithms: {}",
            self.as_str(),
            own.join(" and "),
            task.as_str(),
            task.as_str(),
            fit.join(", ")
        )))
    }
}

/// What a model is fitted to.
pub enum Target<'a> {
    Classes {
        labels: &'a [u32],
        n_classes: usize,
    },
    Values(&'a [f64]),
    /// Clustering: no target.
    Unsupervised,
}

/// A model's output for a batch of rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Predictions {
    /// Class probabilities, row-major `rows × n_classes`.
    Classes {
        proba: Vec<f64>,
        n_classes: usize,
    },
    Values(Vec<f64>),
    /// The segment of each row and its distance to the segment's centre.
    Segments {
        segments: Vec<u32>,
        distances: Vec<f64>,
    },
}

impl Predictions {
    pub fn len(&self) -> usize {
        match self {
            Predictions::Classes { proba, n_classes } => proba.len() / (*n_classes).max(1),
            Predictions::Values(v) => v.len(),
            Predictions::Segments { segments, .. } => segments.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class (or segment) index of each row, `None` for regression.
    pub fn labels(&self) -> Option<Vec<u32>> {
        match self {
            Predictions::Classes { proba, n_classes } => Some(argmax_rows(proba, *n_classes)),
            Predictions::Values(_) => None,
            Predictions::Segments { segments, .. } => Some(segments.clone()),
        }
    }

    /// One number per row that summarises the prediction, for drift checks and explanations: P(positive class)
    /// for binary models, the top probability for multiclass, the value for regression, the distance to the
    /// centre for segments.
    pub fn scores(&self) -> Vec<f64> {
        match self {
            Predictions::Classes { proba, n_classes } => {
                proba.chunks_exact((*n_classes).max(1)).map(score_of).collect()
            }
            Predictions::Values(v) => v.clone(),
            Predictions::Segments { distances, .. } => distances.clone(),
        }
    }

    /// The probabilities, for classification.
    pub fn proba(&self) -> Option<&[f64]> {
        match self {
            Predictions::Classes { proba, .. } => Some(proba),
            _ => None,
        }
    }
}

/// A configured, not yet fitted model. Fitting returns a different type, the [`TrainedModel`].
pub trait Estimator: Send + Sync {
    fn algorithm(&self) -> Algorithm;
    fn task(&self) -> Task;
    /// The resolved hyperparameters (defaults filled in), recorded in metadata and compared for version bumps.
    fn params(&self) -> serde_json::Value;
    fn fit(&self, x: &Matrix, y: &Target<'_>) -> Result<TrainedModel>;
    /// What the last fit chose that its parameters did not say (k-means' k under `k=auto`), for the report.
    fn fit_notes(&self) -> Vec<String> {
        Vec::new()
    }
    /// The silhouette of each k the last fit tried under `k=auto` (k-means), for the report's picture.
    fn k_search(&self) -> Vec<KScore> {
        Vec::new()
    }
}

/// One k tried by `k=auto`: its silhouette, and whether it was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KScore {
    pub k: usize,
    pub silhouette: f64,
    pub chosen: bool,
}

/// Builds the estimator for `algorithm` and `task` from validated settings.
pub fn estimator(algorithm: Algorithm, task: Task, settings: &Settings, seed: u64) -> Result<Box<dyn Estimator>> {
    algorithm.check_task(task)?;
    adapters::build(algorithm, task, settings, seed)
}

/// The keys `algorithm` accepts for `task`, with defaults: for `mlctl show`-style help and error messages.
pub fn param_specs(algorithm: Algorithm, task: Task) -> &'static [params::ParamSpec] {
    adapters::specs(algorithm, task)
}

/// How a model's feature importances were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportanceMethod {
    /// Mean decrease in impurity (tree models).
    Impurity,
    /// |coefficient| on the standardised inputs (linear models).
    Coefficients,
    /// Between-segment share of each feature's variance (k-means).
    SegmentSeparation,
    /// The drop in the primary metric when a feature's values are shuffled (any model).
    Permutation,
    /// Total split gain per feature, normalised to sum 1 (gradient boosting: the gain of its second-order
    /// objective, not an impurity; LightGBM's "gain" importance).
    SplitGain,
}

impl ImportanceMethod {
    pub fn describe(self) -> &'static str {
        match self {
            ImportanceMethod::Impurity => "mean decrease in impurity",
            ImportanceMethod::Coefficients => "|coefficient| on standardised inputs",
            ImportanceMethod::SegmentSeparation => "between-segment share of variance",
            ImportanceMethod::Permutation => "permutation importance on the test split",
            ImportanceMethod::SplitGain => "total split gain",
        }
    }
}

/// A fitted model, as stored in the artifact. Variants are encoded by index: new ones go at the end, so older
/// artifacts keep decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrainedModel {
    RandomForestClassifier(forest::RandomForestClassifier),
    GradientBoostingClassifier(forest::GradientBoostingClassifier),
    RandomForestRegressor(forest::RandomForestRegressor),
    /// One unbootstrapped tree over every feature, on the forest engine.
    DecisionTreeClassifier(forest::RandomForestClassifier),
    DecisionTreeRegressor(forest::RandomForestRegressor),
    LogisticRegression(linear::LogisticRegression),
    /// Least squares, ridge, lasso or elastic net: one fitted form.
    LinearRegressor(linear::LinearRegressor),
    KnnClassifier(neighbors::KnnClassifier),
    KnnRegressor(neighbors::KnnRegressor),
    GaussianNb(naive_bayes::GaussianNb),
    KMeans(kmeans::KMeans),
    GradientBoostingRegressor(forest::GradientBoostingRegressor),
}

impl TrainedModel {
    pub fn predict(&self, x: &Matrix) -> Predictions {
        let classes = |proba: Vec<f64>| Predictions::Classes { proba, n_classes: self.n_classes() };
        match self {
            TrainedModel::RandomForestClassifier(m) | TrainedModel::DecisionTreeClassifier(m) => {
                classes(m.predict_proba(x))
            }
            TrainedModel::GradientBoostingClassifier(m) => classes(m.predict_proba(x)),
            TrainedModel::RandomForestRegressor(m) | TrainedModel::DecisionTreeRegressor(m) => {
                Predictions::Values(m.predict(x))
            }
            TrainedModel::LogisticRegression(m) => classes(m.predict_proba(x)),
            TrainedModel::LinearRegressor(m) => Predictions::Values(m.predict(x)),
            TrainedModel::KnnClassifier(m) => classes(m.predict_proba(x)),
            TrainedModel::KnnRegressor(m) => Predictions::Values(m.predict(x)),
            TrainedModel::GaussianNb(m) => classes(m.predict_proba(x)),
            TrainedModel::GradientBoostingRegressor(m) => Predictions::Values(m.predict(x)),
            TrainedModel::KMeans(m) => {
                let segments = m.predict(x);
                let distances = self.distances_to(x, &segments).unwrap_or_default();
                Predictions::Segments { segments, distances }
            }
        }
    }

    /// For a segmentation, the distance of each row of `x` to the centre of the given segment of that row.
    pub fn distances_to(&self, x: &Matrix, segments: &[u32]) -> Option<Vec<f64>> {
        let TrainedModel::KMeans(m) = self else { return None };
        Some(
            (0..x.n_rows())
                .map(|r| m.distances(x.row(r)).get(segments[r] as usize).copied().unwrap_or(f64::NAN))
                .collect(),
        )
    }

    /// What fitting noticed that the user should know: an iterative solver that stopped before converging.
    pub fn fit_warnings(&self) -> Vec<String> {
        let unconverged = |iters: usize| {
            vec![format!(
                "the solver stopped after {iters} iterations without converging (as scikit-learn's \
                 ConvergenceWarning): raise max_iter or loosen tol"
            )]
        };
        match self {
            TrainedModel::LogisticRegression(m) if !m.converged() => unconverged(m.n_iter()),
            TrainedModel::LinearRegressor(m) if !m.converged() => unconverged(m.n_iter()),
            _ => Vec::new(),
        }
    }

    pub fn task(&self) -> Task {
        match self {
            TrainedModel::RandomForestClassifier(_)
            | TrainedModel::DecisionTreeClassifier(_)
            | TrainedModel::GradientBoostingClassifier(_)
            | TrainedModel::LogisticRegression(_)
            | TrainedModel::KnnClassifier(_)
            | TrainedModel::GaussianNb(_) => Task::Classification,
            TrainedModel::RandomForestRegressor(_)
            | TrainedModel::DecisionTreeRegressor(_)
            | TrainedModel::LinearRegressor(_)
            | TrainedModel::KnnRegressor(_)
            | TrainedModel::GradientBoostingRegressor(_) => Task::Regression,
            TrainedModel::KMeans(_) => Task::Clustering,
        }
    }

    pub fn n_features(&self) -> usize {
        match self {
            TrainedModel::RandomForestClassifier(m) | TrainedModel::DecisionTreeClassifier(m) => m.n_features(),
            TrainedModel::GradientBoostingClassifier(m) => m.n_features(),
            TrainedModel::RandomForestRegressor(m) | TrainedModel::DecisionTreeRegressor(m) => m.n_features(),
            TrainedModel::LogisticRegression(m) => m.n_features(),
            TrainedModel::LinearRegressor(m) => m.n_features(),
            TrainedModel::KnnClassifier(m) => m.n_features(),
            TrainedModel::KnnRegressor(m) => m.n_features(),
            TrainedModel::GaussianNb(m) => m.n_features(),
            TrainedModel::KMeans(m) => m.n_features(),
            TrainedModel::GradientBoostingRegressor(m) => m.n_features(),
        }
    }

    /// Classes (or segments) the model predicts; 0 for regression.
    pub fn n_classes(&self) -> usize {
        match self {
            TrainedModel::RandomForestClassifier(m) | TrainedModel::DecisionTreeClassifier(m) => m.n_classes(),
            TrainedModel::GradientBoostingClassifier(m) => m.n_classes(),
            TrainedModel::LogisticRegression(m) => m.n_classes(),
            TrainedModel::KnnClassifier(m) => m.n_classes(),
            TrainedModel::GaussianNb(m) => m.n_classes(),
            TrainedModel::KMeans(m) => m.k(),
            TrainedModel::RandomForestRegressor(_)
            | TrainedModel::DecisionTreeRegressor(_)
            | TrainedModel::LinearRegressor(_)
            | TrainedModel::KnnRegressor(_)
            | TrainedModel::GradientBoostingRegressor(_) => 0,
        }
    }

    /// The model's own importance per matrix column (summing to 1), when it has one, given the rows it was
    /// scored on and its predictions there (k-means measures how its segments separate them); otherwise the
    /// caller measures permutation importance.
    pub fn intrinsic_importances(&self, x: &Matrix, predictions: &Predictions) -> Option<(Vec<f64>, ImportanceMethod)> {
        let impurity = |v: Vec<f64>| Some((v, ImportanceMethod::Impurity));
        match self {
            TrainedModel::RandomForestClassifier(m) | TrainedModel::DecisionTreeClassifier(m) => {
                impurity(m.feature_importances())
            }
            TrainedModel::GradientBoostingClassifier(m) => Some((m.feature_importances(), ImportanceMethod::SplitGain)),
            TrainedModel::RandomForestRegressor(m) | TrainedModel::DecisionTreeRegressor(m) => {
                impurity(m.feature_importances())
            }
            TrainedModel::LogisticRegression(m) => Some((m.feature_importances(), ImportanceMethod::Coefficients)),
            TrainedModel::LinearRegressor(m) => Some((m.feature_importances(), ImportanceMethod::Coefficients)),
            TrainedModel::GradientBoostingRegressor(m) => Some((m.feature_importances(), ImportanceMethod::SplitGain)),
            TrainedModel::KMeans(m) => {
                let segments = predictions.labels()?;
                Some((m.feature_importances(x, &segments), ImportanceMethod::SegmentSeparation))
            }
            TrainedModel::KnnClassifier(_) | TrainedModel::KnnRegressor(_) | TrainedModel::GaussianNb(_) => None,
        }
    }
}

/// The score a class prediction is summarised by: P(positive class) for binary models, else the top probability.
pub fn score_of(probabilities: &[f64]) -> f64 {
    if probabilities.len() == 2 {
        probabilities[1]
    } else {
        probabilities.iter().copied().fold(0.0, f64::max)
    }
}

/// The most probable class of each row (ties go to the lower class index, as numpy's argmax).
pub fn argmax_rows(proba: &[f64], n_classes: usize) -> Vec<u32> {
    proba
        .chunks_exact(n_classes.max(1))
        .map(|row| {
            let mut best = 0;
            for (k, &p) in row.iter().enumerate() {
                if p > row[best] {
                    best = k;
                }
            }
            best as u32
        })
        .collect()
}

/// Everything `model.bin` holds: the fitted pipeline and model, and what is needed to read their output.
/// Deliberately without version, names or timestamps, so the same spec, data and seed give the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub task: Task,
    /// The target column; empty for clustering.
    pub target: String,
    /// Class labels as they appear in the data, index = class code; segment names for clustering; empty for
    /// regression.
    pub classes: Vec<String>,
    pub pipeline: crate::pipeline::FittedPipeline,
    pub model: TrainedModel,
}

impl Bundle {
    /// Checks that the parts fit together (a decoded file could be consistent piece by piece and still not):
    /// the pipeline produces as many columns as the model reads, the model does the bundle's task and predicts
    /// the listed classes.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let (width, features) = (self.pipeline.n_outputs(), self.model.n_features());
        if width != features {
            return Err(format!("the pipeline makes {width} columns but the model reads {features}"));
        }
        if self.model.task() != self.task {
            return Err(format!("a {} model in a {} bundle", self.model.task().as_str(), self.task.as_str()));
        }
        if self.classes.len() != self.model.n_classes() {
            return Err(format!(
                "{} class names for a model of {} classes",
                self.classes.len(),
                self.model.n_classes()
            ));
        }
        Ok(())
    }

    pub fn predict(&self, x: &Matrix) -> Predictions {
        self.model.predict(x)
    }
}
