// Where the explorer's worker simulates: the backends the browser offers, each as an engine that
// runs k Euler steps of flyvis's network from a state over k frames of node input and returns the
// activity after each step. 'wasm' is the reference: the library's Network.forward on the wasm
// kernel (WebAssembly SIMD), which also computes the grey steady state every movie starts from,
// the node input of each frame (the network's stimulus mapping) and the parameters. 'gpujs'
// (gpu.js on WebGL2, through OffscreenCanvas in the worker) and 'webgpu' (navigator.gpu) run the
// same fused 'ppneuron' scan (src/backends) on a network of theirs built on the same connectome
// and config, fed the reference network's clamped parameters (bias, rate = dt / max(tau, dt),
// the synapse weight per group); the webgpu backend reads its results back asynchronously, so
// every engine answers with a promise.
//
// On load the worker probes every backend the browser offers: a short flash from the grey steady
// state on each, compared with wasm (largest difference at most PROBE_TOLERANCE) and timed; the
// default is the fastest correct one. gpu.js is offered only where it runs on a GPU context
// (WebGL2); its WebAssembly and CPU modes are slower than the wasm kernel by design.
import { Network, Tensor, gpujsInfo, initWebGpu, noGrad, type State } from '../../src/core.ts';
import type { EngineName, EngineReport } from './spec.ts';

export type { EngineName, EngineReport };

export const ENGINE_NAMES: readonly EngineName[] = ['wasm', 'gpujs', 'webgpu'];
/** Largest difference from wasm, in activity units, a backend may show in the probe. */
export const PROBE_TOLERANCE = 1e-5;
/** The probe's movie: grey, ON for 2 frames, then OFF (one value per frame, every hexal). */
export const PROBE_FLASH = [0.5, 1, 1, 0, 0];

export interface Engine {
  readonly name: EngineName;
  /** What it runs on (gpu.js's kernel class, the WebGPU adapter). */
  readonly detail: string;
  /** The activity (k, N) after each of the k frames of node input x (k, N), from activity v0 (N), at dt. */
  run(v0: Float32Array, x: Float32Array, k: number, dt: number): Promise<Float32Array>;
  dispose(): void;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The reference engine: the network's own forward pass on its (wasm) backend. */
export function wasmEngine(net: Network): Engine {
  return {
    name: 'wasm',
    detail: net.kernel.name,
    run(v0, x, k, dt) {
      const N = net.nNodes;
      const state: State = { nodes: { activity: new Tensor(v0, [1, N]) }, edges: {} };
      const a = noGrad(() => net.forward({ data: x, shape: [1, k, N] }, dt, { state }));
      return Promise.resolve(Float32Array.from(a.data.subarray(0, k * N)));
    },
    dispose() {},
  };
}

/**
 * An engine on a GPU backend: the fused simulator of a network built on `kernel` with the
 * reference network's connectome and config, fed the reference's parameters.
 */
function gpuEngine(name: 'gpujs' | 'webgpu', ref: Network, detail: string): Engine {
  const net = new Network(ref.config, { kernel: name }, ref.connectome);
  const sim = net.backend.fused('ppneuron');
  if (sim === undefined) {
    net.dispose();
    throw new Error(`the ${name} backend has no fused ppneuron simulator`);
  }
  const spec = ref.dynamics.fused;
  if (spec === undefined || spec.model !== 'ppneuron') {
    net.dispose();
    throw new Error(`the network's dynamics (${ref.dynamics.type}) have no fused ppneuron model for ${name}`);
  }
  const N = ref.nNodes;
  return {
    name,
    detail,
    async run(v0, x, k, dt) {
      const inputs = noGrad(() => {
        ref.clamp(); // as Network.forward does before it simulates
        return Object.fromEntries(Object.entries(spec.inputs(ref.paramApi(), dt)).map(([key, t]) => [key, Float32Array.from(t.data)]));
      });
      const request = { batch: 1, steps: k, dtype: 'float32' as const, v0, x, inputs, record: 'all' as const, save: false };
      if (!sim.supports(request)) throw new Error(`the ${name} backend does not run this network's parameters (float32, a weight per synapse group)`);
      const out = await sim.forward(request).output.readAsync();
      for (let i = 0; i < out.length; i++) {
        if (!Number.isFinite(out[i]!)) throw new Error(`${name}: the activity of node ${i % N} is ${out[i]} at frame ${Math.floor(i / N)} (the network diverged)`);
      }
      return out instanceof Float32Array ? out : Float32Array.from(out);
    },
    dispose: () => net.dispose(),
  };
}

/** Whether a backend is offered here, and what it runs on (or why not); initialises WebGPU once. */
let webgpuReady: Promise<{ ok: true; adapter: string } | { ok: false; reason: string }> | null = null;
export async function offered(name: EngineName): Promise<{ ok: true; detail: string } | { ok: false; reason: string }> {
  if (name === 'wasm') return { ok: true, detail: 'WebAssembly SIMD kernel' };
  if (name === 'gpujs') {
    try {
      const g = gpujsInfo();
      if (g.mode === null) return { ok: false, reason: g.reason };
      if (!g.gpu) return { ok: false, reason: `gpu.js found no WebGL2 context here (it would run on ${g.backend}, slower than wasm)` };
      return { ok: true, detail: `gpu.js ${g.backend}` };
    } catch (e) {
      return { ok: false, reason: message(e) };
    }
  }
  if (typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu !== 'object') return { ok: false, reason: 'no navigator.gpu (WebGPU) in this browser' };
  webgpuReady ??= initWebGpu();
  const r = await webgpuReady;
  return r.ok ? { ok: true, detail: `WebGPU on ${r.adapter}` } : { ok: false, reason: r.reason };
}

/** The engine for a backend the browser offers (throws naming the backend when it cannot). */
export async function createEngine(name: EngineName, ref: Network): Promise<Engine> {
  if (name === 'wasm') return wasmEngine(ref);
  const o = await offered(name);
  if (!o.ok) throw new Error(`backend ${name} is not available: ${o.reason}`);
  return gpuEngine(name, ref, o.detail);
}

/**
 * Runs PROBE_FLASH from `v0` on each engine (twice: the first run compiles), compares its activity
 * with wasm's and reports the difference and the time per frame of the faster run.
 */
export async function probeEngines(engines: readonly Engine[], v0: Float32Array, x: Float32Array, dt: number): Promise<EngineReport[]> {
  const k = PROBE_FLASH.length;
  const reference = engines.find((e) => e.name === 'wasm');
  if (reference === undefined) throw new Error('the probe needs the wasm engine');
  const ref = await reference.run(v0, x, k, dt);
  const reports: EngineReport[] = [];
  for (const e of engines) {
    try {
      let best = Infinity;
      let out = ref;
      for (let r = 0; r < 2; r++) {
        const t0 = performance.now();
        out = await e.run(v0, x, k, dt);
        best = Math.min(best, performance.now() - t0);
      }
      let d = 0;
      for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(out[i]! - ref[i]!));
      if (!(d >= 0)) d = Infinity; // NaN
      reports.push({ name: e.name, probed: true, available: true, detail: e.detail, maxDiff: d, correct: d <= PROBE_TOLERANCE, msPerFrame: best / k });
    } catch (err) {
      reports.push({ name: e.name, probed: true, available: false, detail: message(err) });
    }
  }
  return reports;
}

/** The default: the fastest backend whose probe agreed with wasm (wasm when none did). */
export function fastestCorrect(reports: readonly EngineReport[]): EngineName {
  let best: EngineReport | undefined;
  for (const r of reports) if (r.available && r.correct && (best === undefined || r.msPerFrame! < best.msPerFrame!)) best = r;
  return best?.name ?? 'wasm';
}
