// The hot loop of every simulation step: the synaptic input of each neuron,
//
//   syn[b, n] = sum over edges e with target n of  w[e] * act(v[b, source[e]])
//
// (flyvis: target_sum(params.edges.weight * activation(state.sources.activity))), and its
// adjoint for the backward pass. Weights are fixed during a forward pass, so a kernel first
// `bind`s them (a kernel may reorder or compress them once) and then steps many times.
//
// The backward pass never needs per-edge intermediates from the forward pass: it recomputes
// act(v[source]) from the per-node activity, which is all the autodiff tape keeps per step.
import { type Activation, applyActivation, applyActivationGrad } from './activation.ts';

/** The edge list a synapse kernel runs over. */
export interface EdgeIndex {
  readonly nNodes: number;
  readonly source: Int32Array;
  readonly target: Int32Array;
}

export interface BoundSynapses {
  /** out (batch * nNodes) = synaptic input for activity v (batch * nNodes). Overwrites out. */
  forward(v: Float32Array, batch: number, out: Float32Array): void;
  /**
   * Accumulates the vector-Jacobian product for the upstream gradient gOut (batch * nNodes):
   * gv[b, s] += act'(v[b, s]) * sum_{e: source = s} w[e] * gOut[b, target[e]] and
   * gw[e] += sum_b act(v[b, source[e]]) * gOut[b, target[e]] (gw in the original edge
   * order). Either output may be null when that gradient is not needed.
   */
  backward(v: Float32Array, gOut: Float32Array, batch: number, gv: Float32Array | null, gw: Float32Array | null): void;
  /**
   * Only on kernels built with `weightGroups`: like backward, but accumulates the weight
   * gradient per group, gGroup[id] += sum over the edges of group id of gw[e] (id = the
   * caller's group id, so gGroup has max id + 1 entries), without touching per-edge memory.
   */
  backwardGroups?(v: Float32Array, gOut: Float32Array, batch: number, gv: Float32Array | null, gGroup: Float32Array | null): void;
}

export interface BindOptions {
  /**
   * Kernels built with weight groups check once per bind that every edge carries its group's
   * weight (O(edges), about a millisecond at extent 15); false skips the check.
   */
  readonly checkGroups?: boolean;
}

export interface SynapseKernel {
  readonly name: string;
  readonly edges: EdgeIndex;
  readonly activation: Activation;
  /** Binds per-edge weights (original edge order) for a forward pass. */
  bind(w: Float32Array, options?: BindOptions): BoundSynapses;
  /** Number of weight groups (max caller group id + 1) when built with weightGroups. */
  readonly nGroups?: number;
  /** Releases worker threads or other resources; the kernel must not be used afterwards. */
  dispose?(): void;
}

export class KernelError extends Error {
  override name = 'KernelError';
}

/** Checks an edge index once, so kernels can run unchecked loops. */
export function validateEdgeIndex(edges: EdgeIndex): void {
  const { nNodes, source, target } = edges;
  if (!Number.isInteger(nNodes) || nNodes < 0) throw new KernelError(`edges.nNodes: expected a non-negative integer, got ${nNodes}`);
  if (source.length !== target.length) {
    throw new KernelError(`edges: source has ${source.length} entries but target has ${target.length}`);
  }
  for (let e = 0; e < source.length; e++) {
    const s = source[e]!;
    const t = target[e]!;
    if (s < 0 || s >= nNodes) throw new KernelError(`edges.source[${e}] = ${s} is outside [0, ${nNodes})`);
    if (t < 0 || t >= nNodes) throw new KernelError(`edges.target[${e}] = ${t} is outside [0, ${nNodes})`);
  }
}

export function checkLength(what: string, arr: ArrayLike<number>, expected: number): void {
  if (arr.length !== expected) throw new KernelError(`${what}: expected ${expected} values, got ${arr.length}`);
}

/**
 * The reference kernel: plain typed-array loops over the edges in their original order.
 * Every other kernel is tested against it.
 */
export function scatterSynapseKernel(edges: EdgeIndex, activation: Activation): SynapseKernel {
  validateEdgeIndex(edges);
  const { nNodes: N, source, target } = edges;
  const E = source.length;
  let actBuf = new Float32Array(0);
  const scratch = (n: number): Float32Array => (actBuf.length >= n ? actBuf : (actBuf = new Float32Array(n)));
  return {
    name: 'scatter',
    edges,
    activation,
    bind(w) {
      checkLength('synapse weights', w, E);
      return {
        forward(v, batch, out) {
          checkLength('activity', v, batch * N);
          checkLength('synaptic input', out, batch * N);
          const a = scratch(batch * N).subarray(0, batch * N);
          applyActivation(activation, v, a);
          out.fill(0);
          for (let b = 0; b < batch; b++) {
            const o = b * N;
            for (let e = 0; e < E; e++) out[o + target[e]!]! += w[e]! * a[o + source[e]!]!;
          }
        },
        backward(v, gOut, batch, gv, gw) {
          checkLength('activity', v, batch * N);
          checkLength('upstream gradient', gOut, batch * N);
          const a = scratch(batch * N).subarray(0, batch * N);
          if (gw) {
            checkLength('weight gradient', gw, E);
            applyActivation(activation, v, a);
            for (let b = 0; b < batch; b++) {
              const o = b * N;
              for (let e = 0; e < E; e++) gw[e]! += a[o + source[e]!]! * gOut[o + target[e]!]!;
            }
          }
          if (gv) {
            checkLength('activity gradient', gv, batch * N);
            // gv[s] += act'(v[s]) * sum_e w[e] g[target[e]]: accumulate the sum, then scale.
            const acc = new Float32Array(batch * N);
            for (let b = 0; b < batch; b++) {
              const o = b * N;
              for (let e = 0; e < E; e++) acc[o + source[e]!]! += w[e]! * gOut[o + target[e]!]!;
            }
            applyActivationGrad(activation, v, a);
            for (let i = 0; i < batch * N; i++) gv[i]! += a[i]! * acc[i]!;
          }
        },
      };
    },
  };
}
