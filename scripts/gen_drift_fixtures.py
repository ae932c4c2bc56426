#!/usr/bin/env python3
"""Write the scipy reference values that src/drift/ is tested against.

Outputs tests/fixtures/drift/{ks,chi2,wasserstein,jensenshannon,psi}.json (relative to the repository root,
wherever the script is run from). The Rust unit tests read them with include_str! and assert every statistic and
p-value to 1e-6 (most agree to 1e-12).

Set-up, pinned to the versions the committed fixtures came from:

    python3 -m venv .venv && .venv/bin/pip install scipy==1.17.1 numpy==2.4.6
    .venv/bin/python scripts/gen_drift_fixtures.py

What each file checks:
- ks.json: scipy.stats.ks_2samp(ref, cur) with method="auto" (exact when max(n1, n2) <= 10,000, the cases with
  "method": "exact"). Above that scipy's auto uses kstwo.sf(d, round(en)); mlctl uses the limiting Kolmogorov
  distribution there (statrs), so those cases also carry "kstwobign_pvalue" = kstwobign.sf(sqrt(en) * d) with
  en = n1 n2 / (n1 + n2), which is what mlctl is held to; the two differ by O(1/sqrt(en)).
- chi2.json: scipy.stats.chi2_contingency on the 2 x k table [ref counts, cur counts], with its default Yates
  correction when dof == 1.
- wasserstein.json: scipy.stats.wasserstein_distance(ref, cur) and the same divided by max(np.std(ref), 0.001)
  (population std), Evidently's normalisation.
- jensenshannon.json: scipy.spatial.distance.jensenshannon(p, q, base=2), so it lies in [0, 1].
- psi.json: PSI on reference-quantile bins, computed here with numpy as the spec of mlctl's binning (see psi()).
"""

import json
from pathlib import Path

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

SEED = 20261122
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "drift"
PSI_EPS = 1e-4


def header():
    return {"generated_by": "scripts/gen_drift_fixtures.py", "scipy_version": scipy.__version__,
            "numpy_version": np.__version__}


def write(name, cases):
    OUT.mkdir(parents=True, exist_ok=True)
    doc = header()
    doc["cases"] = cases
    (OUT / name).write_text(json.dumps(doc, indent=1) + "\n")


def floats(xs):
    return [float(x) for x in xs]


def ks_cases(rng):
    cases = []
    specs = [
        ("small_same", rng.normal(0, 1, 40), rng.normal(0, 1, 55)),
        ("equal_sizes_square", rng.normal(0, 1, 200), rng.normal(0.3, 1, 200)),
        ("shifted", rng.normal(0, 1, 300), rng.normal(0.2, 1.1, 1000)),
        ("ties_integers", rng.integers(0, 6, 1000).astype(float), rng.integers(0, 7, 800).astype(float)),
        ("tiny_current", rng.normal(0, 1, 900), rng.normal(0.5, 1, 12)),
        ("large_exact", rng.exponential(1.0, 1000), rng.exponential(1.05, 10000)),
        ("asymptotic", np.round(rng.normal(0, 1, 1000), 4), np.round(rng.normal(0.05, 1, 12000), 4)),
    ]
    for name, a, b in specs:
        a = np.round(a, 6)
        b = np.round(b, 6)
        res = stats.ks_2samp(a, b)
        n1, n2 = len(a), len(b)
        case = {"name": name, "ref": floats(a), "cur": floats(b), "statistic": float(res.statistic),
                "pvalue": float(res.pvalue), "method": "exact" if max(n1, n2) <= 10000 else "asymp"}
        if case["method"] == "asymp":
            en = n1 * n2 / (n1 + n2)
            case["kstwobign_pvalue"] = float(stats.kstwobign.sf(np.sqrt(en) * res.statistic))
        cases.append(case)
    return cases


def chi2_cases(rng):
    tables = [
        ("two_categories_yates", [120, 80], [60, 70]),
        ("four_categories", [250, 300, 200, 250], [20, 35, 25, 40]),
        ("unseen_in_reference", [500, 300, 200, 0], [40, 30, 20, 10]),
        ("same", [400, 350, 250], [40, 35, 25]),
        ("large_shift", [3000, 3000, 4000], [5000, 2000, 3000]),
    ]
    cases = []
    for name, r, c in tables:
        stat, p, dof, _ = stats.chi2_contingency(np.array([r, c]))
        cases.append({"name": name, "ref": r, "cur": c, "statistic": float(stat), "pvalue": float(p),
                      "dof": int(dof)})
    return cases


def wasserstein_cases(rng):
    specs = [
        ("same", rng.normal(0, 1, 1500), rng.normal(0, 1, 1200)),
        ("shifted", rng.normal(10, 2, 2000), rng.normal(10.5, 2, 800)),
        ("ties", rng.integers(0, 5, 1200).astype(float), rng.integers(1, 6, 900).astype(float)),
        ("constant_reference", np.full(1100, 3.0), rng.normal(3, 0.01, 50)),
    ]
    cases = []
    for name, a, b in specs:
        a = np.round(a, 6)
        b = np.round(b, 6)
        w = stats.wasserstein_distance(a, b)
        cases.append({"name": name, "ref": floats(a), "cur": floats(b), "distance": float(w),
                      "normalised": float(w / max(np.std(a), 0.001))})
    return cases


def js_cases(rng):
    specs = [
        ("same", [0.25, 0.25, 0.5], [0.25, 0.25, 0.5]),
        ("shifted", [0.5, 0.3, 0.2], [0.2, 0.3, 0.5]),
        ("disjoint", [1.0, 0.0], [0.0, 1.0]),
        ("unseen_category", [0.6, 0.4, 0.0], [0.5, 0.3, 0.2]),
        ("counts", [300, 500, 200, 1000], [40, 50, 10, 120]),
    ]
    cases = []
    for name, p, q in specs:
        p = np.asarray(p, float)
        q = np.asarray(q, float)
        cases.append({"name": name, "p": floats(p), "q": floats(q),
                      "distance": float(distance.jensenshannon(p, q, base=2))})
    return cases


def psi(ref, cur):
    """mlctl's PSI: edges are the reference deciles (numpy's default linear quantiles, q = 0, 0.1, ..., 1),
    de-duplicated; K regular bins [E0, E1], (E1, E2], ..., (E_{K-1}, E_K] plus one overflow bin below the reference
    minimum and one above its maximum. Proportions below PSI_EPS are raised to it (empty bins)."""
    ref = np.asarray(ref, float)
    cur = np.asarray(cur, float)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 11)))
    inner = edges[1:-1] if len(edges) > 1 else np.array([])

    def counts(x):
        out = np.zeros(max(len(edges) - 1, 1) + 2)
        for v in x:
            if v < edges[0]:
                out[0] += 1
            elif v > edges[-1]:
                out[-1] += 1
            else:
                out[1 + np.searchsorted(inner, v, side="left")] += 1
        return out

    r = np.maximum(counts(ref) / len(ref), PSI_EPS)
    c = np.maximum(counts(cur) / len(cur), PSI_EPS)
    return float(np.sum((c - r) * np.log(c / r))), floats(edges)


def psi_cases(rng):
    specs = [
        ("same", rng.normal(0, 1, 2000), rng.normal(0, 1, 1000)),
        ("shifted", rng.normal(0, 1, 2000), rng.normal(0.5, 1, 1000)),
        ("out_of_range", rng.uniform(0, 1, 500), rng.uniform(0.5, 1.5, 400)),
        ("ties", rng.integers(1, 6, 1000).astype(float), rng.integers(1, 6, 300).astype(float)),
        ("constant", np.full(300, 2.0), np.array([2.0] * 90 + [3.0] * 10)),
    ]
    cases = []
    for name, a, b in specs:
        a = np.round(a, 6)
        b = np.round(b, 6)
        value, edges = psi(a, b)
        cases.append({"name": name, "ref": floats(a), "cur": floats(b), "psi": value, "edges": edges})
    return cases


def main():
    rng = np.random.default_rng(SEED)
    write("ks.json", ks_cases(rng))
    write("chi2.json", chi2_cases(rng))
    write("wasserstein.json", wasserstein_cases(rng))
    write("jensenshannon.json", js_cases(rng))
    write("psi.json", psi_cases(rng))


if __name__ == "__main__":
    main()
