// The 'csr' kernel: plain typed-array loops over edges sorted by target (forward: each output
// is written once, from a register accumulator) and by source (gv: a gather too); gw per
// edge in original order. Activity is activated once per node per step, and a batch shares
// one pass over the structure (node-major layout n * B + b). Works for any edge index.
import type { Activation } from './activation.ts';
import { Scratch, activateNodeMajor, checkBackward, checkForward, finishGv, toBatchMajor, toNodeMajor } from './common.ts';
import { buildCsr } from './structure.ts';
import { type BoundSynapses, type EdgeIndex, type SynapseKernel, checkLength, validateEdgeIndex } from './synapse.ts';

/** acc[row * B + b] = sum_{p in row} w[p] * x[col[p] * B + b] (overwrites acc). */
function gatherSum(ptr: Int32Array, col: Int32Array, w: Float32Array, x: Float32Array, N: number, B: number, acc: Float32Array): void {
  if (B === 1) {
    let p = 0;
    for (let n = 0; n < N; n++) {
      const end = ptr[n + 1]!;
      let s = 0;
      for (; p < end; p++) s += w[p]! * x[col[p]!]!;
      acc[n] = s;
    }
    return;
  }
  if (B % 4 === 0) {
    for (let b0 = 0; b0 < B; b0 += 4) {
      let p = 0;
      for (let n = 0; n < N; n++) {
        const end = ptr[n + 1]!;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (; p < end; p++) {
          const wp = w[p]!;
          const c = col[p]! * B + b0;
          s0 += wp * x[c]!;
          s1 += wp * x[c + 1]!;
          s2 += wp * x[c + 2]!;
          s3 += wp * x[c + 3]!;
        }
        const o = n * B + b0;
        acc[o] = s0;
        acc[o + 1] = s1;
        acc[o + 2] = s2;
        acc[o + 3] = s3;
      }
    }
    return;
  }
  for (let b = 0; b < B; b++) {
    let p = 0;
    for (let n = 0; n < N; n++) {
      const end = ptr[n + 1]!;
      let s = 0;
      for (; p < end; p++) s += w[p]! * x[col[p]! * B + b]!;
      acc[n * B + b] = s;
    }
  }
}

export function csrSynapseKernel(edges: EdgeIndex, activation: Activation): SynapseKernel {
  validateEdgeIndex(edges);
  const { nNodes: N, source, target } = edges;
  const E = source.length;
  const byTarget = buildCsr(N, target, source);
  const bySource = buildCsr(N, source, target);
  const scratch = new Scratch();
  return {
    name: 'csr',
    edges,
    activation,
    bind(w) {
      checkLength('synapse weights', w, E);
      const wT = new Float32Array(E);
      const wS = new Float32Array(E);
      for (let p = 0; p < E; p++) {
        wT[p] = w[byTarget.edge[p]!]!;
        wS[p] = w[bySource.edge[p]!]!;
      }
      const bound: BoundSynapses = {
        forward(v, batch, out) {
          checkForward(v, batch, out, N);
          const a = scratch.f32('a', batch * N);
          activateNodeMajor(activation, v, N, batch, a, scratch.f32('tmp', batch * N));
          if (batch === 1) {
            gatherSum(byTarget.ptr, byTarget.col, wT, a, N, 1, out);
            return;
          }
          const acc = scratch.f32('acc', batch * N);
          gatherSum(byTarget.ptr, byTarget.col, wT, a, N, batch, acc);
          toBatchMajor(acc, N, batch, out);
        },
        backward(v, gOut, batch, gv, gw) {
          checkBackward(v, gOut, batch, gv, gw, N, E);
          const B = batch;
          const g = scratch.f32('g', B * N);
          toNodeMajor(gOut, N, B, g);
          if (gw) {
            const a = scratch.f32('a', B * N);
            activateNodeMajor(activation, v, N, B, a, scratch.f32('tmp', B * N));
            if (B === 1) {
              for (let e = 0; e < E; e++) gw[e]! += a[source[e]!]! * g[target[e]!]!;
            } else {
              for (let e = 0; e < E; e++) {
                const s = source[e]! * B;
                const t = target[e]! * B;
                let sum = 0;
                for (let b = 0; b < B; b++) sum += a[s + b]! * g[t + b]!;
                gw[e]! += sum;
              }
            }
          }
          if (gv) {
            const acc = scratch.f32('acc', B * N);
            gatherSum(bySource.ptr, bySource.col, wS, g, N, B, acc);
            finishGv(activation, v, acc, N, B, true, gv, scratch.f32('tmp', B * N));
          }
        },
      };
      return bound;
    },
  };
}
