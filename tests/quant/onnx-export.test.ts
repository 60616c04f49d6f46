// The ONNX export against the lab: MatMulNBits' inputs hold the checkpoint's own weights (checked against the
// GPTQ definition on the CPU), and transformers.js, running the exported folder in Node on onnxruntime-web's
// WebGPU EP (Dawn, SwiftShader here), computes the lab's logits (1e-3 relative) and its greedy tokens: a float
// Qwen3 (q/k norms) through external data files, a GPTQ 4-bit act-order asymmetric Llama (llama3 rope
// scaling) with its LM head quantized at 8 bits, a slice of Qwen3-0.6B (its widths, one layer), a Qwen2 (qkv bias) at 8 bits per
// channel, a Phi-3 (fused qkv_proj / gate_up_proj) at 4 bits. Models the path does not cover are refused, nothing
// written.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirFiles } from '../../src/cli/files';
import { syntheticFiles } from '../../src/model/synthetic';
import { nodeTransformers, webgpuSessionOptions } from '../../src/cli/transformers-node';
import { nodeOrt } from '../../src/cli/ort-node';
import { Checkpoint } from '../../src/model/checkpoint';
import { parseGptqConfig } from '../../src/model/config';
import { encodeSafetensors, f32ToF16 } from '../../src/model/safetensors';
import { bytesSource, type ModelFiles } from '../../src/model/source';
import { TextTokenizer } from '../../src/model/tokenizer';
import { seededRandom } from '../../src/random';
import { corpusTokens, drawCalibration } from '../../src/quant/calibration';
import { type ExportedFile, exportQuantized } from '../../src/quant/export';
import { loadModel } from '../../src/quant/load';
import { decodeModel } from '../../src/quant/onnx/graph';
import { exportOnnx, onnxExportProblem, OnnxExportError } from '../../src/quant/onnx/export';
import { dequantNBits, toMatMulNBits } from '../../src/quant/onnx/matmulnbits';
import { quantizeModel, type QuantizeOptions } from '../../src/quant/quantize-model';
import { packBits } from '../../src/quant/reference';
import { memFiles, rtnExport, splicedExport } from '../helpers/exported';
import { maxRelErr, testGpu } from '../helpers/gpu';
import { scoreRowRef } from '../../src/model/reference';
import { tokenPerplexity } from '../../src/eval/perplexity';

const TMP = mkdtempSync(join(tmpdir(), 'ql-onnx-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));


function writeFolder(name: string, files: ExportedFile[]): string {
  const dir = join(TMP, name);
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.name)), { recursive: true });
    writeFileSync(join(dir, f.name), f.data);
  }
  return dir;
}

describe('MatMulNBits inputs from GPTQ tensors', () => {
  // W[n, k] = scale[g_idx[k], n] * (q[n, k] - zero[g_idx[k], n]), zero = stored (+1 in the "gptq" v1 format)
  for (const s of [
    { bits: 4, G: 32, K: 128, sym: false, actOrder: true, format: 'gptq_v2' as const },
    { bits: 2, G: 64, K: 128, sym: true, actOrder: false, format: 'gptq' as const },
    { bits: 8, G: -1, K: 96, sym: false, actOrder: false, format: 'gptq_v2' as const }, // block 32, scales repeated
    { bits: 4, G: 128, K: 256, sym: true, actOrder: true, format: 'gptq' as const }, // zero points left out
  ]) {
    it(`${s.bits}-bit G=${s.G} ${s.sym ? 'sym' : 'asym'}${s.actOrder ? ' act-order' : ''} ${s.format}`, () => {
      const N = 24, K = s.K, G = s.G === -1 ? K : s.G, nGroups = K / G, rnd = seededRandom(s.bits * 100 + G);
      const maxq = 2 ** s.bits - 1, off = s.format === 'gptq' ? 1 : 0;
      const codes = Array.from({ length: N * K }, () => Math.floor(rnd() * (maxq + 1)));
      const zeros = Array.from({ length: nGroups * N }, () => (s.sym ? 2 ** (s.bits - 1) : Math.floor(rnd() * (maxq + 1 - off)) + off));
      const scales = Uint16Array.from({ length: nGroups * N }, () => f32ToF16(0.001 + 0.01 * rnd()));
      // act-order: columns of a group scattered over K
      const perm = Array.from({ length: K }, (_, k) => k);
      if (s.actOrder) for (let i = K - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [perm[i], perm[j]] = [perm[j], perm[i]]; }
      const gIdx = Uint32Array.from({ length: K }, (_, k) => Math.floor(perm[k] / G));
      const qweight = new Uint32Array((K * s.bits / 32) * N);
      for (let n = 0; n < N; n++) {
        const words = packBits(codes.slice(n * K, (n + 1) * K), s.bits);
        words.forEach((w, i) => (qweight[i * N + n] = w));
      }
      const qzeros = new Uint32Array(nGroups * Math.ceil(N * s.bits / 32));
      for (let g = 0; g < nGroups; g++) qzeros.set(packBits(zeros.slice(g * N, (g + 1) * N).map((z) => z - off), s.bits), g * Math.ceil(N * s.bits / 32));
      const w = toMatMulNBits({ rows: N, cols: K, bits: s.bits, groupSize: s.G, format: s.format, qweight, qzeros, scales, gIdx: s.actOrder ? gIdx : null });
      expect(w.order !== null).toBe(s.actOrder);
      expect(w.zeroPoints === null).toBe(s.sym);
      expect(w.blockSize).toBe(s.G === -1 ? 32 : G);
      const got = dequantNBits(w);
      const f = new Float32Array(new Uint16Array(scales).length);
      for (let i = 0; i < f.length; i++) f[i] = halfToFloat(scales[i]);
      let maxErr = 0;
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const g = gIdx[k];
          maxErr = Math.max(maxErr, Math.abs(got[n * K + k] - f[g * N + n] * (codes[n * K + k] - zeros[g * N + n])));
        }
      }
      expect(maxErr).toBe(0);
    });
  }

  it('refuses a zero point the bits cannot hold (a v1 checkpoint storing the maximum)', () => {
    const qzeros = Uint32Array.of(0xffffffff);
    expect(() => toMatMulNBits({ rows: 8, cols: 32, bits: 4, groupSize: 32, format: 'gptq', qweight: new Uint32Array(32), qzeros, scales: new Uint16Array(8), gIdx: null })).toThrow(/zero point of 16 does not fit 4 bits/);
  });
});

/** IEEE half to float, written out: the reference does not reuse the code under test. */
function halfToFloat(h: number): number {
  const e = (h >> 10) & 31, m = h & 1023, sign = h & 0x8000 ? -1 : 1;
  return sign * (e === 0 ? m * 2 ** -24 : 2 ** (e - 15) * (1 + m / 1024));
}

describe('what the ONNX path does not cover is refused, nothing written', () => {
  it('3-bit weights and head sizes GroupQueryAttention does not take', async () => {
    const llama = await Checkpoint.open(dirFiles('public/models/llama-dict-74k'));
    expect(onnxExportProblem({ ...llama.config, gptq: parseGptqConfig({ bits: 3, group_size: 128 }) })).toMatch(/3-bit weights: .*takes 2, 4, 8 bits/);
    expect(onnxExportProblem(llama.config)).toBeNull();
    const tiny = await Checkpoint.open(dirFiles('tests/fixtures/tiny/llama')); // head_dim 8
    await expect(exportOnnx(tiny)).rejects.toThrow(OnnxExportError);
    await expect(exportOnnx(tiny)).rejects.toThrow(/head_dim 8: .*multiples of 16\. Nothing was written/);
  });

  it('the CLI writes nothing for a refused model or a folder in the way, and a whole folder otherwise', () => {
    const cli = (...a: string[]) => spawnSync(process.execPath, ['bin/quantlab.mjs', 'export', ...a], { encoding: 'utf8' });
    const out = join(TMP, 'cli-out');
    const refused = cli('--model', 'tests/fixtures/tiny/llama', '--format', 'onnx', '--out', out);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/head_dim 8/);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(TMP).filter((f) => f.includes('partial'))).toEqual([]);
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'mine');
    const inTheWay = cli('--model', 'qwen3-dict-74k', '--format', 'onnx', '--out', out);
    expect(inTheWay.status).toBe(2);
    expect(inTheWay.stderr).toMatch(/exists and is not empty/);
    expect(readdirSync(out)).toEqual(['keep.txt']);
    expect(cli('--model', 'qwen3-dict-74k', '--format', 'gguf', '--out', out).stderr).toMatch(/--format: "gguf" is not one of onnx/);
    const fresh = join(TMP, 'cli-fresh');
    const res = JSON.parse(execFileSync(process.execPath, ['bin/quantlab.mjs', 'export', '--model', 'qwen3-dict-74k', '--format', 'onnx', '--out', fresh], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
    expect(res.dtype).toBe('fp32');
    expect(readdirSync(fresh).sort()).toEqual(['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect(readdirSync(join(fresh, 'onnx'))).toEqual(['model.onnx']);
  });
});

/** A random Qwen2 checkpoint (qkv biases) with head_dim 16, in memory: the lab's own forward pass is the reference. */
function randomQwen2(): ModelFiles {
  const c = { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, vocab_size: 320, max_position_embeddings: 128, rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: false, eos_token_id: 0, hidden_act: 'silu' };
  const rnd = seededRandom(7);
  const t = (name: string, shape: number[], scale: number, base = 0) => ({ name, dtype: 'F32' as const, shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => base + scale * (2 * rnd() - 1)) });
  const d = 64, kv = 32, I = 96;
  const tensors = [t('model.embed_tokens.weight', [320, d], 1), t('lm_head.weight', [320, d], 0.2), t('model.norm.weight', [d], 0.2, 1)];
  for (let l = 0; l < 2; l++) {
    const p = `model.layers.${l}.`;
    tensors.push(t(`${p}input_layernorm.weight`, [d], 0.2, 1), t(`${p}post_attention_layernorm.weight`, [d], 0.2, 1),
      t(`${p}self_attn.q_proj.weight`, [d, d], 0.2), t(`${p}self_attn.q_proj.bias`, [d], 0.5), t(`${p}self_attn.k_proj.weight`, [kv, d], 0.2), t(`${p}self_attn.k_proj.bias`, [kv], 0.5),
      t(`${p}self_attn.v_proj.weight`, [kv, d], 0.2), t(`${p}self_attn.v_proj.bias`, [kv], 0.5), t(`${p}self_attn.o_proj.weight`, [d, d], 0.2),
      t(`${p}mlp.gate_proj.weight`, [I, d], 0.2), t(`${p}mlp.up_proj.weight`, [I, d], 0.2), t(`${p}mlp.down_proj.weight`, [d, I], 0.2));
  }
  const files = new Map([['config.json', new TextEncoder().encode(JSON.stringify(c))], ['model.safetensors', encodeSafetensors(tensors)]]);
  return { id: 'random-qwen2', has: (p) => files.has(p), list: () => [...files.keys()], open: async (p) => bytesSource(p, files.get(p)!) };
}

/** Token perplexity over the first `windows` windows of S tokens, from each window's logits [S, vocab]. */
async function windowsPerplexity(text: number[], S: number, windows: number, logitsOf: (win: number[]) => Promise<Float32Array>): Promise<number> {
  let nll = 0, n = 0;
  for (let w = 0; w < windows; w++) {
    const win = text.slice(w * S, (w + 1) * S);
    const logits = await logitsOf(win);
    const V = logits.length / S;
    for (let i = 0; i < S - 1; i++) (nll -= scoreRowRef(logits.subarray(i * V, (i + 1) * V), win[i + 1]).logprob), n++;
  }
  return Math.exp(nll / n);
}

/** The same through onnxruntime-web's CPU (wasm) EP on the exported model file, its KV cache inputs empty. */
async function cpuPerplexity(ex: { files: ExportedFile[]; modelFile: string }, ckpt: Checkpoint, text: number[], S: number, windows: number): Promise<number> {
  const { ort } = await nodeOrt();
  const external = ex.files.filter((f) => f.name.startsWith(`${ex.modelFile}_data`)).map((f) => ({ path: f.name.slice('onnx/'.length), data: f.data }));
  const sess = await ort.InferenceSession.create(ex.files.find((f) => f.name === ex.modelFile)!.data, { executionProviders: ['wasm'], ...(external.length ? { externalData: external } : {}) });
  const c = ckpt.config;
  try {
    return await windowsPerplexity(text, S, windows, async (win) => {
      const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const name of sess.inputNames) {
        if (name === 'input_ids') feeds[name] = new ort.Tensor('int64', BigInt64Array.from(win.map(BigInt)), [1, win.length]);
        else if (name === 'attention_mask') feeds[name] = new ort.Tensor('int64', new BigInt64Array(win.length).fill(1n), [1, win.length]);
        else if (name === 'num_logits_to_keep') feeds[name] = new ort.Tensor('int64', BigInt64Array.from([0n]), []);
        else if (name.startsWith('past_key_values.')) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [1, c.kvHeads, 0, c.headDim]);
        else throw new Error(`the exported model asks for an input the test does not feed: ${name}`);
      }
      return (await sess.run(feeds)).logits.data as Float32Array;
    });
  } finally {
    await sess.release();
  }
}

describe('transformers.js runs the exported folder as the lab runs the checkpoint', () => {
  const PROMPT = [0, 17, 250, 42, 99, 5, 120, 7, 64, 3];
  const NEW = 8;

  /**
   * The exported folder through transformers.js: logits of PROMPT and `newTokens` greedy tokens after it, against
   * the lab's. With `ppl`: token perplexity on WikiText-2 windows (the lab's tokenizer and windows, from the first
   * 60 KB of the text) equal to the lab's to 1e-3, through transformers.js (WebGPU EP) at `seq` tokens a window and
   * through onnxruntime-web's CPU EP at `cpuSeq`: onnxruntime-web 1.30's WebGPU attention on SwiftShader (subgroups
   * of 4) goes wrong past the 4th position of prompts of 32 tokens or more, where its CPU EP on the same file
   * agrees with the lab to 1e-6 (docs/onnx.md).
   */
  async function compare(name: string, ckpt: Checkpoint, opts: Parameters<typeof exportOnnx>[1] = {}, newTokens = NEW, ppl?: { windows: number; seq: number; cpuSeq: number }) {
    const gpu = await testGpu();
    const ex = await exportOnnx(ckpt, opts);
    const dir = writeFolder(name, ex.files);
    const t = await nodeTransformers(TMP);
    const model = await t.AutoModelForCausalLM.from_pretrained(name, { device: 'auto', session_options: webgpuSessionOptions(ckpt.config.layers) } as never);
    const ids = new t.Tensor('int64', BigInt64Array.from(PROMPT.map(BigInt)), [1, PROMPT.length]);
    const mask = new t.Tensor('int64', new BigInt64Array(PROMPT.length).fill(1n), [1, PROMPT.length]);
    const { logits } = await (model as unknown as (x: object) => Promise<{ logits: { data: Float32Array; dims: number[] } }>)({ input_ids: ids, attention_mask: mask });
    const gen = (await model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: newTokens, eos_token_id: [], do_sample: false } as never)) as unknown as { tolist(): bigint[][] };
    let text: number[] = [];
    const runtimePpl = new Map<number, number>(); // window length -> perplexity through onnxruntime-web
    if (ppl) {
      const tok = await TextTokenizer.load(ckpt.files, ckpt.config);
      text = Array.from(tok.encodeDocument(readFileSync('public/data/wikitext2_test.txt', 'utf8').slice(0, 60_000)));
      const S = Math.min(ppl.seq, ckpt.config.maxPosition);
      runtimePpl.set(S, await windowsPerplexity(text, S, ppl.windows, async (win) => {
        const out = await (model as unknown as (x: object) => Promise<{ logits: { data: Float32Array } }>)({
          input_ids: new t.Tensor('int64', BigInt64Array.from(win.map(BigInt)), [1, win.length]),
          attention_mask: new t.Tensor('int64', new BigInt64Array(win.length).fill(1n), [1, win.length]),
        });
        return out.logits.data;
      }));
      const cpuS = Math.min(ppl.cpuSeq, ckpt.config.maxPosition);
      runtimePpl.set(cpuS, await cpuPerplexity(ex, ckpt, text, cpuS, ppl.windows));
    }
    await model.dispose();
    const lab = (await loadModel(gpu, ckpt)).model;
    const [ref] = await lab.logits([PROMPT]);
    const tokens = await lab.generate(PROMPT, newTokens, { eos: [] });
    for (const [S, got] of runtimePpl) {
      const labPpl = (await tokenPerplexity(lab, text, S, { maxWindows: ppl!.windows })).ppl;
      expect(Number.isFinite(labPpl) && labPpl > 1).toBe(true);
      expect(Math.abs(got - labPpl) / labPpl, `perplexity @ ${S}: onnxruntime-web ${got}, lab ${labPpl}`).toBeLessThan(1e-3);
    }
    lab.destroy();
    expect(logits.dims).toEqual([1, PROMPT.length, ckpt.config.vocab]);
    expect(maxRelErr(logits.data, ref)).toBeLessThan(1e-3);
    expect(gen.tolist()[0].slice(PROMPT.length).map(Number)).toEqual(tokens);
    return { ex, dir };
  }

  it('a float Qwen3 (q/k norms), its weights in external data files', async () => {
    const ckpt = await Checkpoint.open(dirFiles('public/models/qwen3-dict-74k'));
    const { ex, dir } = await compare('qwen3-float', ckpt, { externalAbove: 0, chunkBytes: 400_000 });
    expect(ex.modelFile).toBe('onnx/model.onnx');
    // transformers.js's chunk names: <file>_data, <file>_data_1, ...; their count in config.json
    const data = readdirSync(join(dir, 'onnx')).filter((f) => f !== 'model.onnx');
    expect(data.length).toBeGreaterThan(1);
    expect(data.sort()).toEqual(data.map((_, i) => `model.onnx_data${i ? `_${i}` : ''}`).sort());
    expect(statSync(join(dir, 'onnx', 'model.onnx')).size).toBeLessThan(20_000);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    expect(config['transformers.js_config']).toEqual({ dtype: 'fp32', use_external_data_format: { 'model.onnx': data.length } });
  });

  it('a GPTQ 4-bit act-order asymmetric Llama with llama3 rope scaling, its LM head quantized too (8-bit G=32, GPTQModel lm_head)', async () => {
    const gpu = await testGpu();
    const src = await Checkpoint.open(dirFiles('public/models/llama-dict-74k'));
    expect(src.config.rope.type).toBe('llama3');
    const tok = await TextTokenizer.load(src.files, src.config);
    const fp = (await loadModel(gpu, src)).model;
    const calib = drawCalibration(corpusTokens(tok, readFileSync('public/data/calib_dict.txt', 'utf8').slice(0, 50_000)), 4, 64, 3, tok.prefix);
    const opts: QuantizeOptions = { method: 'gptq', bits: 4, groupSize: 32, sym: false, actOrder: true, mode: 'shared', reconError: false, lmHead: { bits: 8, groupSize: 32, sym: true } };
    const q = await quantizeModel(fp, calib, opts);
    const gptq = await Checkpoint.open(memFiles('llama-gptq', await exportQuantized(gpu, src, q.model, opts)));
    q.model.destroy();
    fp.destroy();
    const { ex } = await compare('llama-q4', gptq, {}, NEW, { windows: 2, seq: 24, cpuSeq: 128 });
    expect(ex.modelFile).toBe('onnx/model_q4.onnx');
    // the act-order layers read their input through a Gather; the zero points are carried; the head is one more
    // MatMulNBits, 8 bits, in the checkpoint's order, its symmetric zeros left out
    const graph = decodeModel(ex.files.find((f) => f.name === ex.modelFile)!.data).graph!;
    const nbits = graph.node!.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits).toHaveLength(7 * gptq.config.layers + 1);
    const head = nbits.find((n) => n.input!.some((i) => i.startsWith('lm_head.')))!;
    expect(Number(head.attribute!.find((a) => a.name === 'bits')!.i)).toBe(8);
    expect(head.input).toHaveLength(3);
    expect(nbits.filter((n) => n !== head).every((n) => n.input!.length === 4)).toBe(true);
    expect(graph.node!.filter((n) => n.opType === 'Gather' && n.input![1]?.endsWith('.input_order'))).toHaveLength(7 * gptq.config.layers);
  });

  // a real model's widths, head size (128) and head counts, one layer and a small vocabulary (quantlab synth),
  // RTN 4-bit G=128 symmetric. Two new tokens only: at these widths SwiftShader takes minutes per ten tokens (the
  // full shapes run in tools/device/onnx_race.sh, on the GPU)
  for (const shape of ['qwen3-0.6b']) {
    it(`a slice of ${shape} (4-bit G=128, symmetric: no zero points)`, { timeout: 600_000 }, async () => {
      const gpu = await testGpu();
      const src = await Checkpoint.open(syntheticFiles({ shape, layers: 1, vocab: 512 }, `${shape}-slice`));
      expect(src.config.headDim).toBe(128);
      const fp = (await loadModel(gpu, src)).model;
      const opts: QuantizeOptions = { method: 'rtn', bits: 4, groupSize: 128, sym: true, actOrder: false, mode: 'shared', reconError: false };
      const q = await quantizeModel(fp, null, opts);
      const ckpt = await Checkpoint.open(memFiles(`${shape}-q4`, await exportQuantized(gpu, src, q.model, { ...opts, format: 'gptq' })));
      q.model.destroy();
      fp.destroy();
      const { ex } = await compare(`${shape}-slice`, ckpt, {}, 2);
      const graph = decodeModel(ex.files.find((f) => f.name === ex.modelFile)!.data).graph!;
      expect(graph.node!.filter((n) => n.opType === 'MatMulNBits').every((n) => n.input!.length === 3)).toBe(true);
    });
  }

  it('a Qwen2 with qkv biases at 8 bits per channel (RTN)', async () => {
    const gpu = await testGpu();
    const src = await Checkpoint.open(randomQwen2());
    const fp = (await loadModel(gpu, src)).model;
    const opts: QuantizeOptions = { method: 'rtn', bits: 8, groupSize: -1, sym: true, actOrder: false, mode: 'shared', reconError: false };
    const q = await quantizeModel(fp, null, opts);
    const gptq = await Checkpoint.open(memFiles('qwen2-q8', await exportQuantized(gpu, src, q.model, opts)));
    q.model.destroy();
    fp.destroy();
    const { ex } = await compare('qwen2-q8', gptq);
    expect(ex.modelFile).toBe('onnx/model_quantized.onnx');
    expect(ex.dtype).toBe('q8');
  });

  it('a Phi-3 (fused qkv_proj and gate_up_proj, exported fused) at 4 bits', async () => {
    const gpu = await testGpu();
    const src = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3'));
    const fp = (await loadModel(gpu, src)).model;
    const opts: QuantizeOptions = { method: 'gptq', bits: 4, groupSize: 32, sym: true, actOrder: true, mode: 'shared', reconError: false };
    const tokens = Int32Array.from({ length: 4 * 32 }, (_, i) => (i * 73 + 11) % src.config.vocab);
    const q = await quantizeModel(fp, { tokens, count: 4, seqLen: 32, seed: 0 }, opts);
    const gptq = await Checkpoint.open(memFiles('phi3-q4', await exportQuantized(gpu, src, q.model, opts)));
    q.model.destroy();
    fp.destroy();
    expect(gptq.tensorNames()).toContain('model.layers.0.self_attn.qkv_proj.qweight');
    const { ex } = await compare('phi3-q4', gptq);
    expect(ex.dtype).toBe('q4');
  });

  it('a Phi-3 whose `dynamic` gives one fused module 8 bits beside 4-bit layers (GPTQModel per-module settings)', async () => {
    const gpu = await testGpu();
    const src = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3'));
    const fp = (await loadModel(gpu, src)).model;
    const files = await splicedExport(await rtnExport(gpu, fp, src, 4), await rtnExport(gpu, fp, src, 8), (t) => t.startsWith('model.layers.1.mlp.gate_up_proj.'), { '+:.*\\.1\\.mlp\\.gate_up_proj': { bits: 8 } });
    fp.destroy();
    const { ex } = await compare('phi3-mixed', await Checkpoint.open(memFiles('phi3-mixed', files)));
    const graph = decodeModel(ex.files.find((f) => f.name === ex.modelFile)!.data).graph!;
    const bits = graph.node!.filter((n) => n.opType === 'MatMulNBits').map((n) => n.attribute!.find((a) => a.name === 'bits')!.i);
    expect(bits.filter((b) => Number(b) === 8)).toHaveLength(2); // layer 1's gate and up
  });

  it('refuses a longrope model whose context passes original_max_position_embeddings', async () => {
    const longrope = await Checkpoint.open(dirFiles('tests/fixtures/tiny/phi3-longrope'));
    await expect(exportOnnx(longrope)).rejects.toThrow(/longrope switches its rotary tables past 32 tokens.*Nothing was written/);
  });
});
