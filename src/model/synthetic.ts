// Checkpoints of a published shape with random weights (nothing real can be downloaded in tests): config.json as
// on the Hub, safetensors in bf16 (or f16 / f32), one file or shards with model.safetensors.index.json, tied or
// untied embeddings, and a byte-level tokenizer whose special tokens sit at the published ids. Weights follow
// transformers' initialisation (linear and embedding ~ N(0, std), std 0.02), norms 1 + N(0, std) so that their
// weights matter, biases ~ N(0, std). Every tensor's values depend only on (seed, tensor name): a slice of L
// layers holds exactly the first L layers and the embeddings of the full-depth checkpoint.
// Files are produced as chunks, so multi-GB checkpoints never sit in memory; the front end writes them.
import { architecture, hasBias, type LinearName, linearDims } from './architectures';
import { nonEmbeddingParams, parseConfig } from './config';
import { hashString, seededRandom } from '../random';
import { type DType, f32ToBf16, f32ToF16, safetensorsHeader } from './safetensors';
import { PUBLISHED_SHAPES, SHAPE_NAMES, specialTokens } from './shapes';
import { bytesSource, mapFiles, type ModelFiles } from './source';

export interface SyntheticOptions {
  shape: string;
  /** Decoder layers (a reduced-depth slice at full width); default: the published depth. */
  layers?: number;
  seed?: number;
  std?: number;
  dtype?: 'BF16' | 'F16' | 'F32';
  /** 1: model.safetensors; more: model-0000i-of-0000n.safetensors and the index. */
  shards?: number;
  /** Write lm_head.weight apart from the embedding (tie_word_embeddings false). */
  untied?: boolean;
  /** A smaller vocabulary than the published one (tests that need the width, not the 152K-row LM head). */
  vocab?: number;
}

export interface SyntheticFile {
  name: string;
  size: number;
  /** The file's bytes in order, a chunk at a time. */
  chunks(): Generator<Uint8Array>;
}

interface TensorSpec {
  name: string;
  shape: number[];
  init: 'normal' | 'norm';
}

/** The shape's tensors in its architecture's naming, layer by layer; fused tensors stored fused (as on the Hub). */
function tensorSpecs(config: Record<string, unknown>): TensorSpec[] {
  const c = parseConfig(config), a = architecture(c.arch), N = a.names;
  const d = c.hidden, dims = linearDims(c), biases = { qkv: c.qkvBias, o: c.oBias, mlp: c.mlpBias };
  const out: TensorSpec[] = [{ name: N.embed, shape: [c.vocab, d], init: 'normal' }];
  for (let l = 0; l < c.layers; l++) {
    const p = N.layerPrefix(l);
    const lin = (n: LinearName) => {
      const f = a.fused.find((x) => x.parts.includes(n));
      if (f && f.parts[0] !== n) return; // written with its first part
      const module = f ? f.name : N.linear[n];
      const rows = f ? f.parts.reduce((s, x) => s + dims[x][0], 0) : dims[n][0];
      out.push({ name: `${p}${module}.weight`, shape: [rows, dims[n][1]], init: 'normal' });
      if (hasBias(biases, n)) out.push({ name: `${p}${module}.bias`, shape: [rows], init: 'normal' });
    };
    out.push({ name: p + N.inputNorm, shape: [d], init: 'norm' });
    (['q', 'k', 'v'] as const).forEach(lin);
    if (c.qkNorm) {
      out.push({ name: p + N.qNorm, shape: [c.headDim], init: 'norm' });
      out.push({ name: p + N.kNorm, shape: [c.headDim], init: 'norm' });
    }
    lin('o');
    out.push({ name: p + N.postNorm, shape: [d], init: 'norm' });
    (['gate', 'up', 'down'] as const).forEach(lin);
  }
  out.push({ name: N.finalNorm, shape: [d], init: 'norm' });
  if (!c.tied) out.push({ name: `${N.lmHead}.weight`, shape: [c.vocab, d], init: 'normal' });
  return out;
}

const BYTES: Record<SyntheticOptions['dtype'] & string, number> = { BF16: 2, F16: 2, F32: 4 };
const CHUNK = 1 << 20; // values per chunk

/** N(0, 1) values from the seeded uniform stream of src/random.ts (Box-Muller). */
function normalStream(seed: number): (out: Float32Array) => void {
  const rnd = seededRandom(seed);
  return (out) => {
    for (let i = 0; i < out.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - rnd())), th = 2 * Math.PI * rnd(); // 1 - [0, 1): log never sees 0
      out[i] = r * Math.cos(th);
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(th);
    }
  };
}

function* tensorChunks(t: TensorSpec, dtype: NonNullable<SyntheticOptions['dtype']>, seed: number, std: number): Generator<Uint8Array> {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const fill = normalStream(hashString(`${seed}:${t.name}`));
  const buf = new Float32Array(Math.min(CHUNK, n));
  for (let start = 0; start < n; start += CHUNK) {
    const m = Math.min(CHUNK, n - start);
    const vals = buf.subarray(0, m);
    fill(vals);
    for (let i = 0; i < m; i++) vals[i] = (t.init === 'norm' ? 1 : 0) + std * vals[i];
    if (dtype === 'F32') {
      yield new Uint8Array(vals.slice().buffer);
      continue;
    }
    const out = new Uint16Array(m);
    const conv = dtype === 'BF16' ? f32ToBf16 : f32ToF16;
    for (let i = 0; i < m; i++) out[i] = conv(vals[i]);
    yield new Uint8Array(out.buffer);
  }
}

const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o, null, 2) + '\n');

function textFile(name: string, o: unknown): SyntheticFile {
  const bytes = json(o);
  return { name, size: bytes.byteLength, *chunks() { yield bytes; } };
}

/** GPT-2's byte-to-character map of byte-level BPE: printable bytes stand for themselves. */
function byteChars(): string[] {
  const keep: number[] = [];
  for (let b = 33; b <= 126; b++) keep.push(b);
  for (let b = 161; b <= 172; b++) keep.push(b);
  for (let b = 174; b <= 255; b++) keep.push(b);
  const chars: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(keep.includes(b) ? b : 256 + extra++);
  return chars;
}

/**
 * A byte-level BPE tokenizer without merges: every byte one token, the special tokens of the model's family at
 * their published ids (at the top of a reduced vocabulary), BOS prepended where the family does (Llama 3).
 */
function tokenizerFiles(config: Record<string, unknown>, specials: { id: number; content: string }[], addBos: boolean): SyntheticFile[] {
  const V = Number(config.vocab_size);
  const byteBase = Math.min(1000, V - 256 - specials.length);
  if (byteBase < 0 || specials.some((s) => s.id >= byteBase && s.id < byteBase + 256)) throw new RangeError(`a vocabulary of ${V} is too small for a byte-level tokenizer`);
  const vocab: Record<string, number> = {};
  byteChars().forEach((ch, b) => (vocab[ch] = byteBase + b));
  const bos = specials.find((s) => s.id === config.bos_token_id);
  const eos = specials.find((s) => s.id === config.eos_token_id) ?? specials[0];
  const single: unknown[] = [{ Sequence: { id: 'A', type_id: 0 } }];
  const specialMap: Record<string, unknown> = {};
  if (addBos && bos) {
    single.unshift({ SpecialToken: { id: bos.content, type_id: 0 } });
    specialMap[bos.content] = { id: bos.content, ids: [bos.id], tokens: [bos.content] };
  }
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => ({ id: s.id, content: s.content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'TemplateProcessing', single, pair: [...single, { Sequence: { id: 'B', type_id: 1 } }], special_tokens: specialMap },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
  const tokConfig = {
    bos_token: bos?.content ?? null, eos_token: eos.content, add_bos_token: addBos, clean_up_tokenization_spaces: false,
    model_max_length: config.max_position_embeddings, tokenizer_class: 'PreTrainedTokenizerFast',
  };
  return [textFile('tokenizer.json', tokenizer), textFile('tokenizer_config.json', tokConfig)];
}

/** The files of a synthetic checkpoint (config, weights, index when sharded, tokenizer, generation config). */
export function syntheticCheckpoint(opts: SyntheticOptions): SyntheticFile[] {
  const shape = PUBLISHED_SHAPES[opts.shape];
  if (!shape) throw new RangeError(`Unknown shape "${opts.shape}"; one of ${SHAPE_NAMES.join(', ')}.`);
  const dtype = opts.dtype ?? 'BF16', seed = opts.seed ?? 0, std = opts.std ?? 0.02, shards = opts.shards ?? 1;
  const published = shape.config;
  const layers = opts.layers ?? Number(published.num_hidden_layers);
  if (!Number.isInteger(layers) || layers < 1) throw new RangeError(`layers must be a whole number >= 1 (got ${opts.layers})`);
  const config: Record<string, unknown> = {
    ...published,
    num_hidden_layers: layers,
    ...(opts.vocab ? { vocab_size: opts.vocab } : {}),
    ...(published.max_window_layers !== undefined ? { max_window_layers: layers } : {}),
    tie_word_embeddings: opts.untied ? false : published.tie_word_embeddings,
    torch_dtype: { BF16: 'bfloat16', F16: 'float16', F32: 'float32' }[dtype],
    quantlab: {
      synthetic: { shape: opts.shape, of: shape.hfId, layers, published_layers: published.num_hidden_layers, seed, std, dtype, ...(opts.vocab ? { vocab: opts.vocab } : {}) },
      note: `random weights in the shape of ${shape.hfId}${layers !== published.num_hidden_layers ? ` (first ${layers} of ${published.num_hidden_layers} layers)` : ''}: for tests and timings, not a trained model`,
    },
  };
  // the family's special tokens at their published ids; with a reduced vocabulary, at its top
  let specials = specialTokens(published);
  if (opts.vocab && specials.some((t) => t.id >= opts.vocab!)) {
    const moved = new Map(specials.map((t, i) => [t.id, opts.vocab! - specials.length + i]));
    specials = specials.map((t) => ({ ...t, id: moved.get(t.id)! }));
    for (const k of ['bos_token_id', 'eos_token_id'] as const) if (moved.has(config[k] as number)) config[k] = moved.get(config[k] as number);
  }
  const addBos = published.model_type === 'llama' && Number(published.vocab_size) === 128256;
  const specs = tensorSpecs(config);
  const bytesOf = (t: TensorSpec) => t.shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
  // shards of about equal size, tensors in order: a shard closes once it holds its share of the bytes
  const total = specs.reduce((a, t) => a + bytesOf(t), 0);
  if (shards > specs.length) throw new RangeError(`${shards} shards is more than this checkpoint's ${specs.length} tensors can fill`);
  const groups: TensorSpec[][] = [[]];
  let inShard = 0;
  specs.forEach((t, i) => {
    groups[groups.length - 1].push(t);
    inShard += bytesOf(t);
    const shardsLeft = shards - groups.length, tensorsLeft = specs.length - i - 1;
    if (shardsLeft > 0 && (inShard >= total / shards || tensorsLeft === shardsLeft)) (groups.push([]), (inShard = 0));
  });
  const names = shards === 1 ? ['model.safetensors'] : groups.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
  const files: SyntheticFile[] = [textFile('config.json', config)];
  const weightMap: Record<string, string> = {};
  groups.forEach((g, i) => {
    const header = safetensorsHeader(g.map((t) => ({ name: t.name, dtype: dtype as DType, shape: t.shape, bytes: bytesOf(t) })), { format: 'pt' });
    for (const t of g) weightMap[t.name] = names[i];
    files.push({
      name: names[i],
      size: header.byteLength + g.reduce((a, t) => a + bytesOf(t), 0),
      *chunks() {
        yield header;
        for (const t of g) yield* tensorChunks(t, dtype, seed, std);
      },
    });
  });
  if (shards > 1) files.push(textFile('model.safetensors.index.json', { metadata: { total_size: total }, weight_map: weightMap }));
  files.push(...tokenizerFiles(config, specials, addBos));
  files.push(textFile('generation_config.json', { bos_token_id: config.bos_token_id, eos_token_id: config.eos_token_id, do_sample: false }));
  return files;
}

/** A synthetic checkpoint as model files in memory, each made when first opened (small slices for tests). */
export function syntheticFiles(opts: SyntheticOptions, id = opts.shape): ModelFiles {
  const files = new Map(syntheticCheckpoint(opts).map((f) => [f.name, f]));
  const made = new Map<string, Uint8Array>();
  const bytes = (f: SyntheticFile) => {
    let out = made.get(f.name);
    if (!out) {
      out = new Uint8Array(f.size);
      let at = 0;
      for (const c of f.chunks()) (out.set(c, at), (at += c.byteLength));
      made.set(f.name, out);
    }
    return out;
  };
  return mapFiles(id, files, (name, f) => bytesSource(name, bytes(f)));
}

/** N and the file bytes of a synthetic checkpoint, before writing it. */
export function syntheticSummary(opts: SyntheticOptions): { nonEmbeddingParams: number; bytes: number } {
  const files = syntheticCheckpoint(opts);
  const cfg = JSON.parse(new TextDecoder().decode(files[0].chunks().next().value as Uint8Array));
  return { nonEmbeddingParams: nonEmbeddingParams(parseConfig(cfg)), bytes: files.reduce((a, f) => a + f.size, 0) };
}
