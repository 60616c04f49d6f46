#!/usr/bin/env python3
"""GPU µs per (shape, contender) of several `quantlab bench --json` reports side by side (ab_bench.sh): one column
per file, the ratio of the last 'new' run to the last 'old' one, and each row's check."""
import json, sys, os

runs = [(os.path.basename(p).removesuffix('.json'), json.load(open(p))) for p in sys.argv[1:]]
rows = {}
for name, rep in runs:
    for r in rep.get('kernels', rep)['rows']:
        rows.setdefault((r['shape'], r['M'], r['contender']), {})[name] = r
names = [n for n, _ in runs]
old = [n for n in names if '-old-' in n]
new = [n for n in names if '-new-' in n]
print(f"{'shape':24} {'M':>3} {'contender':44} " + ' '.join(f'{n:>10}' for n in names) + '  new/old  %probe(new)  check')
for (shape, M, c), by in rows.items():
    us = [by[n]['gpuMicros'] if n in by and by[n]['gpuMicros'] else None for n in names]
    f = lambda x: f'{x:10.2f}' if x else f"{'-':>10}"
    ratio = '-'
    if old and new and by.get(old[-1], {}).get('gpuMicros') and by.get(new[-1], {}).get('gpuMicros'):
        ratio = f"{by[new[-1]]['gpuMicros'] / by[old[-1]]['gpuMicros']:.3f}"
    last = by.get(new[-1]) if new else None
    probe = f"{100 * last['ofProbe']:.0f}%" if last and last.get('ofProbe') else '-'
    checks = ','.join(sorted({by[n]['check'] for n in by}))
    print(f'{shape:24} {M:>3} {c:44} ' + ' '.join(f(x) for x in us) + f'  {ratio:>7}  {probe:>11}  {checks}')
