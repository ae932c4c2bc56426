//! Agreement with scikit-learn 1.9.1 on small data sets, edge cases and artifact decoding.
//!
//! The expected values come from `tests/fixtures/linear/make_fixtures.py` (run with the pinned
//! `bench/requirements.txt`), which also wrote the raw data; both sides standardise it as `StandardScaler`.

use serde_json::Value;

use super::*;

const EXPECTED: &str = include_str!("../../../tests/fixtures/linear/expected.json");
const DIABETES: &str = include_str!("../../../tests/fixtures/linear/diabetes.csv");
const COLLINEAR: &str = include_str!("../../../tests/fixtures/linear/collinear.csv");
const IRIS: &str = include_str!("../../../tests/fixtures/linear/iris.csv");
const CANCER: &str = include_str!("../../../tests/fixtures/linear/cancer.csv");

fn expected() -> Value {
    serde_json::from_str(EXPECTED).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Rows of numbers; the last column is the target.
fn parse_csv(text: &str) -> Vec<Vec<f64>> {
    text.lines().map(|line| line.split(',').map(|v| v.parse().unwrap()).collect()).collect()
}

/// `StandardScaler().fit_transform`: population standard deviation, constant columns left unscaled.
fn standardise(rows: &[Vec<f64>]) -> Matrix {
    let (n, p) = (rows.len(), rows[0].len());
    let mean: Vec<f64> = (0..p).map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64).collect();
    let scale: Vec<f64> = (0..p)
        .map(|j| {
            let var = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
            if var == 0.0 {
                1.0
            } else {
                var.sqrt()
            }
        })
        .collect();
    let data = rows.iter().flat_map(|r| (0..p).map(|j| (r[j] - mean[j]) / scale[j]).collect::<Vec<_>>()).collect();
    Matrix::from_row_major(n, p, data)
}

fn features_and_target(text: &str) -> (Vec<Vec<f64>>, Vec<f64>) {
    let rows = parse_csv(text);
    let features = rows.iter().map(|r| r[..r.len() - 1].to_vec()).collect();
    let target = rows.iter().map(|r| r[r.len() - 1]).collect();
    (features, target)
}

fn diabetes() -> (Matrix, Vec<f64>) {
    let (features, target) = features_and_target(DIABETES);
    (standardise(&features), target)
}

/// x1, x1 again, x3 and the one-hot of a three-level category: as the Python builds it, unscaled.
fn collinear() -> (Matrix, Vec<f64>) {
    let (stored, target) = features_and_target(COLLINEAR);
    let data = stored
        .iter()
        .flat_map(|r| {
            let level = r[2] as usize;
            let mut row = vec![r[0], r[0], r[1], 0.0, 0.0, 0.0];
            row[3 + level] = 1.0;
            row
        })
        .collect();
    (Matrix::from_row_major(stored.len(), 6, data), target)
}

fn classes(text: &str) -> (Vec<Vec<f64>>, Vec<u32>) {
    let (features, target) = features_and_target(text);
    (features, target.iter().map(|&t| t as u32).collect())
}

fn head(x: &Matrix, n: usize) -> Matrix {
    x.select_rows(&(0..n).collect::<Vec<_>>())
}

/// `|a − b| ≤ tol · max(1, |b|)` element by element.
fn assert_close(what: &str, actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= tol * e.abs().max(1.0), "{what}[{i}]: {a} vs scikit-learn {e} (tol {tol})");
    }
}

/// The penalty, solver settings and tolerance for each regressor the fixture script fits.
fn regressor_case(name: &str) -> (Penalty, SolverParams, f64) {
    let default = SolverParams::default();
    match name {
        "ols" => (Penalty::None, default, 1e-10),
        "ridge" => (Penalty::RIDGE_DEFAULT, default, 1e-10),
        "ridge_strong" => (Penalty::Ridge { alpha: 50.0 }, default, 1e-10),
        "lasso" => (Penalty::LASSO_DEFAULT, default, 1e-10),
        "lasso_small" => (Penalty::Lasso { alpha: 0.05 }, default, 1e-10),
        "enet" => (Penalty::ELASTIC_NET_DEFAULT, default, 1e-10),
        "enet_small" => (Penalty::ElasticNet { alpha: 0.1, l1_ratio: 0.7 }, default, 1e-10),
        "lasso_capped" => (Penalty::Lasso { alpha: 0.01 }, SolverParams { max_iter: 3, tol: 1e-12 }, 1e-10),
        // No L1 part: formulation B of the duality gap and no screening.
        "enet_l2_only" => (Penalty::ElasticNet { alpha: 0.5, l1_ratio: 0.0 }, default, 1e-10),
        other => panic!("no case for {other}"),
    }
}

fn check_regressors(dataset: &str, x: &Matrix, y: &[f64]) {
    let all = expected();
    for (name, want) in all[dataset].as_object().unwrap() {
        let (penalty, solver, tol) = regressor_case(name);
        let model = LinearRegressor::fit(x, y, penalty, &solver).unwrap();
        let what = format!("{dataset}/{name}");
        assert_close(&format!("{what} coef"), model.coefficients(), &floats(&want["coef"]), tol);
        assert_close(&format!("{what} intercept"), &[model.intercept()], &[want["intercept"].as_f64().unwrap()], tol);
        assert_close(&format!("{what} predict"), &model.predict(&head(x, 20)), &floats(&want["pred_head"]), tol);
        assert_eq!(model.n_iter() as u64, want["n_iter"].as_u64().unwrap(), "{what} n_iter");
        assert_eq!(model.converged(), name != "lasso_capped", "{what} converged");
    }
}

#[test]
fn regressors_match_scikit_learn_on_diabetes() {
    let (x, y) = diabetes();
    check_regressors("diabetes", &x, &y);
}

#[test]
fn regressors_match_scikit_learn_on_collinear_one_hot_columns() {
    let (x, y) = collinear();
    check_regressors("collinear", &x, &y);
    // The minimum-norm solution splits the duplicated column's weight evenly.
    let ols = LinearRegressor::fit(&x, &y, Penalty::None, &SolverParams::default()).unwrap();
    assert!((ols.coefficients()[0] - ols.coefficients()[1]).abs() < 1e-12);
}

fn logistic_case(name: &str) -> LogisticParams {
    let default = LogisticParams::default();
    match name {
        "default" => default,
        "tight" => LogisticParams { tol: 1e-10, max_iter: 10_000, ..default },
        "balanced" => LogisticParams { balanced: true, ..default },
        "c_small" => LogisticParams { c: 0.05, ..default },
        "capped" => LogisticParams { max_iter: 5, ..default },
        "binary" | "multiclass" => default,
        other => panic!("no case for {other}"),
    }
}

/// Coefficients to `coef_tol`, probabilities to `proba_tol`, and the same iteration count: the L-BFGS
/// iterations are scipy's, so even the default `tol` (far from the optimum) and `max_iter=5` agree.
fn check_logistic(dataset: &str, x: &Matrix, y: &[u32], n_classes: usize, coef_tol: f64, proba_tol: f64) {
    let all = expected();
    for (name, want) in all[dataset].as_object().unwrap() {
        let model = LogisticRegression::fit(x, y, n_classes, &logistic_case(name)).unwrap();
        let what = format!("{dataset}/{name}");
        assert_close(&format!("{what} coef"), model.coefficients(), &floats(&want["coef"]), coef_tol);
        assert_close(&format!("{what} intercept"), model.intercepts(), &floats(&want["intercept"]), coef_tol);
        let proba = model.predict_proba(&head(x, 20));
        assert_close(&format!("{what} proba"), &proba, &floats(&want["proba_head"]), proba_tol);
        assert_eq!(model.n_iter() as u64, want["n_iter"].as_u64().unwrap(), "{what} n_iter");
        assert_eq!(model.converged(), name != "capped", "{what} converged");
    }
}

#[test]
fn logistic_matches_scikit_learn_on_iris() {
    let (features, y) = classes(IRIS);
    check_logistic("iris", &standardise(&features), &y, 3, 1e-8, 1e-10);
}

#[test]
fn logistic_balanced_matches_scikit_learn_on_imbalanced_iris() {
    let (features, y) = classes(IRIS);
    let keep: Vec<usize> = (0..y.len()).filter(|&i| y[i] != 0 || i < 20).collect();
    let rows: Vec<Vec<f64>> = keep.iter().map(|&i| features[i].clone()).collect();
    let labels: Vec<u32> = keep.iter().map(|&i| y[i]).collect();
    check_logistic("iris_imbalanced", &standardise(&rows), &labels, 3, 1e-8, 1e-10);
}

#[test]
fn logistic_matches_scikit_learn_on_breast_cancer() {
    let (features, y) = classes(CANCER);
    check_logistic("cancer", &standardise(&features), &y, 2, 1e-8, 1e-10);
}

#[test]
fn logistic_matches_scikit_learn_on_collinear_one_hot_columns() {
    let (x, y) = collinear();
    let median = {
        let mut sorted = y.clone();
        sorted.sort_by(f64::total_cmp);
        (sorted[44] + sorted[45]) / 2.0
    };
    let binary: Vec<u32> = y.iter().map(|&v| u32::from(v > median)).collect();
    let want = &expected()["collinear_logistic"];
    let model = LogisticRegression::fit(&x, &binary, 2, &LogisticParams::default()).unwrap();
    assert_close("binary coef", model.coefficients(), &floats(&want["binary"]["coef"]), 1e-8);
    assert_close("binary proba", &model.predict_proba(&head(&x, 20)), &floats(&want["binary"]["proba_head"]), 1e-10);
    assert_eq!(model.n_iter() as u64, want["binary"]["n_iter"].as_u64().unwrap());
    // Tertiles as numpy's quantile (linear interpolation) and digitize.
    let mut sorted = y.clone();
    sorted.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let pos = q * (sorted.len() - 1) as f64;
        let (lo, frac) = (pos.floor() as usize, pos - pos.floor());
        sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
    };
    let cuts = [quantile(1.0 / 3.0), quantile(2.0 / 3.0)];
    let tertiles: Vec<u32> = y.iter().map(|&v| cuts.iter().filter(|&&c| v >= c).count() as u32).collect();
    let model = LogisticRegression::fit(&x, &tertiles, 3, &LogisticParams::default()).unwrap();
    assert_close("multiclass coef", model.coefficients(), &floats(&want["multiclass"]["coef"]), 1e-8);
    let proba = model.predict_proba(&head(&x, 20));
    assert_close("multiclass proba", &proba, &floats(&want["multiclass"]["proba_head"]), 1e-10);
    assert_eq!(model.n_iter() as u64, want["multiclass"]["n_iter"].as_u64().unwrap());
}

/// Rows of standard normal features with a linear signal, and a binary and a four-class label from it.
fn synthetic(n: usize, p: usize, seed: u64) -> (Matrix, Vec<f64>, Vec<u32>, Vec<u32>) {
    let mut rng = crate::rng::Rng::new(seed);
    let data: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let x = Matrix::from_row_major(n, p, data);
    let signal: Vec<f64> =
        (0..n).map(|i| x.row(i).iter().enumerate().map(|(j, v)| v * (j as f64 - 2.0)).sum()).collect();
    let y: Vec<f64> = signal.iter().map(|s| s + rng.normal()).collect();
    let binary = y.iter().map(|&v| u32::from(v > 0.5)).collect();
    let four = y
        .iter()
        .map(|&v| {
            if v < -2.0 {
                0
            } else if v < 0.0 {
                1
            } else if v < 2.0 {
                2
            } else {
                3
            }
        })
        .collect();
    (x, y, binary, four)
}

fn in_pool<T: Send>(threads: usize, work: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(work)
}

#[test]
fn fits_are_bit_identical_for_any_thread_count() {
    // More rows than one parallel block, so the blocks really are combined.
    let (x, y, binary, four) = synthetic(3 * CHUNK_ROWS + 17, 6, 11);
    let fit_all = || {
        let regressors: Vec<LinearRegressor> =
            [Penalty::None, Penalty::RIDGE_DEFAULT, Penalty::Lasso { alpha: 0.1 }, Penalty::ELASTIC_NET_DEFAULT]
                .into_iter()
                .map(|penalty| LinearRegressor::fit(&x, &y, penalty, &SolverParams::default()).unwrap())
                .collect();
        let params = LogisticParams { balanced: true, ..LogisticParams::default() };
        let logistic = [
            LogisticRegression::fit(&x, &binary, 2, &params).unwrap(),
            LogisticRegression::fit(&x, &four, 4, &params).unwrap(),
        ];
        (regressors, logistic)
    };
    let one = in_pool(1, fit_all);
    let two = in_pool(2, fit_all);
    let three = in_pool(3, fit_all);
    assert_eq!(postcard::to_allocvec(&one).unwrap(), postcard::to_allocvec(&two).unwrap());
    assert_eq!(postcard::to_allocvec(&one).unwrap(), postcard::to_allocvec(&three).unwrap());
}

#[test]
fn regressor_rejects_bad_input() {
    let solver = SolverParams::default();
    let x = Matrix::from_row_major(3, 1, vec![1.0, 2.0, 3.0]);
    let empty = Matrix::from_row_major(0, 1, vec![]);
    assert!(LinearRegressor::fit(&empty, &[], Penalty::None, &solver).is_err());
    assert!(LinearRegressor::fit(&x, &[1.0, 2.0], Penalty::None, &solver).is_err());
    assert!(LinearRegressor::fit(&x, &[1.0, f64::NAN, 2.0], Penalty::None, &solver).is_err());
    let with_nan = Matrix::from_row_major(3, 1, vec![1.0, f64::INFINITY, 3.0]);
    let err = LinearRegressor::fit(&with_nan, &[1.0, 2.0, 3.0], Penalty::None, &solver).unwrap_err();
    assert!(err.contains("row 1, column 0"), "{err}");
    let y = [1.0, 2.0, 4.0];
    for penalty in [
        Penalty::Ridge { alpha: -1.0 },
        Penalty::Lasso { alpha: f64::NAN },
        Penalty::ElasticNet { alpha: 1.0, l1_ratio: 1.5 },
        Penalty::ElasticNet { alpha: 1.0, l1_ratio: f64::NAN },
    ] {
        assert!(LinearRegressor::fit(&x, &y, penalty, &solver).is_err(), "{penalty:?}");
    }
    assert!(LinearRegressor::fit(&x, &y, Penalty::LASSO_DEFAULT, &SolverParams { max_iter: 0, tol: 1e-4 }).is_err());
    assert!(LinearRegressor::fit(&x, &y, Penalty::LASSO_DEFAULT, &SolverParams { max_iter: 10, tol: -1.0 }).is_err());
}

#[test]
fn constant_target_and_constant_column_get_zero_weight() {
    let x = Matrix::from_row_major(4, 2, vec![1.0, 5.0, 2.0, 5.0, 3.0, 5.0, 4.0, 5.0]);
    for penalty in [Penalty::None, Penalty::RIDGE_DEFAULT, Penalty::LASSO_DEFAULT, Penalty::ELASTIC_NET_DEFAULT] {
        let flat = LinearRegressor::fit(&x, &[3.0; 4], penalty, &SolverParams::default()).unwrap();
        assert_eq!(flat.coefficients(), &[0.0, 0.0], "{penalty:?}");
        assert_eq!(flat.intercept(), 3.0);
        assert!(flat.converged());
        assert_eq!(flat.feature_importances(), vec![0.0, 0.0]);
        let model = LinearRegressor::fit(&x, &[1.0, 3.0, 2.0, 5.0], penalty, &SolverParams::default()).unwrap();
        assert_eq!(model.coefficients()[1], 0.0, "{penalty:?}: the constant column");
    }
}

#[test]
fn ols_handles_more_columns_than_rows_with_the_minimum_norm_fit() {
    // Three rows, five columns (two duplicates): an exact fit, the duplicates sharing their weight.
    let x =
        Matrix::from_row_major(3, 5, vec![1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 1.0, 0.0, 0.0]);
    let y = [1.0, 2.0, 0.5];
    let model = LinearRegressor::fit(&x, &y, Penalty::None, &SolverParams::default()).unwrap();
    assert_close("exact fit", &model.predict(&x), &y, 1e-12);
    let w = model.coefficients();
    assert!((w[0] - w[1]).abs() < 1e-12 && (w[3] - w[4]).abs() < 1e-12, "{w:?}");
    assert_eq!(LinearRegressor::fit(&x, &y, Penalty::Ridge { alpha: 0.0 }, &SolverParams::default()).unwrap(), model);
}

#[test]
fn no_columns_fits_the_mean() {
    let x = Matrix::from_row_major(4, 0, vec![]);
    let model = LinearRegressor::fit(&x, &[1.0, 2.0, 3.0, 6.0], Penalty::None, &SolverParams::default()).unwrap();
    assert_eq!((model.n_features(), model.intercept()), (0, 3.0));
    assert_eq!(model.predict(&x), vec![3.0; 4]);
    // Logistic regression with only intercepts learns the class frequencies (to the solver tolerance).
    let tight = LogisticParams { tol: 1e-10, ..LogisticParams::default() };
    let model = LogisticRegression::fit(&x, &[0, 1, 1, 1], 2, &tight).unwrap();
    assert_close("base rate", &model.predict_proba(&x)[..2], &[0.25, 0.75], 1e-8);
    assert!(model.feature_importances().is_empty() && model.contributions(&[]).is_empty());
}

#[test]
fn importances_and_contributions_explain_the_regressor() {
    let (x, y) = diabetes();
    let model = LinearRegressor::fit(&x, &y, Penalty::None, &SolverParams::default()).unwrap();
    let importances = model.feature_importances();
    assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let total: f64 = model.coefficients().iter().map(|c| c.abs()).sum();
    assert!((importances[2] - model.coefficients()[2].abs() / total).abs() < 1e-15);
    let row = x.row(7);
    let explained = model.intercept() + model.contributions(row).iter().sum::<f64>();
    assert!((explained - model.predict(&head(&x, 8))[7]).abs() < 1e-9);
}

#[test]
fn logistic_explanations_follow_the_predicted_class() {
    let (features, y) = classes(IRIS);
    let x = standardise(&features);
    let model = LogisticRegression::fit(&x, &y, 3, &LogisticParams::default()).unwrap();
    assert_eq!((model.n_classes(), model.n_features(), model.coefficients().len()), (3, 4, 12));
    let importances = model.feature_importances();
    let by_hand: Vec<f64> = (0..4).map(|j| (0..3).map(|k| model.coefficients()[k * 4 + j].abs()).sum()).collect();
    let total: f64 = by_hand.iter().sum();
    assert_close("importances", &importances, &by_hand.iter().map(|v| v / total).collect::<Vec<_>>(), 1e-15);
    let proba = model.predict_proba(&x);
    for i in [0, 75, 149] {
        let p = &proba[i * 3..i * 3 + 3];
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let predicted = (0..3).fold(0, |best, k| if p[k] > p[best] { k } else { best });
        let contributions = model.contributions(x.row(i));
        let coefficients = &model.coefficients()[predicted * 4..predicted * 4 + 4];
        let by_hand: Vec<f64> = x.row(i).iter().zip(coefficients).map(|(v, c)| v * c).collect();
        assert_eq!(contributions, by_hand, "row {i}");
    }
    // Binary: one row of coefficients, the positive class's log-odds.
    let (features, y) = classes(CANCER);
    let x = standardise(&features);
    let model = LogisticRegression::fit(&x, &y, 2, &LogisticParams::default()).unwrap();
    assert_eq!((model.coefficients().len(), model.intercepts().len()), (8, 1));
    let logit = model.intercepts()[0] + model.contributions(x.row(3)).iter().sum::<f64>();
    let p1 = model.predict_proba(&head(&x, 4))[7];
    assert!((1.0 / (1.0 + (-logit).exp()) - p1).abs() < 1e-12);
}

#[test]
fn logistic_rejects_bad_input() {
    let x = Matrix::from_row_major(4, 1, vec![0.0, 1.0, 2.0, 3.0]);
    let params = LogisticParams::default();
    assert!(LogisticRegression::fit(&x, &[0, 0, 0, 0], 1, &params).is_err());
    assert!(LogisticRegression::fit(&x, &[0, 1, 2, 1], 2, &params).unwrap_err().contains("row 2"));
    assert!(LogisticRegression::fit(&x, &[0, 1, 0, 1], 3, &params).unwrap_err().contains("class 2"));
    assert!(LogisticRegression::fit(&x, &[0, 1, 0], 2, &params).is_err());
    for bad in [
        LogisticParams { c: 0.0, ..params },
        LogisticParams { c: f64::INFINITY, ..params },
        LogisticParams { max_iter: 0, ..params },
        LogisticParams { tol: f64::NAN, ..params },
    ] {
        assert!(LogisticRegression::fit(&x, &[0, 1, 0, 1], 2, &bad).is_err(), "{bad:?}");
    }
}

#[test]
fn separable_classes_with_weak_regularisation_match_scikit_learn() {
    // Perfectly separable, C = 1e6: the probabilities saturate and the mean gradient falls below tol.
    // scikit-learn 1.9.1: LogisticRegression(C=1e6, max_iter=20).fit(x, y) → coef 8.337402447547353 after
    // 13 iterations; with max_iter=5, coef 2.908572902503167 and a ConvergenceWarning.
    let x = Matrix::from_row_major(6, 1, vec![-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]);
    let y = [0, 0, 0, 1, 1, 1];
    let params = LogisticParams { c: 1e6, max_iter: 20, ..LogisticParams::default() };
    let model = LogisticRegression::fit(&x, &y, 2, &params).unwrap();
    assert_close("coef", model.coefficients(), &[8.337402447547353], 1e-9);
    assert_eq!((model.n_iter(), model.converged()), (13, true));
    let capped = LogisticRegression::fit(&x, &y, 2, &LogisticParams { max_iter: 5, ..params }).unwrap();
    assert_close("capped coef", capped.coefficients(), &[2.908572902503167], 1e-9);
    assert_eq!((capped.n_iter(), capped.converged()), (5, false));
}

/// Mirrors of the stored fields (same order), to write artifacts a fit would never produce.
#[derive(serde::Serialize)]
struct RegressorFields {
    coefficients: Vec<f64>,
    intercept: f64,
    n_iter: usize,
    converged: bool,
}

#[derive(serde::Serialize)]
struct LogisticFields {
    n_classes: usize,
    n_features: usize,
    coefficients: Vec<f64>,
    intercepts: Vec<f64>,
    n_iter: usize,
    converged: bool,
}

#[test]
fn models_round_trip_through_postcard() {
    let (x, y) = diabetes();
    let model = LinearRegressor::fit(&x, &y, Penalty::ELASTIC_NET_DEFAULT, &SolverParams::default()).unwrap();
    let decoded: LinearRegressor = postcard::from_bytes(&postcard::to_allocvec(&model).unwrap()).unwrap();
    assert_eq!(decoded, model);
    let (features, labels) = classes(IRIS);
    let model = LogisticRegression::fit(&standardise(&features), &labels, 3, &LogisticParams::default()).unwrap();
    let decoded: LogisticRegression = postcard::from_bytes(&postcard::to_allocvec(&model).unwrap()).unwrap();
    assert_eq!(decoded, model);
}

#[test]
fn decoding_rejects_inconsistent_models() {
    let regressor = |coefficients: Vec<f64>, intercept: f64| {
        let bytes = postcard::to_allocvec(&RegressorFields { coefficients, intercept, n_iter: 0, converged: true });
        postcard::from_bytes::<LinearRegressor>(&bytes.unwrap())
    };
    assert!(regressor(vec![1.0, 2.0], 0.5).is_ok());
    assert!(regressor(vec![1.0, f64::NAN], 0.5).is_err());
    assert!(regressor(vec![1.0], f64::INFINITY).is_err());

    let logistic = |n_classes: usize, n_features: usize, coefficients: usize, intercepts: usize| {
        let fields = LogisticFields {
            n_classes,
            n_features,
            coefficients: vec![0.5; coefficients],
            intercepts: vec![0.1; intercepts],
            n_iter: 3,
            converged: true,
        };
        postcard::from_bytes::<LogisticRegression>(&postcard::to_allocvec(&fields).unwrap())
    };
    assert!(logistic(2, 3, 3, 1).is_ok());
    assert!(logistic(3, 3, 9, 3).is_ok());
    assert!(logistic(2, 3, 6, 2).is_err(), "binary stores one row");
    assert!(logistic(3, 3, 9, 2).is_err(), "an intercept per class");
    assert!(logistic(3, 4, 9, 3).is_err(), "rows of n_features");
    assert!(logistic(1, 3, 3, 1).is_err(), "one class");
    assert!(logistic(0, 3, 0, 0).is_err(), "no class");
    assert!(logistic(3, usize::MAX, 9, 3).is_err(), "n_features overflow");
    let mut fields = LogisticFields {
        n_classes: 2,
        n_features: 1,
        coefficients: vec![f64::NAN],
        intercepts: vec![0.0],
        n_iter: 1,
        converged: true,
    };
    assert!(postcard::from_bytes::<LogisticRegression>(&postcard::to_allocvec(&fields).unwrap()).is_err());
    fields.coefficients = vec![1.0];
    let decoded = postcard::from_bytes::<LogisticRegression>(&postcard::to_allocvec(&fields).unwrap()).unwrap();
    // A decoded model predicts without panicking on rows of its width.
    assert_eq!(decoded.predict_proba(&Matrix::from_row_major(1, 1, vec![0.0])), vec![0.5, 0.5]);
}
