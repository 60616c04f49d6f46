// Scores rows of logits without reading them back: per row, the log-probability of a target token, its
// rank (how many tokens score strictly higher: precision@k is rank < k), the greedy (argmax) token and the
// log-sum-exp. Ties in argmax go to the lowest id, as torch.argmax.
//   logits: [rows, vocab]; targets: [rows] (any value when only argmax is wanted)
//   out:    [rows] x { logprob: f32, rank: u32, argmax: u32, lse: f32 }

struct Params {
  rows: u32,
  vocab: u32,
  _a: u32,
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
