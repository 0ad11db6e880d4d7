// Test helpers for the autodiff engine: a seeded generator and a check of an op's VJP against
// central finite differences in float64.
import { mul, noGrad, sum, type Tensor, tensor, valueAndGrad } from '../../src/autograd/index.ts';

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n values uniform in [lo, hi). */
export function uniform(next: () => number, n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * next());
}

export interface FdReport {
  /** Largest |analytic - numeric| / (1 + |numeric|) over all input elements. */
  readonly maxError: number;
  /** Number of input elements compared (so a test can assert the check was not vacuous). */
  readonly compared: number;
  readonly analytic: readonly Tensor[];
}

/**
 * Compares the gradients of L(xs) = <f(xs), r> (r random with f's output shape) computed by
 * valueAndGrad with central differences (step h) of L, for float64 inputs.
 */
export function checkVjp(f: (xs: readonly Tensor[]) => Tensor, xs: readonly Tensor[], seed = 1, h = 1e-5): FdReport {
  const shapeOut = noGrad(() => f(xs)).shape;
  const next = rng(seed);
  const r = tensor(uniform(next, shapeOut.reduce((p, d) => p * d, 1), -1, 1), shapeOut, 'float64');
  const loss = (ps: readonly Tensor[]): Tensor => sum(mul(f(ps), r));
  const { grads } = valueAndGrad(loss)(xs);
  let maxError = 0;
  let compared = 0;
  xs.forEach((x, i) => {
    const g = grads[i]!;
    for (let k = 0; k < x.size; k++) {
      const at = (delta: number): number => {
        const data = Float64Array.from(x.data);
        data[k]! += delta;
        const moved = xs.map((y, j) => (j === i ? tensor(data, x.shape, 'float64') : y));
        return noGrad(() => loss(moved)).item();
      };
      const numeric = (at(h) - at(-h)) / (2 * h);
      maxError = Math.max(maxError, Math.abs(g.data[k]! - numeric) / (1 + Math.abs(numeric)));
      compared++;
    }
  });
  return { maxError, compared, analytic: grads };
}
