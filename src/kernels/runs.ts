// The 'runs' kernel (plain TypeScript): the connectome's translation-invariant structure.
// Edges are split once into runs (structure.ts): out[t0 + i] += w * act[s0 + i], i < len, so a
// step streams no per-edge index arrays. With weight groups (flyvis's default parameter
// sharing: one weight per (source type, target type, du, dv)), bind() reads one weight per
// group and the step streams no per-edge weights either; without, weights are read per edge
// (still with unit stride). Its backward reduces weight gradients per run, then per group.
import type { Activation } from './activation.ts';
import { Scratch, checkBackward, checkForward, finishGv } from './common.ts';
import { applyActivation } from './activation.ts';
import { type Runs, buildRuns, groupWeights } from './structure.ts';
import { type BoundSynapses, type EdgeIndex, type SynapseKernel, checkLength, validateEdgeIndex } from './synapse.ts';

export interface RunsKernelOptions {
  readonly weightGroups?: Int32Array;
}

export function runsSynapseKernel(edges: EdgeIndex, activation: Activation, options: RunsKernelOptions = {}): SynapseKernel & { readonly runs: Runs } {
  validateEdgeIndex(edges);
  const { nNodes: N } = edges;
  const E = edges.source.length;
  const runs = buildRuns(edges, options.weightGroups);
  const { count: R, e0, s0, t0, len, group } = runs;
  const scratch = new Scratch();
  const grouped = group !== null;

  return {
    name: 'runs',
    edges,
    activation,
    runs,
    ...(grouped ? { nGroups: runs.groupSlots } : {}),
    bind(w, bindOptions = {}) {
      checkLength('synapse weights', w, E);
      const wg = grouped ? groupWeights(runs, w, bindOptions.checkGroups ?? true, new Float32Array(runs.nGroups)) : null;
      const wr = wg ? Float32Array.from(group!, (k) => wg[k]!) : null; // one weight per run

      // y[b, dst0 + i] += w * x[b, src0 + i] over all runs (forward: src = s, dst = t; gv: swapped)
      const axpyRuns = (x: Float32Array, y: Float32Array, B: number, src: Int32Array, dst: Int32Array): void => {
        for (let r = 0; r < R; r++) {
          const L = len[r]!;
          for (let b = 0; b < B; b++) {
            const xo = b * N + src[r]!;
            const yo = b * N + dst[r]!;
            if (wr) {
              const wv = wr[r]!;
              for (let i = 0; i < L; i++) y[yo + i]! += wv * x[xo + i]!;
            } else {
              const eo = e0[r]!;
              for (let i = 0; i < L; i++) y[yo + i]! += w[eo + i]! * x[xo + i]!;
            }
          }
        }
      };

      const gradients = (v: Float32Array, gOut: Float32Array, B: number, gv: Float32Array | null, gw: Float32Array | null, gGroup: Float32Array | null): void => {
        if (gw || gGroup) {
          const a = scratch.f32('a', B * N);
          applyActivation(activation, v, a);
          const acc = gGroup ? new Float64Array(runs.nGroups) : null;
          for (let r = 0; r < R; r++) {
            const L = len[r]!;
            const eo = e0[r]!;
            let runSum = 0;
            for (let b = 0; b < B; b++) {
              const so = b * N + s0[r]!;
              const to = b * N + t0[r]!;
              if (gw) for (let i = 0; i < L; i++) gw[eo + i]! += a[so + i]! * gOut[to + i]!;
              else for (let i = 0; i < L; i++) runSum += a[so + i]! * gOut[to + i]!;
            }
            if (acc) acc[group![r]!]! += runSum; // (gw and gGroup are never both given)
          }
          if (acc && gGroup) {
            const ids = runs.groupIds!;
            for (let k = 0; k < runs.nGroups; k++) gGroup[ids[k]!]! += acc[k]!;
          }
        }
        if (gv) {
          const accV = scratch.f32('accV', B * N);
          accV.fill(0);
          axpyRuns(gOut, accV, B, t0, s0);
          finishGv(activation, v, accV, N, B, false, gv, scratch.f32('tmp', B * N));
        }
      };

      const bound: BoundSynapses = {
        forward(v, batch, out) {
          checkForward(v, batch, out, N);
          const a = scratch.f32('a', batch * N);
          applyActivation(activation, v, a);
          out.fill(0);
          axpyRuns(a, out, batch, s0, t0);
        },
        backward(v, gOut, batch, gv, gw) {
          checkBackward(v, gOut, batch, gv, gw, N, E);
          gradients(v, gOut, batch, gv, gw, null);
        },
      };
      if (grouped) {
        bound.backwardGroups = (v, gOut, batch, gv, gGroup) => {
          checkBackward(v, gOut, batch, gv, gGroup, N, runs.groupSlots, 'group weight gradient');
          gradients(v, gOut, batch, gv, null, gGroup);
        };
      }
      return bound;
    },
  };
}
