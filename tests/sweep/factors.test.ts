// The family preset's factors vary for every bundled model: no two of its group sizes quantize a model's
// matrices the same way, and its calibration sizes run from fewer tokens than the widest row has columns
// (a rank-deficient Hessian) to many times more.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/model/config';
import { findPreset, gridPoints, quantizedWidths, sameGrouping } from '../../src/sweep/grid';

const index = JSON.parse(readFileSync('public/models/index.json', 'utf8')) as { models: { name: string }[] };
const family = findPreset('family');

describe('group sizes that change nothing', () => {
  it('are found: on a model 64 wide with a 128-wide MLP, G = 1024 is G = 128, and per-channel is too', () => {
    expect(quantizedWidths({ hidden: 64, heads: 4, headDim: 16, intermediate: 128 })).toEqual([64, 128]);
    expect(sameGrouping([32, 64, 128, 1024, -1], [64, 128])).toEqual([[1024, 128], [-1, 128]]);
    expect(sameGrouping([32, 64, 128, 1024], [256, 512])).toEqual([]);
  });
});

describe('the family preset', () => {
  for (const { name } of index.models) {
    it(`${name}: every G changes the quantized weights; C_b spans scarce to plentiful calibration`, () => {
      const cfg = parseConfig(JSON.parse(readFileSync(`public/models/${name}/config.json`, 'utf8')), `${name}/config.json`);
      const widths = quantizedWidths(cfg);
      expect(sameGrouping(family.grid.groups, widths)).toEqual([]);
      const tokens = family.grid.calib.map((c) => c * family.seqLen!);
      expect(Math.min(...tokens)).toBeLessThan(Math.max(...widths));
      expect(Math.max(...tokens)).toBeGreaterThanOrEqual(8 * Math.max(...widths));
    });
  }

  it('has one 8-bit configuration per model, and runs every item', () => {
    expect(gridPoints(family.grid).filter((p) => p.bits === 8)).toHaveLength(1);
    expect(family.limit).toBeNull();
  });
});
