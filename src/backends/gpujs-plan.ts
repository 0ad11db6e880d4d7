// What the GPU backends ('gpujs', src/backends/gpujs.ts, and 'webgpu', src/backends/webgpu.ts)
// share: the graph as the device reads it, and the activation as device source text.
//
// Both run the fused 'ppneuron' model (src/dynamics/ppneuron-step.ts) as one thread per output:
//   forward, per step t and (sample b, node n):
//     d[b, n] = bias[n] - v[b, n] + sum_{p in in(n)} w[p] act(v[b, col[p]]) + x[b, t, n]
//     v'[b, n] = v[b, n] + rate[n] d[b, n]
//   (in(n): node n's incoming edges, a CSR by target; the states and d of every step stay on the
//   device when the backward pass needs them), and backward, from the last step to the first,
//   with g = dL/dv after step t (the output's gradient plus what step t + 1 sent back):
//     gx[b, t, n] = g r,  gBias[n] += sum_b g r,  gRate[n] += sum_b g d,
//     gw[e] += sum_b act(v[b, source e]) g[b, target e] r[target e]   (one thread per edge),
//     g_prev[b, s] = g - g r + act'(v[b, s]) sum_{p in out(s)} w[p] g[b, col[p]] r[col[p]]
//   (out(s): node s's outgoing edges, a CSR by source). The per-edge weight gradient is summed
//   per weight group once at the end (one thread per group over the group's edges).
import type { Activation } from '../kernels/activation.ts';
import { buildCsr } from '../kernels/structure.ts';
import { isPerGroup } from './host-synapses.ts';
import type { BackendGraph, HostArray } from './types.ts';

export interface GpuCsr {
  /** (N + 1) offsets into col. */
  readonly ptr: Int32Array;
  /** The other end of each entry's edge. */
  readonly col: Int32Array;
  /** The edge of each entry. */
  readonly edge: Int32Array;
}

export interface GpuPlan {
  readonly N: number;
  readonly E: number;
  /** Incoming edges per node (forward) and outgoing edges per node (the adjoint). */
  readonly byTarget: GpuCsr;
  readonly bySource: GpuCsr;
  readonly source: Int32Array;
  readonly target: Int32Array;
  /** Edges per weight group, groups in id order (absent without groups). */
  readonly groups?: { readonly ptr: Int32Array; readonly edge: Int32Array; readonly count: number };
  /** Largest in-degree, out-degree and group size: bounds of the device loops. */
  readonly maxDegree: number;
}

export function gpuPlan(graph: BackendGraph): GpuPlan {
  const { nNodes: N, source, target } = graph;
  const E = source.length;
  const byTarget = buildCsr(N, target, source);
  const bySource = buildCsr(N, source, target);
  let maxDegree = 1;
  const degrees = (ptr: Int32Array): void => {
    for (let i = 0; i + 1 < ptr.length; i++) maxDegree = Math.max(maxDegree, ptr[i + 1]! - ptr[i]!);
  };
  degrees(byTarget.ptr);
  degrees(bySource.ptr);
  let groups: GpuPlan['groups'];
  if (graph.groups) {
    const G = graph.groups.representative.length;
    const c = buildCsr(G, graph.groups.index, graph.groups.index);
    degrees(c.ptr);
    groups = { ptr: c.ptr, edge: c.edge, count: G };
  }
  return { N, E, byTarget, bySource, source, target, ...(groups ? { groups } : {}), maxDegree };
}

/** Weights per CSR entry (by target, by source) for weights per edge group or per edge. */
export function entryWeights(plan: GpuPlan, graph: BackendGraph, weight: HostArray): { wT: Float32Array; wS: Float32Array; perGroup: boolean } {
  const perGroup = isPerGroup(graph, weight);
  const index = graph.groups?.index;
  const of = (e: number): number => (perGroup ? weight[index![e]!]! : weight[e]!);
  return {
    wT: Float32Array.from(plan.byTarget.edge, of),
    wS: Float32Array.from(plan.bySource.edge, of),
    perGroup,
  };
}

/** Whether a float32 scan's inputs are what the GPU backends run: float32, finite weights per group or per edge. */
export function gpuSupports(graph: BackendGraph, request: { dtype: string; inputs: Readonly<Record<string, HostArray>> }): boolean {
  if (request.dtype !== 'float32' || !Object.values(request.inputs).every((a) => a instanceof Float32Array)) return false;
  const w = request.inputs.weight;
  if (!w || (w.length !== graph.source.length && !isPerGroup(graph, w))) return false;
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) return false;
  return true;
}

/** A number as a float literal both JavaScript (gpu.js) and WGSL read (always with a point or exponent). */
export function floatLiteral(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`activation parameter ${x} is not finite`);
  const s = String(x);
  return /[.e]/.test(s) ? s : `${s}.0`;
}

/**
 * The activation f and its derivative f' as function bodies over `u` (statements ending in a
 * return), in the subset of JavaScript gpu.js translates (`lang: 'js'`) or in WGSL. Torch's
 * conventions at kinks: relu'(0) = 0, leakyrelu'(0) = slope.
 */
export function activationBodies(act: Activation, lang: 'js' | 'wgsl'): { f: string; df: string } {
  const k = act.kwargs;
  const L = floatLiteral;
  const exp = lang === 'js' ? 'Math.exp' : 'exp';
  const log = lang === 'js' ? 'Math.log' : 'log';
  const tanh = lang === 'js' ? 'Math.tanh' : 'tanh';
  const decl = lang === 'js' ? 'const' : 'let';
  switch (act.type) {
    case 'relu':
      return { f: 'if (u > 0.0) { return u; } return 0.0;', df: 'if (u > 0.0) { return 1.0; } return 0.0;' };
    case 'leakyrelu': {
      const s = L(k.negative_slope!);
      return { f: `if (u > 0.0) { return u; } return ${s} * u;`, df: `if (u > 0.0) { return 1.0; } return ${s};` };
    }
    case 'elu': {
      const a = L(k.alpha!);
      return { f: `if (u > 0.0) { return u; } return ${a} * (${exp}(u) - 1.0);`, df: `if (u > 0.0) { return 1.0; } return ${a} * ${exp}(u);` };
    }
    case 'softplus': {
      const b = L(k.beta!);
      const th = L(k.threshold!);
      return {
        f: `if (${b} * u > ${th}) { return u; } return ${log}(1.0 + ${exp}(${b} * u)) / ${b};`,
        df: `if (${b} * u > ${th}) { return 1.0; } return 1.0 / (1.0 + ${exp}(0.0 - ${b} * u));`,
      };
    }
    case 'sigmoid':
      return {
        f: `return 1.0 / (1.0 + ${exp}(0.0 - u));`,
        df: `${decl} y = 1.0 / (1.0 + ${exp}(0.0 - u)); return y * (1.0 - y);`,
      };
    case 'tanh':
      return { f: `return ${tanh}(u);`, df: `${decl} y = ${tanh}(u); return 1.0 - y * y;` };
  }
}
