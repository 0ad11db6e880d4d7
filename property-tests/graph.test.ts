// The connectome compiler on random small connectome descriptions: edges land where their
// offset says and never off the lattice, sizes grow with the extent, the hull fill stays in
// the bounding box and never repeats a reported offset, and the compiled tables equal a
// direct (object-per-edge) reading of the construction rules in ../shared/golden/README.md.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileConnectome } from '../src/graph/compile.ts';
import { connectedOffsets, convexHull, fillHull, type Point } from '../src/graph/hull.ts';
import { onHexLattice, patternPositions } from '../src/graph/lattice.ts';
import type { ConnectomeSpec, EdgeSpec, NodePattern, OffsetSpec } from '../src/graph/spec.ts';
import { isCategorical, type Column } from '../src/graph/types.ts';

const patternArb: fc.Arbitrary<NodePattern> = fc.oneof(
  fc.record({ kind: fc.constant('stride' as const), uStride: fc.integer({ min: 1, max: 3 }), vStride: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('tile' as const), stride: fc.integer({ min: 1, max: 3 }) }),
  fc.constant({ kind: 'single' as const }),
);

const offsetArb: fc.Arbitrary<OffsetSpec> = fc.record({
  du: fc.integer({ min: -4, max: 4 }),
  dv: fc.integer({ min: -4, max: 4 }),
  nSyn: fc.double({ min: 0.05, max: 60, noNaN: true }),
});

const specArb: fc.Arbitrary<ConnectomeSpec> = fc.integer({ min: 1, max: 4 }).chain((nTypes) => {
  const names = Array.from({ length: nTypes }, (_, i) => `T${i}`);
  const edge: fc.Arbitrary<EdgeSpec> = fc.record({
    src: fc.constantFrom(...names),
    tar: fc.constantFrom(...names),
    alpha: fc.constantFrom(1, -1),
    offsets: fc.array(offsetArb, { minLength: 1, maxLength: 8 }),
    lambdaMult: fc.double({ min: 0.5, max: 10, noNaN: true }),
    raw: fc.constant({}),
  });
  return fc.record({
    nodes: fc.tuple(...names.map((name) => patternArb.map((pattern) => ({ name, pattern, raw: {} })))),
    edges: fc.array(edge, { maxLength: 6 }),
    inputUnits: fc.subarray(names),
    outputUnits: fc.subarray(names),
    raw: fc.constant({}),
  });
});

const caseArb = fc.record({ spec: specArb, extent: fc.integer({ min: 0, max: 5 }), nSynFill: fc.constantFrom(0, 1, 0.5) });

const ints = (c: Column | undefined): Int32Array => {
  if (c === undefined || isCategorical(c) || !(c instanceof Int32Array)) throw new Error('expected an Int32Array column');
  return c;
};

/** The construction rules read directly: one object per node and per edge, a Map for lookups. */
function naiveCompile(spec: ConnectomeSpec, extent: number, nSynFill: number) {
  const nodes: { type: number; u: number; v: number }[] = [];
  spec.nodes.forEach((n, type) => {
    const p = patternPositions(n.pattern, extent);
    p.u.forEach((u, i) => nodes.push({ type, u, v: p.v[i]! }));
  });
  const at = new Map(nodes.map((n, i) => [`${n.type},${n.u},${n.v}`, i]));
  const typeOf = new Map(spec.nodes.map((n, t) => [n.name, t]));
  const edges: number[][] = [];
  for (const e of spec.edges) {
    const src = typeOf.get(e.src)!;
    const tar = typeOf.get(e.tar)!;
    for (const o of connectedOffsets(e.offsets, nSynFill)) {
      nodes.forEach((s, i) => {
        if (s.type !== src) return;
        const j = at.get(`${tar},${s.u + o.du},${s.v + o.dv}`);
        if (j !== undefined) edges.push([i, j, e.alpha, Math.fround(o.nSyn), Math.fround(e.lambdaMult), o.du, o.dv]);
      });
    }
  }
  return { nodes, edges };
}

describe('connectome compiler (properties)', () => {
  it("equals a direct reading of flyvis's construction rules", () => {
    fc.assert(
      fc.property(caseArb, ({ spec, extent, nSynFill }) => {
        const c = compileConnectome(spec, extent, nSynFill);
        const ref = naiveCompile(spec, extent, nSynFill);
        const n = c.nodes.columns;
        const type = n.type;
        if (type === undefined || !isCategorical(type)) throw new Error('nodes.type');
        expect(Array.from({ length: c.nodes.length }, (_, i) => ({ type: type.codes[i], u: ints(n.u)[i], v: ints(n.v)[i] }))).toEqual(ref.nodes);
        const e = c.edges.columns;
        const cols = ['source_index', 'target_index', 'sign', 'n_syn', 'n_syn_certainty', 'du', 'dv'].map((k) => e[k] as ArrayLike<number>);
        expect(Array.from({ length: c.edges.length }, (_, i) => cols.map((col) => col[i]))).toEqual(ref.edges);
      }),
      { numRuns: 150 },
    );
  });

  it('puts every edge target at its source position plus its offset, on the lattice', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, extent, nSynFill }) => {
        const c = compileConnectome(spec, extent, nSynFill);
        const [u, v] = [ints(c.nodes.columns.u), ints(c.nodes.columns.v)];
        const [src, tgt] = [ints(c.edges.columns.source_index), ints(c.edges.columns.target_index)];
        const [du, dv] = [ints(c.edges.columns.du), ints(c.edges.columns.dv)];
        for (let i = 0; i < c.edges.length; i++) {
          const [s, t] = [src[i]!, tgt[i]!];
          expect(s >= 0 && s < c.nodes.length && t >= 0 && t < c.nodes.length).toBe(true);
          expect([u[t], v[t]]).toEqual([u[s]! + du[i]!, v[s]! + dv[i]!]);
          expect(onHexLattice(u[t]!, v[t]!, extent)).toBe(true);
          expect(ints(c.edges.columns.target_u)[i]).toBe(u[t]);
          expect(ints(c.edges.columns.source_v)[i]).toBe(v[s]);
        }
      }),
    );
  });

  it('grows (never shrinks) in nodes and edges as the extent grows', () => {
    fc.assert(
      fc.property(specArb, fc.integer({ min: 0, max: 4 }), (spec, extent) => {
        const a = compileConnectome(spec, extent);
        const b = compileConnectome(spec, extent + 1);
        expect(b.nodes.length).toBeGreaterThanOrEqual(a.nodes.length);
        expect(b.edges.length).toBeGreaterThanOrEqual(a.edges.length);
      }),
    );
  });

  it('fills inside the bounding box, without repeats, every strictly interior point and no exterior one', () => {
    const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    fc.assert(
      fc.property(fc.array(offsetArb, { minLength: 3, maxLength: 12 }), (reported) => {
        const filled = fillHull(reported, 1).slice(reported.length);
        const key = (o: { du: number; dv: number }) => `${o.du},${o.dv}`;
        const reportedKeys = new Set(reported.map(key));
        const dus = reported.map((o) => o.du);
        const dvs = reported.map((o) => o.dv);
        const filledKeys = new Set(filled.map(key));
        expect(filledKeys.size).toBe(filled.length);
        for (const o of filled) {
          expect(reportedKeys.has(key(o))).toBe(false);
          expect(o.du >= Math.min(...dus) && o.du <= Math.max(...dus)).toBe(true);
          expect(o.dv >= Math.min(...dvs) && o.dv <= Math.max(...dvs)).toBe(true);
          expect(o.nSyn).toBe(1);
        }
        const hull = convexHull(reported.map((o) => [o.du, o.dv] as const));
        if (hull.length < 3) return;
        const sides = (p: Point) => hull.map((a, i) => cross(a, hull[(i + 1) % hull.length]!, p));
        for (let du = Math.min(...dus); du <= Math.max(...dus); du++) {
          for (let dv = Math.min(...dvs); dv <= Math.max(...dvs); dv++) {
            if (reportedKeys.has(`${du},${dv}`)) continue;
            const s = sides([du, dv]);
            if (s.every((x) => x > 0)) expect(filledKeys.has(`${du},${dv}`), `interior ${du},${dv}`).toBe(true);
            if (s.some((x) => x < 0)) expect(filledKeys.has(`${du},${dv}`), `exterior ${du},${dv}`).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
