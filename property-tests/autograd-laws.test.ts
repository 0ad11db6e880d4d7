// Algebraic laws of the engine on random inputs: gather and scatter-sum are adjoint, scatter-sum
// conserves the total, gradients are linear in the function, broadcasting agrees with a naive
// index computation, and float32 gradients agree with float64 ones.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ag from '../src/autograd/index.ts';
import { type Tensor, tensor } from '../src/autograd/index.ts';

const dimArb = fc.noBias(fc.integer({ min: 1, max: 4 }));
const shapeArb = (minRank: number, maxRank: number): fc.Arbitrary<number[]> => fc.array(dimArb, { minLength: minRank, maxLength: maxRank });
const size = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);
const valuesArb = (n: number): fc.Arbitrary<number[]> => fc.array(fc.double({ min: -3, max: 3, noNaN: true }), { minLength: n, maxLength: n });
const t64 = (s: readonly number[]): fc.Arbitrary<Tensor> => valuesArb(size(s)).map((v) => tensor(v, s, 'float64'));

const dot = (a: Tensor, b: Tensor): number => {
  let s = 0;
  for (let i = 0; i < a.size; i++) s += a.data[i]! * b.data[i]!;
  return s;
};
const close = (a: number, b: number, tol: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(tol * (1 + Math.abs(a) + Math.abs(b)));

/** A shape, an axis in it, a size for the scattered axis, and an index along it. */
const gatherCase = shapeArb(1, 3).chain((s) =>
  fc.record({ s: fc.constant(s), axis: fc.integer({ min: 0, max: s.length - 1 }), k: fc.integer({ min: 0, max: 8 }) }).chain(({ s, axis, k }) =>
    fc.record({
      x: t64(s), // n = s[axis] entries along the axis
      axis: fc.constant(axis),
      index: fc.array(fc.integer({ min: 0, max: s[axis]! - 1 }), { minLength: k, maxLength: k }).map((a) => Int32Array.from(a)),
      y: t64(s.map((d, i) => (i === axis ? k : d))),
    }),
  ),
);

describe('gather / scatter-sum', () => {
  it('are adjoint: <indexSelect(x), y> = <x, scatterSum(y)>', () => {
    fc.assert(
      fc.property(gatherCase, ({ x, axis, index, y }) => {
        const lhs = dot(ag.indexSelect(x, index, axis), y);
        const rhs = dot(x, ag.scatterSum(y, index, x.shape[axis]!, axis));
        close(lhs, rhs, 1e-12);
      }),
      { numRuns: 300 },
    );
  });

  it('scatter-sum conserves the total, and each output is the sum of its segment', () => {
    fc.assert(
      fc.property(gatherCase, ({ x, axis, index, y }) => {
        const n = x.shape[axis]!;
        const out = ag.scatterSum(y, index, n, axis);
        close(ag.sum(out).item(), ag.sum(y).item(), 1e-12);
        // along the last axis of a flattened view: out[o, t, i] = sum over j with index[j] = t
        const outer = size(y.shape.slice(0, axis));
        const inner = size(y.shape.slice(axis + 1));
        for (let o = 0; o < outer; o++) {
          for (let t = 0; t < n; t++) {
            for (let i = 0; i < inner; i++) {
              let s = 0;
              index.forEach((target, j) => {
                if (target === t) s += y.data[(o * index.length + j) * inner + i]!;
              });
              close(out.data[(o * n + t) * inner + i]!, s, 1e-12);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('grad', () => {
  it('is linear: grad(f + g) = grad(f) + grad(g), with scaled functions too', () => {
    const arb = shapeArb(1, 2).chain((s) => fc.record({ a: t64(s), b: t64(s), c: fc.double({ min: -2, max: 2, noNaN: true }) }));
    const f = (p: { a: Tensor; b: Tensor }): Tensor => ag.sum(ag.mul(ag.tanh(p.a), ag.exp(ag.mul(p.b, 0.3))));
    const g = (p: { a: Tensor; b: Tensor }): Tensor => ag.mean(ag.square(ag.sub(p.a, ag.sigmoid(p.b))));
    fc.assert(
      fc.property(arb, ({ a, b, c }) => {
        const p = { a, b };
        const gf = ag.grad(f)(p);
        const gg = ag.grad(g)(p);
        const gsum = ag.grad((q: typeof p) => ag.add(f(q), ag.mul(g(q), c)))(p);
        for (const k of ['a', 'b'] as const) {
          gsum[k].data.forEach((v, i) => close(v, gf[k].data[i]! + c * gg[k].data[i]!, 1e-12));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('float32 gradients have the parameters dtype and agree with float64 ones', () => {
    const arb = shapeArb(1, 2).chain((s) => fc.record({ w: t64(s), x: t64([3, ...s]) }));
    // smooth (elu is C1 at 0): at a kink float32 rounding could legitimately pick the other side
    const f = (p: { w: Tensor }, x: Tensor): Tensor => ag.sum(ag.softplus(ag.mul(ag.elu(ag.add(x, p.w)), p.w)));
    fc.assert(
      fc.property(arb, ({ w, x }) => {
        const g64 = ag.grad(f)({ w }, x).w;
        const g32 = ag.grad(f)({ w: tensor(w.data, w.shape, 'float32') }, tensor(x.data, x.shape, 'float32')).w;
        expect(g32.dtype).toBe('float32');
        g32.data.forEach((v, i) => close(v, g64.data[i]!, 1e-5));
      }),
      { numRuns: 100 },
    );
  });
});

describe('broadcasting', () => {
  /** Operand value at an output multi-index (numpy rules). */
  const at = (t: Tensor, idx: readonly number[]): number => {
    const off = idx.length - t.rank;
    let flat = 0;
    t.shape.forEach((d, i) => {
      flat = flat * d + (d === 1 ? 0 : idx[i + off]!);
    });
    return t.data[flat]!;
  };

  const arb = fc.noBias(fc.integer({ min: 0, max: 4 })).chain((r) => shapeArb(r, r)).chain((out) => {
    const operand = fc
      .tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
      .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)))
      .chain(t64);
    return fc.record({ a: operand, b: operand });
  });

  it('forward agrees with a naive per-element computation, and the VJP of add sums over broadcast dims', () => {
    fc.assert(
      fc.property(arb, ({ a, b }) => {
        const y = ag.mul(a, b);
        const r = Math.max(a.rank, b.rank);
        const dim = (t: Tensor, d: number): number => t.shape[d - (r - t.rank)] ?? 1;
        const out = Array.from({ length: r }, (_, d) => Math.max(dim(a, d), dim(b, d)));
        expect(y.shape).toEqual(out);
        const idx = new Array<number>(out.length).fill(0);
        for (let k = 0; k < y.size; k++) {
          let rest = k;
          for (let d = out.length - 1; d >= 0; d--) {
            idx[d] = rest % out[d]!;
            rest = Math.floor(rest / out[d]!);
          }
          expect(y.data[k]).toBe(at(a, idx) * at(b, idx));
        }
        // d sum(a + b) / da = how many output elements each element of a feeds
        const ga = ag.grad((p: { a: Tensor }) => ag.sum(ag.add(p.a, b)))({ a }).a;
        ga.data.forEach((v) => expect(v).toBe(y.size / a.size));
      }),
      { numRuns: 400 },
    );
  });
});
