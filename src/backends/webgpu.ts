// The 'webgpu' backend: the fused 'ppneuron' model as WGSL compute shaders, the same structure as
// the 'gpujs' backend (src/backends/gpujs-plan.ts has the formulas): per Euler step one dispatch
// (d and the next state, one thread per output gathering its incoming edges); per adjoint step a
// per-node dispatch (the step's output gradient, the input gradient, bias and rate gradients),
// a per-edge one (weight gradients, accumulated per edge) and the gather over outgoing edges
// (the gradient sent to the previous step); a last dispatch sums the weight gradient per group.
// States, d and gradients stay in device buffers (the states one buffer per step, the others one
// buffer per run of steps, each step at a 256-byte aligned offset) from the first step to the last; one submission per pass; the host
// reads results back once, at the end.
//
// WebGPU reads back only asynchronously (the simulator says `readBack: 'async'`): `forward`
// submits the work and returns an output whose `readAsync()` resolves to it (its `read()` throws,
// naming readAsync), and the backward pass is `backwardAsync` (the synchronous `backward` throws,
// naming it). A Network on this backend runs through its asynchronous methods (simulateAsync,
// forwardAsync, ...: simulateScanAsync, differentiated by valueAndGradAsync); its synchronous
// ones throw naming them, so 'auto' (whose users call those) never picks this backend.
//
// Where WebGPU comes from: `await initWebGpu()` takes navigator.gpu (browsers) or a GPU you pass
// (Node: the `webgpu` package, Dawn: `create(['backend=opengles'])` with EGL_PLATFORM=surfaceless
// on machines without a GPU), requests an adapter (falling back to featureLevel 'compatibility'),
// a device with the adapter's storage limits, and checks a two-node scan step before the backend
// says it is available.
import { PPNEURON_MODEL } from '../dynamics/ppneuron-step.ts';
import { type Activation, makeActivation } from '../kernels/activation.ts';
import { createSynapseKernel } from '../kernels/index.ts';
import type { SynapseKernel } from '../kernels/synapse.ts';
import { activationBodies, entryWeights, gpuPlan, gpuSupports, type GpuPlan } from './gpujs-plan.ts';
import { checkScan, defaultJsKernel, ppneuronInputs } from './js.ts';
import { fusedLookup, registerBackend, registerFusedModel } from './registry.ts';
import {
  type Backend, type BackendArray, type BackendGraph, BackendError, type BackendInstance, type BackendOptions, type FusedSimulator,
  type HostArray, type ScanForward, type ScanGradients, type ScanNeeds, type ScanRequest,
} from './types.ts';
import { MAP_READ, USAGE, type WAdapter, type WBuffer, type WDevice, type WEncoder, type WGpu, type WPass, type WPipeline } from './webgpu-types.ts';

const WG = 64;
const ALIGN = 256;
/** Largest single buffer this backend makes (runs of steps are split across buffers). */
const SLAB_BYTES = 128 * 2 ** 20;

// ---- device ----------------------------------------------------------------------------------

/**
 * A device and what it came from. The GPU and adapter are kept referenced: collecting the GPU
 * object tears down Dawn's instance in Node, and Dawn then crashes or hangs on whatever still
 * touches the device (a read-back in flight, a buffer destroyed later). So everything that can
 * touch the device after its call returns keeps its Ready: an instance's WebGpuScan, each read-back
 * until it settles (readChecked), each pass's saved buffers until released (Held), the device's
 * lost handler; closeWebGpu only drops the module's own reference.
 */
interface Ready {
  readonly gpu: WGpu;
  readonly adapterObject: WAdapter;
  readonly device: WDevice;
  readonly adapter: string;
  readonly maxBuffer: number;
  /** False once closed or lost: instances made on it refuse work. */
  alive: boolean;
}

let ready: Ready | null = null;
let failure = 'not initialised: await initWebGpu() first (it takes navigator.gpu, or in Node a GPU from the webgpu package)';

/** A description of an adapter for messages. */
function adapterName(info: { vendor?: string; architecture?: string; device?: string; description?: string } | undefined): string {
  if (!info) return 'unknown adapter';
  return [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unnamed adapter';
}

/**
 * Initialises the 'webgpu' backend: a device from `gpu` (default: navigator.gpu), checked on a
 * two-node scan step. Resolves to whether it works and on which adapter; the backend is available
 * from then on (`listBackends()`, `createBackend('webgpu', ...)`). `adapter`: requestAdapter's
 * options (default: none, then featureLevel 'compatibility').
 */
export async function initWebGpu(options: { gpu?: unknown; adapter?: Record<string, unknown> } = {}): Promise<{ ok: true; adapter: string } | { ok: false; reason: string }> {
  closeWebGpu();
  const gpu = (options.gpu ?? (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) as WGpu | undefined;
  try {
    if (gpu === undefined || gpu === null || typeof gpu.requestAdapter !== 'function') {
      throw new Error('no WebGPU here (no navigator.gpu; in Node pass a GPU from the webgpu package: docs/kernels.md)');
    }
    let adapter = await gpu.requestAdapter(options.adapter ?? {});
    if (adapter === null && options.adapter === undefined) adapter = await gpu.requestAdapter({ featureLevel: 'compatibility' });
    if (adapter === null) throw new Error('requestAdapter found no adapter');
    const need = 8;
    const al = adapter.limits;
    if ((al.maxStorageBuffersPerShaderStage ?? 0) < need) throw new Error(`the adapter offers ${al.maxStorageBuffersPerShaderStage} storage buffers per shader stage; the backend needs ${need}`);
    const requiredLimits: Record<string, number> = { maxStorageBuffersPerShaderStage: need };
    for (const k of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension']) if (al[k] !== undefined) requiredLimits[k] = al[k]!;
    const device = await adapter.requestDevice({ requiredLimits, label: 'flyvis-ts webgpu backend' });
    const name = adapterName(adapter.info);
    const r: Ready = { gpu, adapterObject: adapter, device, adapter: name, maxBuffer: Math.min(device.limits.maxBufferSize ?? SLAB_BYTES, SLAB_BYTES), alive: true };
    void device.lost.then((info) => {
      r.alive = false;
      if (ready === r) {
        ready = null;
        failure = `the WebGPU device was lost (${info.message || info.reason || 'no reason given'})`;
        registerBackend(webgpuBackend, PRIORITY);
      }
    });
    // a two-node scan step, exactly: v' = v + r (bias - v + w relu(v_src) + x)
    const check = new WebGpuScan(r, { nNodes: 2, source: Int32Array.of(0), target: Int32Array.of(1), activation: makeActivation('relu') });
    const f = check.forward({ batch: 1, steps: 1, dtype: 'float32', v0: Float32Array.of(2, 1), x: Float32Array.of(0.5, 0.25), inputs: {}, record: 'last', save: false },
      Float32Array.of(1, 0), Float32Array.of(0.5, 0.5), Float32Array.of(3));
    const out = await f.output.readAsync();
    check.dispose();
    if (out[0] !== 1.75 || out[1] !== 3.625) {
      r.alive = false;
      device.destroy();
      throw new Error(`the device computed a test scan step wrongly (${Array.from(out).join(', ')} instead of 1.75, 3.625) on ${name}`);
    }
    ready = r;
    return { ok: true, adapter: name };
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
    return { ok: false, reason: failure };
  } finally {
    registerBackend(webgpuBackend, PRIORITY); // availability is probed again
  }
}

/** Releases the device (instances made on it stop working); the backend is unavailable until initWebGpu again. */
export function closeWebGpu(): void {
  if (ready === null) return;
  const r = ready;
  ready = null;
  r.alive = false;
  failure = 'closed (closeWebGpu): await initWebGpu() again';
  r.device.destroy();
  registerBackend(webgpuBackend, PRIORITY);
}

/** The adapter the backend runs on, or why it does not run. */
export function webgpuInfo(): { ok: true; adapter: string } | { ok: false; reason: string } {
  return ready ? { ok: true, adapter: ready.adapter } : { ok: false, reason: failure };
}

// ---- shaders ---------------------------------------------------------------------------------

const HEADER = `struct Dims { N: u32, B: u32, E: u32, G: u32 };
@group(0) @binding(0) var<uniform> dims: Dims;
`;
const MAIN = `@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = id.x + id.y * nwg.x * ${WG}u;
  let N = dims.N;`;

const SHADERS = {
  // one thread per (sample, node): d = bias - v + sum w act(v[source]) + x; v' = v + rate d
  step: `@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> nodep: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> csr: array<u32>;
@group(0) @binding(6) var<storage, read_write> vout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dout: array<f32>;
${MAIN}
  if (i >= N * dims.B) { return; }
  let b = i / N;
  let n = i - b * N;
  let o = b * N;
  let p1 = csr[n + 1u];
  var s = 0.0;
  for (var p = csr[n]; p < p1; p = p + 1u) {
    s = s + w[p] * act(v[o + csr[N + 1u + p]]);
  }
  let vi = v[i];
  let d = nodep[n] - vi + s + x[i];
  dout[i] = d;
  vout[i] = vi + nodep[N + n] * d;
}`,
  // one thread per node, over the samples: g = gOut + gNext; gx = g r; gBias += g r; gRate += g d
  node: `@group(0) @binding(1) var<storage, read> gout: array<f32>;
@group(0) @binding(2) var<storage, read> gnext: array<f32>;
@group(0) @binding(3) var<storage, read> d: array<f32>;
@group(0) @binding(4) var<storage, read> nodep: array<f32>;
@group(0) @binding(5) var<storage, read_write> gtot: array<f32>;
@group(0) @binding(6) var<storage, read_write> acc: array<f32>;
@group(0) @binding(7) var<storage, read_write> gx: array<f32>;
${MAIN}
  if (i >= N) { return; }
  let r = nodep[N + i];
  var ab = 0.0;
  var ar = 0.0;
  for (var b = 0u; b < dims.B; b = b + 1u) {
    let j = b * N + i;
    let g = gout[j] + gnext[j];
    gtot[j] = g;
    let gr = g * r;
    gx[j] = gr;
    ab = ab + gr;
    ar = ar + g * d[j];
  }
  acc[i] = acc[i] + ab;
  acc[N + i] = acc[N + i] + ar;
}`,
  // one thread per (sample, source node): the gradient sent to the previous state
  gv: `@group(0) @binding(1) var<storage, read> gtot: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> nodep: array<f32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> csr: array<u32>;
@group(0) @binding(6) var<storage, read_write> gnew: array<f32>;
${MAIN}
  if (i >= N * dims.B) { return; }
  let b = i / N;
  let n = i - b * N;
  let o = b * N;
  let p1 = csr[n + 1u];
  var a = 0.0;
  for (var p = csr[n]; p < p1; p = p + 1u) {
    let t = csr[N + 1u + p];
    a = a + w[p] * (gtot[o + t] * nodep[N + t]);
  }
  let g = gtot[i];
  gnew[i] = (g - g * nodep[N + n]) + dact(v[i]) * a;
}`,
  // one thread per edge: gw[e] += sum_b act(v[b, source]) g[b, target] r[target]
  gw: `@group(0) @binding(1) var<storage, read> gtot: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> nodep: array<f32>;
@group(0) @binding(4) var<storage, read> edges: array<u32>;
@group(0) @binding(5) var<storage, read_write> gw: array<f32>;
${MAIN}
  let E = dims.E;
  if (i >= E) { return; }
  let s = edges[i];
  let t = edges[E + i];
  var sum = 0.0;
  for (var b = 0u; b < dims.B; b = b + 1u) {
    sum = sum + act(v[b * N + s]) * (gtot[b * N + t] * nodep[N + t]);
  }
  gw[i] = gw[i] + sum;
}`,
  // one thread per weight group: the sum of its edges' gradients
  group: `@group(0) @binding(1) var<storage, read> gw: array<f32>;
@group(0) @binding(2) var<storage, read> groups: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${MAIN}
  let G = dims.G;
  if (i >= G) { return; }
  let p1 = groups[i + 1u];
  var s = 0.0;
  for (var p = groups[i]; p < p1; p = p + 1u) {
    s = s + gw[groups[G + 1u + p]];
  }
  out[i] = s;
}`,
} as const;
type ShaderName = keyof typeof SHADERS;

function shaderSource(name: ShaderName, act: Activation): string {
  const { f, df } = activationBodies(act, 'wgsl');
  return `${HEADER}fn act(u: f32) -> f32 { ${f} }\nfn dact(u: f32) -> f32 { ${df} }\n${SHADERS[name]}\n`;
}

// ---- buffers ---------------------------------------------------------------------------------

const STORAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;
const bytes4 = (n: number): number => Math.max(4, 4 * n);

/** A region of a buffer, as a binding takes it. */
interface Region {
  readonly buffer: WBuffer;
  readonly offset: number;
  readonly size: number;
}

/**
 * `steps` arrays of `floats` float32 each, at 256-byte aligned offsets in as few buffers as fit,
 * or one buffer per step (`separate`: a dispatch may not read one part of a buffer while it writes
 * another, so the states, read at step t and written at t + 1, take a buffer each).
 */
class StepStore {
  readonly stride: number;
  readonly perSlab: number;
  readonly slabs: WBuffer[] = [];
  constructor(device: WDevice, maxBuffer: number, readonly steps: number, readonly floats: number, separate = false) {
    this.stride = Math.ceil(bytes4(floats) / ALIGN) * ALIGN;
    this.perSlab = separate ? 1 : Math.max(1, Math.floor(maxBuffer / this.stride));
    for (let s = 0; s < Math.max(1, steps); s += this.perSlab) {
      this.slabs.push(device.createBuffer({ size: Math.min(this.perSlab, Math.max(1, steps) - s) * this.stride, usage: STORAGE }));
    }
  }
  at(t: number): Region {
    return { buffer: this.slabs[Math.floor(t / this.perSlab)]!, offset: (t % this.perSlab) * this.stride, size: bytes4(this.floats) };
  }
  destroy(): void {
    for (const b of this.slabs) b.destroy();
  }
}

const whole = (buffer: WBuffer): Region => ({ buffer, offset: 0, size: buffer.size });

/** Copies regions into mappable buffers (one encoder); `then` maps them and returns each region's floats. */
function readRegions(device: WDevice, maxBuffer: number, encoder: WEncoder, regions: readonly Region[]): () => Promise<Float32Array[]> {
  // pack the regions into staging buffers of at most maxBuffer bytes
  const staging: { buffer: WBuffer; parts: { at: number; size: number }[] }[] = [];
  let cur: { size: number; parts: { at: number; size: number }[] } | null = null;
  const plan: { stage: number; at: number; size: number }[] = [];
  const sizes: number[] = [];
  for (const r of regions) {
    if (cur === null || cur.size + r.size > maxBuffer) {
      if (cur) sizes.push(cur.size);
      cur = { size: 0, parts: [] };
    }
    plan.push({ stage: sizes.length, at: cur.size, size: r.size });
    cur.size += Math.ceil(r.size / 8) * 8; // getMappedRange takes offsets in multiples of 8
  }
  if (cur) sizes.push(cur.size);
  for (const size of sizes) staging.push({ buffer: device.createBuffer({ size: Math.max(4, size), usage: USAGE.MAP_READ | USAGE.COPY_DST }), parts: [] });
  regions.forEach((r, k) => encoder.copyBufferToBuffer(r.buffer, r.offset, staging[plan[k]!.stage]!.buffer, plan[k]!.at, r.size));
  return async () => {
    try {
      await Promise.all(staging.map((s) => s.buffer.mapAsync(MAP_READ)));
      return plan.map((p) => new Float32Array(staging[p.stage]!.buffer.getMappedRange(p.at, p.size).slice(0)));
    } finally {
      for (const s of staging) s.buffer.destroy();
    }
  };
}

function dispatch(pass: WPass, pipeline: WPipeline, group: unknown, threads: number): void {
  if (threads <= 0) return;
  const groups = Math.ceil(threads / WG);
  const x = Math.min(groups, 65535);
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(x, Math.ceil(groups / x));
}

/** Everything a pass made on the device, destroyed once (after the backward pass, or when its record is collected). */
interface Held {
  readonly buffers: { destroy(): void }[];
  released: boolean;
  /** The device's Ready, alive until the buffers are destroyed (see Ready). */
  readonly owner: Ready;
}
function release(held: Held): void {
  if (held.released) return;
  held.released = true;
  for (const b of held.buffers) b.destroy();
}
const finalizer = new FinalizationRegistry<Held>(release);

/** What the forward pass keeps on the device for the backward pass. */
interface WebGpuSaved {
  /** v0 at step 0, then the state after each step. */
  readonly states: StepStore;
  readonly d: StepStore;
  readonly nodep: WBuffer;
  readonly wS: WBuffer;
  readonly perGroup: boolean;
  readonly held: Held;
}

/** A device error raised while a pass was encoded, as a BackendError (or null). */
async function scopeError(device: WDevice, what: string): Promise<BackendError | null> {
  const errors = await Promise.all(SCOPES.map(() => device.popErrorScope()));
  const e = errors.find((x) => x !== null);
  return e ? new BackendError(`webgpu backend: ${what}: ${e.message}`) : null;
}
const SCOPES = ['validation', 'out-of-memory', 'internal'] as const;
const pushScopes = (device: WDevice): void => {
  for (const s of SCOPES) device.pushErrorScope(s);
};

/**
 * The regions read back, or the device's validation error for the pass (which is why a read fails),
 * or, when the device was closed or lost meanwhile, that. Holds `owner` until both settle: the
 * device's callbacks are pending until then (see Ready).
 */
async function readChecked(owner: Ready, read: () => Promise<Float32Array[]>, errors: Promise<BackendError | null>): Promise<Float32Array[]> {
  const [parts, err] = await Promise.all([read().then((v) => ({ v }), (e: unknown) => ({ e })), errors.catch((e: unknown) => e as Error)]);
  if ((err !== null || 'e' in parts) && !owner.alive) {
    throw new BackendError('webgpu backend: the device was closed or lost before the results were read back (closeWebGpu, or a lost device; initWebGpu makes a new one)');
  }
  if (err) throw err;
  if ('e' in parts) throw parts.e;
  return parts.v;
}

/** The WebGPU machinery of one backend instance: pipelines, the device graph. */
export class WebGpuScan {
  readonly plan: GpuPlan;
  private readonly pipelines = new Map<ShaderName, WPipeline>();
  private graphBuffers: { csrT: WBuffer; csrS: WBuffer; edges: WBuffer; groups: WBuffer | null } | null = null;
  private disposed = false;

  constructor(private readonly r: Ready, private readonly graph: BackendGraph) {
    this.plan = gpuPlan(graph);
  }

  private get device(): WDevice {
    if (this.disposed) throw new BackendError('webgpu backend: used after dispose()');
    if (!this.r.alive) throw new BackendError('webgpu backend: the device this instance was made on was closed or lost (initWebGpu makes a new one)');
    return this.r.device;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    const g = this.graphBuffers;
    if (g) for (const b of [g.csrT, g.csrS, g.edges, g.groups]) b?.destroy();
  }

  private pipeline(name: ShaderName): WPipeline {
    let p = this.pipelines.get(name);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: shaderSource(name, this.graph.activation), label: `flyvis ${name}` });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `flyvis ${name}` });
      this.pipelines.set(name, p);
    }
    return p;
  }

  private upload(data: Float32Array | Uint32Array, usage = STORAGE): WBuffer {
    const b = this.device.createBuffer({ size: bytes4(data.length), usage });
    if (data.length > 0) this.device.queue.writeBuffer(b, 0, data);
    return b;
  }

  private graphOnDevice(): { csrT: WBuffer; csrS: WBuffer; edges: WBuffer; groups: WBuffer | null } {
    if (this.graphBuffers) return this.graphBuffers;
    const p = this.plan;
    const cat = (...parts: Int32Array[]): Uint32Array => {
      const out = new Uint32Array(parts.reduce((n, a) => n + a.length, 0));
      let o = 0;
      for (const a of parts) {
        out.set(a, o);
        o += a.length;
      }
      return out;
    };
    this.graphBuffers = {
      csrT: this.upload(cat(p.byTarget.ptr, p.byTarget.col)),
      csrS: this.upload(cat(p.bySource.ptr, p.bySource.col)),
      edges: this.upload(cat(p.source, p.target)),
      groups: p.groups ? this.upload(cat(p.groups.ptr, p.groups.edge)) : null,
    };
    return this.graphBuffers;
  }

  private dims(B: number): WBuffer {
    const G = this.plan.groups?.count ?? 0;
    return this.upload(Uint32Array.of(this.plan.N, B, this.plan.E, G), USAGE.UNIFORM | USAGE.COPY_DST);
  }

  private bind(name: ShaderName, regions: readonly Region[]): unknown {
    return this.device.createBindGroup({
      layout: this.pipeline(name).getBindGroupLayout(0),
      entries: regions.map((r, binding) => ({ binding, resource: { buffer: r.buffer, offset: r.offset, size: r.size } })),
    });
  }

  forward(r: ScanRequest, bias: HostArray, rate: HostArray, weight: HostArray): ScanForward {
    const device = this.device;
    const { batch: B, steps: T } = r;
    const { N } = this.plan;
    const BN = B * N;
    pushScopes(device);
    const g = this.graphOnDevice();
    const { wT, wS, perGroup } = entryWeights(this.plan, this.graph, weight);
    const nodepHost = new Float32Array(2 * N);
    nodepHost.set(bias);
    nodepHost.set(rate, N);
    const nodep = this.upload(nodepHost);
    const wTb = this.upload(wT);
    const wSb = r.save ? this.upload(wS) : null;
    const dims = this.dims(B);
    const keepAll = r.save || r.record === 'all';
    const states = new StepStore(device, this.r.maxBuffer, keepAll ? T + 1 : 2, BN, true);
    const stateAt = (t: number): Region => states.at(keepAll ? t : t % 2);
    const d = new StepStore(device, this.r.maxBuffer, r.save ? T : 1, BN);
    const xs = new StepStore(device, this.r.maxBuffer, T, BN);
    // the initial state and the input, one step per aligned slot
    device.queue.writeBuffer(stateAt(0).buffer, stateAt(0).offset, r.v0);
    const x = r.x as Float32Array;
    const frame = new Float32Array(BN);
    for (let t = 0; t < T; t++) {
      let xt: Float32Array;
      if (B === 1) xt = x.subarray(t * N, (t + 1) * N);
      else {
        for (let b = 0; b < B; b++) frame.set(x.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
        xt = frame;
      }
      const at = xs.at(t);
      device.queue.writeBuffer(at.buffer, at.offset, xt);
    }
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    const step = this.pipeline('step');
    for (let t = 0; t < T; t++) {
      const group = this.bind('step', [whole(dims), stateAt(t), xs.at(t), whole(nodep), whole(wTb), whole(g.csrT), stateAt(t + 1), d.at(r.save ? t : 0)]);
      dispatch(pass, step, group, BN);
    }
    pass.end();
    const regions = r.record === 'all' ? Array.from({ length: T }, (_, t) => stateAt(t + 1)) : [stateAt(T)];
    const read = T === 0 && r.record === 'last' ? async () => [(r.v0 as Float32Array).slice()] : readRegions(device, this.r.maxBuffer, encoder, regions);
    device.queue.submit([encoder.finish()]);
    const errors = scopeError(device, 'forward pass');
    // what the backward pass does not need goes once the work is done
    const done: { destroy(): void }[] = [xs, wTb, dims];
    let saved: WebGpuSaved | undefined;
    if (r.save) {
      const held: Held = { buffers: [states, d, nodep, wSb!], released: false, owner: this.r };
      saved = { states, d, nodep, wS: wSb!, perGroup, held };
      finalizer.register(saved, held);
    } else done.push(states, d, nodep);
    let result: Promise<HostArray> | null = null;
    const shape = r.record === 'all' ? [B, T, N] : [B, N];
    const readAsync = (): Promise<HostArray> =>
      (result ??= (async () => {
        let parts: Float32Array[];
        try {
          parts = await readChecked(this.r, read, errors);
        } finally {
          for (const b of done) b.destroy();
        }
        if (r.record === 'last') return parts[0]!.subarray(0, BN);
        const out = new Float32Array(B * T * N);
        parts.forEach((s, t) => {
          if (B === 1) out.set(s.subarray(0, N), t * N);
          else for (let b = 0; b < B; b++) out.set(s.subarray(b * N, (b + 1) * N), (b * T + t) * N);
        });
        return out;
      })());
    void readAsync().catch(() => {}); // start mapping now; errors surface when read
    const output: BackendArray = {
      shape,
      dtype: 'float32',
      read: () => {
        throw new BackendError('webgpu backend: results read back asynchronously: use await output.readAsync() (a Network on this backend: its async methods, e.g. await network.simulateAsync(...))');
      },
      readAsync,
    };
    return { output, ...(saved ? { saved } : {}) };
  }

  async backward(r: ScanRequest, saved: WebGpuSaved, gOut: Float32Array, needs: { v0: boolean; x: boolean; bias: boolean; rate: boolean; weight: boolean }): Promise<{
    v0: Float32Array | null; x: Float32Array | null; bias: Float32Array | null; rate: Float32Array | null; weight: Float32Array | null;
  }> {
    const device = this.device;
    if (saved.held.released) throw new BackendError('webgpu backend: this forward pass was already differentiated (its device buffers are released)');
    const { batch: B, steps: T } = r;
    const { N, E } = this.plan;
    const BN = B * N;
    const G = this.plan.groups?.count ?? 0;
    pushScopes(device);
    const g = this.graphOnDevice();
    const dims = this.dims(B);
    const made: { destroy(): void }[] = [dims];
    const buffer = (floats: number): WBuffer => {
      const b = device.createBuffer({ size: bytes4(floats), usage: STORAGE }); // zero-initialised
      made.push(b);
      return b;
    };
    // the output's gradient per step ('all'), or zeros with the last step's in gNext ('last')
    let gout: StepStore | null = null;
    const zeros = buffer(BN);
    const gNext = [buffer(BN), buffer(BN)];
    if (r.record === 'all') {
      gout = new StepStore(device, this.r.maxBuffer, T, BN);
      made.push(gout);
      const frame = new Float32Array(BN);
      for (let t = 0; t < T; t++) {
        let gt: Float32Array;
        if (B === 1) gt = gOut.subarray(t * N, (t + 1) * N);
        else {
          for (let b = 0; b < B; b++) frame.set(gOut.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
          gt = frame;
        }
        const at = gout.at(t);
        device.queue.writeBuffer(at.buffer, at.offset, gt);
      }
    } else if (T > 0) device.queue.writeBuffer(gNext[0]!, 0, gOut);
    const gtot = buffer(BN);
    const acc = buffer(2 * N);
    const gw = buffer(needs.weight ? E : 0);
    const gx = needs.x ? new StepStore(device, this.r.maxBuffer, T, BN) : null;
    if (gx) made.push(gx);
    const gxScratch = gx ? null : buffer(BN);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    let cur = 0;
    for (let t = T - 1; t >= 0; t--) {
      const vPrev = saved.states.at(t);
      dispatch(pass, this.pipeline('node'), this.bind('node', [
        whole(dims), gout ? gout.at(t) : whole(zeros), whole(gNext[cur]!), saved.d.at(t), whole(saved.nodep), whole(gtot), whole(acc), gx ? gx.at(t) : whole(gxScratch!),
      ]), N);
      if (needs.weight && E > 0) {
        dispatch(pass, this.pipeline('gw'), this.bind('gw', [whole(dims), whole(gtot), vPrev, whole(saved.nodep), whole(g.edges), whole(gw)]), E);
      }
      if (t > 0 || needs.v0) {
        dispatch(pass, this.pipeline('gv'), this.bind('gv', [whole(dims), whole(gtot), vPrev, whole(saved.nodep), whole(saved.wS), whole(g.csrS), whole(gNext[1 - cur]!)]), BN);
        cur = 1 - cur;
      }
    }
    let groupSums: WBuffer | null = null;
    if (needs.weight && saved.perGroup && G > 0 && E > 0) {
      groupSums = buffer(G);
      dispatch(pass, this.pipeline('group'), this.bind('group', [whole(dims), whole(gw), whole(g.groups!), whole(groupSums)]), G);
    }
    pass.end();
    const regions: Region[] = [];
    const want = (reg: Region): number => regions.push(reg) - 1;
    const iAcc = needs.bias || needs.rate ? want({ buffer: acc, offset: 0, size: bytes4(2 * N) }) : -1;
    const nW = saved.perGroup ? G : E;
    const iW = needs.weight && nW > 0 && E > 0 ? want(whole(groupSums ?? gw)) : -1;
    const iV0 = needs.v0 && T > 0 ? want({ buffer: gNext[cur]!, offset: 0, size: bytes4(BN) }) : -1;
    const iX = gx ? Array.from({ length: T }, (_, t) => want(gx.at(t))) : [];
    const read = readRegions(device, this.r.maxBuffer, encoder, regions);
    device.queue.submit([encoder.finish()]);
    const errors = scopeError(device, 'backward pass');
    try {
      const parts = await readChecked(this.r, read, errors);
      let x: Float32Array | null = null;
      if (gx) {
        x = new Float32Array(B * T * N);
        iX.forEach((k, t) => {
          const s = parts[k]!;
          if (B === 1) x!.set(s.subarray(0, N), t * N);
          else for (let b = 0; b < B; b++) x!.set(s.subarray(b * N, (b + 1) * N), (b * T + t) * N);
        });
      }
      return {
        v0: !needs.v0 ? null : T > 0 ? parts[iV0]!.subarray(0, BN) : r.record === 'last' ? gOut.slice() : new Float32Array(BN),
        x,
        bias: needs.bias ? parts[iAcc]!.slice(0, N) : null,
        rate: needs.rate ? parts[iAcc]!.slice(N, 2 * N) : null,
        weight: !needs.weight ? null : iW >= 0 ? parts[iW]!.slice(0, nW) : new Float32Array(nW),
      };
    } finally {
      for (const b of made) b.destroy();
      release(saved.held);
    }
  }
}

// ---- the backend -----------------------------------------------------------------------------

/** The 'webgpu' backend's fused simulator: one that reads back asynchronously (backwardAsync, not backward). */
export interface WebGpuSimulator extends FusedSimulator {
  readonly readBack: 'async';
  /** The VJP of forward (the adjoint scan), read back asynchronously. */
  backwardAsync(request: ScanRequest, forward: ScanForward, gOut: HostArray, needs: ScanNeeds): Promise<ScanGradients>;
}

function webgpuPpneuron(instance: WebGpuInstance, graph: BackendGraph): WebGpuSimulator {
  return {
    model: PPNEURON_MODEL,
    readBack: 'async',
    supports: (request) => gpuSupports(graph, request),
    forward(r) {
      checkScan(graph, r);
      const { bias, rate, weight } = ppneuronInputs(graph, r);
      return instance.scan().forward(r, bias, rate, weight);
    },
    backward() {
      throw new BackendError('webgpu backend: the backward pass reads back asynchronously: use await backwardAsync(request, forward, gOut, needs)');
    },
    async backwardAsync(r, fwd, gOut, needs) {
      const saved = fwd.saved as WebGpuSaved | undefined;
      if (saved === undefined) throw new BackendError('scan backward: the forward pass kept nothing (it ran while no tape was recording)');
      const g = await instance.scan().backward(r, saved, gOut as Float32Array, {
        v0: needs.v0, x: needs.x, bias: needs.inputs.bias ?? false, rate: needs.inputs.rate ?? false, weight: needs.inputs.weight ?? false,
      });
      return { v0: g.v0, x: g.x, inputs: { bias: g.bias, rate: g.rate, weight: g.weight } };
    },
  };
}

export interface WebGpuInstance extends BackendInstance {
  /** The adapter it runs on. */
  readonly adapter: string;
  scan(): WebGpuScan;
  fused(model: string): WebGpuSimulator | undefined;
}

export const webgpuBackend: Backend = {
  name: 'webgpu',
  kernels: [],
  available: () => webgpuInfo(),
  create(graph: BackendGraph, options: BackendOptions = {}): WebGpuInstance {
    if (options.kernel !== undefined && options.kernel !== 'webgpu') throw new BackendError(`the webgpu backend runs the kernel webgpu, not '${options.kernel}'`);
    const r = ready;
    if (r === null) throw new BackendError(`backend 'webgpu' is not available here: ${failure}`);
    let scan: WebGpuScan | undefined;
    let host: SynapseKernel | undefined;
    let fused: ((model: string) => FusedSimulator | undefined) | undefined;
    let disposed = false;
    const instance: WebGpuInstance = {
      backend: 'webgpu',
      graph,
      kernelName: 'webgpu',
      adapter: r.adapter,
      scan: () => {
        if (disposed) throw new BackendError('webgpu backend: used after dispose()');
        return (scan ??= new WebGpuScan(r, graph));
      },
      fused: (model) => (fused ??= fusedLookup(instance, graph))(model) as WebGpuSimulator | undefined,
      // the generic path is synchronous: it runs on a host kernel
      synapseKernel() {
        return (host ??= createSynapseKernel({ nNodes: graph.nNodes, source: graph.source, target: graph.target }, graph.activation, { kernel: defaultJsKernel(graph) }));
      },
      dispose() {
        disposed = true;
        scan?.dispose();
        host?.dispose?.();
      },
    };
    return instance;
  },
};

/** After js (100): results read back asynchronously, so 'auto' (whose users call the synchronous Network methods) never picks it. */
const PRIORITY = 200;
registerBackend(webgpuBackend, PRIORITY);
registerFusedModel('webgpu', PPNEURON_MODEL, (instance, graph) => webgpuPpneuron(instance as WebGpuInstance, graph));
