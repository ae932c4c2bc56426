"""One scikit-learn measurement, in a process of its own so that its peak RSS is its own.

Fits the model on train.csv (the rows mlctl trains on), scores ROC-AUC on test.csv (the rows mlctl tests on),
then times pipeline.predict_proba on the whole dataset held in memory. Prints one JSON object.

Usage: sk_worker.py {rf,hgb} TRAIN.csv TEST.csv PREDICT.csv TARGET SEED
"""

import json
import resource
import sys
import time

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

# mlctl's missing-value tokens (README, train), so pandas reads the same cells as missing.
NA = ["", "NA", "N/A", "NaN", "nan", "null", "NULL", "None"]


def peak_rss_mib():
    # ru_maxrss is in KiB on Linux: the process's peak so far, what /usr/bin/time -v reports at the end.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pipeline(kind, numeric, categorical, seed):
    # mlctl's preprocessing: median impute + standard scale; most-frequent impute + one-hot, unknown → zeros.
    pre = ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            (
                "cat",
                Pipeline(
                    [
                        ("impute", SimpleImputer(strategy="most_frequent")),
                        ("onehot", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
        ]
    )
    if kind == "rf":
        model = RandomForestClassifier(
            n_estimators=100,
            max_depth=20,
            min_samples_split=5,
            min_samples_leaf=2,
            class_weight="balanced",
            n_jobs=-1,
            random_state=seed,
        )
    else:
        # HistGradientBoostingClassifier's defaults (early_stopping="auto": on above 10,000 samples).
        model = HistGradientBoostingClassifier(random_state=seed)
    return Pipeline([("pre", pre), ("model", model)])


def main():
    kind, train_path, test_path, predict_path, target, seed = sys.argv[1:]
    seed = int(seed)
    train = pd.read_csv(train_path, na_values=NA, keep_default_na=False)
    test = pd.read_csv(test_path, na_values=NA, keep_default_na=False)
    features = [c for c in train.columns if c != target]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(train[c])]
    categorical = [c for c in features if c not in numeric]
    for frame in (train, test):
        for c in categorical:
            frame[c] = frame[c].astype(object)
    model = pipeline(kind, numeric, categorical, seed)

    started = time.perf_counter()
    model.fit(train[features], train[target])
    fit_seconds = time.perf_counter() - started
    fit_peak = peak_rss_mib()

    positive = list(model.classes_).index(max(model.classes_))
    auc = roc_auc_score(test[target], model.predict_proba(test[features])[:, positive])

    whole = pd.read_csv(predict_path, na_values=NA, keep_default_na=False)
    for c in categorical:
        whole[c] = whole[c].astype(object)
    started = time.perf_counter()
    model.predict_proba(whole[features])
    predict_seconds = time.perf_counter() - started

    json.dump(
        {
            "fit_seconds": fit_seconds,
            "fit_peak_rss_mib": fit_peak,
            "roc_auc": auc,
            "predict_rows": len(whole),
            "predict_seconds": predict_seconds,
            "n_iter": int(getattr(model.named_steps["model"], "n_iter_", 0)),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
