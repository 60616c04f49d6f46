#!/usr/bin/env python3
"""The study's targets on a family sweep (stdlib only), as evidence_sweep.sh prints them into targets.txt:

    python3 tools/device/evidence_targets.py sweep.jsonl [fit.json]

1. Float accuracy of every level rises with N across each family's sizes (Acc_adj of the float baseline; General
   the mean of the levels, as src/eval/tasks.ts generalScore defines it).
2. 2-bit minus float at every level, tested across models: one difference per model (the mean over its 2-bit
   configurations minus its float baseline), so the test's unit is the model, as the cluster-robust fit's is;
   Student's t with (models - 1) degrees of freedom.
3. No two configurations of one model with identical results (same perplexity and accuracies): a factor that
   changed nothing.
4. From fit.json (quantlab fit --json): whether the main fit's beta (bits) excludes zero by the errors the
   verdicts use.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
from collections import defaultdict

LEVELS = ("KM", "KA", "KR")
# Student's t, two-sided 95% (0.975 quantile), dof 1..30; beyond, the normal's 1.96 is within 1%
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]


def t975(dof: int) -> float:
    return T975[dof - 1] if dof <= 30 else 1.96


def config_key(r: dict) -> tuple:
    # the identity columns of src/sweep/results.ts KEY_COLUMNS; the later ones as rows written before them read
    later = (r.get("damp"), r.get("static_groups", False), r.get("calib_text"), r.get("lm_head_bits", 16), r.get("lm_head_group_size", 0))
    return (r["model"], r["method"], r["bits"], r["group_size"], r["calib_size"], r["seqlen"], r["sym"], r["act_order"], r["mode"], r["seed"], *later)


def main() -> None:
    rows = [json.loads(x) for x in open(sys.argv[1]) if x.strip()]
    fit = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else None
    configs: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        configs[config_key(r)].append(r)

    def levels_of(rs: list[dict]) -> dict[str, float]:
        out = {}
        for lv in LEVELS:
            xs = [r["acc_adj"] for r in rs if r["level"] == lv and r["acc_adj"] is not None]
            if xs:
                out[lv] = sum(xs) / len(xs)
        if out:
            out["General"] = sum(out.values()) / len(out)
        return out

    models = {r["model"]: (r["family"], r["n_params"]) for r in rows}
    floats = {k[0]: levels_of(rs) for k, rs in configs.items() if k[1] == "fp"}
    ok_all = True
    print("1. Float Acc_adj by level, each family by N (rises with N?)")
    for fam in sorted({f for f, _ in models.values()}):
        ms = sorted((n, m) for m, (f, n) in models.items() if f == fam and m in floats)
        for lv in (*LEVELS, "General"):
            vals = [floats[m].get(lv, float("nan")) for _, m in ms]
            rises = all(b > a for a, b in zip(vals, vals[1:]))
            ok_all &= rises or lv == "General"
            print(f"   {fam:6} {lv:8} " + "  ".join(f"{v:7.4f}" for v in vals) + f"   {'rises' if rises else 'DOES NOT RISE'}")
    print("2. 2-bit minus float Acc_adj, one difference per model, t across models")
    for lv in (*LEVELS, "General"):
        diffs = []
        for m in sorted(models):
            two = [levels_of(rs).get(lv) for k, rs in configs.items() if k[0] == m and k[1] == "gptq" and k[2] == 2]
            two = [x for x in two if x is not None]
            if two and lv in floats.get(m, {}):
                diffs.append(sum(two) / len(two) - floats[m][lv])
        if len(diffs) < 2:
            print(f"   {lv:8} fewer than 2 models: not tested")
            ok_all = False
            continue
        mean, se = statistics.mean(diffs), statistics.stdev(diffs) / math.sqrt(len(diffs))
        lo, hi = mean - t975(len(diffs) - 1) * se, mean + t975(len(diffs) - 1) * se
        sig = hi < 0 or lo > 0
        ok_all &= sig
        print(f"   {lv:8} {mean:+.4f} ± {se:.4f}  95% CI [{lo:+.4f}, {hi:+.4f}]  {'significant' if sig else 'NOT SIGNIFICANT'} ({len(diffs)} models)")
    print("3. Configurations of one model with identical results (a factor that changed nothing)")
    seen: dict[tuple, tuple] = {}
    dups = 0
    for k, rs in configs.items():
        if k[1] == "fp" or not any(r["perplexity"] is not None for r in rs):
            continue
        sig = (k[0], tuple(sorted((r["task"], r["acc"], r["perplexity"]) for r in rs)))
        if sig in seen:
            dups += 1
            print(f"   {k[0]} {k[2]}-bit G={k[3]} C_b={k[4]} equals G={seen[sig][3]} C_b={seen[sig][4]}")
        else:
            seen[sig] = k
    ok_all &= dups == 0
    print(f"   {dups} found")
    if fit:
        print("4. The main fit's beta (bits), by the errors the verdicts use")
        fulls = [f for f in fit["fits"] if f["formula"] == "f(N,B,C_b,G)" and "beta" in f["coef"]]
        if not fulls:
            print("   no full fit with B: not tested")
            ok_all = False
        for f in fulls:
            c = (f["robust"] if f["inference"] == "cluster" and f.get("robust") else f["coef"])["beta"]
            ex = c["ci"][1] < 0 or c["ci"][0] > 0
            ok_all &= ex
            print(f"   {f['level']:8} beta {c['est']:+.4f}  95% CI [{c['ci'][0]:+.4f}, {c['ci'][1]:+.4f}] ({f['inference']})  {'excludes zero' if ex else 'INCLUDES ZERO'}")
        print(f"   {fit.get('inference', '')}")
    print("all targets met" if ok_all else "some targets not met: the README must say which, and why")


if __name__ == "__main__":
    main()
