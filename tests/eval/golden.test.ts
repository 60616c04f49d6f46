// The scorers on the WGSL forward pass against Hugging Face transformers (tools/golden/goldens.py, run on the
// GPU machine): per-item log-likelihoods, greedy flags, cloze ranks, greedy generations, perplexity sums. The
// items they were computed on are pinned beside them (qwen3-dict-74k.items.json), so rebuilding the task files
// leaves these goldens valid.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { generateUntil, loglikelihoods, requestTokens } from '../../src/eval/loglik';
import { multipleChoice } from '../../src/eval/metrics';
import { tokenPerplexity } from '../../src/eval/perplexity';
import { Checkpoint } from '../../src/model/checkpoint';
import { TextTokenizer } from '../../src/model/tokenizer';
import type { Transformer } from '../../src/model/transformer';
import { loadModel } from '../../src/quant/load';
import { testGpu } from '../helpers/gpu';

const golden = JSON.parse(readFileSync('tests/fixtures/eval/qwen3-dict-74k.json', 'utf8'));
type Row = Record<string, any>; // raw task rows of several shapes
const inputs = JSON.parse(readFileSync('tests/fixtures/eval/qwen3-dict-74k.items.json', 'utf8')) as Record<string, Row[]>;
const rows = (task: string, n: number): Row[] => inputs[task].slice(0, n);
let model: Transformer, tok: TextTokenizer;

beforeAll(async () => {
  const ckpt = await Checkpoint.open(dirFiles('public/models/qwen3-dict-74k'));
  tok = await TextTokenizer.load(ckpt.files, ckpt.config);
  model = (await loadModel(await testGpu(), ckpt)).model;
});

describe('scorers vs transformers on qwen3-dict-74k', () => {
  it('multiple choice: per-choice log-likelihoods, greedy flags, token counts, acc and acc_norm', async () => {
    const items = rows('dict_define_mc', golden.dict_define_mc.length);
    const reqs = items.flatMap((it) => it.choices.map((c: string) => ({ context: it.context, continuation: ` ${c}` })));
    const ll = await loglikelihoods(model, tok, reqs);
    let r = 0;
    items.forEach((it, i) => {
      const g = golden.dict_define_mc[i];
      const mine = ll.slice(r, r + it.choices.length);
      r += it.choices.length;
      mine.forEach((x, j) => {
        expect(Math.abs(x.loglik - g.loglik[j]), `${it.id} choice ${j}`).toBeLessThan(1e-3);
        expect(x.isGreedy).toBe(g.is_greedy[j]);
        expect(x.tokens).toBe(g.n_tokens[j]);
      });
      const m = multipleChoice(mine.map((x) => x.loglik), it.choices, it.gold);
      expect(m.acc).toBe(g.acc);
      expect(m.acc_norm).toBe(g.acc_norm);
    });
  });

  it('cloze: the object token\'s rank and log-probability', async () => {
    const byId = new Map(rows('dict_kindof_cloze', 80).map((it) => [it.id, it]));
    for (const g of golden.dict_kindof_cloze) {
      const it = byId.get(g.id)!;
      const { input, cont } = requestTokens(tok, { context: it.prompt, continuation: ` ${it.target}` }, 256);
      expect(cont).toEqual([g.target_id]);
      const [s] = await model.score(Int32Array.from(input), { batch: 1, seq: input.length, past: 0 }, Uint32Array.of(input.length - 1), Uint32Array.of(cont[0]));
      expect(s.rank).toBe(g.rank);
      expect(Math.abs(s.logprob - g.logprob)).toBeLessThan(1e-3);
    }
  });

  // One step per read (CPU adapters' default) and steps chained on the GPU in chunks of 1, 2, 3, 3 (the
  // argmax of one step copied into the next one's input; steps past the stop dropped)
  it.each([1, 3])('greedy generation stops where transformers stops, with the same tokens (%i steps per read)', async (stepsPerRead) => {
    const items = rows('dict_kindof_em', golden.dict_kindof_em.length);
    for (const [i, it] of items.entries()) {
      const { tokens } = await generateUntil(model, tok, it.prompt, ['.', '\n'], 8, { stepsPerRead });
      expect(tokens, it.id).toEqual(golden.dict_kindof_em[i].tokens);
    }
  });

  it('token perplexity: the summed NLL of 4 windows of 256', async () => {
    const ids = tok.encodeDocument(readFileSync('public/data/heldout_dict.txt', 'utf8'));
    const g = golden.ppl_heldout_dict;
    expect(ids.length).toBe(g.total_tokens_in_text);
    const r = await tokenPerplexity(model, ids, g.seqlen, { maxWindows: g.windows });
    expect(r.tokens).toBe(g.tokens);
    expect(Math.abs(r.nll - g.nll_sum) / g.nll_sum).toBeLessThan(1e-4);
  });
});
