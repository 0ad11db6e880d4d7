// flyvis's objectives (flyvis/task/objectives.py): which axes l2norm and epe sum and average, on
// values worked out by hand, and their gradients against finite differences.
import { describe, expect, it } from 'vitest';
import { tensor } from '../../src/autograd/index.ts';
import { epe, l2norm } from '../../src/task/objectives.ts';
import { checkVjp, rng, uniform } from '../autograd/fd.ts';

// (samples 2, frames 2, ndim 2, hexals 1): sample 0 errs by (3, 4) in frame 0 and (0, 0) in
// frame 1; sample 1 by (1, 0) and (0, 1)
const gt = tensor(new Float64Array(8), [2, 2, 2, 1], 'float64');
const est = tensor(Float64Array.of(3, 4, 0, 0, 1, 0, 0, 1), [2, 2, 2, 1], 'float64');

describe('objectives', () => {
  it('l2norm: root of the error summed over frames, components and hexals, averaged over samples', () => {
    // sample 0: sqrt(9 + 16) = 5; sample 1: sqrt(1 + 1); mean
    expect(l2norm(est, gt).item()).toBeCloseTo((5 + Math.SQRT2) / 2, 14);
  });

  it('epe: the endpoint error per sample, frame and hexal, averaged over all', () => {
    // endpoint errors 5, 0, 1, 1
    expect(epe(est, gt).item()).toBeCloseTo(7 / 4, 14);
  });

  it('both broadcast the ground truth as torch does, and need (samples, frames, ndim, hexals)', () => {
    const zero = tensor(new Float64Array(1), [1, 1, 1, 1], 'float64');
    expect(l2norm(est, zero).item()).toBeCloseTo((5 + Math.SQRT2) / 2, 14);
    expect(() => l2norm(tensor(new Float64Array(4), [2, 2], 'float64'), tensor(new Float64Array(4), [2, 2], 'float64'))).toThrow(/samples, frames, ndim, hexals/);
  });

  it('gradients = finite differences', () => {
    const next = rng(5);
    const a = tensor(uniform(next, 3 * 4 * 2 * 5), [3, 4, 2, 5], 'float64');
    const b = tensor(uniform(next, 3 * 4 * 2 * 5), [3, 4, 2, 5], 'float64');
    for (const f of [l2norm, epe]) {
      const report = checkVjp(([x, y]) => f(x!, y!), [a, b], 1);
      expect(report.compared).toBe(2 * a.size);
      expect(report.maxError).toBeLessThan(1e-6);
    }
  });
});
