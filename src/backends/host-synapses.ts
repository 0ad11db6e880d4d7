// Synapses over host typed arrays for the fused simulators of the host backends: a bound
// src/kernels synapse kernel for float32, and plain loops in the reference edge order for
// float64 (gradient checks). Weights come per edge group (graph.groups) or per edge.
import type { FloatArray } from '../kernels/basic.ts';
import { KernelError, type BoundSynapses, type SynapseKernel } from '../kernels/synapse.ts';
import type { BackendGraph, HostArray } from './types.ts';

export interface HostSynapses {
  /** out (batch-major B * N) = synaptic input for activity v (overwrites). */
  forward(v: FloatArray, B: number, out: FloatArray): void;
  /**
   * Accumulates the adjoint for the upstream gradient gOut: gv += act'(v) * sum_{e: source} w g[target]
   * and gw (per group or per edge, like the bound weight) += sum_b act(v[source]) g[target].
   */
  backward(v: FloatArray, gOut: FloatArray, B: number, gv: FloatArray | null, gw: FloatArray | null): void;
}

/** Whether a weight array is one per edge group (rather than one per edge). */
export function isPerGroup(graph: BackendGraph, weight: ArrayLike<number>): boolean {
  return graph.groups !== undefined && weight.length !== graph.source.length && weight.length === graph.groups.representative.length;
}

/** Checks a weight array's length: one per edge, or one per edge group. */
export function checkWeightLength(graph: BackendGraph, weight: ArrayLike<number>): void {
  if (weight.length !== graph.source.length && !isPerGroup(graph, weight)) {
    const groups = graph.groups ? ` or ${graph.groups.representative.length} (one per edge group)` : '';
    throw new KernelError(`synapse weights: expected ${graph.source.length} (one per edge)${groups}, got ${weight.length}`);
  }
}

/**
 * Binds float32 weights to a kernel: per-group weights to the grouped kernel (its weight read at
 * each group's representative edge), per-edge weights to the grouped kernel when they are
 * constant on the groups, else to the per-edge kernel. `grouped` tells which gradient the
 * binding accumulates: per group (backwardGroups) or per edge.
 */
export function bindHostWeights(
  graph: BackendGraph,
  kernels: { grouped: () => SynapseKernel | undefined; perEdge: () => SynapseKernel },
  weight: Float32Array,
): { bound: BoundSynapses; grouped: boolean; perGroupInput: boolean } {
  checkWeightLength(graph, weight);
  const gk = kernels.grouped();
  if (isPerGroup(graph, weight)) {
    if (gk) {
      const sparse = new Float32Array(graph.source.length);
      const rep = graph.groups!.representative;
      for (let k = 0; k < rep.length; k++) sparse[rep[k]!] = weight[k]!;
      return { bound: gk.bind(sparse, { checkGroups: false }), grouped: true, perGroupInput: true };
    }
    const index = graph.groups!.index;
    const w = Float32Array.from(index, (g) => weight[g]!);
    return { bound: kernels.perEdge().bind(w), grouped: false, perGroupInput: true };
  }
  if (gk) {
    try {
      return { bound: gk.bind(weight), grouped: true, perGroupInput: false };
    } catch (e) {
      if (!(e instanceof KernelError)) throw e;
    }
  }
  return { bound: kernels.perEdge().bind(weight), grouped: false, perGroupInput: false };
}

/**
 * Host synapses for one bound weight array. Float32: the bound kernel, with gw reduced per
 * group when the weight is per group (a per-edge weight that is constant on groups gets its
 * per-edge gradient from the per-group one only when the caller asks per group: here per edge).
 */
export function float32Synapses(
  graph: BackendGraph,
  kernels: { grouped: () => SynapseKernel | undefined; perEdge: () => SynapseKernel },
  weight: Float32Array,
): HostSynapses {
  const { bound, grouped, perGroupInput } = bindHostWeights(graph, kernels, weight);
  const E = graph.source.length;
  const index = graph.groups?.index;
  // gw per group from the grouped kernel is indexed by group id: a per-edge input wants it per edge.
  let edgeScratch: Float32Array | null = null;
  return {
    forward: (v, B, out) => bound.forward(v as Float32Array, B, out as Float32Array),
    backward(v, gOut, B, gv, gw) {
      const vv = v as Float32Array;
      const gg = gOut as Float32Array;
      if (grouped) {
        if (perGroupInput || gw === null) {
          bound.backwardGroups!(vv, gg, B, gv as Float32Array | null, gw as Float32Array | null);
          return;
        }
        // per-edge input on a grouped kernel: the per-edge gradient, by the per-edge adjoint
        bound.backward(vv, gg, B, gv as Float32Array | null, gw as Float32Array);
        return;
      }
      if (perGroupInput && gw) {
        edgeScratch ??= new Float32Array(E);
        edgeScratch.fill(0);
        bound.backward(vv, gg, B, gv as Float32Array | null, edgeScratch);
        for (let e = 0; e < E; e++) gw[index![e]!]! += edgeScratch[e]!;
        return;
      }
      bound.backward(vv, gg, B, gv as Float32Array | null, gw as Float32Array | null);
    },
  };
}

/** Float64 synapses: loops over the edges in their original order, as the 'scatter' kernel. */
export function float64Synapses(graph: BackendGraph, weight: Float64Array): HostSynapses {
  checkWeightLength(graph, weight);
  const { nNodes: N, source, target } = graph;
  const E = source.length;
  const perGroup = isPerGroup(graph, weight);
  const index = graph.groups?.index;
  const w = perGroup ? Float64Array.from(index!, (g) => weight[g]!) : weight;
  const { f, df } = graph.activation;
  let a = new Float64Array(0);
  let acc = new Float64Array(0);
  return {
    forward(v, B, out) {
      if (a.length < B * N) a = new Float64Array(B * N);
      for (let i = 0; i < B * N; i++) a[i] = f(v[i]!);
      out.fill(0);
      for (let b = 0; b < B; b++) {
        const o = b * N;
        for (let e = 0; e < E; e++) out[o + target[e]!]! += w[e]! * a[o + source[e]!]!;
      }
    },
    backward(v, gOut, B, gv, gw) {
      if (a.length < B * N) a = new Float64Array(B * N);
      if (gw) {
        for (let i = 0; i < B * N; i++) a[i] = f(v[i]!);
        for (let b = 0; b < B; b++) {
          const o = b * N;
          for (let e = 0; e < E; e++) {
            const d = a[o + source[e]!]! * gOut[o + target[e]!]!;
            if (perGroup) gw[index![e]!]! += d;
            else gw[e]! += d;
          }
        }
      }
      if (gv) {
        if (acc.length < B * N) acc = new Float64Array(B * N);
        acc.fill(0, 0, B * N);
        for (let b = 0; b < B; b++) {
          const o = b * N;
          for (let e = 0; e < E; e++) acc[o + source[e]!]! += w[e]! * gOut[o + target[e]!]!;
        }
        for (let i = 0; i < B * N; i++) gv[i]! += df(v[i]!) * acc[i]!;
      }
    },
  };
}

/** Copies frame t of a batch-major (B, T, N) array into out (B, N); returns a view when B = 1. */
export function frameOf(x: HostArray, B: number, T: number, N: number, t: number, out: HostArray): HostArray {
  if (B === 1) return x.subarray(t * N, (t + 1) * N);
  for (let b = 0; b < B; b++) out.set(x.subarray((b * T + t) * N, (b * T + t + 1) * N), b * N);
  return out;
}

/** Writes state (B, N) into frame t of a batch-major (B, T, N) array. */
export function setFrame(y: HostArray, B: number, T: number, N: number, t: number, state: HostArray): void {
  for (let b = 0; b < B; b++) y.set(state.subarray(b * N, (b + 1) * N), (b * T + t) * N);
}
