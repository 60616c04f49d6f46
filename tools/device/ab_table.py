#!/usr/bin/env python3
"""GPU µs per (shape, M, contender) of several `quantlab bench --json` reports side by side (ab_bench.sh), in
the order given: one column per file, the ratio of the last file's time to the first's, the last file's share of
the read probe, and the checks."""
import json, os, sys

runs = [(os.path.basename(p).removesuffix('.json').removeprefix('ab-'), json.load(open(p))) for p in sys.argv[1:]]
rows = {}
for name, rep in runs:
    for r in rep.get('kernels', rep)['rows']:
        rows.setdefault((r['shape'], r['M'], r['contender']), {})[name] = r
names = [n for n, _ in runs]
first, last = names[0], names[-1]
print(f"{'shape':22} {'M':>3} {'contender':42} " + ' '.join(f'{n[-14:]:>14}' for n in names) + '   last/first  %probe(last)  check')
for (shape, M, c), by in rows.items():
    us = [by.get(n, {}).get('gpuMicros') for n in names]
    ratio = f"{us[-1] / us[0]:.3f}" if us[0] and us[-1] else '-'
    probe = f"{100 * by[last]['ofProbe']:.0f}%" if by.get(last, {}).get('ofProbe') else '-'
    cells = ' '.join(f'{x:14.2f}' if x else f"{'-':>14}" for x in us)
    print(f"{shape:22} {M:>3} {c:42} {cells}   {ratio:>10}  {probe:>12}  {','.join(sorted({by[n]['check'] for n in by}))}")
