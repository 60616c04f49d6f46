// The one WebGPU runtime of the lab: device acquisition, pipeline cache, buffers, command batches, timing.
// Shared by the browser and Node: the entry points (browser.ts, node.ts) only supply the `GPU` object.

import {
  DeviceLostError,
  GpuLimitError,
  GpuOutOfMemoryError,
  GpuValidationError,
  NoAdapterError,
  WebGPUUnavailableError,
} from './errors';
import { emulateF16, type ShaderFeature, shaderSource } from './shaders';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** The matrix units' shapes (Dawn's experimental subgroup matrices); empty where not offered. */
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
  features: string[];
  limits: Record<string, number>;
}

export interface GpuOptions {
  powerPreference?: GPUPowerPreference;
  /** Called once if the device is lost (not on destroy()). */
  onLost?: (err: DeviceLostError) => void;
  /** Node only: Dawn toggles, e.g. 'enable-dawn-features=vulkan_enable_f16_on_nvidia'. */
  dawnToggles?: string[];
  /**
   * Which GEMMs to multiply on the matrix units where the device offers them (off by default): 'dense', those
   * with f16 float weights (Gpu.matrixUnits; measured faster than the f32 tiles); 'all', the packed ones too
   * (Gpu.packedOnMatrixUnits; measured slower so far: docs/realsize.md).
   */
  matrixUnits?: 'dense' | 'all';
}

export interface KernelSpec {
  shader: string;
  entry?: string;
  constants?: Record<string, number>;
  features?: ShaderFeature[];
  /** Variant blocks of the shader to keep (`// @if NAME`), e.g. weights_f16. */
  defines?: string[];
}

/** A storage binding: a whole buffer, or a byte range of one. */
export type Binding = GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

const LIMITS_WANTED = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

/** Uploads between these sizes go through writeStaged (smaller ones: writeBuffer is faster). */
const STAGED_WRITE_MIN = 1 << 20, STAGED_WRITE_MAX = 16 << 20;

/** The matrix units: Dawn offers them where its allow_unsafe_apis toggle is on (Chrome: the unsafe-WebGPU flag). */
const SUBGROUP_MATRIX = 'chromium-experimental-subgroup-matrix';
const FEATURES_WANTED: GPUFeatureName[] = ['subgroups', 'timestamp-query', 'shader-f16', SUBGROUP_MATRIX] as GPUFeatureName[];

export interface SubgroupMatrixConfig { componentType: string; resultComponentType: string; M: number; N: number; K: number }

export class Gpu {
  readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Each pipeline's bind group layout, asked of Dawn once (asking on every dispatch is costly in Node). */
  private readonly layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  readonly hasSubgroups: boolean;
  readonly hasF16: boolean;
  readonly hasTimestamps: boolean;
  /**
   * Kernels may sum across a subgroup (subgroupAdd, subgroupShuffleXor): the adapter has subgroups and lays
   * them out as aligned runs of consecutive invocations (checked when the device opens).
   */
  subgroupReduce = false;
  /**
   * Use the one-invocation-per-row kernel variants (no workgroup barriers). On CPU adapters (SwiftShader)
   * a barrier costs a switch of every invocation, so reductions in workgroup memory are far slower there.
   */
  serialKernels: boolean;
  /**
   * Tests: compile shader-f16 variants with their f16 arithmetic done in f32 where the adapter has no
   * shader-f16 (shaders.ts emulateF16), and let defaults pick them as on an f16 adapter (f16Kernels), so that
   * the f16 kernels' logic runs on SwiftShader. hasF16 stays false.
   */
  emulateF16 = false;
  /**
   * The device could multiply the GEMMs on its matrix units (shaders/mma_tile.wgsl: inputs rounded to f16, f32
   * sums): it has subgroup matrices of f16 x f16 -> f32 16 x 16 x 16, shader-f16, and subgroups of a fixed 32.
   */
  readonly matrixUnitsOffered: boolean;
  /**
   * The GEMMs with f16 float weights (M > 1: prefill, evaluation, calibration) run on the matrix units: where
   * offered and asked for (GpuOptions.matrixUnits; off by default: their inputs are rounded to f16).
   */
  matrixUnits = false;
  /** The packed GEMMs too (GpuOptions.matrixUnits 'all'; only where `matrixUnits` is on). */
  packedOnMatrixUnits = false;
  /** Whether the f16 kernel variants run here: the adapter has shader-f16, or tests emulate it. */
  get f16Kernels(): boolean {
    return this.hasF16 || this.emulateF16;
  }
  /** The first asynchronous error (validation, OOM, loss) seen; surfaced by the next read or flush. */
  private pending: Error | null = null;
  private staging: GPUBuffer[] = [];
  /** Upload staging (writeStaged): at most two MAP_WRITE buffers, mapped while idle. */
  private uploads: { buffer: GPUBuffer; ready: boolean }[] = [];
  /** Uploads that went through writeStaged (for tests and diagnostics). */
  stagedWrites = 0;
  private destroyed = false;
  /** A tiny buffer bound where a kernel declares an optional input that this call does not use. */
  readonly empty: GPUBuffer;
  readonly lost: Promise<DeviceLostError | null>;

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterSummary,
    onLost?: (e: DeviceLostError) => void,
  ) {
    const f = device.features;
    this.hasSubgroups = f.has('subgroups');
    this.hasF16 = f.has('shader-f16');
    this.hasTimestamps = f.has('timestamp-query');
    this.serialKernels = adapter.isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(`${adapter.architecture} ${adapter.description}`);
    this.matrixUnitsOffered = f.has(SUBGROUP_MATRIX) && this.hasF16 && this.hasSubgroups && !this.serialKernels
      && adapter.subgroupMinSize === 32 && adapter.subgroupMaxSize === 32
      && adapter.subgroupMatrixConfigs.some((c) => c.componentType === 'f16' && c.resultComponentType === 'f32' && c.M === 16 && c.N === 16 && c.K === 16);
    this.empty = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE, label: 'empty' });
    this.lost = device.lost.then((info) => {
      if (this.destroyed || info.reason === 'destroyed') return null;
      const err = new DeviceLostError(info.reason, info.message);
      this.pending ??= err;
      onLost?.(err);
      return err;
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      this.pending ??= new Error(`WebGPU error: ${e.message}`);
    });
  }

  static async open(api: GPU | undefined, where: 'browser' | 'node', opts: GpuOptions = {}): Promise<Gpu> {
    if (!api) throw new WebGPUUnavailableError(where);
    const adapter = await api.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) {
      throw new NoAdapterError(
        where === 'browser'
          ? 'Enable WebGPU for this GPU (chrome://flags/#enable-unsafe-webgpu on Linux), update the GPU driver, or check chrome://gpu.'
          : 'Install a Vulkan driver (on a machine without a GPU: `bash scripts/setup.sh`, which installs SwiftShader with Chromium), or set VK_ICD_FILENAMES.',
      );
    }
    const requiredFeatures = FEATURES_WANTED.filter((f) => adapter.features.has(f));
    const requiredLimits: Record<string, number> = {};
    for (const k of LIMITS_WANTED) {
      const v = (adapter.limits as unknown as Record<string, number>)[k];
      if (typeof v === 'number') requiredLimits[k] = v;
    }
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'quantlab' });
    const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number };
    const limits: Record<string, number> = {};
    for (const k of LIMITS_WANTED) limits[k] = (device.limits as unknown as Record<string, number>)[k];
    limits.minStorageBufferOffsetAlignment = device.limits.minStorageBufferOffsetAlignment;
    limits.minUniformBufferOffsetAlignment = device.limits.minUniformBufferOffsetAlignment;
    const summary: AdapterSummary = {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
      subgroupMinSize: info.subgroupMinSize,
      subgroupMaxSize: info.subgroupMaxSize,
      subgroupMatrixConfigs: [...((info as { subgroupMatrixConfigs?: Iterable<SubgroupMatrixConfig> }).subgroupMatrixConfigs ?? [])]
        .map((c) => ({ componentType: c.componentType, resultComponentType: c.resultComponentType, M: c.M, N: c.N, K: c.K })),
      features: [...device.features].sort(),
      limits,
    };
    const gpu = new Gpu(device, summary, opts.onLost);
    if (gpu.hasSubgroups) gpu.subgroupReduce = await gpu.subgroupLayoutIsLinear();
    gpu.matrixUnits = gpu.matrixUnitsOffered && Boolean(opts.matrixUnits);
    gpu.packedOnMatrixUnits = gpu.matrixUnits && opts.matrixUnits === 'all';
    return gpu;
  }

  /** Runs the layout check of shaders/subgroups.wgsl over a few workgroups. */
  private async subgroupLayoutIsLinear(): Promise<boolean> {
    const bad = this.buffer(16, 'subgroups.check');
    await this.batch('subgroups.check').dispatch({ shader: 'subgroups', entry: 'layout_check', features: ['subgroups'] }, { 0: bad }, 8).submit();
    const n = (await this.readU32(bad, 1))[0];
    bad.destroy();
    return n === 0;
  }

  /** One line naming the adapter, for headers and result rows. */
  get adapterName(): string {
    const a = this.adapter;
    return [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') || 'unknown adapter';
  }

  // ------------------------------------------------------------------ pipelines

  pipeline(spec: KernelSpec): GPUComputePipeline {
    const entry = spec.entry ?? 'main';
    const features = spec.features ?? [];
    const emulated = features.includes('f16') && !this.hasF16 && this.emulateF16;
    const defines = spec.defines ?? [];
    const key = `${spec.shader}|${entry}|${features.join(',')}${emulated ? '(emulated)' : ''}|${defines.join(',')}|${JSON.stringify(spec.constants ?? {})}`;
    let p = this.pipelines.get(key);
    if (p) return p;
    if (features.includes('subgroups') && !this.hasSubgroups) {
      throw new GpuValidationError(spec.shader, entry, 'the adapter has no "subgroups" feature; use the fallback variant');
    }
    if (features.includes('subgroup_matrix') && !this.device.features.has(SUBGROUP_MATRIX)) {
      throw new GpuValidationError(spec.shader, entry, `the device has no "${SUBGROUP_MATRIX}" feature; use the f32 GEMM`);
    }
    if (features.includes('f16') && !this.hasF16 && !emulated) {
      throw new GpuValidationError(spec.shader, entry, 'the adapter has no "shader-f16" feature; use the f32 variant');
    }
    this.device.pushErrorScope('validation');
    const source = shaderSource(spec.shader, features, defines);
    const module = this.device.createShaderModule({ code: emulated ? emulateF16(source, spec.shader) : source, label: spec.shader });
    p = this.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: entry, constants: spec.constants },
      label: `${spec.shader}:${entry}`,
    });
    this.device.popErrorScope().then(async (err) => {
      if (!err) return;
      const info = await module.getCompilationInfo();
      const msgs = info.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
      // The compile error explains the generic "invalid pipeline" errors that follow it: it wins.
      if (!(this.pending instanceof GpuValidationError)) this.pending = new GpuValidationError(spec.shader, entry, msgs || err.message);
    });
    this.pipelines.set(key, p);
    return p;
  }

  /** A pipeline's bind group layout, asked of Dawn once per pipeline. */
  bindGroupLayout(p: GPUComputePipeline): GPUBindGroupLayout {
    let l = this.layouts.get(p);
    if (!l) this.layouts.set(p, (l = p.getBindGroupLayout(0)));
    return l;
  }

  // ------------------------------------------------------------------ per-dispatch state, reused across batches
  // Making a bind group is costly in Dawn (more through Chrome's GPU process; docs/performance.md), and a
  // decode step of a small model is ~100 dispatches that repeat step after step: batches write their params into one persistent
  // uniform buffer (queue writes run after the work submitted before them, so the next batch may overwrite
  // it), each distinct params content at the same offset from batch to batch, and bind groups are looked up
  // by (pipeline, params offset, buffers) rather than made anew.
  private params: GPUBuffer | null = null;
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;
  /** Bind groups kept (least recently used dropped first): a few decode steps of a 28-layer model. */
  static readonly BIND_GROUP_CACHE = 4096;
  /** Bind groups found in the cache so far (tests, diagnostics). */
  bindGroupHits = 0;

  /** The params buffer, at least `bytes` long (bind groups made with an outgrown one are never matched again). */
  paramsBuffer(bytes: number): GPUBuffer {
    if (!this.params || this.params.size < bytes) {
      this.params?.destroy(); // freed once the work already submitted with it is done
      const size = Math.max(1 << 16, 2 ** Math.ceil(Math.log2(bytes)));
      this.params = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'params' });
    }
    return this.params;
  }

  /** A small number naming a GPU object for cache keys. */
  idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) this.ids.set(o, (id = this.nextId++));
    return id;
  }

  /** The bind group for `key` (pipeline, params offset and buffer ranges), made from `entries` on a miss. */
  bindGroup(pipeline: GPUComputePipeline, key: string, entries: () => GPUBindGroupEntry[]): GPUBindGroup {
    let bg = this.bindGroups.get(key);
    if (bg) {
      this.bindGroupHits++;
      this.bindGroups.delete(key); // re-inserted: most recently used last
    } else {
      bg = this.device.createBindGroup({ layout: this.bindGroupLayout(pipeline), entries: entries() });
      if (this.bindGroups.size >= Gpu.BIND_GROUP_CACHE) this.bindGroups.delete(this.bindGroups.keys().next().value!);
    }
    this.bindGroups.set(key, bg);
    return bg;
  }

  /** Compiles pipelines now and reports the first failure with its shader and entry point. */
  async prepare(specs: KernelSpec[]): Promise<void> {
    for (const s of specs) this.pipeline(s);
    await this.flush();
  }

  // ------------------------------------------------------------------ buffers

  private checkSize(what: string, bytes: number): void {
    const limit = this.adapter.limits.maxStorageBufferBindingSize;
    if (bytes > limit) throw new GpuLimitError(what, bytes, limit);
  }

  /** Bytes of the storage buffers made here and not yet destroyed, and the most there were at once. */
  readonly memory = { live: 0, peak: 0 };

  /** A storage buffer (zero-initialised). Sizes are rounded up to 16 bytes so vec4 views always fit. */
  buffer(bytes: number, label: string, extraUsage = 0): GPUBuffer {
    this.checkSize(label, bytes);
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const b = this.device.createBuffer({
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
      label,
    });
    this.count(b, size);
    return b;
  }

  /** Counts a buffer in `memory` until its destroy() (wrapped: the lab frees buffers only that way). */
  private count(b: GPUBuffer, size: number): void {
    const m = this.memory;
    m.live += size;
    m.peak = Math.max(m.peak, m.live);
    const destroy = b.destroy.bind(b);
    let freed = false;
    b.destroy = () => {
      if (!freed) (freed = true), (m.live -= size);
      destroy();
    };
  }

  /** Like buffer(), but waits for the allocation and throws GpuOutOfMemoryError if it failed. For weights. */
  async allocate(bytes: number, label: string): Promise<GPUBuffer> {
    this.device.pushErrorScope('out-of-memory');
    const b = this.buffer(bytes, label);
    const err = await this.device.popErrorScope();
    if (err) {
      b.destroy();
      throw new GpuOutOfMemoryError(label, bytes);
    }
    return b;
  }

  private scratchBufs = new Map<string, GPUBuffer>();
  /**
   * A shared scratch buffer of at least `bytes` per `slot`, for intermediate results that the next dispatches
   * of the same pass consume (dispatches run in order, so one buffer serves them all). It only grows; an
   * outgrown one is dropped, not destroyed, since batches encoded but not yet submitted may still use it.
   */
  scratch(bytes: number, slot: string): GPUBuffer {
    let buf = this.scratchBufs.get(slot);
    if (!buf || buf.size < bytes) this.scratchBufs.set(slot, (buf = this.buffer(Math.max(bytes, 1 << 16), `scratch.${slot}`)));
    return buf;
  }

  /** A storage buffer holding `data`. */
  upload(data: ArrayBufferView, label: string): GPUBuffer {
    const b = this.buffer(data.byteLength, label);
    this.write(b, data);
    return b;
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    // writeBuffer needs a multiple of 4 bytes.
    const len = Math.ceil(data.byteLength / 4) * 4;
    if (len === data.byteLength && len >= STAGED_WRITE_MIN && len <= STAGED_WRITE_MAX && this.writeStaged(buffer, data, offset)) return;
    if (len !== data.byteLength) {
      const padded = new Uint8Array(len);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.device.queue.writeBuffer(buffer, offset, padded);
    } else {
      this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
    }
  }

  /**
   * Upload through a pooled MAP_WRITE buffer that is already mapped: copy into it, unmap, queue a copy, and map
   * it again in the background: for uploads of a few MB, several times faster than writeBuffer through Dawn for
   * Node (docs/performance.md, "Whole calls"). False (nothing done) when no pooled buffer of the size is ready;
   * one is then made for the next call.
   */
  private writeStaged(buffer: GPUBuffer, data: ArrayBufferView, offset: number): boolean {
    const len = data.byteLength;
    const stage = this.uploads.find((u) => u.ready && u.buffer.size >= len && u.buffer.size <= len * 2);
    if (!stage) {
      if (!this.uploads.some((u) => u.buffer.size >= len && u.buffer.size <= len * 2)) {
        // a new size: make its buffer, evicting the least recently used beyond two
        if (this.uploads.length >= 2) this.uploads.shift()?.buffer.destroy();
        this.rearm({ buffer: this.device.createBuffer({ size: len, usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC, label: 'upload' }), ready: false });
      }
      return false;
    }
    this.uploads = [...this.uploads.filter((u) => u !== stage), stage]; // most recently used last
    new Uint8Array(stage.buffer.getMappedRange(0, len)).set(new Uint8Array(data.buffer, data.byteOffset, len));
    stage.buffer.unmap();
    stage.ready = false;
    const enc = this.device.createCommandEncoder({ label: 'upload' });
    enc.copyBufferToBuffer(stage.buffer, 0, buffer, offset, len);
    this.device.queue.submit([enc.finish()]);
    this.rearm(stage);
    this.stagedWrites++;
    return true;
  }

  private rearm(stage: { buffer: GPUBuffer; ready: boolean }): void {
    if (!this.uploads.includes(stage)) this.uploads.push(stage);
    stage.buffer.mapAsync(GPUMapMode.WRITE).then(
      () => (stage.ready = true),
      () => {
        // device lost or buffer destroyed: drop it from the pool
        this.uploads = this.uploads.filter((u) => u !== stage);
      },
    );
  }

  /** Copies `bytes` of `buffer` from `offset` back to the CPU (pooled staging buffers). */
  async read(buffer: GPUBuffer, bytes = buffer.size, offset = 0): Promise<ArrayBuffer> {
    const size = Math.ceil(bytes / 4) * 4;
    let idx = this.staging.findIndex((s) => s.size >= size && s.size <= size * 4);
    const stage =
      idx >= 0
        ? this.staging.splice(idx, 1)[0]
        : this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'staging' });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, offset, stage, 0, size);
    this.device.queue.submit([enc.finish()]);
    try {
      await stage.mapAsync(GPUMapMode.READ, 0, size);
    } catch (e) {
      await this.flush();
      throw e;
    }
    const out = stage.getMappedRange(0, size).slice(0, bytes);
    stage.unmap();
    // least recently used last out: a one-off large read (a check reading back a whole weight) must not keep
    // the small buffer of a read made on every call from being reused (a new MAP_READ buffer is costly in Dawn)
    this.staging.push(stage);
    if (this.staging.length > 8) this.staging.shift()?.destroy();
    this.raisePending();
    return out;
  }

  async readF32(buffer: GPUBuffer, count: number, offsetElems = 0): Promise<Float32Array> {
    return new Float32Array(await this.read(buffer, count * 4, offsetElems * 4));
  }

  async readU32(buffer: GPUBuffer, count: number, offsetElems = 0): Promise<Uint32Array> {
    return new Uint32Array(await this.read(buffer, count * 4, offsetElems * 4));
  }

  /** Waits for all submitted work and reports any asynchronous error seen so far. */
  async flush(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.raisePending();
  }

  private raisePending(): void {
    if (this.pending) {
      const e = this.pending;
      this.pending = null;
      throw e;
    }
  }

  batch(label = 'batch'): CommandBatch {
    return new CommandBatch(this, label);
  }

  /**
   * While set (and the adapter has timestamp queries), every dispatch runs in a compute pass of its own with
   * timestamps, and its GPU time is added to its kernel's entry: where a pass's time goes, kernel by kernel.
   * Separate passes add a little time of their own; use it to see shares, not to time the whole.
   */
  profiler: KernelProfile | null = null;

  /**
   * Ablation (`generate --ablate`): while set, batches drop the dispatches of these kernels (shader:entry), so a
   * step's GPU time without them shows what they cost where they run, gaps included. The results are wrong.
   */
  omitKernels: ReadonlySet<string> | null = null;

  /** While set, every dispatch recorded adds one to its kernel's count (shader:entry). */
  dispatchCounts: Map<string, number> | null = null;

  destroy(): void {
    this.destroyed = true;
    for (const s of this.staging) s.destroy();
    this.staging = [];
    for (const u of this.uploads) u.buffer.destroy();
    this.uploads = [];
    this.params?.destroy();
    this.bindGroups.clear();
    this.device.destroy();
  }
}

/** GPU time per kernel (shader:entry), filled while Gpu.profiler is set; `pending` resolves once all is read. */
export class KernelProfile {
  readonly kernels = new Map<string, { ns: number; dispatches: number }>();
  private reads: Promise<void>[] = [];

  add(kernel: string, ns: number): void {
    const e = this.kernels.get(kernel) ?? { ns: 0, dispatches: 0 };
    e.ns += ns;
    e.dispatches++;
    this.kernels.set(kernel, e);
  }

  track(p: Promise<void>): void {
    this.reads.push(p);
  }

  /** The kernels by GPU time, most first, once every timestamp is read. */
  async table(): Promise<{ kernel: string; ms: number; dispatches: number; share: number }[]> {
    await Promise.all(this.reads);
    const total = [...this.kernels.values()].reduce((a, e) => a + e.ns, 0) || 1;
    return [...this.kernels.entries()]
      .map(([kernel, e]) => ({ kernel, ms: e.ns / 1e6, dispatches: e.dispatches, share: e.ns / total }))
      .sort((a, b) => b.ms - a.ms);
  }
}

/** Workgroups for n items, `per` a workgroup, folded into y past the 65535 workgroups of one dimension. */
export function grid(n: number, per = 1): [number, number] {
  const g = Math.ceil(n / per);
  return [Math.min(g, 65535), Math.ceil(g / 65535)];
}

const F32 = new Float32Array(1), U32 = new Uint32Array(F32.buffer);

/** 32-bit little-endian words for a kernel's uniform Params struct, in declaration order. */
export class Params {
  private words: number[] = [];
  private kinds: ('u' | 'i' | 'f' | 'p')[] = [];
  u32(...v: number[]): this {
    for (const x of v) (this.words.push(x >>> 0), this.kinds.push('u'));
    return this;
  }
  /**
   * A u32 that is the step's position (a decode step's `past`): a frozen step (CommandBatch.freeze) has these
   * words rewritten on the GPU before each replay, so one recording serves every position.
   */
  position(v: number): this {
    this.words.push(v >>> 0);
    this.kinds.push('p');
    return this;
  }
  /** Byte offsets of the position words. */
  get positionOffsets(): number[] {
    return this.kinds.flatMap((k, i) => (k === 'p' ? [4 * i] : []));
  }
  i32(...v: number[]): this {
    for (const x of v) (this.words.push(x | 0), this.kinds.push('i'));
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) (this.words.push(x), this.kinds.push('f'));
    return this;
  }
  /** The bytes as a string: equal keys, equal contents (floats by their bits: -0 is not 0). */
  get key(): string {
    return this.words.map((w, i) => (this.kinds[i] === 'f' ? `f${(F32[0] = w, U32[0])}` : `${this.kinds[i]}${w}`)).join(',');
  }
  /** Writes into `view` at byte `offset`; returns the byte length (padded to 16). */
  writeTo(view: DataView, offset: number): number {
    this.words.forEach((w, i) => {
      const k = this.kinds[i];
      if (k === 'f') view.setFloat32(offset + 4 * i, w, true);
      else if (k === 'i') view.setInt32(offset + 4 * i, w, true);
      else view.setUint32(offset + 4 * i, w, true);
    });
    return Math.max(16, Math.ceil((4 * this.words.length) / 16) * 16);
  }
  get byteLength(): number {
    return Math.max(16, Math.ceil((4 * this.words.length) / 16) * 16);
  }
}

function isBuffer(b: Binding): b is GPUBuffer {
  return 'mapState' in b; // a GPUBuffer; a range is a plain { buffer, offset, size } object
}

/** Storage bindings in order from @binding(1), or by explicit binding number. */
export type Bindings = Binding[] | Record<number, Binding>;

type Op =
  | { kind: 'dispatch'; spec: KernelSpec; params?: Params; bindings: Bindings; groups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'replay'; step: FrozenStep; positions: GPUBuffer; index: number };

/** A dispatch or copy of a frozen step, ready to encode: no lookups left. */
type FrozenOp =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; groups: [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number };

/**
 * A recorded sequence of dispatches and copies (a decode step) with its own parameters buffer and bind
 * groups, encoded again by CommandBatch.replay without recording it anew: recording costs the host several
 * microseconds a dispatch (parameters, cache keys, lookups), encoding a frozen one only the three calls.
 * The words marked Params.position are rewritten on the GPU before each replay (a copy from a buffer of
 * positions), so one step serves every position; the buffers it binds must outlive it.
 */
export class FrozenStep {
  constructor(
    readonly ops: FrozenOp[],
    private readonly ubo: GPUBuffer | null,
    /** Byte offsets of the position words in `ubo`. */
    readonly positionOffsets: number[],
  ) {}

  get dispatches(): number {
    return this.ops.filter((o) => o.kind === 'dispatch').length;
  }

  /** Encodes: the position patches, then the ops, dispatches in passes broken only by copies. */
  encode(enc: GPUCommandEncoder, positions: GPUBuffer, index: number, label: string): void {
    for (const off of this.positionOffsets) enc.copyBufferToBuffer(positions, 4 * index, this.ubo!, off, 4);
    let pass: GPUComputePassEncoder | null = null;
    let last: GPUComputePipeline | null = null;
    for (const op of this.ops) {
      if (op.kind === 'copy') {
        pass?.end();
        pass = null;
        enc.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
        continue;
      }
      if (!pass) (pass = enc.beginComputePass({ label })), (last = null);
      if (op.pipeline !== last) pass.setPipeline((last = op.pipeline));
      pass.setBindGroup(0, op.bindGroup);
      pass.dispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2]);
    }
    pass?.end();
  }

  destroy(): void {
    this.ubo?.destroy();
  }
}

/** Offsets of each dispatch's params in a uniform buffer: one slot per distinct content, in order of first use. */
function layoutParams(ops: Op[], align: number): { offsets: number[]; bytes: number; host: ArrayBuffer | null } {
  const slots = new Map<string, number>();
  let bytes = 0;
  const offsets = ops.map((op) => {
    if (op.kind !== 'dispatch' || !op.params) return -1;
    const key = op.params.key;
    let off = slots.get(key);
    if (off === undefined) {
      slots.set(key, (off = bytes));
      bytes += Math.ceil(op.params.byteLength / align) * align;
    }
    return off;
  });
  if (bytes === 0) return { offsets, bytes, host: null };
  const host = new ArrayBuffer(bytes);
  const view = new DataView(host);
  ops.forEach((op, i) => {
    if (op.kind === 'dispatch' && op.params) op.params.writeTo(view, offsets[i]);
  });
  return { offsets, bytes, host };
}

function bindingPairs(bindings: Bindings): [number, Binding][] {
  return Array.isArray(bindings) ? bindings.map((bind, k) => [k + 1, bind]) : Object.entries(bindings).map(([k, bind]) => [Number(k), bind]);
}

function bindEntries(params: Params | undefined, ubo: GPUBuffer | null, offset: number, pairs: [number, Binding][]): GPUBindGroupEntry[] {
  const entries: GPUBindGroupEntry[] = [];
  if (params && ubo) entries.push({ binding: 0, resource: { buffer: ubo, offset, size: params.byteLength } });
  for (const [binding, bind] of pairs) entries.push({ binding, resource: isBuffer(bind) ? { buffer: bind } : bind });
  return entries;
}

/** Parts of one batch whose GPU time is stamped (flush): more are sent untimed. */
const MAX_TIMED_PARTS = 128;

/**
 * Records dispatches and copies, then encodes them in one command buffer. Uniform parameters of all
 * dispatches go into the device's params buffer, written just before the submit; bind groups come from the
 * device's cache (Gpu.bindGroup). Each dispatch is its own usage scope in WebGPU, so a dispatch sees the writes
 * of the ones before it.
 */
export class CommandBatch {
  private ops: Op[] = [];
  /** Timestamp pairs of the parts sent with timestamps (by flush, then submit): one query set, resolved once. */
  private stamps: { set: GPUQuerySet; used: number } | null = null;
  /** A part went without timestamps (asked so, or past the query set): submit's total would leave it out. */
  private untimedPart = false;
  /** Parts sent by flush (freeze refuses a batch that is no longer whole). */
  private parts = 0;
  constructor(readonly gpu: Gpu, private readonly label: string) {}

  /**
   * Sends what is recorded so far and goes on recording: the GPU starts on a long pass (a prompt's layers)
   * while the host records the rest, instead of waiting for all of it. The queue keeps the parts in order, so
   * the work is the same as one submit. With `timestamps`, the part's GPU time joins submit's total (its two
   * stamps go into the batch's query set, read back once by submit: a flush costs an encoder and a submit).
   */
  flush(opts: { timestamps?: boolean } = {}): void {
    if (!this.ops.length) return;
    this.send(opts, false);
    this.parts++;
  }

  dispatch(spec: KernelSpec, bindings: Bindings, groups: number | [number, number?, number?], params?: Params): this {
    const g = typeof groups === 'number' ? [groups, 1, 1] : groups;
    const max = this.gpu.adapter.limits.maxComputeWorkgroupsPerDimension;
    const dims: [number, number, number] = [Math.max(1, g[0] ?? 1), Math.max(1, g[1] ?? 1), Math.max(1, g[2] ?? 1)];
    if (dims.some((d) => d > max)) throw new Error(`${spec.shader}:${spec.entry ?? 'main'}: ${dims.join('x')} workgroups exceed ${max} per dimension`);
    const { dispatchCounts: counts, omitKernels: omit } = this.gpu;
    if (counts || omit) {
      // ablation only: recording otherwise builds no name per dispatch
      const name = `${spec.shader}:${spec.entry ?? 'main'}`;
      if (counts) counts.set(name, (counts.get(name) ?? 0) + 1);
      if (omit?.has(name)) return this;
    }
    this.ops.push({ kind: 'dispatch', spec, params, bindings, groups: dims });
    return this;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): this {
    this.ops.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
    return this;
  }

  /** Appends a frozen step at position positions[index] (u32 words). */
  replay(step: FrozenStep, positions: GPUBuffer, index: number): this {
    this.ops.push({ kind: 'replay', step, positions, index });
    return this;
  }

  get size(): number {
    return this.ops.length;
  }

  /**
   * Turns what was recorded (dispatches and copies, no replays) into a FrozenStep with a parameters buffer of
   * its own, and empties the batch. Nothing runs.
   */
  freeze(): FrozenStep {
    const { device } = this.gpu;
    if (this.ops.some((o) => o.kind === 'replay')) throw new Error('freeze: a frozen step cannot contain a replay');
    if (this.parts) throw new Error('freeze: part of this batch was already sent (flush); a frozen step must be whole');
    const align = this.gpu.adapter.limits.minUniformBufferOffsetAlignment ?? 256;
    const { offsets, bytes, host } = layoutParams(this.ops, align);
    let ubo: GPUBuffer | null = null;
    if (host) {
      ubo = device.createBuffer({ size: bytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: `${this.label}.params` });
      device.queue.writeBuffer(ubo, 0, host);
    }
    const positions = new Set<number>();
    const ops: FrozenOp[] = this.ops.map((op, i) => {
      if (op.kind !== 'dispatch') return op as FrozenOp;
      for (const off of op.params?.positionOffsets ?? []) positions.add(offsets[i] + off);
      const pipeline = this.gpu.pipeline(op.spec);
      const bindGroup = device.createBindGroup({ layout: this.gpu.bindGroupLayout(pipeline), entries: bindEntries(op.params, ubo, offsets[i], bindingPairs(op.bindings)) });
      return { kind: 'dispatch', pipeline, bindGroup, groups: op.groups };
    });
    this.ops = [];
    return new FrozenStep(ops, ubo, [...positions].sort((a, b) => a - b));
  }

  /**
   * Encodes and submits. With `timestamps` (and the feature), resolves to the GPU time of the work in ns (of
   * every part, where `flush` sent some before: their spans summed, the host's gaps between them left out);
   * null where the feature is missing or any part went untimed.
   */
  submit(opts: { timestamps?: boolean } = {}): Promise<number | null> {
    this.parts = 0;
    const sent = this.send(opts, true);
    const whole = !this.untimedPart;
    this.untimedPart = false;
    return whole ? sent : sent.then(() => null);
  }

  /** Encodes and submits what is recorded; `last`: the batch's end, where the parts' timestamps are resolved. */
  private send(opts: { timestamps?: boolean }, last: boolean): Promise<number | null> {
    const { device } = this.gpu;
    const align = this.gpu.adapter.limits.minUniformBufferOffsetAlignment ?? 256;
    const { offsets, bytes: uboBytes, host } = layoutParams(this.ops, align);
    let ubo: GPUBuffer | null = null;
    if (host) {
      ubo = this.gpu.paramsBuffer(uboBytes);
      device.queue.writeBuffer(ubo, 0, host);
    }
    const profile = this.gpu.hasTimestamps ? this.gpu.profiler : null;
    const timed = Boolean(opts.timestamps && this.gpu.hasTimestamps) && !profile;
    // this part's stamps: a begin and an end in the batch's query set (a batch sent whole needs 2; parts past
    // the capacity go untimed)
    const capacity = last && !this.stamps ? 2 : 2 * MAX_TIMED_PARTS;
    if (timed) this.stamps ??= { set: device.createQuerySet({ type: 'timestamp', count: capacity }), used: 0 };
    const base = timed && this.stamps!.used + 2 <= this.stamps!.set.count ? this.stamps!.used : -1;
    if (base >= 0) this.stamps!.used += 2;
    else this.untimedPart = true;
    const querySet = base >= 0 ? this.stamps!.set : null;
    // profiling: one pass per dispatch, its begin and end stamped (at most 4096 stamps per query set)
    const dispatches = profile ? this.ops.filter((o) => o.kind === 'dispatch').length : 0;
    const profQueries = profile && dispatches ? device.createQuerySet({ type: 'timestamp', count: Math.min(4096, 2 * dispatches) }) : null;
    const profNames: string[] = [];
    const enc = device.createCommandEncoder({ label: this.label });
    let pass: GPUComputePassEncoder | null = null;
    let first = true;
    const endPass = () => {
      pass?.end();
      pass = null;
    };
    // the timed span: from the first pass's start to an empty pass at the end
    const stamp = (): GPUComputePassTimestampWrites | undefined => {
      if (!querySet) return undefined;
      const tw = { querySet, beginningOfPassWriteIndex: first ? base : undefined, endOfPassWriteIndex: base + 1 };
      first = false;
      return tw;
    };
    const gpu = this.gpu;
    this.ops.forEach((op, i) => {
      if (op.kind === 'copy') {
        endPass();
        enc.copyBufferToBuffer(op.src, op.srcOffset, op.dst, op.dstOffset, op.size);
        return;
      }
      if (op.kind === 'replay') {
        endPass();
        if (querySet && first) enc.beginComputePass({ label: this.label, timestampWrites: stamp() }).end();
        op.step.encode(enc, op.positions, op.index, this.label);
        return;
      }
      if (profQueries && profNames.length < 2048) {
        endPass();
        const k = profNames.length;
        profNames.push(`${op.spec.shader}:${op.spec.entry ?? 'main'}`);
        pass = enc.beginComputePass({ label: this.label, timestampWrites: { querySet: profQueries, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
      } else if (!pass) {
        pass = enc.beginComputePass({ label: this.label, timestampWrites: stamp() });
      }
      const pipeline = gpu.pipeline(op.spec);
      const pairs = bindingPairs(op.bindings);
      let key = `${gpu.idOf(pipeline)}|${op.params && ubo ? `${gpu.idOf(ubo)}@${offsets[i]}` : ''}`;
      for (const [binding, bind] of pairs) {
        key += isBuffer(bind) ? `|${binding}:${gpu.idOf(bind)}` : `|${binding}:${gpu.idOf(bind.buffer)}@${bind.offset ?? 0}+${bind.size ?? ''}`;
      }
      const bg = gpu.bindGroup(pipeline, key, () => bindEntries(op.params, ubo, offsets[i], pairs));
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(op.groups[0], op.groups[1], op.groups[2]);
    });
    endPass();
    if (querySet) enc.beginComputePass({ label: this.label, timestampWrites: stamp() }).end(); // the span's end, after any copy or replay
    let resolve: GPUBuffer | null = null;
    const stamps = last ? this.stamps : null;
    if (stamps?.used) {
      resolve = device.createBuffer({ size: 8 * stamps.used, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      enc.resolveQuerySet(stamps.set, 0, stamps.used, resolve, 0);
    }
    if (last) this.stamps = null;
    let profResolve: GPUBuffer | null = null;
    if (profQueries && profNames.length) {
      profResolve = device.createBuffer({ size: 16 * profNames.length, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
      enc.resolveQuerySet(profQueries, 0, 2 * profNames.length, profResolve, 0);
    }
    device.queue.submit([enc.finish()]);
    this.ops = [];
    if (profile && profResolve) {
      const res = profResolve;
      profile.track(this.gpu.read(res, 16 * profNames.length).then((buf) => {
        const t = new BigUint64Array(buf);
        profNames.forEach((name, k) => profile.add(name, Number(t[2 * k + 1] - t[2 * k])));
        res.destroy();
        profQueries?.destroy();
      }));
    }
    if (!resolve || !stamps) {
      stamps?.set.destroy();
      return Promise.resolve(null);
    }
    const res = resolve;
    return this.gpu.read(res, 8 * stamps.used).then((buf) => {
      const t = new BigUint64Array(buf);
      res.destroy();
      stamps.set.destroy();
      let ns = 0;
      for (let k = 0; k < stamps.used; k += 2) ns += Number(t[k + 1] - t[k]);
      return ns;
    });
  }
}
