// The float64 CPU reference of GPTQ against the PyTorch reference (fp32) on real layers of the trained
// family: it must agree on the codes (>= 99%), scales and zeros, so that it can stand in for PyTorch as the
// reference of each WGSL kernel.
import { describe, expect, it } from 'vitest';
import { gptqRef } from '../../src/quant/reference';
import { agreement, gptqFixture, maxRel } from '../helpers/gptq';

describe('GPTQ float64 reference vs the PyTorch reference', () => {
  for (const name of ['down_proj', 'q_proj_dead']) {
    it(name, async () => {
      const f = await gptqFixture(name);
      for (const c of f.cases) {
        const r = gptqRef(f.W, f.H, f.rows, f.cols, c.settings)!;
        const tag = JSON.stringify(c.settings);
        expect(Array.from(r.perm), tag).toEqual(Array.from(c.perm));
        expect(Array.from(r.gIdx), tag).toEqual(Array.from(c.gIdx));
        const agree = agreement(r.codes, c.codes);
        if (process.env.SHOW) console.log(name, tag, 'codes', agree, 'scales', maxRel(r.scales, c.scales), 'loss', r.loss, c.loss);
        expect(agree, tag).toBeGreaterThanOrEqual(0.99);
        expect(Math.abs(r.loss - c.loss) / c.loss, tag).toBeLessThan(0.01);
      }
    });
  }
});
