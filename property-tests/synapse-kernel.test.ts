// The synapse kernel (target sum of weighted activated source activity) and its adjoint,
// against a direct float64 evaluation and central finite differences, on random graphs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACTIVATION_NAMES, type ActivationName, makeActivation } from '../src/kernels/activation.ts';
import { scatterSynapseKernel } from '../src/kernels/synapse.ts';

const graphArb = fc
  .record({ nNodes: fc.integer({ min: 1, max: 12 }), nEdges: fc.integer({ min: 0, max: 40 }), batch: fc.integer({ min: 1, max: 3 }) })
  .chain(({ nNodes, nEdges, batch }) =>
    fc.record({
      nNodes: fc.constant(nNodes),
      batch: fc.constant(batch),
      source: fc.array(fc.integer({ min: 0, max: nNodes - 1 }), { minLength: nEdges, maxLength: nEdges }),
      target: fc.array(fc.integer({ min: 0, max: nNodes - 1 }), { minLength: nEdges, maxLength: nEdges }),
      w: fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: nEdges, maxLength: nEdges }),
      // Activity kept away from 0 so that relu / leakyrelu kinks do not spoil finite differences.
      v: fc.array(fc.oneof(fc.float({ min: Math.fround(0.05), max: 2, noNaN: true }), fc.float({ min: -2, max: Math.fround(-0.05), noNaN: true })), {
        minLength: nNodes * batch,
        maxLength: nNodes * batch,
      }),
      g: fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: nNodes * batch, maxLength: nNodes * batch }),
      act: fc.constantFrom(...ACTIVATION_NAMES),
    }),
  );

function naive(nNodes: number, src: number[], tgt: number[], w: number[], v: number[], batch: number, f: (x: number) => number): number[] {
  const out = new Array<number>(batch * nNodes).fill(0);
  for (let b = 0; b < batch; b++) for (let e = 0; e < src.length; e++) out[b * nNodes + tgt[e]!]! += w[e]! * f(v[b * nNodes + src[e]!]!);
  return out;
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('scatter synapse kernel', () => {
  it('forward equals the direct sum over edges', () => {
    fc.assert(
      fc.property(graphArb, ({ nNodes, batch, source, target, w, v, act }) => {
        const activation = makeActivation({ type: act });
        const k = scatterSynapseKernel({ nNodes, source: Int32Array.from(source), target: Int32Array.from(target) }, activation);
        const out = new Float32Array(batch * nNodes);
        k.bind(Float32Array.from(w)).forward(Float32Array.from(v), batch, out);
        const ref = naive(nNodes, source, target, w, v, batch, activation.f);
        ref.forEach((r, i) => expect(out[i]).toBeCloseTo(r, 4));
      }),
      { numRuns: 150 },
    );
  });

  it('backward matches central finite differences of <g, forward> in v and w', () => {
    fc.assert(
      fc.property(graphArb, ({ nNodes, batch, source, target, w, v, g, act }) => {
        const activation = makeActivation({ type: act as ActivationName });
        const k = scatterSynapseKernel({ nNodes, source: Int32Array.from(source), target: Int32Array.from(target) }, activation);
        const gv = new Float32Array(batch * nNodes).fill(0.25); // backward accumulates: start non-zero
        const gw = new Float32Array(w.length).fill(-0.5);
        k.bind(Float32Array.from(w)).backward(Float32Array.from(v), Float32Array.from(g), batch, gv, gw);
        const loss = (ww: number[], vv: number[]): number => dot(g, naive(nNodes, source, target, ww, vv, batch, activation.f));
        const h = 1e-5;
        v.forEach((_, i) => {
          const up = v.slice();
          const dn = v.slice();
          up[i] = up[i]! + h;
          dn[i] = dn[i]! - h;
          const fd = (loss(w, up) - loss(w, dn)) / (2 * h);
          expect(gv[i]! - 0.25).toBeCloseTo(fd, 3);
        });
        w.forEach((_, e) => {
          const up = w.slice();
          const dn = w.slice();
          up[e] = up[e]! + h;
          dn[e] = dn[e]! - h;
          const fd = (loss(up, v) - loss(dn, v)) / (2 * h);
          expect(gw[e]! + 0.5).toBeCloseTo(fd, 3);
        });
      }),
      { numRuns: 100 },
    );
  });
});
