"""Reference values for src/models/{neighbors,naive_bayes,kmeans}.rs from scikit-learn 1.9.1.

Run with the pinned environment (bench/requirements.txt):
    python scripts/gen_other_fixtures.py tests/fixtures/other
Inputs are rounded to a few decimals *before* fitting and stored as used, so Rust reads exactly the numbers
scikit-learn saw. Data sets are sklearn's bundled iris and diabetes (no download) and make_blobs.
"""

import json
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.datasets import load_diabetes, load_iris, make_blobs
from sklearn.metrics import silhouette_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

assert sklearn.__version__ == "1.9.1", sklearn.__version__


def standardise(x):
    return (x - x.mean(axis=0)) / x.std(axis=0)


def no_ties_at_k(x_train, x_query, k):
    """True if, for every query, the k-th and (k+1)-th nearest distances differ clearly."""
    d = np.sqrt(((x_query[:, None, :] - x_train[None, :, :]) ** 2).sum(axis=2))
    d.sort(axis=1)
    if k >= d.shape[1]:
        return True
    return bool(np.all(d[:, k] - d[:, k - 1] > 1e-7))


def iris_jittered(seed):
    """Standardised iris with a little noise, so that no two neighbours tie; 5 decimals."""
    x, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(seed)
    x = standardise(x) + rng.normal(scale=0.05, size=x.shape)
    return np.round(x, 5), y


def neighbors_fixture():
    x, y = iris_jittered(0)
    rng = np.random.default_rng(1)
    order = rng.permutation(len(x))
    train, query = order[:100], order[100:]
    x_train, y_train, x_query = x[train], y[train], x[query]
    # A few training rows as queries too: their own distance is 0 (distance weights give them all the weight).
    x_query = np.vstack([x_query, x_train[:5]])
    cls_cases = []
    for k in (1, 5, 7):
        assert no_ties_at_k(x_train, x_query, k), k
        for weights in ("uniform", "distance"):
            m = KNeighborsClassifier(n_neighbors=k, weights=weights, algorithm="brute").fit(x_train, y_train)
            cls_cases.append({"k": k, "weights": weights, "proba": m.predict_proba(x_query).ravel().tolist()})

    xd, yd = load_diabetes(return_X_y=True)
    xd = np.round(standardise(xd), 4)
    order = np.random.default_rng(2).permutation(len(xd))
    train, query = order[:150], order[150:200]
    xr_train, yr_train, xr_query = xd[train], yd[train], xd[query]
    xr_query = np.vstack([xr_query, xr_train[:5]])
    reg_cases = []
    for k in (1, 5, 10):
        assert no_ties_at_k(xr_train, xr_query, k), k
        for weights in ("uniform", "distance"):
            m = KNeighborsRegressor(n_neighbors=k, weights=weights, algorithm="brute").fit(xr_train, yr_train)
            reg_cases.append({"k": k, "weights": weights, "predict": m.predict(xr_query).tolist()})
    return {
        "classification": {
            "x_train": x_train.tolist(),
            "y_train": y_train.tolist(),
            "x_query": x_query.tolist(),
            "n_classes": 3,
            "cases": cls_cases,
        },
        "regression": {
            "x_train": xr_train.tolist(),
            "y_train": yr_train.tolist(),
            "x_query": xr_query.tolist(),
            "cases": reg_cases,
        },
    }


def naive_bayes_fixture():
    cases = []
    x, y = load_iris(return_X_y=True)
    x = np.round(standardise(x), 5)
    order = np.random.default_rng(3).permutation(len(x))
    cases.append(("iris", x[order[:100]], y[order[:100]], x[order[100:]], 3, 1e-9))
    # Far queries too: probabilities that log-sum-exp has to keep finite.
    far = np.array([[8.0, -8.0, 8.0, -8.0], [-30.0, 0.0, 30.0, 0.0]])
    cases.append(("iris-far", x[order[:100]], y[order[:100]], far, 3, 1e-9))
    cases.append(("iris-smooth", x[order[:100]], y[order[:100]], x[order[100:120]], 3, 0.5))
    # Binary, with a feature that is constant within class 1 (only epsilon keeps its variance positive).
    rng = np.random.default_rng(4)
    xb = np.round(rng.normal(size=(60, 3)), 4)
    yb = (xb[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(int)
    xb[yb == 1, 2] = 0.25
    qb = np.round(rng.normal(size=(20, 3)), 4)
    cases.append(("binary-constant-feature", xb, yb, qb, 2, 1e-9))
    out = []
    for name, xt, yt, xq, n_classes, smoothing in cases:
        m = GaussianNB(var_smoothing=smoothing).fit(xt, yt)
        assert list(m.classes_) == list(range(n_classes))
        out.append({
            "name": name,
            "x_train": xt.tolist(),
            "y_train": yt.tolist(),
            "x_query": xq.tolist(),
            "n_classes": n_classes,
            "var_smoothing": smoothing,
            "theta": m.theta_.ravel().tolist(),
            "var": m.var_.ravel().tolist(),
            "proba": m.predict_proba(xq).ravel().tolist(),
        })
    return {"cases": out}


def kmeans_fixture():
    xb, yb = make_blobs(n_samples=300, centers=4, cluster_std=0.6, random_state=0)
    xb = np.round(xb, 4)
    blobs = KMeans(n_clusters=4, n_init=10, random_state=42).fit(xb)

    xi, _ = load_iris(return_X_y=True)
    xi = np.round(standardise(xi), 5)
    iris = {}
    for k in (2, 3, 5, 8):
        m = KMeans(n_clusters=k, n_init=10, random_state=42).fit(xi)
        iris[str(k)] = {"inertia": m.inertia_, "labels": m.labels_.tolist()}

    # Lloyd from given centres (n_init=1): the iterations themselves must agree, convergence rule included.
    # Inits are rows of iris (indices), or a far-away point that starts empty and must be relocated.
    lloyd = []
    for name, init_rows, far, max_iter, tol in [
        ("iris-k3", [0, 50, 100], None, 300, 1e-4),
        ("iris-k4-max_iter-2", [0, 1, 2, 3], None, 2, 1e-4),
        ("iris-k4-tol-0", [10, 20, 30, 140], None, 300, 0.0),
        ("iris-k3-loose-tol", [5, 60, 120], None, 300, 0.5),
        ("iris-k3-empty-cluster", [0, 100], [50.0, 50.0, 50.0, 50.0], 300, 1e-4),
    ]:
        init = xi[init_rows]
        if far is not None:
            init = np.vstack([init, [far]])
        m = KMeans(n_clusters=len(init), init=init, n_init=1, max_iter=max_iter, tol=tol).fit(xi)
        lloyd.append({
            "name": name,
            "init": init.ravel().tolist(),
            "max_iter": max_iter,
            "tol": tol,
            "n_iter": int(m.n_iter_),
            "inertia": m.inertia_,
            "labels": m.labels_.tolist(),
            "centers": m.cluster_centers_.ravel().tolist(),
        })

    labels_iris3 = np.array(iris["3"]["labels"])
    # A singleton cluster scores 0; put row 0 alone.
    labels_singleton = labels_iris3.copy()
    labels_singleton[0] = 3
    silhouettes = [
        {"data": "iris", "k": 3, "labels": labels_iris3.tolist(), "score": silhouette_score(xi, labels_iris3)},
        {"data": "iris", "k": 4, "labels": labels_singleton.tolist(), "score": silhouette_score(xi, labels_singleton)},
        {"data": "blobs", "k": 4, "labels": yb.tolist(), "score": silhouette_score(xb, yb)},
    ]
    return {
        "blobs": {
            "x": xb.tolist(),
            "labels": blobs.labels_.tolist(),
            "inertia": blobs.inertia_,
            "centers": blobs.cluster_centers_.ravel().tolist(),
        },
        "iris": {"x": xi.tolist(), "fits": iris},
        "lloyd": lloyd,
        "silhouette": silhouettes,
    }


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, make in [("neighbors", neighbors_fixture), ("naive_bayes", naive_bayes_fixture), ("kmeans", kmeans_fixture)]:
        path = out / f"{name}.json"
        path.write_text(json.dumps(make(), separators=(",", ":")))
        print(path, path.stat().st_size)


if __name__ == "__main__":
    main()
