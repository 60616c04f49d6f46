// Scores rows of logits without reading them back: per row, the log-probability of a target token, its
// rank (how many tokens score strictly higher: precision@k is rank < k), the greedy (argmax) token and the
// log-sum-exp. Ties in argmax go to the lowest id, as torch.argmax.
//   logits: [rows, vocab]; targets: [rows] (any value when only argmax is wanted)
//   out:    [rows] x { logprob: f32, rank: u32, argmax: u32, lse: f32 }

struct Params {
  rows: u32,
  vocab: u32,
  splits: u32, // argmax_merge: splits per row
  _b: u32,
}

struct Score {
  logprob: f32,
  rank: u32,
  argmax: u32,
  lse: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<Score>;

const WG: u32 = 256u;
var<workgroup> rv: array<f32, WG>;
var<workgroup> ri: array<u32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
  let r = wg.x + wg.y * 65535u;
  if (r >= p.rows) { return; }
  let lid = lidv.x;
  let o = r * p.vocab;
  let tgt = min(targets[r], p.vocab - 1u);
  let xt = logits[o + tgt];
  var mx = -3.4e38;
  var mi = 0u;
  var greater = 0u;
  for (var c = lid; c < p.vocab; c += WG) {
    let x = logits[o + c];
    if (x > mx) { mx = x; mi = c; }
    if (x > xt) { greater += 1u; }
  }
  reduce_argmax(lid, mx, mi);
  let gmax = rv[0];
  let gidx = ri[0];
  workgroupBarrier();
  var se = 0.0;
  for (var c = lid; c < p.vocab; c += WG) { se += exp(logits[o + c] - gmax); }
  rv[lid] = se;
  ri[lid] = greater;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { rv[lid] += rv[lid + s]; ri[lid] += ri[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let lse = gmax + log(rv[0]);
    out[r] = Score(xt - lse, ri[0], gidx, lse);
  }
}

// ---- the argmax alone (greedy decoding), in two passes so that one row's vocabulary spreads over the GPU (main
// walks a 152K vocabulary in one workgroup, ~600 dependent loads per invocation: most of a small model's decode
// step). argmax_split: workgroup (split, row) takes SPLIT logits of its row and writes (max, its lowest id) to
// part; argmax_merge: a workgroup per row merges the row's p.splits splits and writes out[row].argmax (and the max
// in .lse; .logprob and .rank are not computed: 0). Ties go to the lowest id, as in main.
@group(0) @binding(4) var<storage, read_write> part: array<vec2<u32>>; // (bitcast max, id) per (row, split)
override SPLIT: u32; // logits a workgroup of argmax_split (ops.ts ARGMAX_SPLIT)

/** The workgroup's (max, lowest id of it) from each invocation's; rv / ri hold the result at 0 after. */
fn reduce_argmax(lid: u32, mx: f32, mi: u32) {
  rv[lid] = mx;
  ri[lid] = mi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let a = rv[lid];
      let b = rv[lid + s];
      if (b > a || (b == a && ri[lid + s] < ri[lid])) { rv[lid] = b; ri[lid] = ri[lid + s]; }
    }
    workgroupBarrier();
  }
}

@compute @workgroup_size(WG)
fn argmax_split(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
  let lid = lidv.x;
  let split = wg.x;
  let r = wg.y;
  let c0 = split * SPLIT;
  let c1 = min(p.vocab, c0 + SPLIT);
  var mx = -3.4e38;
  var mi = c0;
  for (var c = c0 + lid; c < c1; c += WG) {
    let x = logits[r * p.vocab + c];
    if (x > mx) { mx = x; mi = c; }
  }
  reduce_argmax(lid, mx, mi);
  if (lid == 0u) { part[r * nwg.x + split] = vec2<u32>(bitcast<u32>(rv[0]), ri[0]); }
}

@compute @workgroup_size(WG)
fn argmax_merge(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lidv: vec3<u32>) {
  let lid = lidv.x;
  let r = wg.x;
  let n = p.splits;
  var mx = -3.4e38;
  var mi = 0u;
  for (var i = lid; i < n; i += WG) {
    let e = part[r * n + i];
    let x = bitcast<f32>(e.x);
    if (x > mx || (x == mx && e.y < mi)) { mx = x; mi = e.y; }
  }
  reduce_argmax(lid, mx, mi);
  if (lid == 0u) { out[r] = Score(0.0, 0u, ri[0], rv[0]); }
}

// ---- one invocation per row, one pass with an online log-sum-exp: for CPU adapters (no barriers)
@compute @workgroup_size(64)
fn serial(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let o = r * p.vocab;
  let xt = logits[o + min(targets[r], p.vocab - 1u)];
  var mx = -3.4e38;
  var mi = 0u;
  var se = 0.0;
  var greater = 0u;
  for (var c = 0u; c < p.vocab; c++) {
    let x = logits[o + c];
    if (x > mx) { se = se * exp(mx - x); mx = x; mi = c; }
    se += exp(x - mx);
    if (x > xt) { greater += 1u; }
  }
  let lse = mx + log(se);
  out[r] = Score(xt - lse, greater, mi, lse);
}
