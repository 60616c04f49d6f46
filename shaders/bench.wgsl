// Benchmark helpers: a streaming-read probe (the bandwidth reference of the kernel benchmark) and fills of
// buffers with reproducible pseudo-random data on the GPU (no multi-GB uploads from the CPU).

struct Params {
  n: u32,      // elements (vec4s for the probe)
  seed: u32,
  lo: f32,
  hi: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> sink: array<f32>;
@group(0) @binding(1) var<storage, read_write> outf: array<f32>;
@group(0) @binding(1) var<storage, read_write> outu: array<u32>;

fn hash(x: u32) -> u32 {
  var h = x * 747796405u + 2891336453u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  return (h >> 22u) ^ h;
}

fn unit(i: u32) -> f32 {
  return f32(hash(i ^ (p.seed * 0x9e3779b9u)) >> 8u) / 16777216.0;
}

// Every invocation reads a grid-strided run of vec4s; one store per invocation keeps the loads alive.
@compute @workgroup_size(256)
fn read_probe(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * 256u;
  var acc = vec4<f32>(0.0);
  for (var i = gid.x; i < p.n; i += stride) { acc += src4[i]; }
  if (acc.x == 1234.5678) { sink[gid.x] = acc.y + acc.z + acc.w; }
}

// The per-dispatch floor: one workgroup and a store that never happens, through the same read-write binding
// as the probe, so that the dispatch pays what every kernel pays (launch, barrier) and nothing else.
@compute @workgroup_size(64)
fn empty(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x == p.n) { sink[0] = 1.0; }
}

@compute @workgroup_size(256)
fn fill_f32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  outf[i] = p.lo + (p.hi - p.lo) * unit(i);
}

@compute @workgroup_size(256)
fn fill_u32(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  outu[i] = hash(i ^ (p.seed * 0x9e3779b9u));
}

// f16 pairs uniform in [lo, hi]
@compute @workgroup_size(256)
fn fill_f16x2(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.n) { return; }
  outu[i] = pack2x16float(vec2<f32>(p.lo + (p.hi - p.lo) * unit(2u * i), p.lo + (p.hi - p.lo) * unit(2u * i + 1u)));
}

// A compute-bound spin of p.n dependent FMAs per invocation, queued right before each timed batch: a GPU may
// clock its SMs down under memory-bound work broken by host round trips (docs/performance.md), which slows
// the decode of the packed kernels; a busy ALU keeps the clock at its boost level.
@compute @workgroup_size(256)
fn spin(@builtin(global_invocation_id) gid: vec3<u32>) {
  var a = f32(gid.x) * 1e-9;
  for (var i = 0u; i < p.n; i++) { a = fma(a, 0.999999, 1e-7); }
  if (a == 1234.5678) { outf[gid.x] = a; }
}
