// The GPTQ fixtures written by tools/golden/goldens.py from the PyTorch reference.
import { fileSource } from '../../src/cli/files';
import { SafetensorsFile } from '../../src/model/safetensors';

export async function gptqFixture(name: string) {
  const st = await SafetensorsFile.open(fileSource(`tests/fixtures/gptq/${name}.safetensors`));
  const [rows, cols] = st.info('W').shape;
  const settings = JSON.parse(st.header.metadata.settings) as { bits: number; groupsize: number; sym: boolean; actorder: boolean; static_groups?: boolean }[];
  const results = JSON.parse(st.header.metadata.results) as { loss: number; damp: number }[];
  const cases = await Promise.all(settings.map(async (s, k) => ({
    settings: { bits: s.bits, groupSize: s.groupsize, sym: s.sym, actOrder: s.actorder, staticGroups: s.static_groups ?? false, percdamp: 0.01 },
    codes: (await st.decoded(`${k}.codes`)) as Uint8Array,
    scales: await st.f32(`${k}.scales`),
    zeros: await st.f32(`${k}.zeros`),
    gIdx: (await st.decoded(`${k}.g_idx`)) as Int32Array,
    perm: (await st.decoded(`${k}.perm`)) as Int32Array,
    ...results[k],
  })));
  return { rows, cols, W: await st.f32('W'), H: await st.f32('H'), cases };
}

export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

export function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1e-12, Math.abs(b[i])));
  return m;
}

