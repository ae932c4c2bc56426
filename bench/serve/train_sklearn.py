"""The scikit-learn side of the serving benchmark: fits the pipeline the seeds' apps serve and pickles it.

The pipeline is bench/sk_worker.py's (the training benchmark's): median impute + standard scale for the numeric
columns, most-frequent impute + one-hot (unknown → zeros) for the categorical ones, in a ColumnTransformer,
then RandomForestClassifier(n_estimators=100, max_depth=20, min_samples_split=5, min_samples_leaf=2,
class_weight="balanced", random_state=42) — mlctl's reference parameters — fitted with n_jobs=-1.

The pickled forest gets n_jobs=--n-jobs (default 1). The seeds' trainer fits with n_jobs=-1 and pickles that, so
their app's predict_proba fans every request out over a thread pool; for one record that costs more than it
saves (20–30 % fewer requests/s from Flask at concurrency 8 on the 2-core machine, whose 2 gunicorn workers
already use both cores), so by default the apps here get the faster n_jobs=1: mlctl is compared with the better.
--n-jobs -1 gives the seeds' exact setting.

Like the seeds' trainer (and `mlctl train`), it fits on a stratified 80 % of the rows (seed 42) and scores the
other 20 %. The rows differ from mlctl's own split (which is mlctl's code, not scikit-learn's); the number of
rows the forest is grown on, and so the size of its trees, is the same.

Writes MODEL.pkl (joblib, as the seeds do) and prints one JSON line: features, test ROC-AUC, fit seconds.

Usage: train_sklearn.py DATA.csv MODEL.pkl [--target success] [--seed 42] [--n-jobs 1]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import joblib
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sk_worker import NA, pipeline  # noqa: E402  (bench/sk_worker.py: the one definition of the pipeline)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--target", default="success")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-jobs", type=int, default=1, help="the pickled forest's n_jobs (the seeds': -1)")
    args = ap.parse_args()

    df = pd.read_csv(args.data, na_values=NA, keep_default_na=False)
    features = [c for c in df.columns if c != args.target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(df[c])]
    categorical = [c for c in features if c not in numeric]
    for c in categorical:
        df[c] = df[c].astype(object)
    train, test = train_test_split(df, test_size=0.2, stratify=df[args.target], random_state=args.seed)

    model = pipeline("rf", numeric, categorical, args.seed)  # n_jobs=-1 for the fit
    started = time.perf_counter()
    model.fit(train[features], train[args.target])
    fit_seconds = time.perf_counter() - started
    positive = list(model.classes_).index(max(model.classes_))
    auc = roc_auc_score(test[args.target], model.predict_proba(test[features])[:, positive])

    model.named_steps["model"].set_params(n_jobs=args.n_jobs)
    joblib.dump(model, args.out)
    json.dump(
        {
            "features": features,
            "numeric": numeric,
            "categorical": categorical,
            "train_rows": len(train),
            "roc_auc": auc,
            "fit_seconds": fit_seconds,
            "n_jobs": args.n_jobs,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
