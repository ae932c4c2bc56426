#!/usr/bin/env python3
"""Quality check fixtures for `tests/cli/quality.rs`: scikit-learn's own public datasets (iris, breast cancer,
diabetes) as CSVs, and scikit-learn's scores for every mlctl algorithm with the same parameters on the same
split.

The split is mlctl's own: `bench_split` (examples/bench_split.rs) runs mlctl's reader and seeded split and prints
the test rows, so scikit-learn is fitted on exactly the rows `mlctl train` fits on. Preprocessing is what mlctl's
pipeline does to numeric columns: StandardScaler (no column has missing values here).

Usage (from the repository root, with the pinned venv of scripts/requirements.txt):
    cargo build --example bench_split
    python scripts/gen_quality_fixtures.py target/debug/examples/bench_split
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn import datasets
from sklearn.cluster import KMeans
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, f1_score, r2_score, silhouette_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

OUT = Path("tests/fixtures/quality")
SEED = 42
TEST_SIZE = 0.3

# Algorithms whose fit depends on the random seed: scikit-learn is fitted with random_state 0..9 and the reference
# is the mean of its scores, with their range (scikit-learn against itself), since mlctl's random numbers cannot be
# numpy's. The deterministic ones are fitted once and must agree to the tolerance alone.
RANDOMISED = {"random-forest", "decision-tree"}
SEEDS = range(10)

# Parameters set on both sides, beyond each algorithm's defaults. A fully grown single tree on a few hundred rows
# changes by more than 2 points with the random seed alone (scikit-learn against itself), so the check limits
# its depth: then it compares the trees, not the noise.
# k-means: mlctl's default k=auto picks k=2 on iris by silhouette; the check compares at the species' k=3.
PARAMS = {"decision-tree": {"max_depth": 4, "min_samples_leaf": 5}, "k-means": {"k": 3}}

CLASSIFIERS = {
    # mlctl's random-forest defaults are the reference parameters, not scikit-learn's.
    "random-forest": lambda s: RandomForestClassifier(n_estimators=100, max_depth=20, min_samples_split=5,
                                                      min_samples_leaf=2, class_weight="balanced", random_state=s),
    "gradient-boosting": lambda s: HistGradientBoostingClassifier(random_state=s),
    "decision-tree": lambda s: DecisionTreeClassifier(random_state=s, **PARAMS["decision-tree"]),
    "logistic-regression": lambda s: LogisticRegression(),
    "knn": lambda s: KNeighborsClassifier(n_neighbors=5),
    "naive-bayes": lambda s: GaussianNB(),
}
REGRESSORS = {
    "random-forest": lambda s: RandomForestRegressor(n_estimators=100, random_state=s),
    "gradient-boosting": lambda s: HistGradientBoostingRegressor(random_state=s),
    "decision-tree": lambda s: DecisionTreeRegressor(random_state=s, **PARAMS["decision-tree"]),
    "knn": lambda s: KNeighborsRegressor(n_neighbors=5),
    "linear": lambda s: LinearRegression(),
    "ridge": lambda s: Ridge(alpha=1.0),
    "lasso": lambda s: Lasso(alpha=1.0),
    "elastic-net": lambda s: ElasticNet(alpha=1.0, l1_ratio=0.5),
}


def frame(bunch, target_name, labels=None):
    X = pd.DataFrame(bunch.data, columns=[c.replace(" ", "_").replace("(", "").replace(")", "") for c in bunch.feature_names])
    y = bunch.target if labels is None else np.asarray(labels)[bunch.target]
    X[target_name] = y
    return X


def score(task, y, truth, pred):
    if task == "regression":
        return {"r2": r2_score(truth, pred)}
    if y.nunique() == 2:
        # mlctl's positive class is the second class in sorted order.
        f1 = f1_score(truth, pred, average="binary", pos_label=sorted(y.unique())[1])
    else:
        f1 = f1_score(truth, pred, average="macro")
    return {"accuracy": accuracy_score(truth, pred), "f1": f1}


def summary(values):
    return {"mean": float(np.mean(values)), "min": float(min(values)), "max": float(max(values)), "runs": len(values)}


def test_rows(bench_split, csv, target, task):
    out = subprocess.run([bench_split, str(csv), target, str(TEST_SIZE), str(SEED), task],
                         check=True, capture_output=True, text=True).stdout
    return [int(line) for line in out.split()]


def main():
    bench_split = sys.argv[1]
    OUT.mkdir(parents=True, exist_ok=True)
    sets = {
        "iris": ("classification", "species", frame(datasets.load_iris(), "species", ["setosa", "versicolor", "virginica"])),
        "breast_cancer": ("classification", "diagnosis", frame(datasets.load_breast_cancer(), "diagnosis", ["malignant", "benign"])),
        "diabetes": ("regression", "progression", frame(datasets.load_diabetes(), "progression")),
    }
    reference = {"scikit-learn": sklearn.__version__, "seed": SEED, "test_size": TEST_SIZE, "params": PARAMS,
                 "datasets": {}}
    for name, (task, target, df) in sets.items():
        csv = OUT / f"{name}.csv"
        df.to_csv(csv, index=False)
        test = test_rows(bench_split, csv, target, task)
        train = sorted(set(range(len(df))) - set(test))
        X, y = df.drop(columns=[target]), df[target]
        scores = {}
        models = CLASSIFIERS if task == "classification" else REGRESSORS
        for algorithm, make in models.items():
            runs = []
            for seed in (SEEDS if algorithm in RANDOMISED else [SEED]):
                model = make_pipeline(StandardScaler(), make(seed)).fit(X.iloc[train], y.iloc[train])
                runs.append(score(task, y, y.iloc[test], model.predict(X.iloc[test])))
            scores[algorithm] = {m: summary([r[m] for r in runs]) for m in runs[0]}
        if name == "iris":
            Xs = StandardScaler().fit_transform(X)
            labels = KMeans(n_clusters=PARAMS["k-means"]["k"], n_init=10, random_state=SEED).fit_predict(Xs)
            scores["k-means"] = {"silhouette": summary([silhouette_score(Xs, labels)])}
        reference["datasets"][name] = {"task": task, "target": target, "rows": len(df), "test_rows": len(test),
                                       "scores": scores}
    (OUT / "reference.json").write_text(json.dumps(reference, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
