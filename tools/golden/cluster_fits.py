#!/usr/bin/env python3
"""Cluster-robust OLS fixtures from statsmodels, for tests/fit/cluster.test.ts. Needs numpy and statsmodels only:

    python3 tools/golden/cluster_fits.py [--rows tests/fixtures/fit/synthetic_rows.jsonl] [--out tests/fixtures/fit]

Reads the synthetic study-grid rows that goldens.py wrote (six Qwen3 sizes, each size one model: one cluster),
fits the linearised law per level and formula with statsmodels' OLS(...).fit(cov_type="cluster",
cov_kwds={"groups": model}, use_t=True) -- CR1 (Stata's small-sample factor G/(G-1) (n-1)/(n-k)) and Student's t
with G - 1 degrees of freedom -- and writes statsmodels_cluster_fits.json. It also writes, per formula, the
cluster-robust covariance between two levels' coefficients (the suest-style sandwich the findings test uses),
computed here with numpy from each fit's per-cluster scores: statsmodels has no cross-fit covariance.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import statsmodels
import statsmodels.api as sm

FORMULAS = {"f(N,B)": ["N", "B"], "f(N,B,G)": ["N", "B", "G"], "f(N,B,C_b)": ["N", "B", "C"], "f(N,B,C_b,G)": ["N", "B", "C", "G"]}
NAMES = {"N": "alpha", "B": "beta", "C": "gamma", "G": "delta"}


def design(rows: list[dict], factors: list[str]):
    adj = np.array([(r["acc"] - r["acc_chance"]) / (1 - r["acc_chance"]) for r in rows])
    keep = adj > 0.01
    cols = {"N": np.log([r["n_params"] for r in rows]), "B": np.log(np.log2([r["bits"] for r in rows])),
            "C": np.log(np.log2([r["calib_size"] for r in rows])), "G": np.log([r["group_size"] for r in rows])}
    X = sm.add_constant(np.column_stack([cols[f][keep] for f in factors]), has_constant="add")
    y = np.log(-np.log(adj[keep]))
    groups = np.array([r["model"] for r in rows])[keep]
    return X, y, groups


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=Path, default=Path("tests/fixtures/fit/synthetic_rows.jsonl"))
    ap.add_argument("--out", type=Path, default=Path("tests/fixtures/fit"))
    a = ap.parse_args()
    rows = [json.loads(x) for x in a.rows.read_text().splitlines() if x.strip()]
    fits, cross = [], []
    for fname, factors in FORMULAS.items():
        per_level = {}
        for level in ("KM", "KA", "KR"):
            sub = [r for r in rows if r["level"] == level]
            X, y, groups = design(sub, factors)
            codes = np.unique(groups, return_inverse=True)[1]
            res = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
            names = ["lnA"] + [NAMES[f] for f in factors]
            ci = res.conf_int(0.05)
            fits.append({"level": level, "formula": fname, "n": int(len(y)), "clusters": int(len(set(groups))),
                         "df_t": float(res.df_resid_inference) if hasattr(res, "df_resid_inference") else None,
                         "coef": {nm: {"est": float(res.params[i]), "se": float(res.bse[i]), "t": float(res.tvalues[i]),
                                       "p": float(res.pvalues[i]), "ci": [float(ci[i][0]), float(ci[i][1])]}
                                  for i, nm in enumerate(names)},
                         "cov": res.cov_params().tolist(), "statsmodels": statsmodels.__version__})
            bread = np.linalg.inv(X.T @ X)
            u = y - X @ res.params
            scores = {g: (X[groups == g] * u[groups == g, None]).sum(0) for g in sorted(set(groups))}
            per_level[level] = (bread, scores, len(y), X.shape[1])
        # Cov(b_KM, b_KR) = B1 (sum_g s1_g s2_g^T) B2 * G/(G-1) * sqrt(((n1-1)/(n1-k)) ((n2-1)/(n2-k)))
        (b1, s1, n1, k), (b2, s2, n2, _) = per_level["KM"], per_level["KR"]
        ids = sorted(set(s1) | set(s2))
        meat = sum(np.outer(s1.get(g, np.zeros(k)), s2.get(g, np.zeros(k))) for g in ids)
        G = len(ids)
        c = G / (G - 1) * np.sqrt((n1 - 1) / (n1 - k) * (n2 - 1) / (n2 - k))
        cross.append({"formula": fname, "levels": ["KM", "KR"], "cov": (c * b1 @ meat @ b2.T).tolist()})
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "statsmodels_cluster_fits.json").write_text(json.dumps({"fits": fits, "cross": cross}, indent=1))
    print(f"cluster fixtures: {len(fits)} fits, {len(cross)} cross covariances, statsmodels {statsmodels.__version__}")


if __name__ == "__main__":
    main()
