// Whether this adapter lays subgroups out as the kernels' subgroup reductions assume: each subgroup a full,
// aligned run of consecutive local_invocation_index (x fastest in a 2D workgroup). WGSL does not promise it
// (every GPU we know does it); the kernels use subgroups only where this check passed (Gpu.subgroupReduce).
// @if subgroups
@group(0) @binding(0) var<storage, read_write> bad: array<atomic<u32>, 1>;

@compute @workgroup_size(16, 16)
fn layout_check(@builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) lane: u32,
    @builtin(subgroup_size) size: u32) {
  let first = subgroupBroadcastFirst(li);
  let last = subgroupMax(li);
  let ok = first + lane == li && first % size == 0u && last == first + size - 1u;
  if (!ok) { atomicAdd(&bad[0], 1u); }
}
// @endif
