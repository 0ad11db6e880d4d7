import { describe, expect, it } from 'vitest';
import { connectedOffsets, convexHull, fillHull, insideByCrossingRule } from '../../src/graph/hull.ts';
import type { OffsetSpec } from '../../src/graph/spec.ts';

const offsets = (pts: [number, number][], nSyn = 5): OffsetSpec[] => pts.map(([du, dv]) => ({ du, dv, nSyn }));
const points = (os: readonly OffsetSpec[]) => os.map((o) => [o.du, o.dv]);

describe('convexHull', () => {
  it('is strict (no collinear or repeated vertices) and counter-clockwise from the lowest point', () => {
    expect(convexHull([[1, 1], [0, 0], [2, 0], [1, 0], [2, 2], [0, 2], [0, 1], [2, 2]])).toEqual([
      [0, 0], [2, 0], [2, 2], [0, 2],
    ]);
    expect(convexHull([[0, 0], [1, 1], [3, 3], [2, 2]])).toEqual([[0, 0], [3, 3]]);
    expect(convexHull([[4, -1], [4, -1]])).toEqual([[4, -1]]);
  });
});

describe('insideByCrossingRule', () => {
  const square = convexHull([[0, 0], [2, 0], [2, 2], [0, 2]]);
  it('puts interior points in and exterior points out', () => {
    expect(insideByCrossingRule(square, 1, 1)).toBe(true);
    for (const [x, y] of [[3, 1], [-1, 1], [1, 3], [1, -1]]) expect(insideByCrossingRule(square, x!, y!)).toBe(false);
  });
  it("decides boundary points by the reference's rule, not geometrically", () => {
    // Hand-evaluated with the rule: the bottom edge and its corners are out, the other edges in.
    expect(insideByCrossingRule(square, 1, 0)).toBe(false);
    expect(insideByCrossingRule(square, 0, 0)).toBe(false);
    expect(insideByCrossingRule(square, 0, 1)).toBe(true);
    expect(insideByCrossingRule(square, 2, 1)).toBe(true);
    expect(insideByCrossingRule(square, 1, 2)).toBe(true);
    expect(insideByCrossingRule(square, 2, 2)).toBe(true);
  });
});

describe('fillHull', () => {
  it('appends the unreported box points inside the hull, du outer and dv inner, with n_syn_fill', () => {
    const filled = fillHull(offsets([[0, 0], [2, 0], [2, 2], [0, 2]]), 0.5);
    expect(points(filled)).toEqual([[0, 0], [2, 0], [2, 2], [0, 2], [0, 1], [1, 1], [1, 2], [2, 1]]);
    expect(filled.map((o) => o.nSyn)).toEqual([5, 5, 5, 5, 0.5, 0.5, 0.5, 0.5]);
  });
  it('never repeats a reported offset', () => {
    const reported = offsets([[-2, 0], [2, 0], [0, -2], [0, 2], [0, 0], [1, 0]]);
    const extra = fillHull(reported, 1).slice(reported.length);
    expect(extra.length).toBeGreaterThan(0);
    for (const o of extra) expect(reported.some((r) => r.du === o.du && r.dv === o.dv)).toBe(false);
  });
});

describe('connectedOffsets', () => {
  it('fills only with at least 3 reported offsets and n_syn_fill > 0', () => {
    const two = offsets([[-3, 0], [3, 0]]);
    expect(connectedOffsets(two, 1)).toBe(two);
    const ring = offsets([[-1, 0], [1, 0], [0, -1], [0, 1]]);
    expect(connectedOffsets(ring, 0)).toBe(ring);
    expect(points(connectedOffsets(ring, 2)).slice(4)).toEqual([[0, 0]]);
  });
});
