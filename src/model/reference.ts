// Float64 CPU references of the forward-pass kernels, straight from the math. The kernel tests compare the
// WGSL against these; the in-browser self-test uses matmul. Slow by design: small shapes only.

export type Vec = ArrayLike<number>;

/** max |got - want| / max(1, max |want|): how the kernel tests and the on-device checks measure a kernel's error. */
export function maxRelErr(got: Vec, want: Vec): number {
  let err = 0, mag = 1;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i] - want[i]));
    mag = Math.max(mag, Math.abs(want[i]));
  }
  return err / mag;
}

/** y[M,N] = x[M,K] * W[N,K]^T (+ bias) */
export function matmulRef(x: Vec, w: Vec, M: number, N: number, K: number, bias?: Vec): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < N; n++) {
      let s = bias ? bias[n] : 0;
      for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
      y[m * N + n] = s;
    }
  }
  return y;
}

export function gatherRowsRef(src: Vec, idx: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(idx.length * cols);
  for (let i = 0; i < idx.length; i++) for (let c = 0; c < cols; c++) out[i * cols + c] = src[idx[i] * cols + c];
  return out;
}

export function swigluRef(gate: Vec, up: Vec): Float64Array {
  return Float64Array.from(gate, (g, i) => (g / (1 + Math.exp(-g))) * up[i]);
}

export function rmsnormRef(x: Vec, weight: Vec, rows: number, cols: number, eps: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let ss = 0;
    for (let c = 0; c < cols; c++) ss += x[r * cols + c] ** 2;
    const inv = 1 / Math.sqrt(ss / cols + eps);
    for (let c = 0; c < cols; c++) y[r * cols + c] = x[r * cols + c] * inv * weight[c];
  }
  return y;
}

/** Rotate-half rope of one [rows, heads*hd] tensor; positions = past + r % seq; tables [pos, hd/2]. */
export function ropeRef(x: Vec, rows: number, heads: number, hd: number, seq: number, past: number, cos: Vec, sin: Vec): Float64Array {
  const y = Float64Array.from(x);
  const half = hd / 2;
  for (let r = 0; r < rows; r++) {
    const pos = past + (r % seq);
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[pos * half + i], s = sin[pos * half + i];
        y[o + i] = x[o + i] * c - x[o + i + half] * s;
        y[o + i + half] = x[o + i + half] * c + x[o + i] * s;
      }
    }
  }
  return y;
}

/** Causal GQA attention with the layouts of shaders/attention.wgsl. */
export function attentionRef(
  q: Vec, k: Vec, v: Vec,
  s: { batch: number; seq: number; past: number; kvLen: number; heads: number; kvHeads: number; headDim: number },
): Float64Array {
  const { batch, seq, past, kvLen, heads, kvHeads, headDim: hd } = s;
  const out = new Float64Array(batch * seq * heads * hd);
  const scale = 1 / Math.sqrt(hd);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      for (let h = 0; h < heads; h++) {
        const kvh = Math.floor(h / (heads / kvHeads));
        const qo = ((b * seq + t) * heads + h) * hd;
        const n = past + t + 1;
        const sc = new Float64Array(n);
        let mx = -Infinity;
        for (let j = 0; j < n; j++) {
          const ko = (b * kvLen + j) * kvHeads * hd + kvh * hd;
          let d = 0;
          for (let e = 0; e < hd; e++) d += q[qo + e] * k[ko + e];
          sc[j] = d * scale;
          mx = Math.max(mx, sc[j]);
        }
        let sum = 0;
        for (let j = 0; j < n; j++) sum += (sc[j] = Math.exp(sc[j] - mx));
        for (let e = 0; e < hd; e++) {
          let a = 0;
          for (let j = 0; j < n; j++) a += sc[j] * v[(b * kvLen + j) * kvHeads * hd + kvh * hd + e];
          out[qo + e] = a / sum;
        }
      }
    }
  }
  return out;
}

/** What shaders/logits.wgsl computes for one row. */
export function scoreRowRef(logits: Vec, target: number): { logprob: number; rank: number; argmax: number; lse: number } {
  let mx = -Infinity, arg = 0, greater = 0;
  for (let i = 0; i < logits.length; i++) {
    if (logits[i] > mx) { mx = logits[i]; arg = i; }
    if (logits[i] > logits[target]) greater++;
  }
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - mx);
  const lse = mx + Math.log(s);
  return { logprob: logits[target] - lse, rank: greater, argmax: arg, lse };
}
