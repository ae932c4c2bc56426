#!/usr/bin/env python3
"""Write the scikit-learn reference values that src/metrics/ is tested against.

Outputs tests/fixtures/metrics/classification.json and regression.json (paths relative to the repository root,
wherever the script is run from). The Rust unit tests in src/metrics/ read them with include_str! and assert every
value to 1e-9, so any change of sklearn behaviour shows up as a test failure after regenerating.

Set-up, pinned to the versions the committed fixtures came from:

    python3 -m venv .venv && .venv/bin/pip install scikit-learn==1.9.1 numpy==2.4.6
    .venv/bin/python scripts/gen_metric_fixtures.py

(scikit-learn 1.9.1 pulls in scipy 1.17.1, joblib 1.6.0 and threadpoolctl 3.8.0.)

Conventions of the JSON:
- Floats are written by json.dumps from Python floats, whose repr round-trips exactly.
- JSON has no non-finite numbers: +inf (the first ROC threshold) is written as the string "inf".
- Where sklearn returns NaN with an UndefinedMetricWarning (ROC AUC or ROC curve with a single class in y_true,
  R^2 with fewer than two samples) the expected value is the string "undefined".
- "sklearn_warned" records which of sklearn's warnings fired, so the Rust side can check that it flags the same
  ill-defined cases (sklearn's zero_division="warn" reports 0.0 and warns).
- Every classification metric is computed with labels=range(n_classes): the Rust API knows n_classes, so a class
  absent from both y_true and y_pred still has a row in the report. balanced_accuracy_score takes no labels in
  sklearn, which is matched (it averages over the classes present in y_true).
"""

import json
import math
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn import metrics as skm

SEED = 20240521
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "metrics"


# ----------------------------------------------------------------------------------------------------------------
# JSON helpers


def finite_or_tag(x):
    """A float for JSON: finite values as themselves, +inf as "inf", NaN as "undefined"."""
    x = float(x)
    if math.isnan(x):
        return "undefined"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def floats(values):
    return [finite_or_tag(v) for v in values]


def ints(values):
    return [int(v) for v in values]


def to_json(value, indent=0):
    """JSON with objects spread over lines but arrays of numbers kept on one line, so the file stays small and a
    regenerated fixture diffs line by line."""
    pad = " " * indent
    if isinstance(value, dict):
        items = [f'{pad} {json.dumps(k)}: {to_json(v, indent + 1).lstrip()}' for k, v in value.items()]
        return pad + "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return pad + "[\n" + ",\n".join(to_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return pad + json.dumps(value, allow_nan=False)


def capture_warnings(fn):
    """Run fn, returning its result and the messages of the warnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [str(w.message) for w in caught]


# ----------------------------------------------------------------------------------------------------------------
# Classification


def softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def informative_scores(rng, y_true, n_classes, signal):
    """Probabilities that favour the true class by `signal` logits, so metrics land in a realistic middle range."""
    logits = rng.normal(size=(len(y_true), n_classes))
    logits[np.arange(len(y_true)), y_true] += signal
    return softmax(logits)


def random_case(rng, name, n, n_classes, signal, class_names=None):
    y_true = rng.integers(0, n_classes, size=n)
    scores = informative_scores(rng, y_true, n_classes, signal)
    return dict(name=name, n_classes=n_classes, y_true=y_true, y_pred=scores.argmax(axis=1), scores=scores,
                class_names=class_names)


def binary_rows(p_positive):
    p = np.asarray(p_positive, dtype=float)
    return np.column_stack([1.0 - p, p])


def classification_cases():
    rng = np.random.default_rng(SEED)
    cases = [
        random_case(rng, "binary_random", 60, 2, 1.0),
        random_case(rng, "binary_random_large", 400, 2, 0.8, class_names=["negative", "positive"]),
        random_case(rng, "multiclass3_random", 90, 3, 1.2, class_names=["setosa", "versicolor", "virginica"]),
        random_case(rng, "multiclass4_random", 200, 4, 0.7),
        random_case(rng, "multiclass4_weak_signal", 40, 4, 0.1,
                    class_names=["a", "bb", "a much longer class name", "d"]),
    ]

    # Class 2 is never predicted: its precision is 0/0 (sklearn: 0.0 and a warning).
    y_true = rng.integers(0, 3, size=50)
    scores = informative_scores(rng, y_true, 3, 1.5)
    scores[:, 2] *= 0.01
    scores /= scores.sum(axis=1, keepdims=True)
    cases.append(dict(name="class_never_predicted", n_classes=3, y_true=y_true, y_pred=scores.argmax(axis=1),
                      scores=scores))

    # Ties: scores rounded to one decimal, so many samples share a threshold.
    y_true = rng.integers(0, 2, size=80)
    p = np.round(np.clip(0.5 + 0.25 * (2 * y_true - 1) + rng.normal(scale=0.25, size=80), 0, 1), 1)
    cases.append(dict(name="binary_tied_scores", n_classes=2, y_true=y_true, y_pred=(p > 0.5).astype(int),
                      scores=binary_rows(p)))

    # Multiclass ties: every row is one of four probability vectors.
    templates = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.2, 0.7], [0.4, 0.4, 0.2]])
    y_true = rng.integers(0, 3, size=60)
    picks = np.where(rng.random(60) < 0.6, y_true, rng.integers(0, 4, size=60))
    scores = templates[picks]
    cases.append(dict(name="multiclass_tied_scores", n_classes=3, y_true=y_true, y_pred=rng.integers(0, 3, size=60),
                      scores=scores))

    # One threshold only: the ROC curve is the diagonal and AUC is 0.5.
    y_true = np.array([0, 1, 0, 1, 1, 0, 0, 1, 0, 0])
    cases.append(dict(name="all_equal_scores", n_classes=2, y_true=y_true, y_pred=np.zeros(10, dtype=int),
                      scores=binary_rows(np.full(10, 0.5))))

    # Scores ranked exactly backwards: AUC 0.
    y_true = np.array([0, 0, 0, 1, 1, 1, 1])
    p = np.array([0.9, 0.8, 0.7, 0.3, 0.2, 0.1, 0.05])
    cases.append(dict(name="binary_inverted_scores", n_classes=2, y_true=y_true, y_pred=(p > 0.5).astype(int),
                      scores=binary_rows(p)))

    # Perfect one-hot predictions: log loss sees exact 0 and 1, which sklearn clips to [eps, 1 - eps].
    y_true = np.array([0, 1, 2, 2, 1, 0, 1, 2, 0])
    cases.append(dict(name="perfect_one_hot", n_classes=3, y_true=y_true, y_pred=y_true.copy(),
                      scores=np.eye(3)[y_true], class_names=["cat", "dog", "bird"]))

    # Confidently wrong with exact 0 and 1: log loss is dominated by -log(eps).
    y_true = np.array([0, 1, 1, 0, 1, 0])
    p = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    cases.append(dict(name="binary_exact_zero_one", n_classes=2, y_true=y_true, y_pred=p.astype(int),
                      scores=binary_rows(p)))

    # A single class in y_true: ROC AUC is undefined; class 1's recall is 0/0.
    y_true = np.zeros(8, dtype=int)
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.6, 0.05, 0.3])
    cases.append(dict(name="single_class_in_y_true", n_classes=2, y_true=y_true, y_pred=(p > 0.5).astype(int),
                      scores=binary_rows(p)))

    # The positive class is never predicted.
    y_true = np.array([0, 1, 0, 1, 0, 0, 1, 0])
    p = np.array([0.1, 0.4, 0.35, 0.45, 0.2, 0.3, 0.05, 0.3])
    cases.append(dict(name="binary_never_predicts_positive", n_classes=2, y_true=y_true,
                      y_pred=np.zeros(8, dtype=int), scores=binary_rows(p)))

    # Class 3 is predicted but absent from y_true: its recall is 0/0, balanced accuracy skips it (and sklearn warns),
    # one-vs-rest ROC AUC is undefined.
    y_true = rng.integers(0, 3, size=40)
    scores = informative_scores(rng, y_true, 4, 1.0)
    y_pred = scores.argmax(axis=1)
    y_pred[:3] = 3
    cases.append(dict(name="class_absent_from_y_true", n_classes=4, y_true=y_true, y_pred=y_pred, scores=scores))

    # Class 2 is in neither y_true nor y_pred: precision, recall and F1 are all 0/0.
    y_true = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    y_pred = np.array([0, 1, 0, 0, 1, 1, 0, 1])
    scores = np.array([[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1], [0.8, 0.1, 0.1],
                       [0.1, 0.8, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1], [0.2, 0.6, 0.2]])
    cases.append(dict(name="class_in_neither", n_classes=3, y_true=y_true, y_pred=y_pred, scores=scores))

    # The smallest input.
    cases.append(dict(name="single_sample", n_classes=2, y_true=np.array([1]), y_pred=np.array([1]),
                      scores=binary_rows([0.75])))

    # No scores: only the label metrics exist.
    y_true = rng.integers(0, 3, size=30)
    y_pred = np.where(rng.random(30) < 0.7, y_true, rng.integers(0, 3, size=30))
    cases.append(dict(name="labels_only", n_classes=3, y_true=y_true, y_pred=y_pred, scores=None))
    return cases


def class_names(case):
    """The names the report is rendered with: the case's own, else the class indices as sklearn would print them."""
    return case.get("class_names") or [str(c) for c in range(case["n_classes"])]


def prf(case, average, labels):
    return skm.precision_recall_fscore_support(case["y_true"], case["y_pred"], labels=labels, average=average,
                                               zero_division="warn")


def ovr_curves(case):
    """ROC and precision-recall curves of each class against the rest (for binary, only the positive class 1)."""
    y_true, scores, k = case["y_true"], case["scores"], case["n_classes"]
    curves = []
    for pos_label in ([1] if k == 2 else range(k)):
        y_score = scores[:, pos_label]
        entry = {"pos_label": pos_label}
        for drop in (True, False):
            (fpr, tpr, thr), _ = capture_warnings(
                lambda: skm.roc_curve(y_true, y_score, pos_label=pos_label, drop_intermediate=drop))
            key = "roc_drop_intermediate" if drop else "roc_all_thresholds"
            # sklearn fills fpr or tpr with NaN when y_true lacks negatives or positives.
            undefined = np.isnan(fpr).any() or np.isnan(tpr).any()
            entry[key] = "undefined" if undefined else {"fpr": floats(fpr), "tpr": floats(tpr),
                                                        "thresholds": floats(thr)}
            (prec, rec, thr), _ = capture_warnings(
                lambda: skm.precision_recall_curve(y_true, y_score, pos_label=pos_label, drop_intermediate=drop))
            key = "pr_drop_intermediate" if drop else "pr_all_thresholds"
            entry[key] = {"precision": floats(prec), "recall": floats(rec), "thresholds": floats(thr)}
        curves.append(entry)
    return curves


def roc_auc(case):
    y_true, scores, k = case["y_true"], case["scores"], case["n_classes"]
    if k == 2:
        return capture_warnings(lambda: skm.roc_auc_score(y_true, scores[:, 1]))
    return capture_warnings(lambda: skm.roc_auc_score(y_true, scores, multi_class="ovr", average="macro",
                                                      labels=list(range(k))))


def any_warning(messages, fragment):
    return any(fragment in m for m in messages)


def expected_classification(case):
    y_true, y_pred, k = case["y_true"], case["y_pred"], case["n_classes"]
    labels = list(range(k))
    names = class_names(case)

    (p, r, f, s), prf_warnings = capture_warnings(lambda: prf(case, None, labels))
    balanced, balanced_warnings = capture_warnings(lambda: skm.balanced_accuracy_score(y_true, y_pred))
    averages = {}
    for average in ("macro", "weighted"):
        (ap, ar, af, _), _ = capture_warnings(lambda: prf(case, average, labels))
        averages[average] = {"precision": float(ap), "recall": float(ar), "f1": float(af)}
    if k == 2:
        # sklearn's default average="binary" with pos_label=1, as a user would call precision_score(y_true, y_pred).
        (bp, br, bf, _), _ = capture_warnings(
            lambda: skm.precision_recall_fscore_support(y_true, y_pred, average="binary"))
        headline = {"precision": float(bp), "recall": float(br), "f1": float(bf)}
    else:
        headline = averages["macro"]

    named = {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced),
        "precision": headline["precision"],
        "recall": headline["recall"],
        "f1": headline["f1"],
        "precision_macro": averages["macro"]["precision"],
        "recall_macro": averages["macro"]["recall"],
        "f1_macro": averages["macro"]["f1"],
        "f1_weighted": averages["weighted"]["f1"],
    }
    sklearn_warned = {
        "precision": any_warning(prf_warnings, "Precision is ill-defined"),
        "recall": any_warning(prf_warnings, "Recall is ill-defined"),
        "f_score": any_warning(prf_warnings, "F-score is ill-defined"),
        "balanced_accuracy": any_warning(balanced_warnings, "y_pred contains classes not in y_true"),
    }
    expected = {
        "confusion_matrix": [ints(row) for row in skm.confusion_matrix(y_true, y_pred, labels=labels)],
        "per_class": {"precision": floats(p), "recall": floats(r), "f1": floats(f), "support": ints(s)},
        "averages": averages,
        "named": named,
        # When no prediction is correct sklearn counts in floats and prints support as "3.0"
        # (binary_inverted_scores); the Rust test reads that back as an integer.
        "reports": {
            str(digits): capture_warnings(lambda: skm.classification_report(
                y_true, y_pred, labels=labels, target_names=names, digits=digits, zero_division="warn"))[0]
            for digits in (2, 4)
        },
    }
    if case["scores"] is not None:
        auc, auc_warnings = roc_auc(case)
        named["roc_auc"] = finite_or_tag(auc)
        named["log_loss"] = float(skm.log_loss(y_true, case["scores"], labels=labels))
        sklearn_warned["roc_auc"] = any_warning(auc_warnings, "ROC AUC score is not defined")
        expected["curves"] = ovr_curves(case)
    expected["sklearn_warned"] = sklearn_warned
    return expected


def classification_fixture():
    out = []
    for case in classification_cases():
        out.append({
            "name": case["name"],
            "n_classes": case["n_classes"],
            "class_names": class_names(case),
            "y_true": ints(case["y_true"]),
            "y_pred": ints(case["y_pred"]),
            "scores": None if case["scores"] is None else [floats(row) for row in case["scores"]],
            "expected": expected_classification(case),
        })
    return out


# ----------------------------------------------------------------------------------------------------------------
# Regression


def regression_cases():
    rng = np.random.default_rng(SEED + 1)
    y = rng.normal(10.0, 3.0, size=40)
    cases = [("random", y, y + rng.normal(0.0, 1.5, size=40))]
    y = rng.normal(0.0, 1.0, size=1000)
    cases.append(("random_large", y, 0.8 * y + rng.normal(0.0, 0.5, size=1000)))
    y = rng.normal(2e6, 5e5, size=50)
    cases.append(("large_magnitudes", y, y + rng.normal(0.0, 1e5, size=50)))
    # MAPE divides by max(|y_true|, float64 eps): zeros in y_true give enormous but finite terms.
    cases.append(("zeros_in_y_true", np.array([0.0, 1.0, -2.0, 0.0, 3.5, 4.0]),
                  np.array([0.5, 1.1, -1.5, 0.0, 3.0, 4.4])))
    cases.append(("negative_values", np.array([-3.0, -1.5, 2.0, -0.25, 7.0]),
                  np.array([-2.5, -1.0, 1.0, 0.5, 6.0])))
    # Constant y_true (values whose numpy mean is exact): R^2's denominator is 0 and force_finite=True gives
    # 1.0 for perfect predictions and 0.0 otherwise.
    cases.append(("constant_y_true_perfect", np.full(5, 2.5), np.full(5, 2.5)))
    cases.append(("constant_y_true_imperfect", np.full(4, 3.0), np.array([3.0, 2.0, 4.5, 3.0])))
    cases.append(("perfect_predictions", np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 4.0])))
    # Worse than predicting the mean: R^2 < 0.
    cases.append(("negative_r2", np.array([1.0, 2.0, 3.0, 4.0, 5.0]), np.array([5.0, 4.0, 3.0, 2.0, 1.0])))
    # R^2 needs two samples: sklearn warns and returns NaN.
    cases.append(("single_sample", np.array([2.0]), np.array([3.0])))
    return cases


def regression_fixture():
    out = []
    for name, y_true, y_pred in regression_cases():
        r2, _ = capture_warnings(lambda: skm.r2_score(y_true, y_pred))
        out.append({
            "name": name,
            "y_true": floats(y_true),
            "y_pred": floats(y_pred),
            "expected": {
                "r2": finite_or_tag(r2),
                "mae": float(skm.mean_absolute_error(y_true, y_pred)),
                "mse": float(skm.mean_squared_error(y_true, y_pred)),
                "rmse": float(skm.root_mean_squared_error(y_true, y_pred)),
                "mape": float(skm.mean_absolute_percentage_error(y_true, y_pred)),
            },
        })
    return out


def write(name, cases):
    doc = {
        "generated_by": "scripts/gen_metric_fixtures.py",
        "sklearn_version": sklearn.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    path = OUT_DIR / name
    path.write_text(to_json(doc) + "\n")
    print(f"wrote {path} ({len(cases)} cases)")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write("classification.json", classification_fixture())
    write("regression.json", regression_fixture())


if __name__ == "__main__":
    main()
