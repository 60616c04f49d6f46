// The forward pass of the decoders of src/model/architectures.ts in WGSL dispatches, top to bottom:
//   embed -> per layer [rmsnorm -> q,k,v -> (q/k norm) -> rope -> attention -> o (+residual)
//                       -> rmsnorm -> gate, up -> swiglu -> down (+residual)] -> final norm -> LM head
// Activations stay on the GPU in f32; a pass covers `batch` sequences of `seq` tokens (rows = batch * seq).

import type { Binding, CommandBatch, FrozenStep, Gpu } from '../gpu/gpu';
import { throwIfAborted } from '../errors';
import type { OnProgress } from '../progress';
import { progressTracker } from '../progress';
import { architecture, hasBias, LINEAR_NAMES, type LinearName, linearDims } from './architectures';
import type { Checkpoint } from './checkpoint';
import type { ModelConfig } from './config';
import { DenseLinear, type Linear } from './linear';
import { argmaxLogits, attention, attentionRopeDecode, decodeScores, gatherRows, rmsnorm, rope, ropeIntoCache, type RopeTable, type RowScore, scoreLogits, swiglu } from './ops';
import { ropeTables, usesLongFactors } from './rope';
import { uploadWeight, type WeightFormat } from './weights';

export { HF_LINEAR, LINEAR_NAMES, type LinearName } from './architectures';

export interface LayerWeights {
  inputNorm: GPUBuffer;
  postNorm: GPUBuffer;
  qNorm?: GPUBuffer;
  kNorm?: GPUBuffer;
  /** [q norm | k norm] in one buffer: the decode attention that norms and rotates q and k itself binds it once. */
  qkNorm?: GPUBuffer;
  linears: Record<LinearName, Linear>;
}

/** Passes of at least this many rows (batch x seq) are sent to the GPU a layer at a time (bodyFrom). */
const FLUSH_ROWS = 32;
/** A layer's vector buffers (norm weights), the ones a quantized copy shares. */
const layerVectors = (l: LayerWeights): GPUBuffer[] => [l.inputNorm, l.postNorm, l.qNorm, l.kNorm, l.qkNorm].filter((b): b is GPUBuffer => b !== undefined);

/** Activation buffers for one pass of `rows` rows. */
export interface Activations {
  rows: number;
  x: GPUBuffer; // residual stream [rows, d]
  h: GPUBuffer; // normed input of a block [rows, d]
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
  attn: GPUBuffer;
  gate: GPUBuffer;
  up: GPUBuffer;
}

export interface PassShape {
  batch: number;
  seq: number;
  /** Position of the first token of each sequence (KV-cache decoding). */
  past: number;
}

/** Per-layer K/V cache: [batch, maxLen, kvHeads * headDim] each. */
export interface KVCache {
  batch: number;
  maxLen: number;
  k: GPUBuffer[];
  v: GPUBuffer[];
}

/** Hooks into a layer's recording, to read the input of each group of linear layers (GPTQ calibration). */
export interface LayerTaps {
  qkvIn?(b: CommandBatch, x: GPUBuffer, rows: number): void;
  oIn?(b: CommandBatch, x: GPUBuffer, rows: number): void;
  gateUpIn?(b: CommandBatch, x: GPUBuffer, rows: number): void;
  downIn?(b: CommandBatch, x: GPUBuffer, rows: number): void;
}

/** How a load stores float weights, and what it had to decide on the way (shown to the user). */
export interface LoadContext {
  weights: WeightFormat;
  notes: string[];
}

/** The taps in the order a layer passes them. */
export const TAP_ORDER: (keyof LayerTaps)[] = ['qkvIn', 'oIn', 'gateUpIn', 'downIn'];

/** Builds one linear layer from a checkpoint: dense here; GPTQ-packed in src/quant/load.ts. */
export type LinearLoader = (gpu: Gpu, ckpt: Checkpoint, base: string, out: number, inFeatures: number, bias: boolean, ctx: LoadContext) => Promise<Linear>;

export const denseLinearLoader: LinearLoader = async (gpu, ckpt, base, out, inFeatures, bias, ctx) => {
  const b = bias ? (await uploadWeight(gpu, ckpt, `${base}.bias`, [out], 'f32')).buffer : undefined;
  const w = await uploadWeight(gpu, ckpt, `${base}.weight`, [out, inFeatures], ctx.weights);
  if (w.note) ctx.notes.push(w.note);
  return new DenseLinear(gpu, w.buffer, out, inFeatures, b, w.f16);
};

export class Transformer {
  private act: Activations | null = null;
  /** Per-pass uploads (token ids, row indices), freed once the pass has been read back. */
  private scratch: GPUBuffer[] = [];
  private rope: RopeTable;
  /** Whether the rope table holds longrope's long factors (src/model/rope.ts usesLongFactors). */
  private ropeLong = false;
  /** Set while a generation's steps are recorded: the table may grow but not change its factors. */
  private ropePinned = false;

  constructor(
    readonly gpu: Gpu,
    readonly config: ModelConfig,
    readonly embedTokens: GPUBuffer,
    lmHead: Linear,
    readonly finalNorm: GPUBuffer,
    readonly layers: LayerWeights[],
    /** Whether the embedding is stored in f16 (src/model/weights.ts). */
    readonly embedF16 = false,
  ) {
    this.headLinear = lmHead;
    this.rope = { buffer: gpu.empty, positions: 0 };
    this.ensureRope(Math.min(config.maxPosition, 512));
  }

  /** Buffers shared with the model this one was derived from (not destroyed with it). */
  private shared = new Set<GPUBuffer>();
  /** Whether the LM head is the one of the model this one was derived from. */
  private sharedHead = false;
  private headLinear: Linear;

  /** The LM head: the embedding's matrix where tied, its own float matrix, or packed (GPTQModel's lm_head). */
  get lmHead(): Linear {
    return this.headLinear;
  }

  /** Gives a derived model its own LM head (a quantized one), destroyed with it. */
  setLmHead(head: Linear): void {
    if (!this.sharedHead) throw new Error('setLmHead: only a derived model that shares its source\'s head can take its own');
    this.headLinear = head;
    this.sharedHead = false;
  }

  static async load(
    gpu: Gpu,
    ckpt: Checkpoint,
    opts: { onProgress?: OnProgress; signal?: AbortSignal; linearLoader?: LinearLoader; weights?: WeightFormat; notes?: string[] } = {},
  ): Promise<Transformer> {
    const c = ckpt.config, N = architecture(c.arch).names;
    if (c.gptq && !opts.linearLoader) throw new Error('A GPTQ checkpoint: load it with loadModel() from src/quant/load.ts');
    const d = c.hidden;
    const ctx: LoadContext = { weights: opts.weights ?? 'auto', notes: opts.notes ?? [] };
    const tick = progressTracker(`load ${ckpt.id}`, c.layers + 2, opts.onProgress, 'layers');
    // small vectors (norms, biases) stay f32
    const upload = async (name: string, shape: number[]) => (await uploadWeight(gpu, ckpt, name, shape, 'f32')).buffer;
    const uploadMatrix = async (name: string, shape: number[], rowMultiple: number) => {
      const w = await uploadWeight(gpu, ckpt, name, shape, ctx.weights, rowMultiple);
      if (w.note) ctx.notes.push(w.note);
      return w;
    };
    tick(0);
    // the embedding's rows are gathered (f16: whole pairs); the LM head is a linear layer (rows of quads)
    const embed = await uploadMatrix(N.embed, [c.vocab, d], c.tied ? 4 : 2);
    const dense = (w: { buffer: GPUBuffer; f16: boolean }) => new DenseLinear(gpu, w.buffer, c.vocab, d, undefined, w.f16);
    let head: Linear = dense(embed);
    // GPTQModel's quantized LM head (lm_head.qweight ...: quant/load.ts), or an untied float one
    if (!c.tied && opts.linearLoader && ckpt.has(`${N.lmHead}.qweight`)) head = await opts.linearLoader(gpu, ckpt, N.lmHead, c.vocab, d, false, ctx);
    else if (!c.tied && ckpt.has(`${N.lmHead}.weight`)) head = dense(await uploadMatrix(`${N.lmHead}.weight`, [c.vocab, d], 4));
    const finalNorm = await upload(N.finalNorm, [d]);
    tick(1);
    const dims = linearDims(c);
    const biases = { qkv: c.qkvBias, o: c.oBias, mlp: c.mlpBias };
    const layers: LayerWeights[] = [];
    for (let l = 0; l < c.layers; l++) {
      throwIfAborted(opts.signal, 'loading');
      const p = N.layerPrefix(l);
      const linears = {} as Record<LinearName, Linear>;
      for (const n of LINEAR_NAMES) {
        const [out, inn] = dims[n];
        // fused stored tensors arrive split: the checkpoint presents their parts under these names
        linears[n] = await (opts.linearLoader ?? denseLinearLoader)(gpu, ckpt, p + N.linear[n], out, inn, hasBias(biases, n), ctx);
      }
      const qNorm = c.qkNorm ? await upload(p + N.qNorm, [c.headDim]) : undefined;
      const kNorm = c.qkNorm ? await upload(p + N.kNorm, [c.headDim]) : undefined;
      let qkNorm: GPUBuffer | undefined;
      if (qNorm && kNorm) {
        qkNorm = gpu.buffer(8 * c.headDim, `${p}qk_norm`);
        gpu.batch('qk norms').copy(qNorm, 0, qkNorm, 0, 4 * c.headDim).copy(kNorm, 0, qkNorm, 4 * c.headDim, 4 * c.headDim).submit();
      }
      layers.push({ inputNorm: await upload(p + N.inputNorm, [d]), postNorm: await upload(p + N.postNorm, [d]), qNorm, kNorm, qkNorm, linears });
      tick(l + 2, `layer ${l + 1}/${c.layers}`);
    }
    await gpu.flush();
    return new Transformer(gpu, c, embed.buffer, head, finalNorm, layers, embed.f16);
  }

  /** A model with the same embeddings and norms but other linear layers (a quantized copy), and its own LM head if given. */
  derive(linears: Record<LinearName, Linear>[], lmHead?: Linear): Transformer {
    const layers = this.layers.map((l, i) => ({ ...l, linears: linears[i] }));
    const m = new Transformer(this.gpu, this.config, this.embedTokens, lmHead ?? this.lmHead, this.finalNorm, layers, this.embedF16);
    for (const b of [this.embedTokens, this.finalNorm]) m.shared.add(b);
    if (!lmHead) m.sharedHead = true;
    for (const l of this.layers) for (const b of layerVectors(l)) m.shared.add(b);
    return m;
  }

  /**
   * A rope table of at least `positions` positions. longrope's factors follow the sequence's length as in
   * transformers (long past original_max_position_embeddings, for every position), except while a generation
   * is recorded, whose table is chosen for its whole length up front. `length`: the longest sequence the pass
   * feeds, which picks the factors (a generation's cache has one position more than it feeds).
   */
  private ensureRope(positions: number, length = positions): void {
    const wantLong = usesLongFactors(this.config.rope, length);
    const switches = wantLong !== this.ropeLong && !(this.ropePinned && this.ropeLong);
    if (positions <= this.rope.positions && !switches) return;
    // grow geometrically; a switch of factors alone recomputes the table at its size
    const n = positions <= this.rope.positions ? this.rope.positions : Math.max(positions, Math.min(this.config.maxPosition, 2 * this.rope.positions));
    const long = switches ? wantLong : this.ropeLong;
    const { table } = ropeTables(this.config.rope, this.config.headDim, n, long);
    if (this.rope.buffer !== this.gpu.empty) this.rope.buffer.destroy();
    this.rope = { buffer: this.gpu.upload(table, 'rope.table'), positions: n };
    this.ropeLong = long;
  }

  /** Activation buffers for at least `rows` rows (grown on demand, reused across passes). */
  activations(rows: number): Activations {
    if (this.act && this.act.rows >= rows) return this.act;
    this.releaseActivations();
    const c = this.config, g = this.gpu;
    const qd = c.heads * c.headDim, kvd = c.kvHeads * c.headDim;
    this.act = {
      rows,
      x: g.buffer(rows * c.hidden * 4, 'act.x'),
      h: g.buffer(rows * c.hidden * 4, 'act.h'),
      q: g.buffer(rows * qd * 4, 'act.q'),
      k: g.buffer(rows * kvd * 4, 'act.k'),
      v: g.buffer(rows * kvd * 4, 'act.v'),
      attn: g.buffer(rows * qd * 4, 'act.attn'),
      gate: g.buffer(rows * c.intermediate * 4, 'act.gate'),
      up: g.buffer(rows * c.intermediate * 4, 'act.up'),
    };
    return this.act;
  }

  releaseActivations(): void {
    if (!this.act) return;
    for (const [k, v] of Object.entries(this.act)) if (k !== 'rows') (v as GPUBuffer).destroy();
    this.act = null;
  }

  // ------------------------------------------------------------------ the pass, in steps

  /** x = embed_tokens[tokens] */
  embed(b: CommandBatch, tokens: Binding, x: GPUBuffer, rows: number): void {
    gatherRows(b, this.embedTokens, tokens, x, rows, this.config.hidden, this.embedF16);
  }

  /**
   * One decoder layer on act.x, in place. Calibration passes run parts of it: `until` stops right after that
   * tap; `from` starts at that tap with the layer's state there already in `act` (oIn: act.attn; gateUpIn:
   * act.x past the attention block's residual; downIn: that act.x and act.gate).
   */
  layer(b: CommandBatch, l: number, act: Activations, s: PassShape, cache?: KVCache, taps?: LayerTaps, until?: keyof LayerTaps, from?: keyof LayerTaps): void {
    const c = this.config, w = this.layers[l], L = w.linears;
    const rows = s.batch * s.seq, d = c.hidden;
    const start = from ? TAP_ORDER.indexOf(from) : 0;
    this.ensureRope(s.past + s.seq);
    // One token (a decode step): the GEMVs apply the input norms themselves where they can (the norm's dispatch
    // saved); calibration passes (taps) read the normed inputs.
    const fuseNorms = rows === 1 && !taps;
    // attention block
    if (start <= 0) {
      const qkv = { q: act.q, k: act.k, v: act.v };
      const inputNorm = { weight: w.inputNorm, eps: c.rmsEps };
      if (fuseNorms && L.q.encodeQkv?.(b, L.k, L.v, act.x, qkv, rows, inputNorm)) {
        // q, k and v in one GEMV that norms its input
      } else if (fuseNorms && [L.q, L.k, L.v].every((lin) => lin.takesInputNorm?.(rows))) {
        for (const n of ['q', 'k', 'v'] as const) L[n].encode(b, act.x, qkv[n], rows, false, inputNorm);
      } else {
        rmsnorm(b, act.x, w.inputNorm, rows, d, c.rmsEps, act.h);
        taps?.qkvIn?.(b, act.h, rows);
        if (until === 'qkvIn') return;
        if (!L.q.encodeQkv?.(b, L.k, L.v, act.h, qkv, rows)) {
          L.q.encode(b, act.h, act.q, rows);
          L.k.encode(b, act.h, act.k, rows);
          L.v.encode(b, act.h, act.v, rows);
        }
      }
      const norm = w.qNorm && w.kNorm ? { q: w.qNorm, k: w.kNorm, eps: c.rmsEps } : undefined;
      const heads = { rows, seq: s.seq, past: s.past, qHeads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
      const shape = { batch: s.batch, seq: s.seq, past: s.past, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
      const qk = w.qkNorm ? { qk: w.qkNorm, eps: c.rmsEps } : undefined;
      if (cache) {
        // a decode step's q/k norms, rope, cache writes and attention in one dispatch where the device runs it; else
        // the norms, rope and cache writes in one dispatch (a step's fixed cost is its dispatch count), then attention
        const t = { q: act.q, k: act.k, v: act.v, table: this.rope, kCache: cache.k[l], vCache: cache.v[l] };
        if (!attentionRopeDecode(b, { ...t, out: act.attn }, { ...shape, kvLen: cache.maxLen }, qk)) {
          ropeIntoCache(b, t, { ...heads, maxLen: cache.maxLen }, norm);
          attention(b, act.q, cache.k[l], cache.v[l], act.attn, { ...shape, kvLen: cache.maxLen });
        }
      } else {
        if (norm) {
          rmsnorm(b, act.q, norm.q, rows * c.heads, c.headDim, c.rmsEps);
          rmsnorm(b, act.k, norm.k, rows * c.kvHeads, c.headDim, c.rmsEps);
        }
        rope(b, act.q, act.k, this.rope, heads);
        attention(b, act.q, act.k, act.v, act.attn, { ...shape, kvLen: s.seq });
      }
    }
    if (start <= 1) {
      taps?.oIn?.(b, act.attn, rows);
      if (until === 'oIn') return;
      L.o.encode(b, act.attn, act.x, rows, true);
    }
    // MLP block
    if (start <= 2 && !(fuseNorms && L.gate.encodeGateUp?.(b, L.up, act.x, act.gate, rows, { weight: w.postNorm, eps: c.rmsEps }))) {
      rmsnorm(b, act.x, w.postNorm, rows, d, c.rmsEps, act.h);
      taps?.gateUpIn?.(b, act.h, rows);
      if (until === 'gateUpIn') return;
      if (!L.gate.encodeGateUp?.(b, L.up, act.h, act.gate, rows)) {
        L.gate.encode(b, act.h, act.gate, rows);
        L.up.encode(b, act.h, act.up, rows);
        swiglu(b, act.gate, act.up, rows * c.intermediate);
      }
    }
    taps?.downIn?.(b, act.gate, rows);
    if (until === 'downIn') return;
    L.down.encode(b, act.gate, act.x, rows, true);
  }

  /**
   * logits[i] = lm_head(norm(x[rowIdx[i]])) for n selected rows; uses act.h as scratch. rowIdx null: x holds
   * just those n rows (a decode step's one token), read where they are.
   */
  head(b: CommandBatch, act: Activations, rowIdx: Binding | null, n: number, logits: GPUBuffer): void {
    const c = this.config;
    if (rowIdx) gatherRows(b, act.x, rowIdx, act.h, n, c.hidden);
    const x = rowIdx ? act.h : act.x;
    if (this.lmHead.takesInputNorm?.(n)) {
      this.lmHead.encode(b, x, logits, n, false, { weight: this.finalNorm, eps: c.rmsEps });
      return;
    }
    rmsnorm(b, x, this.finalNorm, n, c.hidden, c.rmsEps, rowIdx ? undefined : act.h);
    this.lmHead.encode(b, act.h, logits, n);
  }

  // ------------------------------------------------------------------ whole passes

  /** Records embed + all layers for `tokens` ([batch * seq] ids), uploaded for this pass. */
  private body(b: CommandBatch, tokens: Int32Array | Uint32Array, s: PassShape, cache?: KVCache): Activations {
    const ids = this.gpu.upload(Uint32Array.from(tokens), 'tokens');
    this.scratch.push(ids);
    return this.bodyFrom(b, ids, s, cache);
  }

  /**
   * Records embed + all layers for the token ids already on the GPU in `ids` (u32 [batch * seq]). A pass of
   * FLUSH_ROWS rows or more is sent a layer at a time (`timestamps`: each part timed), so that the GPU runs the
   * first layers while the host records the rest: a 512-token prompt's ~400 dispatches take milliseconds to
   * record, which one submit at the end would add to its time to the first token.
   */
  private bodyFrom(b: CommandBatch, ids: Binding, s: PassShape, cache?: KVCache, timestamps = false): Activations {
    const rows = s.batch * s.seq;
    const act = this.activations(rows);
    this.embed(b, ids, act.x, rows);
    for (let l = 0; l < this.config.layers; l++) {
      this.layer(b, l, act, s, cache);
      if (rows >= FLUSH_ROWS) b.flush({ timestamps });
    }
    return act;
  }

  private dropScratch(): void {
    for (const s of this.scratch) s.destroy();
    this.scratch = [];
  }

  /** Full logits [seq, vocab] of each sequence (one pass per sequence; for tests and the CLI). */
  async logits(seqs: number[][]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const V = this.config.vocab;
    for (const s of seqs) {
      this.checkLength(s.length);
      const b = this.gpu.batch('logits');
      const act = this.body(b, Int32Array.from(s), { batch: 1, seq: s.length, past: 0 });
      const logits = this.gpu.buffer(s.length * V * 4, 'logits');
      this.head(b, act, this.gpu.upload(Uint32Array.from(s.keys()), 'rows'), s.length, logits);
      await b.submit();
      out.push(await this.gpu.readF32(logits, s.length * V));
      logits.destroy();
      this.dropScratch();
    }
    return out;
  }

  /**
   * Scores selected rows of a padded batch: for each (row, target), the target's log-prob, rank, argmax.
   * tokens: [batch * seq]; rows index into it; logits are only computed for those rows.
   */
  async score(tokens: Int32Array, s: PassShape, rows: Uint32Array, targets: Uint32Array): Promise<RowScore[]> {
    this.checkLength(s.past + s.seq);
    const V = this.config.vocab, n = rows.length;
    // Logits of at most `chunk` rows at a time (16 MiB): a 150K vocabulary times 2048 positions would not fit.
    // Chunks are multiples of 64 rows so that their byte offsets meet the 256-byte binding alignment.
    const chunk = Math.min(n, Math.max(64, Math.floor((16 * 2 ** 20) / (V * 4) / 64) * 64));
    const b = this.gpu.batch('score');
    const act = this.body(b, tokens, s);
    const logits = this.gpu.buffer(chunk * V * 4, 'logits');
    const out = this.gpu.buffer(n * 16, 'scores');
    const rowBuf = this.gpu.upload(rows, 'rows'), tgtBuf = this.gpu.upload(targets, 'targets');
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const m = Math.min(chunk, n - r0);
      this.head(b, act, { buffer: rowBuf, offset: r0 * 4, size: m * 4 }, m, logits);
      scoreLogits(b, logits, { buffer: tgtBuf, offset: r0 * 4, size: m * 4 }, { buffer: out, offset: r0 * 16, size: m * 16 }, m, V);
    }
    await b.submit();
    const scores = decodeScores(await this.gpu.read(out, n * 16), n);
    for (const x of [logits, out, rowBuf, tgtBuf]) x.destroy();
    this.dropScratch();
    return scores;
  }

  newCache(batch: number, maxLen: number): KVCache {
    const c = this.config, bytes = batch * maxLen * c.kvHeads * c.headDim * 4;
    const k: GPUBuffer[] = [], v: GPUBuffer[] = [];
    for (let l = 0; l < c.layers; l++) (k.push(this.gpu.buffer(bytes, `cache.k${l}`)), v.push(this.gpu.buffer(bytes, `cache.v${l}`)));
    return { batch, maxLen, k, v };
  }

  /**
   * Greedy decoding with a KV cache. Stops at an EOS id, at `stop` (checked by the caller's predicate) or maxNew.
   * Steps are chained on the GPU: each step's argmax is copied into the next step's input, so several steps
   * go out in one submit and come back in one read, and the next chunk is recorded and queued while one runs
   * (recording a step costs more CPU time than the step costs GPU time on small models). Chunks grow 1, 2, 4,
   * ... up to `stepsPerRead` (default 16; 1 on CPU adapters, where steps are slow and chaining saves nothing);
   * steps past an EOS or a stop are computed and dropped.
   */
  async generate(
    prompt: number[],
    maxNew: number,
    opts: {
      eos?: number[];
      stop?: (ids: number[]) => boolean;
      signal?: AbortSignal;
      onToken?: (id: number) => void;
      stepsPerRead?: number;
      /** false: record every step anew instead of replaying one frozen step (A/B timings, tests). */
      replay?: boolean;
      /**
       * Filled with the CPU time spent recording and submitting steps (the decode loop's host cost) and, where the
       * adapter has timestamps, the GPU time of the submitted chunks (whole chunks: the decode's device cost).
       */
      timing?: { recordMs: number; steps: number; gpuMs?: number };
    } = {},
  ): Promise<number[]> {
    const g = this.gpu, V = this.config.vocab, P = prompt.length;
    const maxLen = Math.min(this.config.maxPosition, P + maxNew);
    this.checkLength(P);
    if (P === 0) throw new RangeError('generate: the prompt is empty; give at least one token (e.g. the BOS id).');
    // steps: the prompt, then one token each while the cache has room
    const total = Math.max(0, Math.min(maxNew, maxLen - P + 1));
    const maxChunk = Math.max(1, opts.stepsPerRead ?? (g.serialKernels ? 1 : 16));
    // Every step of a chunk is recorded before any runs: the rope tables must not be regrown between them, nor
    // switch factors (transformers recomputes a longrope generation that crosses original_max_position_embeddings
    // with the long factors; here the whole generation uses the factors of its full length).
    this.ensureRope(maxLen, Math.max(P, P + total - 1));
    this.ropePinned = true;
    const cache = this.newCache(1, maxLen);
    const promptIds = g.upload(Uint32Array.from(prompt), 'prompt');
    const lastRow = g.upload(Uint32Array.of(P - 1), 'prompt last row');
    const next = g.buffer(4, 'next token');
    const logits = g.buffer(V * 4, 'logits');
    const score = g.buffer(16, 'score');
    const scores = g.buffer(16 * maxChunk, 'scores');
    // Steps after the first are one step recorded once and replayed at each position (the position words of
    // its parameters rewritten on the GPU from this table); profiling records each, to stamp each dispatch.
    const positions = opts.replay !== false && !g.profiler ? g.upload(Uint32Array.from({ length: maxLen }, (_, i) => i), 'positions') : null;
    let step: FrozenStep | null = null;
    const out: number[] = [];
    try {
      let t = 0, chunk = 1;
      const inFlight: { read: Promise<ArrayBuffer>; steps: number }[] = [];
      const timed: Promise<void>[] = []; // GPU times of the chunks (opts.timing)
      const launch = () => {
        const tRecord = performance.now();
        const steps = Math.min(chunk, total - t);
        const b = g.batch('generate');
        // step 0 reads the prompt; step t > 0 the token step t - 1 chose, at position P + t - 1
        const record = (rec: CommandBatch, t: number) => {
          const s = t === 0 ? { batch: 1, seq: P, past: 0 } : { batch: 1, seq: 1, past: P + t - 1 };
          const act = this.bodyFrom(rec, t === 0 ? promptIds : next, s, cache, Boolean(opts.timing));
          this.head(rec, act, t === 0 ? lastRow : null, 1, logits);
          argmaxLogits(rec, logits, score, 1, V); // only the argmax is read
          rec.copy(score, 8, next, 0, 4); // the argmax: the next step's input
        };
        for (let j = 0; j < steps; j++, t++) {
          if (t > 0 && positions) {
            if (!step) {
              const rec = g.batch('generate.step');
              record(rec, 1);
              step = rec.freeze();
            }
            b.replay(step, positions, P + t - 1);
          } else {
            record(b, t);
          }
          b.copy(score, 0, scores, 16 * j, 16);
        }
        const timing = opts.timing;
        const gpuNs = b.submit({ timestamps: Boolean(timing) });
        if (timing) {
          timing.recordMs += performance.now() - tRecord;
          timing.steps += steps;
          timed.push(gpuNs.then((ns) => void (ns !== null && (timing.gpuMs = (timing.gpuMs ?? 0) + ns / 1e6))));
        }
        // the copy to the host is queued now, before the next chunk can overwrite `scores`
        inFlight.push({ read: g.read(scores, 16 * steps), steps });
        chunk = Math.min(2 * chunk, maxChunk);
      };
      try {
        while (t < total || inFlight.length) {
          throwIfAborted(opts.signal, 'generation');
          if (t < total) launch();
          // chained steps: keep a second chunk queued while the first runs, so recording overlaps the GPU
          if (maxChunk > 1 && t < total && inFlight.length < 2) continue;
          const { read, steps } = inFlight.shift()!;
          let stopped = false;
          for (const r of decodeScores(await read, steps)) {
            out.push(r.argmax);
            opts.onToken?.(r.argmax);
            if ((stopped = Boolean(opts.eos?.includes(r.argmax) || opts.stop?.(out)))) break;
          }
          if (stopped) break;
        }
      } finally {
        for (const f of inFlight) f.read.catch(() => undefined); // a chunk past the stop: dropped unread
      }
      await Promise.all(timed);
    } finally {
      this.ropePinned = false;
      for (const buf of [...cache.k, ...cache.v, promptIds, lastRow, next, logits, score, scores]) buf.destroy();
      positions?.destroy();
      (step as FrozenStep | null)?.destroy();
    }
    return out;
  }

  private checkLength(n: number): void {
    if (n > this.config.maxPosition) {
      throw new RangeError(`A sequence of ${n} tokens is longer than this model's context (${this.config.maxPosition}); shorten it.`);
    }
  }

  destroy(): void {
    this.releaseActivations();
    const bufs = new Set<GPUBuffer>([this.embedTokens, this.finalNorm, this.rope.buffer]);
    // a tied head's matrix is the embedding's (in the set above)
    if (!this.sharedHead && !(this.lmHead instanceof DenseLinear && this.lmHead.weight === this.embedTokens)) this.lmHead.destroy();
    for (const l of this.layers) {
      for (const b of layerVectors(l)) bufs.add(b);
      for (const lin of Object.values(l.linears)) lin.destroy();
    }
    bufs.delete(this.gpu.empty);
    for (const b of bufs) if (!this.shared.has(b)) b.destroy();
  }
}
