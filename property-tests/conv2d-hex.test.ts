// The decoder's ops against central finite differences in float64 (tests/autograd/fd.ts), on
// random shapes and values: conv2dHex (plain and hex-masked; input, weight, bias), batchNorm2d
// (training: through the batch statistics; evaluation), gatherOrZero. The forward pass of
// conv2dHex is also checked against a direct evaluation of torch's conv2d formula. conv2dHex runs
// its wasm kernels here, and its JavaScript ones too where channel counts fill 8-wide blocks
// (tests/task/conv2d-hex.test.ts checks both against its first, direct loops, bitwise).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Tensor, mul, noGrad, sum, tensor, valueAndGrad } from '../src/autograd/index.ts';
import { batchNorm2d } from '../src/task/batch-norm.ts';
import { conv2dHex, hexKernelMask } from '../src/task/conv2d-hex.ts';
import { setConv2dHexKernel } from '../src/task/conv2d-hex-wasm.ts';
import { gatherOrZero } from '../src/task/hex-map.ts';
import { checkVjp, rng, uniform } from '../tests/autograd/fd.ts';

const TOL = 1e-6;
const RUNS = { numRuns: 40 };

interface ConvCase {
  readonly n: number;
  readonly ci: number;
  readonly co: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly pad: number;
  readonly seed: number;
}

const convCaseArb: fc.Arbitrary<ConvCase> = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    ci: fc.integer({ min: 1, max: 3 }),
    co: fc.integer({ min: 1, max: 3 }),
    k: fc.constantFrom(1, 3, 5),
    extra: fc.integer({ min: 0, max: 4 }),
    w: fc.integer({ min: 1, max: 6 }),
    padDelta: fc.integer({ min: -2, max: 1 }),
    seed: fc.nat(),
  })
  .map(({ n, ci, co, k, extra, w, padDelta, seed }) => {
    const pad = Math.max(0, (k - 1) / 2 + padDelta);
    // the output must have at least one row and column: h + 2 pad - k + 1 >= 1
    const min = Math.max(1, k - 2 * pad);
    return { n, ci, co, k, pad, h: min + extra, w: Math.max(min, w), seed };
  });

const t64 = (shape: number[], next: () => number): Tensor =>
  tensor(uniform(next, shape.reduce((a, d) => a * d, 1), -1, 1), shape, 'float64');

function convInputs(c: ConvCase): [Tensor, Tensor, Tensor] {
  const next = rng(c.seed);
  return [t64([c.n, c.ci, c.h, c.w], next), t64([c.co, c.ci, c.k, c.k], next), t64([c.co], next)];
}

/** torch.nn.functional.conv2d(x, weight * mask, bias, padding=pad), evaluated term by term. */
function referenceConv(x: Tensor, wt: Tensor, b: Tensor, pad: number, mask: Uint8Array | null): Float64Array {
  const [n, ci, h, w] = x.shape as number[] as [number, number, number, number];
  const [co, , k] = wt.shape as number[] as [number, number, number];
  const ho = h + 2 * pad - k + 1;
  const wo = w + 2 * pad - k + 1;
  const out = new Float64Array(n * co * ho * wo);
  for (let s = 0; s < n; s++)
    for (let o = 0; o < co; o++)
      for (let y = 0; y < ho; y++)
        for (let z = 0; z < wo; z++) {
          let acc = b.data[o]!;
          for (let c = 0; c < ci; c++)
            for (let ky = 0; ky < k; ky++)
              for (let kx = 0; kx < k; kx++) {
                const yi = y + ky - pad;
                const xi = z + kx - pad;
                if (yi < 0 || yi >= h || xi < 0 || xi >= w) continue;
                const m = mask === null ? 1 : mask[ky * k + kx]!;
                acc += wt.data[((o * ci + c) * k + ky) * k + kx]! * m * x.data[((s * ci + c) * h + yi) * w + xi]!;
              }
          out[((s * co + o) * ho + y) * wo + z] = acc;
        }
  return out;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('hexKernelMask', () => {
  it("is flyvis's: get_hex_coords(k // 2) shifted into the k x k kernel", () => {
    // kernel 5: entries with u + v < 2 or u + v > 6 are zero (19 of 25 used)
    const m5 = hexKernelMask(5);
    for (let u = 0; u < 5; u++) for (let v = 0; v < 5; v++) expect(m5[u * 5 + v]).toBe(u + v >= 2 && u + v <= 6 ? 1 : 0);
    expect(m5.reduce((a, b) => a + b, 0)).toBe(19);
    expect([...hexKernelMask(3)]).toEqual([0, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect([...hexKernelMask(1)]).toEqual([1]);
    expect(() => hexKernelMask(4)).toThrow(/odd/);
  });
});

describe('conv2dHex', () => {
  it("forward = torch's conv2d formula, plain and hex-masked", () => {
    fc.assert(
      fc.property(convCaseArb, fc.boolean(), (c, masked) => {
        const [x, wt, b] = convInputs(c);
        const mask = masked && c.k > 1 ? hexKernelMask(c.k) : null;
        const out = conv2dHex(x, wt, b, { padding: c.pad, mask });
        expect(out.shape).toEqual([c.n, c.co, c.h + 2 * c.pad - c.k + 1, c.w + 2 * c.pad - c.k + 1]);
        expect(maxAbsDiff(out.data, referenceConv(x, wt, b, c.pad, mask))).toBeLessThan(1e-12);
        // no bias: the same without the bias term
        const nb = conv2dHex(x, wt, null, { padding: c.pad, mask });
        const zero = tensor(new Float64Array(c.co), [c.co], 'float64');
        expect(maxAbsDiff(nb.data, referenceConv(x, wt, zero, c.pad, mask))).toBeLessThan(1e-12);
      }),
      { numRuns: 100 },
    );
  });

  it('VJP = finite differences for input, weight and bias (plain convolution)', () => {
    fc.assert(
      fc.property(convCaseArb, (c) => {
        const xs = convInputs(c);
        const report = checkVjp(([x, wt, b]) => conv2dHex(x!, wt!, b!, { padding: c.pad, mask: null }), xs, c.seed);
        expect(report.compared).toBe(xs.reduce((s, t) => s + t.size, 0));
        expect(report.maxError).toBeLessThan(TOL);
      }),
      RUNS,
    );
  });

  it('hex-masked: input and bias VJP = finite differences; the weight gradient is the plain one at the masked weight (flyvis in-place mask)', () => {
    fc.assert(
      fc.property(convCaseArb.filter((c) => c.k > 1), (c) => {
        const [x, wt, b] = convInputs(c);
        const mask = hexKernelMask(c.k);
        const hex = (ps: readonly Tensor[]) => conv2dHex(ps[0]!, ps[1]!, ps[2]!, { padding: c.pad });
        // input and bias: the masked convolution's own derivatives
        const report = checkVjp(([xx, bb]) => conv2dHex(xx!, wt, bb!, { padding: c.pad }), [x, b], c.seed);
        expect(report.maxError).toBeLessThan(TOL);
        // the masked entries do not change the output ...
        const masked = tensor(Float64Array.from(wt.data, (v, i) => v * mask[i % mask.length]!), wt.shape, 'float64');
        expect(maxAbsDiff(hex([x, wt, b]).data, hex([x, masked, b]).data)).toBe(0);
        // ... and the weight gradient at every entry is the plain convolution's at the masked weight,
        // which the previous property checks against finite differences
        const next = rng(c.seed + 1);
        const out = noGrad(() => hex([x, wt, b]));
        const r = t64([...out.shape], next);
        const gHex = valueAndGrad((p: { w: Tensor }) => sum(mul(conv2dHex(x, p.w, b, { padding: c.pad }), r)))({ w: wt }).grads.w;
        const gPlain = valueAndGrad((p: { w: Tensor }) => sum(mul(conv2dHex(x, p.w, b, { padding: c.pad, mask: null }), r)))({ w: masked }).grads.w;
        expect(maxAbsDiff(gHex.data, gPlain.data)).toBeLessThan(1e-12);
        const report2 = checkVjp(([ww]) => conv2dHex(x, ww!, b, { padding: c.pad, mask: null }), [masked], c.seed + 1);
        expect(report2.maxError).toBeLessThan(TOL);
        expect(maxAbsDiff(report2.analytic[0]!.data, gHex.data)).toBeLessThan(1e-12);
      }),
      RUNS,
    );
  });

  it('8-wide channel blocks and their remainders, on the wasm and the js kernels: VJP = finite differences (hex-masked input and bias, plain weight)', () => {
    const wide = fc.record({
      n: fc.integer({ min: 1, max: 2 }),
      ci: fc.integer({ min: 5, max: 11 }),
      co: fc.integer({ min: 5, max: 11 }),
      k: fc.constantFrom(3, 5),
      h: fc.integer({ min: 1, max: 4 }),
      w: fc.integer({ min: 1, max: 4 }),
      seed: fc.nat(),
    });
    try {
      fc.assert(
        fc.property(wide, fc.constantFrom('wasm' as const, 'js' as const), (c, kind) => {
          setConv2dHexKernel(kind);
          const pad = (c.k - 1) / 2;
          const [x, wt, b] = convInputs({ ...c, pad });
          const hex = checkVjp(([xx, bb]) => conv2dHex(xx!, wt, bb!, { padding: pad }), [x, b], c.seed);
          expect(hex.compared).toBe(x.size + b.size);
          expect(hex.maxError).toBeLessThan(TOL);
          const plain = checkVjp(([ww]) => conv2dHex(x, ww!, b, { padding: pad, mask: null }), [wt], c.seed + 1);
          expect(plain.compared).toBe(wt.size);
          expect(plain.maxError).toBeLessThan(TOL);
        }),
        { numRuns: 12 },
      );
    } finally {
      setConv2dHexKernel('wasm');
    }
  });

  it('float32 in, float32 out; refuses mismatched shapes and dtypes', () => {
    const x = tensor(new Float32Array(2 * 3 * 4 * 4).fill(1), [2, 3, 4, 4]);
    const w = tensor(new Float32Array(5 * 3 * 3 * 3).fill(1), [5, 3, 3, 3]);
    const out = conv2dHex(x, w, tensor(new Float32Array(5), [5]));
    expect(out.dtype).toBe('float32');
    expect(out.shape).toEqual([2, 5, 4, 4]);
    // the centre of a map of ones, hex kernel 3 of ones over 3 channels: 7 taps x 3
    expect(out.data[1 * 4 + 1]).toBe(21);
    expect(() => conv2dHex(x, tensor(new Float32Array(5 * 2 * 3 * 3), [5, 2, 3, 3]), null)).toThrow(/input channels/);
    expect(() => conv2dHex(x, tensor(new Float32Array(5 * 3 * 2 * 2), [5, 3, 2, 2]), null)).toThrow(/even/);
    expect(() => conv2dHex(x, tensor(new Float64Array(5 * 3 * 3 * 3), [5, 3, 3, 3], 'float64'), null)).toThrow(/dtype/);
    expect(() => conv2dHex(x, w, tensor(new Float32Array(4), [4]))).toThrow(/bias/);
  });
});

describe('batchNorm2d', () => {
  const caseArb = fc.record({
    n: fc.integer({ min: 1, max: 3 }),
    c: fc.integer({ min: 1, max: 3 }),
    h: fc.integer({ min: 1, max: 3 }),
    w: fc.integer({ min: 2, max: 3 }),
    seed: fc.nat(),
  });
  const inputs = ({ n, c, h, w, seed }: { n: number; c: number; h: number; w: number; seed: number }) => {
    const next = rng(seed);
    return {
      x: t64([n, c, h, w], next),
      weight: tensor(uniform(next, c, 0.5, 2), [c], 'float64'),
      bias: t64([c], next),
      rm: t64([c], next),
      rv: tensor(uniform(next, c, 0.5, 2), [c], 'float64'),
    };
  };

  it('training: VJP = finite differences through the batch statistics; running averages as torch updates them', () => {
    fc.assert(
      fc.property(caseArb, (cs) => {
        const { x, weight, bias, rm, rv } = inputs(cs);
        const report = checkVjp(([a, w, b]) => batchNorm2d(a!, w!, b!, rm, rv, { training: true }).out, [x, weight, bias], cs.seed);
        expect(report.maxError).toBeLessThan(TOL);
        // the forward pass and the running averages, from their definitions
        const r = batchNorm2d(x, weight, bias, rm, rv, { training: true });
        const m = cs.n * cs.h * cs.w;
        for (let ch = 0; ch < cs.c; ch++) {
          const vals: number[] = [];
          for (let s = 0; s < cs.n; s++) for (let i = 0; i < cs.h * cs.w; i++) vals.push(x.data[(s * cs.c + ch) * cs.h * cs.w + i]!);
          const mu = vals.reduce((a, b) => a + b, 0) / m;
          const v = vals.reduce((a, b) => a + (b - mu) ** 2, 0) / m;
          expect(r.runningMean!.data[ch]).toBeCloseTo(0.9 * rm.data[ch]! + 0.1 * mu, 12);
          expect(r.runningVar!.data[ch]).toBeCloseTo(0.9 * rv.data[ch]! + 0.1 * v * (m / (m - 1)), 12);
          const y = r.out.data[ch * cs.h * cs.w]!;
          expect(y).toBeCloseTo(((vals[0]! - mu) / Math.sqrt(v + 1e-5)) * weight.data[ch]! + bias.data[ch]!, 10);
        }
      }),
      RUNS,
    );
  });

  it('evaluation: the running averages normalise; VJP = finite differences', () => {
    fc.assert(
      fc.property(caseArb, (cs) => {
        const { x, weight, bias, rm, rv } = inputs(cs);
        const r = batchNorm2d(x, weight, bias, rm, rv);
        expect(r.runningMean).toBeUndefined();
        const i = x.size - 1;
        const ch = cs.c - 1;
        expect(r.out.data[i]).toBeCloseTo(((x.data[i]! - rm.data[ch]!) / Math.sqrt(rv.data[ch]! + 1e-5)) * weight.data[ch]! + bias.data[ch]!, 12);
        const report = checkVjp(([a, w, b]) => batchNorm2d(a!, w!, b!, rm, rv).out, [x, weight, bias], cs.seed);
        expect(report.maxError).toBeLessThan(TOL);
      }),
      RUNS,
    );
  });
});

describe('gatherOrZero', () => {
  it('VJP = finite differences (repeated and empty places)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: -1, max: 4 }), { minLength: 1, maxLength: 8 }), fc.nat(), (rows, n, idx, seed) => {
        const index = Int32Array.from(idx, (k) => (k >= n ? k % n : k));
        const x = t64([rows, n], rng(seed));
        const out = gatherOrZero(x, index);
        for (let r = 0; r < rows; r++) for (let j = 0; j < index.length; j++) expect(out.data[r * index.length + j]).toBe(index[j]! < 0 ? 0 : x.data[r * n + index[j]!]);
        const report = checkVjp(([a]) => gatherOrZero(a!, index), [x], seed);
        expect(report.maxError).toBeLessThan(TOL);
      }),
      RUNS,
    );
  });
});
