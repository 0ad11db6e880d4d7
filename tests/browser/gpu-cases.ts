// Scan cases for the GPU backends, made the same way in Node and in a page (platform-neutral, no
// Node imports): random graphs (repeated edges, self-loops, nodes without edges, weight groups or
// none, weights per group or per edge, every activation with random parameters, batch 1-3,
// 0-5 steps, every state or the last recorded), and flyvis's extent-15 network with its default
// parameters. `runCase` runs one on a backend through the fused primitive, forward and backward
// (the asynchronous read-back where the backend has one), as raw arrays to compare with js.
import { type BackendGraph, type HostArray, type ScanRequest, createBackend } from '../../src/backends/index.ts';
import type { GpujsInstance } from '../../src/backends/gpujs.ts';
import type { WebGpuSimulator } from '../../src/backends/webgpu.ts';
import { ACTIVATION_NAMES, type ActivationConfig, makeActivation } from '../../src/kernels/activation.ts';
import type { Network } from '../../src/network/network.ts';

export interface GpuCase {
  readonly name: string;
  readonly graph: BackendGraph;
  readonly request: ScanRequest;
  /** The upstream gradient, shaped like the output. */
  readonly gOut: Float32Array;
}

/** What runCase returns: the output and every gradient, by name. */
export type CaseResult = Record<'out' | 'v0' | 'x' | 'bias' | 'rate' | 'weight', Float32Array>;

/** A deterministic generator (an LCG) of numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const f32 = (n: number, f: () => number): Float32Array => Float32Array.from({ length: n }, f);

/** A random graph and scan (seeded). */
export function randomCase(seed: number): GpuCase {
  const r = rng(seed);
  const int = (n: number): number => Math.floor(r() * n);
  const N = 1 + int(120);
  const E = int(6 * N + 1);
  const source = Int32Array.from({ length: E }, () => int(N));
  const target = Int32Array.from({ length: E }, () => int(N));
  // groups: random ids made dense in order of first appearance, one representative edge each
  let groups: BackendGraph['groups'];
  if (r() < 0.8 && E > 0) {
    const nIds = 1 + int(E);
    const ids = Int32Array.from({ length: E }, () => int(nIds));
    const dense = new Map<number, number>();
    const index = Int32Array.from(ids, (id) => {
      if (!dense.has(id)) dense.set(id, dense.size);
      return dense.get(id)!;
    });
    const representative = new Int32Array(dense.size).fill(-1);
    index.forEach((g, e) => {
      if (representative[g] === -1) representative[g] = e;
    });
    groups = { index, representative };
  }
  const type = ACTIVATION_NAMES[int(ACTIVATION_NAMES.length)]!;
  const kw: Record<string, Partial<ActivationConfig>> = {
    elu: { alpha: 0.5 + r() }, softplus: { beta: 0.5 + 1.5 * r(), threshold: 2 + 18 * r() }, leakyrelu: { negative_slope: 0.2 * r() },
  };
  const activation = makeActivation({ type, ...(kw[type] ?? {}) });
  const graph: BackendGraph = { nNodes: N, source, target, ...(groups ? { groups } : {}), activation };
  const B = 1 + int(3);
  const T = int(6);
  const record = r() < 0.5 ? 'all' : 'last';
  const perGroup = groups !== undefined && groups.representative.length !== E && r() < 0.7;
  const nW = perGroup ? groups!.representative.length : E;
  const request: ScanRequest = {
    batch: B, steps: T, dtype: 'float32', record, save: true,
    v0: f32(B * N, () => r() - 0.5),
    x: f32(B * T * N, () => 1.5 * r() - 0.5),
    inputs: {
      bias: f32(N, () => r() - 0.5),
      rate: f32(N, () => 0.05 + 0.55 * r()),
      weight: f32(nW, () => (r() - 0.5) * (1.5 / Math.sqrt(1 + E / N))),
    },
  };
  const gOut = f32(record === 'all' ? B * T * N : B * N, () => r() - 0.5);
  return { name: `seed ${seed}: ${N} nodes, ${E} edges, ${groups ? `${groups.representative.length} groups` : 'no groups'}, weights per ${perGroup ? 'group' : 'edge'}, ${type}, batch ${B}, ${T} steps, ${record}`, graph, request, gOut };
}

/** flyvis's network (built by the caller, e.g. at extent 15) with its default parameters: a scan from near its biases. */
export function networkCase(net: Network, dt: number, batch: number, steps: number, seed: number): GpuCase {
  const r = rng(seed);
  const fused = net.dynamics.fused!;
  const inputs = fused.inputs(net.paramApi(), dt);
  const N = net.nNodes;
  const bias = inputs.bias!.data as Float32Array;
  const request: ScanRequest = {
    batch, steps, dtype: 'float32', record: 'all', save: true,
    v0: Float32Array.from({ length: batch * N }, (_, i) => bias[i % N]! + 0.1 * (r() - 0.5)),
    x: f32(batch * steps * N, r),
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t.data as Float32Array])),
  };
  return { name: `flyvis's network, ${N} nodes, batch ${batch}, ${steps} steps`, graph: net.backend.graph, request, gOut: f32(batch * steps * N, () => r() - 0.5) };
}

/**
 * Runs a case on a backend: forward (read back once) and backward with every gradient; `ranOn`:
 * the gpu.js backend class a gpujs instance ran on.
 */
export async function runCase(c: GpuCase, backend: string, options: Record<string, unknown> = {}): Promise<CaseResult & { ranOn?: string }> {
  const instance = createBackend(backend, c.graph, options);
  try {
    const sim = instance.fused('ppneuron')!;
    const fwd = sim.forward(c.request);
    const out = await fwd.output.readAsync();
    const needs = { v0: true, x: true, inputs: { bias: true, rate: true, weight: true } };
    const webgpu = sim as Partial<WebGpuSimulator>;
    const g = webgpu.backwardAsync ? await webgpu.backwardAsync(c.request, fwd, c.gOut, needs) : sim.backward(c.request, fwd, c.gOut, needs);
    const f = (a: HostArray | null): Float32Array => (a === null ? new Float32Array(0) : Float32Array.from(a));
    const ranOn = (instance as Partial<GpujsInstance>).scan?.().ranOn;
    const arrays = { out: f(out), v0: f(g.v0), x: f(g.x), bias: f(g.inputs.bias ?? null), rate: f(g.inputs.rate ?? null), weight: f(g.inputs.weight ?? null) };
    return backend === 'gpujs' && ranOn !== undefined ? Object.assign(arrays, { ranOn }) : arrays;
  } finally {
    instance.dispose();
  }
}

/** Largest |a - b| over 1e-5 of the largest |b| plus a tiny floor, per array of a result: <= 1 agrees. */
export function disagreement(got: CaseResult, ref: CaseResult): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of ['out', 'v0', 'x', 'bias', 'rate', 'weight'] as const) {
    const a = got[k];
    const b = ref[k];
    if (a.length !== b.length) {
      out[k] = Number.POSITIVE_INFINITY;
      continue;
    }
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < b.length; i++) {
      scale = Math.max(scale, Math.abs(b[i]!));
      const d = Math.abs(a[i]! - b[i]!);
      diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(diff, d);
    }
    out[k] = diff / (1e-5 * scale + 1e-9);
  }
  return out;
}

/** Float32 arrays as base64 (a compact transfer between page and test). */
export function toBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Float32Array {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}
