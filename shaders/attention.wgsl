// Causal grouped-query attention, softmax(q k^T / sqrt(hd)) v, for a batch of sequences.
// One workgroup per (query row, head, sequence). Keys are processed in chunks with an online softmax, so
// any context length fits in a fixed amount of workgroup memory.
//   q:   [batch * seq, heads * hd]         (rope applied)
//   k,v: [batch, kvLen, kvHeads * hd]      (the KV cache, or this pass's projections when past = 0)
//   out: [batch * seq, heads * hd]
// Query row t of a sequence sits at position past + t and sees keys 0 ..= past + t. Rows padded at the end
// of a short sequence see only real keys before them and are never seen by real rows: no mask is needed.

struct Params {
  seq: u32,
  past: u32,
  kvLen: u32,    // row stride of the cache, in positions
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k4: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v4: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> out4: array<vec4<f32>>;

const WG: u32 = 64u;
const CHUNK: u32 = 256u;
const MAX_HD: u32 = 256u;
var<workgroup> qs: array<f32, MAX_HD>;
var<workgroup> probs: array<f32, CHUNK>;
var<workgroup> red: array<f32, WG>;

fn reduce_max(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_sum(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
  let lid = lidv.x;
  let t = wg.x;
  let h = wg.y;
  let b = wg.z;
  let hd = p.headDim;
  let kvh = h / (p.heads / p.kvHeads);
  let qo = ((b * p.seq + t) * p.heads + h) * hd;
  for (var d = lid; d < hd; d += WG) { qs[d] = q[qo + d] * p.scale; }
  workgroupBarrier();

  let nkeys = p.past + t + 1u;
  let kvStride = p.kvHeads * hd;
  let base = b * p.kvLen * kvStride + kvh * hd;
  // Each invocation owns up to MAX_HD / WG output dimensions.
  var acc: array<f32, 4>;
  var m = -3.4e38;
  var l = 0.0;
  for (var c0 = 0u; c0 < nkeys; c0 += CHUNK) {
    let cn = min(CHUNK, nkeys - c0);
    var cmax = -3.4e38;
    for (var j = lid; j < cn; j += WG) {
      let ko = base + (c0 + j) * kvStride;
      var s = 0.0;
      for (var d = 0u; d < hd; d++) { s += qs[d] * k[ko + d]; }
      probs[j] = s;
      cmax = max(cmax, s);
    }
    let newM = max(m, reduce_max(lid, cmax));
    let corr = exp(m - newM);
    var psum = 0.0;
    for (var j = lid; j < cn; j += WG) {
      let e = exp(probs[j] - newM);
      probs[j] = e;
      psum += e;
    }
    l = l * corr + reduce_sum(lid, psum); // reduce_sum's barriers also publish probs[]
    m = newM;
    for (var i = 0u; i < 4u; i++) {
      let d = lid + i * WG;
      if (d < hd) {
        var a = acc[i] * corr;
        for (var j = 0u; j < cn; j++) { a += probs[j] * v[base + (c0 + j) * kvStride + d]; }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let d = lid + i * WG;
    if (d < hd) { out[qo + d] = acc[i] / l; }
  }
}

// ---- one invocation per (query row, head, sequence), online softmax, no barriers: for CPU adapters
@compute @workgroup_size(64)
fn serial(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  let b = gid.z;
  if (t >= p.seq) { return; }
  let hd = p.headDim;
  let kvh = h / (p.heads / p.kvHeads);
  let qo = ((b * p.seq + t) * p.heads + h) * hd;
  let kvStride = p.kvHeads * hd;
  let base = b * p.kvLen * kvStride + kvh * hd;
  var acc: array<f32, MAX_HD>;
  var m = -3.4e38;
  var l = 0.0;
  for (var j = 0u; j <= p.past + t; j++) {
    let ko = base + j * kvStride;
    var s = 0.0;
    for (var d = 0u; d < hd; d++) { s += q[qo + d] * k[ko + d]; }
    s *= p.scale;
    if (s > m) {
      let c = exp(m - s);
      l *= c;
      for (var d = 0u; d < hd; d++) { acc[d] *= c; }
      m = s;
    }
    let e = exp(s - m);
    l += e;
    for (var d = 0u; d < hd; d++) { acc[d] += e * v[ko + d]; }
  }
  for (var d = 0u; d < hd; d++) { out[qo + d] = acc[d] / l; }
}

// ---- the same with vec4 loads (head_dim % 4 == 0): what CPU adapters vectorize best
@compute @workgroup_size(64)
fn serial_vec4(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x;
  let h = gid.y;
  let b = gid.z;
  if (t >= p.seq) { return; }
  let hd4 = p.headDim / 4u;
  let kvh = h / (p.heads / p.kvHeads);
  let qo = ((b * p.seq + t) * p.heads + h) * hd4;
  let kvStride = p.kvHeads * hd4;
  let base = b * p.kvLen * kvStride + kvh * hd4;
  var acc: array<vec4<f32>, MAX_HD / 4u>;
  var m = -3.4e38;
  var l = 0.0;
  for (var j = 0u; j <= p.past + t; j++) {
    let ko = base + j * kvStride;
    var s4 = vec4<f32>(0.0);
    for (var d = 0u; d < hd4; d++) { s4 += q4[qo + d] * k4[ko + d]; }
    let s = (s4.x + s4.y + s4.z + s4.w) * p.scale;
    if (s > m) {
      let c = exp(m - s);
      l *= c;
      for (var d = 0u; d < hd4; d++) { acc[d] *= c; }
      m = s;
    }
    let e = exp(s - m);
    l += e;
    for (var d = 0u; d < hd4; d++) { acc[d] += e * v4[ko + d]; }
  }
  for (var d = 0u; d < hd4; d++) { out4[qo + d] = acc[d] / l; }
}
