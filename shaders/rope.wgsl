// Rotary position embedding, Hugging Face's rotate-half convention, in place on q and k:
//   out[i]        = x[i] * cos - x[i + hd/2] * sin
//   out[i + hd/2] = x[i + hd/2] * cos + x[i] * sin
// cos/sin come from tables computed on the CPU exactly as transformers computes them in f32 (including
// Llama-3 frequency scaling), so large positions lose no accuracy to GPU sin/cos.
// Rows are (sequence, position) pairs; the position of row r is past + r % seq.

struct Params {
  rows: u32,     // batch * seq
  seq: u32,
  past: u32,     // position of the first row of each sequence
  heads: u32,    // q heads + kv heads: q rows first, then k
  qHeads: u32,
  headDim: u32,
  _a: u32,
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<storage, read> cosT: array<f32>;  // [position, headDim/2]
@group(0) @binding(4) var<storage, read> sinT: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.x + wg.y * 65535u;
  if (r >= p.rows) { return; }
  let half = p.headDim / 2u;
  let pos = p.past + r % p.seq;
  let kvHeads = p.heads - p.qHeads;
  for (var e = lid.x; e < p.heads * half; e += 64u) {
    let h = e / half;
    let i = e % half;
    let c = cosT[pos * half + i];
    let s = sinT[pos * half + i];
    if (h < p.qHeads) {
      let o = (r * p.qHeads + h) * p.headDim;
      let x1 = q[o + i];
      let x2 = q[o + i + half];
      q[o + i] = x1 * c - x2 * s;
      q[o + i + half] = x2 * c + x1 * s;
    } else {
      let o = (r * kvHeads + (h - p.qHeads)) * p.headDim;
      let x1 = k[o + i];
      let x2 = k[o + i + half];
      k[o + i] = x1 * c - x2 * s;
      k[o + i + half] = x2 * c + x1 * s;
    }
  }
}
