// Rotary position embedding, Hugging Face's rotate-half convention, in place on q and k:
//   out[i]        = x[i] * cos - x[i + hd/2] * sin
//   out[i + hd/2] = x[i + hd/2] * cos + x[i] * sin
// cos/sin come from one table computed on the CPU exactly as transformers computes them in f32 (including
// Llama-3 frequency scaling), so large positions lose no accuracy to GPU sin/cos: [cos | sin], each
// [positions, headDim/2], sin from index positions * headDim/2 (src/model/rope.ts ropeTables).
// Rows are (sequence, position) pairs; the position of row r is past + r % seq.

struct Params {
  rows: u32,     // batch * seq
  seq: u32,
  past: u32,     // position of the first row of each sequence
  heads: u32,    // q heads + kv heads: q rows first, then k
  qHeads: u32,
  headDim: u32,
  positions: u32, // of the table
  _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<f32>; // [cos | sin]

/** The pair (x1, x2) = elements (i, i + half) of a head rotated to position pos, from a table of `positions`. */
fn rotate(x1: f32, x2: f32, pos: u32, i: u32, half: u32, positions: u32) -> vec2<f32> {
  let cs = table[pos * half + i];
  let sn = table[(positions + pos) * half + i];
  return vec2<f32>(x1 * cs - x2 * sn, x2 * cs + x1 * sn);
}

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
    if (h < p.qHeads) {
      let o = (r * p.qHeads + h) * p.headDim;
      let y = rotate(q[o + i], q[o + i + half], pos, i, half, p.positions);
      q[o + i] = y.x;
      q[o + i + half] = y.y;
    } else {
      let o = (r * kvHeads + (h - p.qHeads)) * p.headDim;
      let y = rotate(k[o + i], k[o + i + half], pos, i, half, p.positions);
      k[o + i] = y.x;
      k[o + i + half] = y.y;
    }
  }
}

// ---- rotary embedding where a KV cache holds the keys and values (generation), in one dispatch per layer:
// Qwen3's per-head RMSNorm of q and k first (flag 1; weights in bindings 5 and 6, else placeholders), q
// rotated in place, k rotated and v copied into the cache at their positions (row r of sequence r / seq goes
// to cache row (r / seq) * maxLen + past + r % seq). It replaces two RMSNorms, the rope pass and two buffer
// copies per layer and token: fewer dispatches for the CPU to record, no copy to end the compute pass.
// One workgroup per (head, row) over q heads, then k heads, then v heads; each invocation takes pairs
// (i, i + headDim/2), i = lid, lid + 64, ...; where a head is normalised each invocation sums its squares
// itself (headDim reads, served by L1), and q is written only after the barrier, once every read is done.
// Eight storage bindings: WebGPU's default limit per shader stage (why cos and sin share one table).
struct CacheParams {
  rows: u32,
  seq: u32,
  past: u32,
  qHeads: u32,
  kvHeads: u32,
  headDim: u32,
  maxLen: u32,
  flags: u32,
  eps: f32,
  positions: u32, // of the table
}

@group(0) @binding(0) var<uniform> c: CacheParams;
@group(0) @binding(2) var<storage, read> kIn: array<f32>;
@group(0) @binding(5) var<storage, read> qNorm: array<f32>;
@group(0) @binding(6) var<storage, read> kNorm: array<f32>;
@group(0) @binding(7) var<storage, read> vIn: array<f32>;
@group(0) @binding(8) var<storage, read_write> kCache: array<f32>;
@group(0) @binding(9) var<storage, read_write> vCache: array<f32>;

const MAX_PAIRS: u32 = 4u; // pairs per invocation: head_dim <= 512

var<workgroup> squares: array<f32, 64>;

/**
 * 1 / rms of one head (offset o) of q (isK false) or k, with eps; 1 where heads are not normalised. The
 * workgroup sums the squares together (a head's 128 reads one after another in one invocation made this
 * dispatch the slowest of a decode step's small ones). Called in uniform control flow (one head a workgroup).
 */
fn head_inv_rms(o: u32, isK: bool, lid: u32) -> f32 {
  if ((c.flags & 1u) == 0u) { return 1.0; }
  var ss = 0.0;
  for (var j = lid; j < c.headDim; j += 64u) {
    var v: f32;
    if (isK) { v = kIn[o + j]; } else { v = q[o + j]; }
    ss += v * v;
  }
  squares[lid] = ss;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { squares[lid] += squares[lid + s]; }
    workgroupBarrier();
  }
  let total = squares[0];
  workgroupBarrier();
  return inverseSqrt(total / f32(c.headDim) + c.eps);
}

/** The pair (x1, x2) = elements (i, i + half) of a q or k head, normalised (1 / rms inv, the head's norm weights) and rotated to position pos. */
fn normed_rotated(x1: f32, x2: f32, inv: f32, i: u32, isK: bool, pos: u32) -> vec2<f32> {
  let half = c.headDim / 2u;
  var w = vec2<f32>(1.0);
  if ((c.flags & 1u) != 0u) {
    if (isK) { w = vec2<f32>(kNorm[i], kNorm[i + half]); } else { w = vec2<f32>(qNorm[i], qNorm[i + half]); }
  }
  return rotate(x1 * inv * w.x, x2 * inv * w.y, pos, i, half, c.positions);
}

@compute @workgroup_size(64)
fn rope_cache(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let head = wg.x;
  let row = wg.y + wg.z * 65535u;
  if (row >= c.rows) { return; }
  let half = c.headDim / 2u;
  let pos = c.past + row % c.seq;
  let kvd = c.kvHeads * c.headDim;
  let cacheRow = (row / c.seq) * c.maxLen + pos;
  if (head >= c.qHeads + c.kvHeads) {
    let o = row * kvd + (head - c.qHeads - c.kvHeads) * c.headDim;
    let d = cacheRow * kvd + (head - c.qHeads - c.kvHeads) * c.headDim;
    for (var j = lid.x; j < c.headDim; j += 64u) { vCache[d + j] = vIn[o + j]; }
    return;
  }
  if (head >= c.qHeads) {
    let o = row * kvd + (head - c.qHeads) * c.headDim;
    let d = cacheRow * kvd + (head - c.qHeads) * c.headDim;
    let inv = head_inv_rms(o, true, lid.x);
    for (var i = lid.x; i < half; i += 64u) {
      let y = normed_rotated(kIn[o + i], kIn[o + i + half], inv, i, true, pos);
      kCache[d + i] = y.x;
      kCache[d + i + half] = y.y;
    }
    return;
  }
  let o = (row * c.qHeads + head) * c.headDim;
  let inv = head_inv_rms(o, false, lid.x);
  var ys: array<vec2<f32>, MAX_PAIRS>;
  for (var n = 0u; n < MAX_PAIRS; n++) {
    let i = lid.x + 64u * n;
    if (i < half) { ys[n] = normed_rotated(q[o + i], q[o + i + half], inv, i, false, pos); }
  }
  workgroupBarrier();
  for (var n = 0u; n < MAX_PAIRS; n++) {
    let i = lid.x + 64u * n;
    if (i < half) {
      q[o + i] = ys[n].x;
      q[o + i + half] = ys[n].y;
    }
  }
}
