#!/usr/bin/env python3
"""Write the CBPE reference values that src/monitor/cbpe.rs is tested against.

Outputs tests/fixtures/cbpe_reference.json. An independent implementation of the estimate: the expected
confusion matrix with NumPy (TP = sum p[yhat=1], FP = sum (1-p)[yhat=1], FN = sum p[yhat=0], TN = sum (1-p)[yhat=0])
and the estimated ROC-AUC as scikit-learn's roc_auc_score on the rows duplicated, once as a positive of weight p
and once as a negative of weight 1 - p (ranked by the model's own score).

    python3 -m venv .venv && .venv/bin/pip install scikit-learn==1.9.1 numpy==2.4.6
    .venv/bin/python scripts/gen_cbpe_fixtures.py
"""
import json
import pathlib

import numpy as np
from sklearn.metrics import roc_auc_score


def case(rng, n, ties):
    scores = rng.uniform(size=n)
    if ties:
        scores = np.round(scores, 1)
    calibrated = np.clip(scores + rng.normal(scale=0.1, size=n), 0.0, 1.0)
    predicted = scores > 0.5
    tp = np.sum(calibrated * predicted)
    fp = np.sum((1 - calibrated) * predicted)
    fn = np.sum(calibrated * ~predicted)
    tn = np.sum((1 - calibrated) * ~predicted)
    y = np.concatenate([np.ones(n), np.zeros(n)])
    w = np.concatenate([calibrated, 1 - calibrated])
    auc = roc_auc_score(y, np.concatenate([scores, scores]), sample_weight=w)
    return {
        "calibrated": calibrated.tolist(),
        "scores": scores.tolist(),
        "predicted_positive": predicted.tolist(),
        "expected": {
            "accuracy": (tp + tn) / n,
            "precision": tp / (tp + fp),
            "recall": tp / (tp + fn),
            "f1": 2 * tp / (2 * tp + fp + fn),
            "roc_auc": auc,
        },
    }


rng = np.random.default_rng(32)
cases = [case(rng, 50, False), case(rng, 200, True), case(rng, 7, True)]
out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cbpe_reference.json"
out.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
print(f"wrote {out}")
