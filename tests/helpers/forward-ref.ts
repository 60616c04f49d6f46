// An independent float64 forward pass of Llama / Qwen2 / Qwen3 / Phi-3 decoders on the CPU, as transformers'
// modeling files define it, for checking the WGSL forward pass at real shapes. It reads config.json as written (not
// the lab's parsed config), reads Phi-3's fused qkv_proj / gate_up_proj by their stored names and cuts them itself,
// computes the rope frequencies (llama3, longrope) in float64 from transformers' formulas, and composes the float64 kernel references of
// src/model/reference.ts. Logits are computed only at the positions asked for: the LM head is the slow part.
import { attentionRef, matmulRef, rmsnormRef, ropeRef, swigluRef } from '../../src/model/reference';

/** A float tensor by Hugging Face name, as float values (weights of any provenance: stored or dequantized). */
export type WeightFn = (name: string) => Promise<ArrayLike<number>>;

/** Stored little-endian tensor bytes to float32: BF16 (the top half of an f32), F16, F32. */
export function decodeFloats(dtype: string, bytes: Uint8Array): Float32Array {
  const copy = bytes.slice();
  if (dtype === 'F32') return new Float32Array(copy.buffer);
  const u16 = new Uint16Array(copy.buffer);
  if (dtype === 'BF16') {
    const u32 = new Uint32Array(u16.length);
    for (let i = 0; i < u16.length; i++) u32[i] = u16[i] << 16;
    return new Float32Array(u32.buffer);
  }
  if (dtype === 'F16') {
    return Float32Array.from(u16, (h) => {
      const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
      if (e === 0) return s * m * 2 ** -24;
      if (e === 31) return m ? NaN : s * Infinity;
      return s * (1 + m / 1024) * 2 ** (e - 15);
    });
  }
  throw new Error(`decodeFloats: ${dtype} is not a float dtype`);
}

/**
 * inv_freq of transformers' default, llama3 and longrope initialisations, in float64, and the factor cos and sin
 * are multiplied by (longrope's attention scaling); `seqLen` picks longrope's long factors past the original length.
 */
export function invFreqRef(raw: Record<string, unknown>, headDim: number, seqLen = 0): { inv: Float64Array; scale: number } {
  const rs = (raw.rope_parameters ?? raw.rope_scaling) as Record<string, unknown> | null | undefined;
  const theta = Number(rs?.rope_theta ?? raw.rope_theta ?? 10000);
  const type = String(rs?.rope_type ?? rs?.type ?? 'default');
  const inv = Float64Array.from({ length: headDim / 2 }, (_, i) => 1 / theta ** ((2 * i) / headDim));
  if (type === 'llama3') {
    const factor = Number(rs!.factor), low = Number(rs!.low_freq_factor), high = Number(rs!.high_freq_factor);
    const orig = Number(rs!.original_max_position_embeddings);
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > orig / low) inv[i] /= factor;
      else if (wavelen >= orig / high) {
        const smooth = (orig / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
      }
    }
  } else if (type === 'longrope' || type === 'su') {
    // _compute_longrope_parameters: factor (default max / original), the paper's sqrt(1 + ln factor / ln original)
    const orig = Number(rs!.original_max_position_embeddings ?? raw.original_max_position_embeddings);
    const factor = Number(rs!.factor ?? Number(raw.max_position_embeddings) / orig);
    const ext = (seqLen > orig ? rs!.long_factor : rs!.short_factor) as number[];
    for (let i = 0; i < inv.length; i++) inv[i] /= ext[i];
    const scale = typeof rs!.attention_factor === 'number' ? rs!.attention_factor : factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig));
    return { inv, scale };
  } else if (type !== 'default') throw new Error(`forwardRef: rope ${JSON.stringify(rs)} is not covered`);
  return { inv, scale: 1 };
}

/**
 * Logits [positions.length][vocab] of one sequence. `raw` is config.json as written; weights by their Hugging
 * Face names (lm_head.weight when the embeddings are untied). `onHeadInput` sees the LM head's input: the
 * final-normed rows of those positions [positions.length, hidden].
 */
export async function forwardRef(raw: Record<string, unknown>, weight: WeightFn, tokens: number[], positions: number[], onHeadInput?: (x: Float64Array) => void): Promise<Float64Array[]> {
  const d = Number(raw.hidden_size), heads = Number(raw.num_attention_heads);
  const kvHeads = Number(raw.num_key_value_heads ?? heads), hd = Number(raw.head_dim ?? d / heads);
  const I = Number(raw.intermediate_size), V = Number(raw.vocab_size), L = Number(raw.num_hidden_layers);
  const eps = Number(raw.rms_norm_eps), type = String(raw.model_type);
  const qkvBias = type === 'qwen2' || raw.attention_bias === true;
  const T = tokens.length;
  const { inv, scale } = invFreqRef(raw, hd, T);
  const cos = new Float64Array(T * (hd / 2)), sin = new Float64Array(T * (hd / 2));
  for (let p = 0; p < T; p++) for (let i = 0; i < hd / 2; i++) (cos[p * (hd / 2) + i] = scale * Math.cos(p * inv[i])), (sin[p * (hd / 2) + i] = scale * Math.sin(p * inv[i]));
  // Phi-3 stores q, k, v as rows of one qkv_proj and gate, up as rows of one gate_up_proj
  const fused = type === 'phi3';
  const rowsOf = async (name: string, from: number, count: number, cols: number) => Array.prototype.slice.call(await weight(name), from * cols, (from + count) * cols) as number[];

  const embed = await weight('model.embed_tokens.weight');
  let x = new Float64Array(T * d);
  tokens.forEach((t, r) => { for (let c = 0; c < d; c++) x[r * d + c] = embed[t * d + c]; });
  const lin = async (input: ArrayLike<number>, name: string, out: number, inn: number, bias: boolean) =>
    matmulRef(input, await weight(`${name}.weight`), T, out, inn, bias ? await weight(`${name}.bias`) : undefined);
  for (let l = 0; l < L; l++) {
    const p = `model.layers.${l}.`;
    const h = rmsnormRef(x, await weight(`${p}input_layernorm.weight`), T, d, eps);
    let q: Float64Array, k: Float64Array, v: Float64Array;
    if (fused) {
      const qkv = `${p}self_attn.qkv_proj.weight`, qd = heads * hd, kvd = kvHeads * hd;
      q = matmulRef(h, await rowsOf(qkv, 0, qd, d), T, qd, d);
      k = matmulRef(h, await rowsOf(qkv, qd, kvd, d), T, kvd, d);
      v = matmulRef(h, await rowsOf(qkv, qd + kvd, kvd, d), T, kvd, d);
    } else {
      q = await lin(h, `${p}self_attn.q_proj`, heads * hd, d, qkvBias);
      k = await lin(h, `${p}self_attn.k_proj`, kvHeads * hd, d, qkvBias);
      v = await lin(h, `${p}self_attn.v_proj`, kvHeads * hd, d, qkvBias);
    }
    if (type === 'qwen3') {
      q = rmsnormRef(q, await weight(`${p}self_attn.q_norm.weight`), T * heads, hd, eps);
      k = rmsnormRef(k, await weight(`${p}self_attn.k_norm.weight`), T * kvHeads, hd, eps);
    }
    q = ropeRef(q, T, heads, hd, T, 0, cos, sin);
    k = ropeRef(k, T, kvHeads, hd, T, 0, cos, sin);
    const a = attentionRef(q, k, v, { batch: 1, seq: T, past: 0, kvLen: T, heads, kvHeads, headDim: hd });
    const o = await lin(a, `${p}self_attn.o_proj`, d, heads * hd, type !== 'qwen2' && raw.attention_bias === true);
    x = x.map((xv, i) => xv + o[i]);
    const h2 = rmsnormRef(x, await weight(`${p}post_attention_layernorm.weight`), T, d, eps);
    const g = fused
      ? swigluRef(matmulRef(h2, await rowsOf(`${p}mlp.gate_up_proj.weight`, 0, I, d), T, I, d), matmulRef(h2, await rowsOf(`${p}mlp.gate_up_proj.weight`, I, I, d), T, I, d))
      : swigluRef(await lin(h2, `${p}mlp.gate_proj`, I, d, false), await lin(h2, `${p}mlp.up_proj`, I, d, false));
    const dn = await lin(g, `${p}mlp.down_proj`, d, I, false);
    x = x.map((xv, i) => xv + dn[i]);
  }
  const rows = new Float64Array(positions.length * d);
  positions.forEach((t, r) => rows.set(x.subarray(t * d, (t + 1) * d), r * d));
  const normed = rmsnormRef(rows, await weight('model.norm.weight'), positions.length, d, eps);
  onHeadInput?.(normed);
  const head = raw.tie_word_embeddings === false ? await weight('lm_head.weight') : embed;
  const logits = matmulRef(normed, head, positions.length, V, d);
  return positions.map((_, r) => logits.subarray(r * V, (r + 1) * V));
}

/** max |a - b| over the logit range of b: the error measure the forward-pass goldens use. */
export function relToRange(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < b.length; i++) (err = Math.max(err, Math.abs(a[i] - b[i]))), (lo = Math.min(lo, b[i])), (hi = Math.max(hi, b[i]));
  return err / (hi - lo);
}

export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
