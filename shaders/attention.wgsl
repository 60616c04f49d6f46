// Causal grouped-query attention, softmax(q k^T / sqrt(hd)) v, for a batch of sequences.
//   q:   [batch * seq, heads * hd]         (rope applied)
//   k,v: [batch, kvLen, kvHeads * hd]      (the KV cache, or this pass's projections when past = 0)
//   out: [batch * seq, heads * hd]
// Query row t of a sequence sits at position past + t and sees keys 0 ..= past + t. Rows padded at the end
// of a short sequence see only real keys before them and are never seen by real rows: no mask is needed.
// Every kernel keeps an online softmax (running max and sum per query row), so any context fits.
// Entry points (src/model/ops.ts attention() picks one):
//   flash           prefill (seq > 1) on GPUs: a workgroup per block of BQ query rows, K and V tiles staged in
//                   workgroup memory and shared by the block's rows (head_dim % 4 == 0, <= 128)
//   decode          one query row per sequence (seq == 1) on GPUs with subgroups: 4 invocations per key,
//                   keys split across workgroups (flash-decoding); decode_combine merges the splits
//   decode_rope     decode that first norms (Qwen3) and rotates this step's q and k itself and writes k and v
//                   into the cache: what rope.wgsl rope_cache does in a dispatch of its own (head_dim % 32 == 0)
//   main            any head_dim <= 256: a workgroup per (query row, head, sequence)
//   serial(_vec4)   one invocation per query row, no barriers: CPU adapters

struct Params {
  seq: u32,
  past: u32,
  kvLen: u32,    // row stride of the cache, in positions
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  scale: f32,
  splits: u32,   // decode: workgroups along the keys per (head, sequence); 1: no decode_combine pass
  splitLen: u32, // decode: keys per split
  eps: f32,      // decode_rope: the q/k norms' epsilon
  positions: u32, // decode_rope: positions of the rope table
  normed: u32,   // decode_rope: 1 where q and k heads are RMS-normed first (Qwen3)
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
// decode's partial results per (sequence, head, split): (max, sum, 0, 0), then hd / 4 vec4 of unnormalised output
@group(0) @binding(5) var<storage, read_write> partials: array<vec4<f32>>;

// A score that no key gets: exp(NEG - m) is 0 for any real running max m, and NEG - NEG is no NaN.
const NEG: f32 = -3.0e38;

// ---- main: one workgroup of 64 per (query row, head, sequence); keys in chunks of 256
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


// ---- flash: prefill on GPUs. A workgroup of FT per (head, sequence, block of BQ query rows). Per tile of BK
// keys: S = Q K^T with K staged in chunks of DC4 vec4 of head dims, the rows' running max and sum updated,
// O += P V with V staged the same way. Invocation t = 8 rg + c owns rows 2 rg and 2 rg + 1 of the block: their
// scores against keys c, c + 8, c + 16, c + 24 of each tile and their outputs at head dims (vec4) c and c + 8
// of each chunk. Rows of the workgroup arrays are padded by one vec4, so that the 4 rows or 8 keys that one
// instruction reads sit in different banks. Only tiles that reach past the block's first position are
// masked; tiles past its last position are never read. Workgroup memory: 31 KiB at head_dim 128.
override HD4: u32 = 32u;                    // head_dim / 4
const BQ: u32 = 32u;                        // query rows per workgroup (ops.ts FLASH_ROWS)
const BK: u32 = 32u;                        // keys per tile
const FT: u32 = 128u;                       // invocations: 16 row pairs x 8
override DC4: u32 = min(HD4, 16u);          // head dims per staged chunk, in vec4
override NCH: u32 = (HD4 + DC4 - 1u) / DC4; // chunks: 1 or 2 (head_dim <= 128)
override QS: u32 = HD4 + 1u;                // padded row strides, in vec4
override KS: u32 = DC4 + 1u;
const PS: u32 = BK / 4u + 1u;
override FQ_LEN: u32 = BQ * QS;
override FKV_LEN: u32 = BK * KS;
var<workgroup> fq: array<vec4<f32>, FQ_LEN>;   // the block's query rows, scaled
var<workgroup> fkv: array<vec4<f32>, FKV_LEN>; // one chunk of the tile's keys or values
var<workgroup> fp: array<vec4<f32>, BQ * PS>;  // the tile's probabilities: [row][c] = keys c + 8 j, j < 4
var<workgroup> fmax: array<f32, BQ * 8u>;      // per row, each of its 8 invocations' max score

/** fkv = head dims [c DC4, c DC4 + cw) (vec4) of keys (isV: values) k0 .. k0 + BK; zeros from key nkeys on. */
fn flash_stage(isV: bool, base: u32, stride: u32, k0: u32, nkeys: u32, c: u32, cw: u32, t: u32) {
  for (var i = t; i < BK * cw; i += FT) {
    let kk = i / cw;
    let d4 = i % cw;
    var x = vec4<f32>(0.0);
    if (k0 + kk < nkeys) {
      let a = base + (k0 + kk) * stride + c * DC4 + d4;
      if (isV) { x = v4[a]; } else { x = k4[a]; }
    }
    fkv[kk * KS + d4] = x;
  }
}

/** Adds chunk c's head-dim products of rows r0, r0 + 1 with keys tc + 8 j (j < 4) to sa, sb (fkv holds keys). */
fn flash_qk(sa: ptr<function, array<vec4<f32>, 4>>, sb: ptr<function, array<vec4<f32>, 4>>, r0: u32, tc: u32, c: u32, cw: u32) {
  for (var d4 = 0u; d4 < cw; d4++) {
    let qa = fq[r0 * QS + c * DC4 + d4];
    let qb = fq[(r0 + 1u) * QS + c * DC4 + d4];
    for (var j = 0u; j < 4u; j++) {
      let x = fkv[(tc + 8u * j) * KS + d4];
      (*sa)[j] = fma(qa, x, (*sa)[j]);
      (*sb)[j] = fma(qb, x, (*sb)[j]);
    }
  }
}

/**
 * o[r * 2 + e] += P[r0 + r, :] V[:, dims tc + 8 e of the chunk] over the tile (fkv holds the chunk of values);
 * returns the two rows' sums of P. fp[row][c] holds keys c, c + 8, c + 16, c + 24.
 */
fn flash_pv(o: ptr<function, array<vec4<f32>, 4>>, r0: u32, tc: u32, cw: u32) -> vec2<f32> {
  var sum = vec2<f32>(0.0);
  for (var c = 0u; c < 8u; c++) {
    let wa = fp[r0 * PS + c];
    let wb = fp[(r0 + 1u) * PS + c];
    sum += vec2<f32>(wa.x + wa.y + wa.z + wa.w, wb.x + wb.y + wb.z + wb.w);
    for (var kk = 0u; kk < 4u; kk++) {
      for (var e = 0u; e < 2u; e++) {
        let d4 = tc + 8u * e;
        if (d4 < cw) {
          let x = fkv[(c + 8u * kk) * KS + d4];
          (*o)[e] = fma(vec4<f32>(wa[kk]), x, (*o)[e]);
          (*o)[2u + e] = fma(vec4<f32>(wb[kk]), x, (*o)[2u + e]);
        }
      }
    }
  }
  return sum;
}

fn flash_store(o: ptr<function, array<vec4<f32>, 4>>, l: vec2<f32>, b: u32, h: u32, t0: u32, rows: u32, r0: u32, tc: u32, c: u32) {
  let cw = min(DC4, HD4 - c * DC4);
  for (var r = 0u; r < 2u; r++) {
    if (r0 + r < rows) {
      for (var e = 0u; e < 2u; e++) {
        let d4 = tc + 8u * e;
        if (d4 < cw) { out4[((b * p.seq + t0 + r0 + r) * p.heads + h) * HD4 + c * DC4 + d4] = (*o)[r * 2u + e] / l[r]; }
      }
    }
  }
}

@compute @workgroup_size(FT)
fn flash(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let b = wg.y;
  let t0 = (nwg.z - 1u - wg.z) * BQ; // the blocks with the most keys start first
  let rows = min(BQ, p.seq - t0);
  let kvh = h / (p.heads / p.kvHeads);
  let stride = p.kvHeads * HD4;
  let base = b * p.kvLen * stride + kvh * HD4;
  let r0 = 2u * (t / 8u);
  let tc = t % 8u;
  for (var i = t; i < BQ * HD4; i += FT) {
    let r = i / HD4;
    let tq = t0 + min(r, rows - 1u); // rows past the sequence: copies of its last row (never written)
    fq[r * QS + i % HD4] = q4[((b * p.seq + tq) * p.heads + h) * HD4 + i % HD4] * p.scale;
  }
  let lim = vec2<u32>(p.past + t0 + min(r0, rows - 1u), p.past + t0 + min(r0 + 1u, rows - 1u));
  let nkeys = p.past + t0 + rows;
  var m = vec2<f32>(NEG);
  var l = vec2<f32>(0.0);
  var o0 = array<vec4<f32>, 4>(); // chunk 0: [row][e]
  var o1 = array<vec4<f32>, 4>(); // chunk 1
  for (var k0 = 0u; k0 < nkeys; k0 += BK) {
    // explicit initializers: declared without one, these kept the previous tile's sums on SwiftShader (Dawn
    // for Node 0.6.2)
    var sa = array<vec4<f32>, 4>();
    var sb = array<vec4<f32>, 4>();
    for (var c = 0u; c < NCH; c++) {
      let cw = min(DC4, HD4 - c * DC4);
      workgroupBarrier(); // fkv's last readers are done
      flash_stage(false, base, stride, k0, nkeys, c, cw, t);
      workgroupBarrier();
      flash_qk(&sa, &sb, r0, tc, c, cw);
    }
    let one = vec4<f32>(1.0);
    var s0 = vec4<f32>(dot(sa[0], one), dot(sa[1], one), dot(sa[2], one), dot(sa[3], one));
    var s1 = vec4<f32>(dot(sb[0], one), dot(sb[1], one), dot(sb[2], one), dot(sb[3], one));
    if (k0 + BK > p.past + t0 + 1u) {
      let key = vec4<u32>(k0 + tc) + vec4<u32>(0u, 8u, 16u, 24u);
      s0 = select(s0, vec4<f32>(NEG), key > vec4<u32>(lim.x));
      s1 = select(s1, vec4<f32>(NEG), key > vec4<u32>(lim.y));
    }
    fmax[r0 * 8u + tc] = max(max(s0.x, s0.y), max(s0.z, s0.w));
    fmax[(r0 + 1u) * 8u + tc] = max(max(s1.x, s1.y), max(s1.z, s1.w));
    workgroupBarrier(); // every key read, every row's maxima written
    flash_stage(true, base, stride, k0, nkeys, 0u, DC4, t);
    var mx = m;
    for (var j = 0u; j < 8u; j++) { mx = max(mx, vec2<f32>(fmax[r0 * 8u + j], fmax[(r0 + 1u) * 8u + j])); }
    let corr = exp(m - mx);
    m = mx;
    // whole vec4 stores (a store to one component may be a read-modify-write of the vector on some backends)
    fp[r0 * PS + tc] = exp(s0 - mx.x);
    fp[(r0 + 1u) * PS + tc] = exp(s1 - mx.y);
    for (var e = 0u; e < 2u; e++) {
      o0[e] *= corr.x;
      o0[2u + e] *= corr.y;
      o1[e] *= corr.x;
      o1[2u + e] *= corr.y;
    }
    workgroupBarrier(); // the probabilities and the first chunk of values are in
    l = l * corr + flash_pv(&o0, r0, tc, DC4);
    if (NCH > 1u) {
      let cw = HD4 - DC4;
      workgroupBarrier();
      flash_stage(true, base, stride, k0, nkeys, 1u, cw, t);
      workgroupBarrier();
      _ = flash_pv(&o1, r0, tc, cw);
    }
  }
  flash_store(&o0, l, b, h, t0, rows, r0, tc, 0u);
  if (NCH > 1u) { flash_store(&o1, l, b, h, t0, rows, r0, tc, 1u); }
}

// ---- decode: one query row per sequence (seq == 1), on adapters whose subgroups are aligned runs of at least
// 4 invocations (Gpu.subgroupReduce). A workgroup of DT per (head, split, sequence) takes keys
// [split * splitLen, (split + 1) * splitLen) of its sequence. Each 4 consecutive invocations (a quad, inside
// one subgroup) take KEYS keys at a time (two at head_dim 128: j and j + NQ, both keys' and both values' loads
// issued before any is used; at batch 1 the time is a chain of memory round trips), invocation i of the
// quad reading vec4 i, i + 4, .. of each row (a quad reads 64 contiguous bytes, whole 32-byte sectors), the
// dot products summed over the quad by two vec2 shuffles; each quad keeps a running max, sum and output of its
// own. The workgroup then merges its quads and writes the output (splits == 1) or its partial result for
// decode_combine. Splits follow heads in the grid, so the heads that share a KV head read the same split at
// about the same time (the repeats hit L2).
const DT: u32 = 128u;      // invocations (ops.ts DECODE_THREADS)
const NQ: u32 = DT / 4u;   // quads; KEYS NQ keys in flight per workgroup (ops.ts decodeSplits)
const NV: u32 = 8u;        // vec4 of a row per invocation: head_dim <= 128
override NVH: u32 = (HD4 + 3u) / 4u;
// keys a quad takes a trip: two where rows are 128 wide; at head_dim 64 and 32 two were slower (docs/experiments.md)
override KEYS: u32 = select(1u, 2u, HD4 == 32u);
// @if subgroups
override DACC_LEN: u32 = NQ * HD4;
var<workgroup> dm: array<f32, NQ>;
var<workgroup> dl: array<f32, NQ>;
var<workgroup> dacc: array<vec4<f32>, DACC_LEN>;

/**
 * Keys [split * splitLen, (split + 1) * splitLen) of sequence b, up to its last (p.past), against head h's query
 * qv (this lane's vec4s, scaled): the head's output (splits == 1) or the split's partial result. Key row newRow
 * comes from kn / vn (this step's key and value, which other workgroups may still be writing to the cache)
 * instead of the cache; 0xffffffff: none. newRow is the sequence's last key (p.past), so the last of its split:
 * quad 0 takes it before the loop, which stops short of it: kn / vn are not held across the loop, which already
 * holds 4 NV vec4 a lane in flight (two keys' and two values' rows) besides qv and acc.
 */
fn decode_keys(h: u32, split: u32, b: u32, t: u32, qv: array<vec4<f32>, NV>, newRow: u32, kn: array<vec4<f32>, NV>, vn: array<vec4<f32>, NV>) {
  let quad = t / 4u;
  let lane = t % 4u;
  let kvh = h / (p.heads / p.kvHeads);
  let stride = p.kvHeads * HD4;
  let base = b * p.kvLen * stride + kvh * HD4;
  let qo = (b * p.heads + h) * HD4;
  let j0 = split * p.splitLen;
  let j1 = min(p.past + 1u, j0 + p.splitLen);
  var m = NEG;
  var l = 0.0;
  var acc = array<vec4<f32>, NV>();
  var jl = j1; // the loop's keys: [j0, jl)
  if (newRow >= j0 && newRow < j1) { // uniform: every invocation runs the shuffles
    jl = newRow;
    var part = 0.0;
    for (var i = 0u; i < NVH; i++) {
      if (lane + 4u * i < HD4) { part += dot(qv[i], kn[i]); }
    }
    var s = part + subgroupShuffleXor(part, 1u);
    s += subgroupShuffleXor(s, 2u);
    if (quad == 0u) {
      m = s;
      l = 1.0;
      acc = vn;
    }
  }
  // a trip count shared by the whole workgroup (the shuffles need every invocation); keys past jl weigh 0 and
  // read row jl - 1 (a cached row, not newRow's)
  for (var it = j0; it < jl; it += KEYS * NQ) {
    let j = vec2<u32>(it + quad, it + quad + NQ);
    let valid = (j < vec2<u32>(jl)) & vec2<bool>(true, KEYS == 2u);
    let ra = base + min(j.x, jl - 1u) * stride;
    let rb = base + min(j.y, jl - 1u) * stride;
    var part = vec2<f32>(0.0);
    var va = array<vec4<f32>, NV>();
    var vb = array<vec4<f32>, NV>();
    for (var i = 0u; i < NVH; i++) {
      let d4 = lane + 4u * i;
      if (d4 < HD4) {
        part.x += dot(qv[i], k4[ra + d4]);
        va[i] = v4[ra + d4];
        if (KEYS == 2u) {
          part.y += dot(qv[i], k4[rb + d4]);
          vb[i] = v4[rb + d4];
        }
      }
    }
    // the same sums in every invocation of the quad: (a + b) + (c + d) and (c + d) + (a + b) are equal
    var s = part + subgroupShuffleXor(part, 1u);
    s += subgroupShuffleXor(s, 2u);
    s = select(vec2<f32>(NEG), s, valid);
    let mx = max(m, max(s.x, s.y));
    let corr = exp(m - mx);
    let w = select(vec2<f32>(0.0), exp(s - mx), valid);
    l = l * corr + w.x + w.y;
    for (var i = 0u; i < NVH; i++) { acc[i] = acc[i] * corr + w.x * va[i] + w.y * vb[i]; }
    m = mx;
  }
  if (lane == 0u) {
    dm[quad] = m;
    dl[quad] = l;
  }
  for (var i = 0u; i < NVH; i++) {
    let d4 = lane + 4u * i;
    if (d4 < HD4) { dacc[quad * HD4 + d4] = acc[i]; }
  }
  workgroupBarrier();
  var mx = NEG;
  for (var i = 0u; i < NQ; i++) { mx = max(mx, dm[i]); }
  var sum = 0.0;
  for (var i = 0u; i < NQ; i++) { sum += dl[i] * exp(dm[i] - mx); }
  // invocation (g, d4) sums quads g, g + G, .. into quad g's slot (read by no other invocation), then the
  // first HD4 invocations sum the G slots
  let G = min(DT / HD4, NQ);
  let g = t / HD4;
  let d4 = t % HD4;
  if (g < G) {
    var o = vec4<f32>(0.0);
    for (var i = g; i < NQ; i += G) { o += dacc[i * HD4 + d4] * exp(dm[i] - mx); }
    dacc[g * HD4 + d4] = o;
  }
  workgroupBarrier();
  if (t < HD4) {
    var o = vec4<f32>(0.0);
    for (var i = 0u; i < G; i++) { o += dacc[i * HD4 + t]; }
    if (p.splits == 1u) {
      out4[qo + t] = o / sum;
    } else {
      let r = ((b * p.heads + h) * p.splits + split) * (HD4 + 1u);
      partials[r + 1u + t] = o;
      if (t == 0u) { partials[r] = vec4<f32>(mx, sum, 0.0, 0.0); }
    }
  }
}

@compute @workgroup_size(DT)
fn decode(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let lane = t % 4u;
  let qo = (wg.z * p.heads + wg.x) * HD4;
  var qv = array<vec4<f32>, NV>();
  for (var i = 0u; i < NVH; i++) {
    let d4 = lane + 4u * i;
    if (d4 < HD4) { qv[i] = q4[qo + d4] * p.scale; }
  }
  decode_keys(wg.x, wg.y, wg.z, t, qv, 0xffffffffu, array<vec4<f32>, NV>(), array<vec4<f32>, NV>());
}

// ---- decode_rope: decode with rope_cache's work done first in the same dispatch. Every workgroup norms and
// rotates its head's q, and the key of its KV head at this step's position (kNew: [batch, kvHeads * hd], raw
// from the k projection); it takes that key and this step's value (vNew) from registers, and the first q
// head of each KV head writes them into the cache (binding 2 and 3, read_write here) in the split that holds
// the position. A lane's vec4s d4 = lane + 4i pair for the rotation with d4 + HD4 / 2 at i + NVH / 2, in the
// same invocation, when head_dim % 32 == 0 (ops.ts checks).
@group(0) @binding(2) var<storage, read_write> k4_rw: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v4_rw: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> kNew4: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> vNew4: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> rope4: array<vec4<f32>>;   // [cos | sin], each [positions, hd / 2]
@group(0) @binding(9) var<storage, read> qkNorm4: array<vec4<f32>>; // [q norm | k norm] weights (p.normed)

/** A head held as this lane's vec4s, RMS-normed (weights at vec4 normAt of qkNorm4) where p.normed, then rotated to pos. */
fn normed_rotated_head(x0: array<vec4<f32>, NV>, lane: u32, normAt: u32, pos: u32) -> array<vec4<f32>, NV> {
  var x = x0;
  if (p.normed != 0u) {
    var ss = 0.0;
    for (var i = 0u; i < NVH; i++) { ss += dot(x[i], x[i]); }
    ss += subgroupShuffleXor(ss, 1u);
    ss += subgroupShuffleXor(ss, 2u);
    let inv = inverseSqrt(ss / f32(p.headDim) + p.eps);
    for (var i = 0u; i < NVH; i++) { x[i] = x[i] * inv * qkNorm4[normAt + lane + 4u * i]; }
  }
  let half = p.headDim / 2u;
  let cs0 = pos * half / 4u;
  let sn0 = (p.positions + pos) * half / 4u;
  var y = x;
  for (var i = 0u; i < NVH / 2u; i++) {
    let d4 = lane + 4u * i;
    let c = rope4[cs0 + d4];
    let s = rope4[sn0 + d4];
    let lo = x[i];
    let hi = x[i + NVH / 2u];
    y[i] = lo * c - hi * s;
    y[i + NVH / 2u] = hi * c + lo * s;
  }
  return y;
}

// @clone _rw decode_keys k4 v4
@compute @workgroup_size(DT)
fn decode_rope(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let split = wg.y;
  let b = wg.z;
  let lane = t % 4u;
  let kvh = h / (p.heads / p.kvHeads);
  let qo = (b * p.heads + h) * HD4;
  let ko = (b * p.kvHeads + kvh) * HD4;
  var q = array<vec4<f32>, NV>();
  var k = array<vec4<f32>, NV>();
  var v = array<vec4<f32>, NV>();
  for (var i = 0u; i < NVH; i++) {
    let d4 = lane + 4u * i;
    q[i] = q4[qo + d4];
    k[i] = kNew4[ko + d4];
    v[i] = vNew4[ko + d4];
  }
  var qv = normed_rotated_head(q, lane, 0u, p.past);
  for (var i = 0u; i < NVH; i++) { qv[i] = qv[i] * p.scale; }
  let kn = normed_rotated_head(k, lane, HD4, p.past);
  if (h % (p.heads / p.kvHeads) == 0u && p.past / p.splitLen == split && t < 4u) {
    let row = (b * p.kvLen + p.past) * p.kvHeads * HD4 + kvh * HD4;
    for (var i = 0u; i < NVH; i++) {
      k4_rw[row + lane + 4u * i] = kn[i];
      v4_rw[row + lane + 4u * i] = v[i];
    }
  }
  decode_keys_rw(h, split, b, t, qv, p.past, kn, v);
}
// @endif

// ---- decode_combine: a decode step's splits (at most DT) merged, a workgroup of DT per (head, sequence)
var<workgroup> cm: array<f32, DT>;
var<workgroup> cs: array<f32, DT>;
var<workgroup> cacc: array<vec4<f32>, DT>;

@compute @workgroup_size(DT)
fn decode_combine(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let h = wg.x;
  let b = wg.y;
  let n = p.splits;
  let rec = HD4 + 1u;
  let r0 = (b * p.heads + h) * n;
  if (t < n) {
    let x = partials[(r0 + t) * rec];
    cm[t] = x.x;
    cs[t] = x.y;
  }
  workgroupBarrier();
  var mx = NEG;
  for (var i = 0u; i < n; i++) { mx = max(mx, cm[i]); }
  var sum = 0.0;
  for (var i = 0u; i < n; i++) { sum += cs[i] * exp(cm[i] - mx); }
  let G = DT / HD4;
  let g = t / HD4;
  var o = vec4<f32>(0.0);
  if (g < G) {
    for (var i = g; i < n; i += G) { o += partials[(r0 + i) * rec + 1u + t % HD4] * exp(cm[i] - mx); }
  }
  cacc[t] = o;
  workgroupBarrier();
  if (t < HD4) {
    var tot = vec4<f32>(0.0);
    for (var i = 0u; i < G; i++) { tot += cacc[i * HD4 + t]; }
    out4[(b * p.heads + h) * HD4 + t] = tot / sum;
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
