// The 'gpujs' backend: the fused 'ppneuron' model as gpu.js kernels in pipeline mode, so the state
// stays in textures from step to step (WebGL2 in browsers, headless-gl in Node where the `gl`
// package is built) and the host reads results back once, at the end. Each Euler step is two
// kernels (d = bias - v + syn + x, one thread per output with its incoming edges gathered; then
// v + rate d); the adjoint step is a handful (src/backends/gpujs-plan.ts has the formulas). The
// states and d of every step stay on the device for the backward pass, which keeps its
// accumulators (bias, rate and per-edge weight gradients) there too and sums the weight gradient
// per group in a last kernel.
//
// gpu.js picks where its kernels run; this backend asks, in order, for WebGL2, headless-gl and
// WebGL, and where none exists (Node without `gl`) for gpu.js's WebAssembly backend, then its
// CPU one: the same kernels, translated by gpu.js to wasm or run as JavaScript (so the backend
// works, and is tested, everywhere; `gpujsInfo()` says which ran). Safe from minifiers: kernels
// are source strings, and gpu.js's backend is named by class identity (src/kernels/gpujs.ts).
// The generic path (dynamics without a fused model) gets the 'gpujs' synapse kernel.
import { GPU } from 'gpu.js';
import { PPNEURON_MODEL } from '../dynamics/ppneuron-step.ts';
import { makeActivation } from '../kernels/activation.ts';
import { backendOf } from '../kernels/gpujs.ts';
import { createSynapseKernel } from '../kernels/index.ts';
import type { SynapseKernel } from '../kernels/synapse.ts';
import { activationBodies, entryWeights, gpuPlan, gpuSupports, type GpuPlan } from './gpujs-plan.ts';
import { checkScan, ppneuronInputs } from './js.ts';
import { createBackend, fusedLookup, listBackends, registerBackend, registerFusedModel } from './registry.ts';
import {
  type Backend, type BackendGraph, BackendError, type BackendInstance, type BackendOptions, type FusedSimulator, type HostArray,
  type ScanGradients, type ScanRequest, hostArray,
} from './types.ts';

/** gpu.js modes this backend tries, best first: GL ones keep state in textures; the last two run on the CPU. */
export const GPUJS_MODES = ['webgl2', 'headlessgl', 'webgl', 'webasm', 'cpu'] as const;
export type GpujsMode = (typeof GPUJS_MODES)[number];
const GL_KERNELS = new Set(['WebGL2Kernel', 'HeadlessGLKernel', 'WebGLKernel']);

// The kernels as gpu.js parses them (plain JavaScript; `this` is gpu.js's kernel context). All
// arrays are 1D (gpu.js packs them into 2D textures; a [nodes, samples] output could outgrow a
// texture's side): states are batch-major, (b, n) at b * N + n. A thread finds its sample by a
// float division, then corrects it by one either way with exact (below 2^24) arithmetic, since
// GPU division may be off by an ulp. Loop counters start from an array value and step with
// `p += 1` (shared/notes/gpu-js.md).
const SAMPLE = `const i = this.thread.x;
  let b = Math.floor(i / this.constants.N);
  let n = i - b * this.constants.N;
  if (n < 0) { b = b - 1; n = n + this.constants.N; }
  if (n >= this.constants.N) { b = b + 1; n = n - this.constants.N; }
  const o = b * this.constants.N;`;
const SRC = {
  copy: `function flyvisCopy(a) { return a[this.thread.x]; }`,
  d: `function flyvisD(v, x, bias, w, col, ptr) {
  ${SAMPLE}
  const end = ptr[n + 1];
  let s = 0.0;
  for (let p = ptr[n]; p < end; p += 1) {
    s += w[p] * flyvisAct(v[o + col[p]]);
  }
  return bias[n] - v[i] + s + x[i];
}`,
  euler: `function flyvisEuler(v, d, rate) {
  ${SAMPLE}
  return v[i] + rate[n] * d[i];
}`,
  add: `function flyvisAdd(a, c) { return a[this.thread.x] + c[this.thread.x]; }`,
  gv: `function flyvisGv(g, v, rate, w, col, ptr) {
  ${SAMPLE}
  const end = ptr[n + 1];
  let acc = 0.0;
  for (let p = ptr[n]; p < end; p += 1) {
    const t = col[p];
    acc += w[p] * (g[o + t] * rate[t]);
  }
  const gi = g[i];
  return (gi - gi * rate[n]) + flyvisDact(v[i]) * acc;
}`,
  gx: `function flyvisGx(g, rate) {
  ${SAMPLE}
  return g[i] * rate[n];
}`,
  accBias: `function flyvisAccBias(acc, g, rate) {
  const n = this.thread.x;
  let s = acc[n];
  for (let b = 0; b < this.constants.B; b += 1) {
    s += g[b * this.constants.N + n] * rate[n];
  }
  return s;
}`,
  accRate: `function flyvisAccRate(acc, g, d) {
  const n = this.thread.x;
  let s = acc[n];
  for (let b = 0; b < this.constants.B; b += 1) {
    s += g[b * this.constants.N + n] * d[b * this.constants.N + n];
  }
  return s;
}`,
  gw: `function flyvisGw(acc, v, g, rate, src, tgt) {
  const e = this.thread.x;
  const s = src[e];
  const t = tgt[e];
  let sum = acc[e];
  for (let b = 0; b < this.constants.B; b += 1) {
    sum += flyvisAct(v[b * this.constants.N + s]) * (g[b * this.constants.N + t] * rate[t]);
  }
  return sum;
}`,
  group: `function flyvisGroup(acc, edge, ptr) {
  const k = this.thread.x;
  const end = ptr[k + 1];
  let s = 0.0;
  for (let p = ptr[k]; p < end; p += 1) {
    s += acc[edge[p]];
  }
  return s;
}`,
} as const;

/** A kernel's result: a gpu.js Texture (GL modes) or host arrays (webasm, cpu). */
type Value = unknown;
type Kernel = (...args: unknown[]) => Value;

function isTexture(v: Value): v is { toArray(): unknown; delete(): void } {
  return typeof v === 'object' && v !== null && typeof (v as { toArray?: unknown }).toArray === 'function';
}

/** A result as one flat Float32Array (2D results row after row). */
function flat(v: Value, length: number): Float32Array {
  const a = isTexture(v) ? v.toArray() : v;
  if (a instanceof Float32Array) return a.length === length ? a : a.slice(0, length);
  const rows = a as ArrayLike<ArrayLike<number>>;
  const out = new Float32Array(length);
  let o = 0;
  for (let r = 0; r < rows.length && o < length; r++) {
    const row = rows[r]!;
    out.set(row instanceof Float32Array ? row.subarray(0, Math.min(row.length, length - o)) : Array.from(row).slice(0, length - o), o);
    o += row.length;
  }
  return out;
}

function free(v: Value): void {
  if (isTexture(v)) v.delete();
}

/** Arrays of at least one element (gpu.js refuses empty inputs; padding is never read). */
const atLeastOne = (a: Float32Array): Float32Array => (a.length > 0 ? a : new Float32Array(1));

/** Device copies of a graph: CSR by target and by source, edges, groups. */
interface DeviceGraph {
  readonly colT: Value;
  readonly ptrT: Value;
  readonly colS: Value;
  readonly ptrS: Value;
  readonly src: Value;
  readonly tgt: Value;
  readonly gEdge: Value | null;
  readonly gPtr: Value | null;
}

/** What the forward pass keeps on the device for the backward pass. */
interface GpujsSaved {
  /** v0 and the state after every step (T + 1 values, (B, N) each). */
  readonly v: Value[];
  /** d of every step. */
  readonly d: Value[];
  readonly bias: Value;
  readonly rate: Value;
  readonly wS: Value;
  readonly perGroup: boolean;
  /** Everything above, released after the backward pass (or when the tape is dropped unused). */
  readonly held: Held;
}

interface Held {
  readonly values: Value[];
  released: boolean;
}

function release(held: Held): void {
  if (held.released) return;
  held.released = true;
  for (const v of held.values) free(v);
}

// Device memory is not garbage collected: a forward pass whose tape is dropped without a backward
// pass releases its textures when its saved record is collected.
const finalizer = new FinalizationRegistry<Held>(release);

/** The gpu.js machinery of one backend instance: a GPU (one context), the kernels, the device graph. */
export class GpujsScan {
  readonly plan: GpuPlan;
  readonly gpu: GPU;
  /** The gpu.js backend the kernels ran on ('WebGL2Kernel', 'HeadlessGLKernel', 'WebAssemblyKernel', ...). */
  ranOn = 'not run yet';
  private readonly kernels = new Map<string, Kernel>();
  private device: DeviceGraph | null = null;
  private disposed = false;
  private readonly loopMax: number;

  constructor(private readonly graph: BackendGraph, readonly mode: GpujsMode) {
    this.plan = gpuPlan(graph);
    // the device holds indices as float32: exact up to 2^24
    if (this.plan.E >= 2 ** 24 || this.plan.N >= 2 ** 24) throw new BackendError(`gpujs backend: at most 2^24 nodes and edges (${this.plan.N} nodes, ${this.plan.E} edges)`);
    this.gpu = new GPU({ mode });
    const { f, df } = activationBodies(graph.activation, 'js');
    this.gpu.addFunction(`function flyvisAct(u) { ${f} }` as never);
    this.gpu.addFunction(`function flyvisDact(u) { ${df} }` as never);
    // gpu.js bounds every loop (LOOP_MAX, default 1000): here by the largest degree or group
    this.loopMax = Math.max(1000, this.plan.maxDegree + 1);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.device) for (const v of Object.values(this.device)) free(v);
    void this.gpu.destroy();
  }

  live(): void {
    if (this.disposed) throw new BackendError('gpujs backend: used after dispose()');
  }

  /** The kernel `name` with output `output` (created once per name and shape). */
  private k(name: keyof typeof SRC, output: number[], B = 1): Kernel {
    const key = `${name}:${output.join('x')}:${B}`;
    let k = this.kernels.get(key);
    if (k === undefined) {
      const settings = {
        output: output.map((n) => Math.max(1, n)),
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        constants: { B, N: Math.max(1, this.plan.N) },
        loopMaxIterations: Math.max(this.loopMax, B + 1),
      };
      const made = this.gpu.createKernel(SRC[name], settings as never) as unknown as Kernel;
      k = (...args: unknown[]) => {
        const r = made(...args);
        this.ranOn = backendOf(made as never);
        return r;
      };
      this.kernels.set(key, k);
    }
    return k;
  }

  /** An array onto the device (indices as floats: exact below 2^24). */
  up(a: Float32Array | Int32Array): Value {
    const x = atLeastOne(a instanceof Float32Array ? a : Float32Array.from(a));
    return this.k('copy', [x.length])(x);
  }

  private deviceGraph(): DeviceGraph {
    if (this.device) return this.device;
    const p = this.plan;
    const g = p.groups;
    this.device = {
      colT: this.up(p.byTarget.col),
      ptrT: this.up(p.byTarget.ptr),
      colS: this.up(p.bySource.col),
      ptrS: this.up(p.bySource.ptr),
      src: this.up(p.source),
      tgt: this.up(p.target),
      gEdge: g ? this.up(g.edge) : null,
      gPtr: g ? this.up(g.ptr) : null,
    };
    return this.device;
  }

  forward(r: ScanRequest, bias: HostArray, rate: HostArray, weight: HostArray): { out: Float32Array; saved: GpujsSaved | null } {
    this.live();
    const { batch: B, steps: T } = r;
    const { N } = this.plan;
    if (B * N >= 2 ** 24) throw new BackendError(`gpujs backend: at most 2^24 states per step (batch ${B} x ${N} nodes)`);
    const dg = this.deviceGraph();
    const { wT, wS, perGroup } = entryWeights(this.plan, this.graph, weight);
    const dev = { bias: this.up(bias as Float32Array), rate: this.up(rate as Float32Array), wT: this.up(wT), wS: r.save ? this.up(wS) : null };
    const x = r.x as Float32Array;
    const frame = B === 1 ? null : new Float32Array(B * N);
    const xAt = (t: number): Float32Array => {
      if (frame === null) return x.subarray(t * N, (t + 1) * N);
      for (let b = 0; b < B; b++) frame.set(x.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
      return frame;
    };
    const dK = this.k('d', [B * N], B);
    const eulerK = this.k('euler', [B * N], B);
    const states: Value[] = [this.up(r.v0 as Float32Array)];
    const ds: Value[] = [];
    for (let t = 0; t < T; t++) {
      const v = states[states.length - 1];
      const d = dK(v, xAt(t), dev.bias, dev.wT, dg.colT, dg.ptrT);
      states.push(eulerK(v, d, dev.rate));
      if (r.save) ds.push(d);
      else {
        free(d);
        // keep what 'all' reads back; otherwise only the current state
        if (r.record === 'last' && states.length > 2) free(states.splice(states.length - 2, 1)[0]);
      }
    }
    // read back once, at the end
    let out: Float32Array;
    if (r.record === 'all') {
      out = new Float32Array(B * T * N);
      for (let t = 0; t < T; t++) {
        const s = flat(states[t + 1], B * N);
        if (B === 1) out.set(s, t * N);
        else for (let b = 0; b < B; b++) out.set(s.subarray(b * N, (b + 1) * N), (b * T + t) * N);
      }
    } else out = T === 0 ? (r.v0 as Float32Array).slice() : flat(states[states.length - 1], B * N);
    if (!r.save) {
      for (const s of states) free(s);
      for (const v of [dev.bias, dev.rate, dev.wT]) free(v);
      return { out, saved: null };
    }
    const held: Held = { values: [...states, ...ds, dev.bias, dev.rate, dev.wT, dev.wS], released: false };
    const saved: GpujsSaved = { v: states, d: ds, bias: dev.bias, rate: dev.rate, wS: dev.wS!, perGroup, held };
    finalizer.register(saved, held);
    return { out, saved };
  }

  backward(
    r: ScanRequest, saved: GpujsSaved, gOut: Float32Array,
    needs: { v0: boolean; x: boolean; bias: boolean; rate: boolean; weight: boolean },
  ): { v0: Float32Array | null; x: Float32Array | null; bias: Float32Array | null; rate: Float32Array | null; weight: Float32Array | null } {
    this.live();
    if (saved.held.released) throw new BackendError('gpujs backend: this forward pass was already differentiated (its device buffers are released)');
    const { batch: B, steps: T } = r;
    const { N, E } = this.plan;
    const dg = this.deviceGraph();
    const zerosN = new Float32Array(N);
    const zeros2 = new Float32Array(B * N);
    let accBias = needs.bias ? this.up(zerosN) : null;
    let accRate = needs.rate ? this.up(zerosN) : null;
    let accW = needs.weight && E > 0 ? this.up(new Float32Array(E)) : null;
    const gxs: Value[] = [];
    const frame = B === 1 ? null : new Float32Array(B * N);
    const gOutAt = (t: number): Float32Array => {
      if (frame === null) return gOut.subarray(t * N, (t + 1) * N);
      for (let b = 0; b < B; b++) frame.set(gOut.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
      return frame;
    };
    const addK = this.k('add', [B * N], B);
    const gvK = this.k('gv', [B * N], B);
    const gxK = this.k('gx', [B * N], B);
    // g: dL/d(state after step t); starts as the output's gradient of the last step
    let gNext: Value = r.record === 'all' ? this.up(zeros2) : this.up(gOut);
    for (let t = T - 1; t >= 0; t--) {
      let g: Value;
      if (r.record === 'all') {
        g = addK(gOutAt(t), gNext);
        free(gNext);
      } else g = gNext;
      const vPrev = saved.v[t];
      if (needs.x) gxs.push(gxK(g, saved.rate));
      if (accBias) {
        const a = this.k('accBias', [N], B)(accBias, g, saved.rate);
        free(accBias);
        accBias = a;
      }
      if (accRate) {
        const a = this.k('accRate', [N], B)(accRate, g, saved.d[t]);
        free(accRate);
        accRate = a;
      }
      if (accW) {
        const a = this.k('gw', [E], B)(accW, vPrev, g, saved.rate, dg.src, dg.tgt);
        free(accW);
        accW = a;
      }
      gNext = t > 0 || needs.v0 ? gvK(g, vPrev, saved.rate, saved.wS, dg.colS, dg.ptrS) : null;
      free(g);
    }
    // read back once, at the end
    let gX: Float32Array | null = null;
    if (needs.x) {
      gX = new Float32Array(B * T * N);
      gxs.reverse();
      for (let t = 0; t < T; t++) {
        const s = flat(gxs[t], B * N);
        if (B === 1) gX.set(s, t * N);
        else for (let b = 0; b < B; b++) gX.set(s.subarray(b * N, (b + 1) * N), (b * T + t) * N);
        free(gxs[t]);
      }
    }
    let v0: Float32Array | null = null;
    if (needs.v0) v0 = T === 0 ? (r.record === 'last' ? gOut.slice() : new Float32Array(B * N)) : flat(gNext, B * N);
    if (gNext !== null) free(gNext);
    let weight: Float32Array | null = null;
    if (needs.weight) {
      const nW = saved.perGroup ? this.plan.groups!.count : E;
      if (accW === null || nW === 0) weight = new Float32Array(nW);
      else if (saved.perGroup) {
        const sum = this.k('group', [nW])(accW, dg.gEdge, dg.gPtr);
        weight = flat(sum, nW);
        free(sum);
      } else weight = flat(accW, E);
    }
    const bias = accBias === null ? null : flat(accBias, N);
    const rate = accRate === null ? null : flat(accRate, N);
    for (const v of [accBias, accRate, accW]) if (v !== null) free(v);
    release(saved.held);
    return { v0, x: gX, bias, rate, weight };
  }
}

/** The 'gpujs' backend's fused 'ppneuron' model. */
function gpujsPpneuron(instance: GpujsInstance, graph: BackendGraph): FusedSimulator {
  return {
    model: PPNEURON_MODEL,
    supports: (request) => gpuSupports(graph, request),
    forward(r) {
      checkScan(graph, r);
      const { bias, rate, weight } = ppneuronInputs(graph, r);
      const { out, saved } = instance.scan().forward(r, bias, rate, weight);
      return { output: hostArray(out, r.record === 'all' ? [r.batch, r.steps, graph.nNodes] : [r.batch, graph.nNodes]), ...(saved ? { saved } : {}) };
    },
    backward(r, fwd, gOut, needs): ScanGradients {
      const saved = fwd.saved as GpujsSaved | undefined;
      if (saved === undefined) throw new BackendError('scan backward: the forward pass kept nothing (it ran while no tape was recording)');
      const g = instance.scan().backward(r, saved, gOut as Float32Array, {
        v0: needs.v0, x: needs.x, bias: needs.inputs.bias ?? false, rate: needs.inputs.rate ?? false, weight: needs.inputs.weight ?? false,
      });
      return { v0: g.v0, x: g.x, inputs: { bias: g.bias, rate: g.rate, weight: g.weight } };
    },
  };
}

export interface GpujsInstance extends BackendInstance {
  /** The gpu.js mode the instance runs ('webgl2', 'headlessgl', 'webgl', 'webasm' or 'cpu'). */
  readonly mode: GpujsMode;
  scan(): GpujsScan;
}

/** gpu.js's backend for a mode, checked on a 2-node scan step; null where the mode does not work here. */
function probeMode(mode: GpujsMode): string | null {
  let scan: GpujsScan | null = null;
  try {
    const graph: BackendGraph = { nNodes: 2, source: Int32Array.of(0), target: Int32Array.of(1), activation: makeActivation('relu') };
    scan = new GpujsScan(graph, mode);
    const r: ScanRequest = {
      batch: 1, steps: 1, dtype: 'float32', v0: Float32Array.of(2, 1), x: Float32Array.of(0.5, 0.25), inputs: {}, record: 'last', save: false,
    };
    const { out } = scan.forward(r, Float32Array.of(1, 0), Float32Array.of(0.5, 0.5), Float32Array.of(3));
    // v' = v + r (bias - v + w relu(v_src) + x): 2 + 0.5 (1 - 2 + 0 + 0.5) = 1.75; 1 + 0.5 (0 - 1 + 6 + 0.25) = 3.625
    if (out[0] !== 1.75 || out[1] !== 3.625) return null;
    return scan.ranOn;
  } catch {
    return null;
  } finally {
    scan?.dispose();
  }
}

let probed: { mode: GpujsMode; backend: string } | { mode: null; reason: string } | undefined;

/**
 * Where the 'gpujs' backend runs here: the first gpu.js mode of GPUJS_MODES that computes a
 * scan step correctly, and gpu.js's backend class for it (probed once).
 */
export function gpujsInfo(): { mode: GpujsMode; backend: string; gpu: boolean } | { mode: null; reason: string } {
  if (probed === undefined) {
    probed = { mode: null, reason: 'gpu.js ran no test scan correctly in any mode' };
    for (const mode of GPUJS_MODES) {
      const backend = probeMode(mode);
      if (backend !== null) {
        probed = { mode, backend };
        break;
      }
    }
  }
  return probed.mode === null ? probed : { ...probed, gpu: GL_KERNELS.has(probed.backend) };
}

/** A 'gpujs' backend instance for a graph, in gpu.js mode `mode` (default: gpujsInfo()'s). */
export function createGpujsInstance(graph: BackendGraph, options: BackendOptions & { mode?: GpujsMode } = {}): GpujsInstance {
  if (options.kernel !== undefined && options.kernel !== 'gpujs') throw new BackendError(`the gpujs backend runs the kernel gpujs, not '${options.kernel}'`);
  let mode = options.mode;
  if (mode === undefined) {
    const info = gpujsInfo();
    if (info.mode === null) throw new BackendError(`gpujs backend: ${info.reason}`);
    mode = info.mode;
  }
  let scan: GpujsScan | undefined;
  const kernels = new Map<boolean, SynapseKernel>();
  let fused: ((model: string) => FusedSimulator | undefined) | undefined;
  let disposed = false;
  const edges = { nNodes: graph.nNodes, source: graph.source, target: graph.target };
  const instance: GpujsInstance = {
    backend: 'gpujs',
    graph,
    kernelName: 'gpujs',
    mode,
    scan: () => {
      if (disposed) throw new BackendError('gpujs backend: used after dispose()');
      return (scan ??= new GpujsScan(graph, mode));
    },
    fused: (model) => (fused ??= fusedLookup(instance, graph))(model),
    // the generic path: the gpujs synapse kernel (per-edge weights; it ignores groups)
    synapseKernel() {
      let k = kernels.get(false);
      if (k === undefined) kernels.set(false, (k = createSynapseKernel(edges, graph.activation, { kernel: 'gpujs' })));
      return k;
    },
    dispose() {
      disposed = true;
      scan?.dispose();
      for (const k of kernels.values()) k.dispose?.();
      kernels.clear();
    },
  };
  return instance;
}

export const gpujsBackend: Backend = {
  name: 'gpujs',
  kernels: [],
  available: () => {
    const info = gpujsInfo();
    return info.mode === null ? { ok: false, reason: info.reason } : { ok: true };
  },
  create: (graph, options = {}) => createGpujsInstance(graph, options),
};

/**
 * Whether 'auto' should take gpujs: only where gpu.js runs on a GPU context (not its CPU
 * backends), and only if a quick self-check finds it correct and faster than the backend 'auto'
 * would take otherwise (10 steps over a ring of 16,384 nodes with 32 weight groups of inputs
 * each, the best of three runs after a warm-up; gpujs stops at a run no faster than the other's
 * best). Consulted once, by 'auto' only.
 */
export function gpujsAutoGate(): { ok: true; note: string } | { ok: false; reason: string } {
  const info = gpujsInfo();
  if (info.mode === null) return { ok: false, reason: info.reason };
  if (!info.gpu) return { ok: false, reason: `gpu.js runs on its ${info.backend} here, not on a GPU` };
  const rival = listBackends().find((b) => b.available && b.name !== 'gpujs' && b.models.includes(PPNEURON_MODEL));
  if (rival === undefined) return { ok: true, note: 'no other backend runs the fused model here' };
  const N = 16384;
  const K = 32;
  const source = new Int32Array(N * K);
  const target = new Int32Array(N * K);
  const index = new Int32Array(N * K);
  for (let k = 0; k < K; k++) {
    for (let n = 0; n < N; n++) {
      source[k * N + n] = (n + k - K / 2 + N) % N;
      target[k * N + n] = n;
      index[k * N + n] = k;
    }
  }
  const graph: BackendGraph = {
    nNodes: N, source, target, activation: makeActivation('relu'),
    groups: { index, representative: Int32Array.from({ length: K }, (_, k) => k * N) },
  };
  const T = 10;
  const request: ScanRequest = {
    batch: 1, steps: T, dtype: 'float32', record: 'last', save: false,
    v0: Float32Array.from({ length: N }, (_, i) => ((i * 37) % 101) / 101),
    x: Float32Array.from({ length: T * N }, (_, i) => ((i * 53) % 97) / 97),
    inputs: {
      bias: Float32Array.from({ length: N }, (_, i) => ((i * 7) % 13) / 13 - 0.5),
      rate: new Float32Array(N).fill(0.4),
      weight: Float32Array.from({ length: K }, (_, k) => (k % 2 ? 0.03 : -0.02)),
    },
  };
  // the best of three runs after a warm-up; gpujs stops at its first run slower than the rival's best
  const time = (name: string, beat = Infinity): { ms: number; out: HostArray } => {
    const instance = createBackend(name, graph);
    try {
      const sim = instance.fused(PPNEURON_MODEL)!;
      let out = sim.forward(request).output.read();
      let ms = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        out = sim.forward(request).output.read();
        ms = Math.min(ms, performance.now() - t0);
        if (ms >= beat) break;
      }
      return { ms, out };
    } finally {
      instance.dispose();
    }
  };
  const other = time(rival.name);
  const gpu = time('gpujs', other.ms);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < N; i++) {
    err = Math.max(err, Math.abs(gpu.out[i]! - other.out[i]!));
    scale = Math.max(scale, Math.abs(other.out[i]!));
  }
  const what = `gpujs on ${info.backend} ${gpu.ms.toFixed(1)} ms, ${rival.name} ${other.ms.toFixed(1)} ms for ${T} steps of ${N} nodes x ${K} inputs`;
  if (!(err <= 1e-5 * scale)) return { ok: false, reason: `gpujs disagrees with ${rival.name} by ${err.toExponential(2)} (${what})` };
  return gpu.ms < other.ms ? { ok: true, note: `faster: ${what}` } : { ok: false, reason: `slower: ${what}` };
}

registerBackend(gpujsBackend, 5, { auto: gpujsAutoGate });
registerFusedModel('gpujs', PPNEURON_MODEL, (instance, graph) => gpujsPpneuron(instance as GpujsInstance, graph));
