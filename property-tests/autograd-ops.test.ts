// Every op's VJP against central finite differences in float64, on random shapes and values.
// Inputs are kept away from kinks (relu at 0, maximum at its constant, softplus at its
// threshold, ...) by more than the difference step, so a correct VJP is exact to ~1e-9 and the
// 1e-6 tolerance still rejects any wrong term, sign or factor.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ag from '../src/autograd/index.ts';
import { type Tensor, tensor } from '../src/autograd/index.ts';
import { checkVjp } from '../tests/autograd/fd.ts';

const TOL = 1e-6;
const RUNS = { numRuns: 40 };

const shapeArb = (minRank = 0, maxRank = 3, maxDim = 4): fc.Arbitrary<number[]> =>
  fc.array(fc.noBias(fc.integer({ min: 1, max: maxDim })), { minLength: minRank, maxLength: maxRank });

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** Values in [lo, hi], pushed at least `gap` away from each kink. */
const valuesArb = (n: number, lo: number, hi: number, kinks: readonly number[] = [], gap = 0.02): fc.Arbitrary<number[]> =>
  fc.array(fc.double({ min: lo, max: hi, noNaN: true }), { minLength: n, maxLength: n }).map((vs) =>
    vs.map((v) => kinks.reduce((x, k) => (Math.abs(x - k) < gap ? k + (x >= k ? gap : -gap) : x), v)),
  );

const tensorArb = (shape: fc.Arbitrary<number[]>, lo: number, hi: number, kinks: readonly number[] = []): fc.Arbitrary<Tensor> =>
  shape.chain((s) => valuesArb(size(s), lo, hi, kinks).map((v) => tensor(v, s, 'float64')));

function expectVjp(f: (xs: readonly Tensor[]) => Tensor, xs: readonly Tensor[], seed: number): void {
  const report = checkVjp(f, xs, seed);
  expect(report.compared).toBe(xs.reduce((s, x) => s + x.size, 0));
  expect(report.maxError).toBeLessThan(TOL);
}

interface UnaryCase {
  readonly name: string;
  readonly f: (x: Tensor, c: number) => Tensor;
  /** Domain of the input and of the constant c, and kinks of f(., c) as functions of c. */
  readonly lo: number;
  readonly hi: number;
  readonly c?: [number, number];
  readonly kinks?: (c: number) => number[];
}

const UNARY: readonly UnaryCase[] = [
  { name: 'neg', f: (x) => ag.neg(x), lo: -3, hi: 3 },
  { name: 'exp', f: (x) => ag.exp(x), lo: -3, hi: 3 },
  { name: 'log', f: (x) => ag.log(x), lo: 0.2, hi: 4 },
  { name: 'square', f: (x) => ag.square(x), lo: -3, hi: 3 },
  { name: 'sqrt', f: (x) => ag.sqrt(x), lo: 0.2, hi: 4 },
  { name: 'abs', f: (x) => ag.abs(x), lo: -3, hi: 3, kinks: () => [0] },
  { name: 'pow', f: (x, c) => ag.pow(x, c), lo: 0.3, hi: 3, c: [-2, 3] },
  { name: 'maximum', f: (x, c) => ag.maximum(x, c), lo: -3, hi: 3, c: [-2, 2], kinks: (c) => [c] },
  { name: 'minimum', f: (x, c) => ag.minimum(x, c), lo: -3, hi: 3, c: [-2, 2], kinks: (c) => [c] },
  { name: 'clamp', f: (x, c) => ag.clamp(x, c - 1, c + 0.5), lo: -3, hi: 3, c: [-1, 1], kinks: (c) => [c - 1, c + 0.5] },
  { name: 'relu', f: (x) => ag.relu(x), lo: -3, hi: 3, kinks: () => [0] },
  { name: 'elu', f: (x, c) => ag.elu(x, c), lo: -3, hi: 3, c: [0.2, 2], kinks: () => [0] },
  { name: 'softplus', f: (x, c) => ag.softplus(x, c, 2), lo: -4, hi: 4, c: [0.5, 3], kinks: (c) => [2 / c] },
  { name: 'leakyrelu', f: (x, c) => ag.leakyrelu(x, c), lo: -3, hi: 3, c: [0.01, 0.5], kinks: () => [0] },
  { name: 'sigmoid', f: (x) => ag.sigmoid(x), lo: -6, hi: 6 },
  { name: 'tanh', f: (x) => ag.tanh(x), lo: -3, hi: 3 },
];

describe('elementwise maps: VJP = finite differences', () => {
  for (const u of UNARY) {
    it(u.name, () => {
      const [cLo, cHi] = u.c ?? [0, 0];
      const arb = fc.double({ min: cLo, max: cHi, noNaN: true }).chain((c) =>
        tensorArb(shapeArb(), u.lo, u.hi, u.kinks?.(c) ?? []).map((x) => ({ c, x })),
      );
      fc.assert(fc.property(arb, fc.nat(), ({ c, x }, seed) => expectVjp(([a]) => u.f(a!, c), [x], seed)), RUNS);
    });
  }
});

/** An output shape and two operand shapes that broadcast to it (dropped leading dims, 1s). */
const broadcastArb = fc.noBias(fc.integer({ min: 0, max: 4 })).chain((rank) => shapeArb(rank, rank, 3)).chain((out) => {
  const operand = fc
    .tuple(fc.integer({ min: 0, max: out.length }), fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }))
    .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
  return fc.tuple(operand, operand);
});

describe('arithmetic with broadcasting: VJP = finite differences', () => {
  const cases: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ['add', ag.add], ['sub', ag.sub], ['mul', ag.mul], ['div', ag.div],
  ];
  for (const [name, f] of cases) {
    it(name, () => {
      const arb = broadcastArb.chain(([sa, sb]) =>
        fc.tuple(tensorArb(fc.constant(sa), -3, 3), tensorArb(fc.constant(sb), 0.3, 3), fc.boolean()).map(([a, b, flip]) => ({
          a,
          // the divisor keeps away from 0: a random sign on a value in [0.3, 3]
          b: flip ? ag.neg(b) : b,
        })),
      );
      // more runs: the broadcast patterns (which dims are 1 in which operand) are many
      fc.assert(fc.property(arb, fc.nat(), ({ a, b }, seed) => expectVjp(([x, y]) => f(x!, y!), [a, b], seed)), { numRuns: 400 });
    });
  }

  it('number operands on either side', () => {
    const arb = fc.tuple(tensorArb(shapeArb(), 0.3, 3), fc.double({ min: 0.5, max: 2, noNaN: true }));
    fc.assert(
      fc.property(arb, fc.nat(), ([x, c], seed) => {
        expectVjp(([a]) => ag.add(ag.sub(c, ag.mul(a!, c)), ag.div(c, ag.add(a!, c))), [x], seed);
      }),
      RUNS,
    );
  });
});

/** A shape of rank >= 1 and a valid axis in it. */
const axisArb = shapeArb(1, 3).chain((s) => fc.integer({ min: -s.length, max: s.length - 1 }).map((axis) => ({ s, axis })));
const norm = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

describe('reductions and structure: VJP = finite differences', () => {
  it('sum and mean, over everything or one axis, with or without keepdims', () => {
    const arb = axisArb.chain(({ s, axis }) =>
      fc.record({ x: tensorArb(fc.constant(s), -3, 3), axis: fc.option(fc.constant(axis)), keepdims: fc.boolean(), isMean: fc.boolean() }),
    );
    fc.assert(
      fc.property(arb, fc.nat(), ({ x, axis, keepdims, isMean }, seed) => {
        const f = isMean ? ag.mean : ag.sum;
        expectVjp(([a]) => f(a!, axis ?? undefined, keepdims), [x], seed);
      }),
      RUNS,
    );
  });

  it('indexSelect (repeated and missing indices)', () => {
    const arb = axisArb.chain(({ s, axis }) => {
      const n = s[norm(axis, s.length)]!;
      return fc.record({
        x: tensorArb(fc.constant(s), -3, 3),
        axis: fc.constant(axis),
        index: fc.array(fc.integer({ min: 0, max: n - 1 }), { maxLength: 6 }),
      });
    });
    fc.assert(
      fc.property(arb, fc.nat(), ({ x, axis, index }, seed) => expectVjp(([a]) => ag.indexSelect(a!, Int32Array.from(index), axis), [x], seed)),
      RUNS,
    );
  });

  it('scatterSum', () => {
    const arb = axisArb.chain(({ s, axis }) => {
      const k = s[norm(axis, s.length)]!;
      return fc.integer({ min: 1, max: 5 }).chain((size) =>
        fc.record({
          x: tensorArb(fc.constant(s), -3, 3),
          axis: fc.constant(axis),
          size: fc.constant(size),
          index: fc.array(fc.integer({ min: 0, max: size - 1 }), { minLength: k, maxLength: k }),
        }),
      );
    });
    fc.assert(
      fc.property(arb, fc.nat(), ({ x, axis, size, index }, seed) =>
        expectVjp(([a]) => ag.scatterSum(a!, Int32Array.from(index), size, axis), [x], seed),
      ),
      RUNS,
    );
  });

  it('slice', () => {
    const arb = axisArb.chain(({ s, axis }) => {
      const n = s[norm(axis, s.length)]!;
      return fc
        .tuple(fc.integer({ min: 0, max: n }), fc.integer({ min: 0, max: n }))
        .chain(([p, q]) => fc.record({ x: tensorArb(fc.constant(s), -3, 3), axis: fc.constant(axis), start: fc.constant(Math.min(p, q)), end: fc.constant(Math.max(p, q)) }));
    });
    fc.assert(fc.property(arb, fc.nat(), ({ x, axis, start, end }, seed) => expectVjp(([a]) => ag.slice(a!, axis, start, end), [x], seed)), RUNS);
  });

  it('concat (sizes differ along the axis)', () => {
    const arb = axisArb.chain(({ s, axis }) => {
      const ax = norm(axis, s.length);
      const part = fc.integer({ min: 0, max: 3 }).chain((n) => tensorArb(fc.constant(s.map((d, i) => (i === ax ? n : d))), -3, 3));
      return fc.record({ parts: fc.array(part, { minLength: 1, maxLength: 3 }), axis: fc.constant(axis) });
    });
    fc.assert(fc.property(arb, fc.nat(), ({ parts, axis }, seed) => expectVjp((xs) => ag.concat(xs, axis), parts, seed)), RUNS);
  });

  it('stack (new axis anywhere in 0..rank)', () => {
    const arb = shapeArb(0, 3).chain((s) =>
      fc.record({ parts: fc.array(tensorArb(fc.constant(s), -3, 3), { minLength: 1, maxLength: 3 }), axis: fc.integer({ min: -s.length - 1, max: s.length }) }),
    );
    fc.assert(fc.property(arb, fc.nat(), ({ parts, axis }, seed) => expectVjp((xs) => ag.stack(xs, axis), parts, seed)), RUNS);
  });

  it('reshape (merging dimensions, inserting 1s, inferring -1)', () => {
    const arb = shapeArb(0, 3).chain((s) =>
      fc.record({
        x: tensorArb(fc.constant(s), -3, 3),
        target: fc.constantFrom(
          [size(s)],
          [-1],
          [1, ...s, 1],
          s.length >= 2 ? [s[0]! * s[1]!, ...s.slice(2)] : [...s, 1],
          s.length >= 1 ? [-1, s[s.length - 1]!] : [1, 1],
        ),
      }),
    );
    fc.assert(
      fc.property(arb, fc.nat(), ({ x, target }, seed) => {
        const y = ag.reshape(x, target);
        expect(y.data).toBe(x.data); // no copy
        // the reshape alone is linear; square it so a VJP that scrambled the order would fail
        expectVjp(([a]) => ag.square(ag.add(ag.reshape(a!, target), ag.reshape(a!, target))), [x], seed);
      }),
      RUNS,
    );
  });
});
