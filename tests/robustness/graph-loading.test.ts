// Connectome descriptions that used to hang or exhaust memory (issue 12, items 9 and 10):
// 200,000 offsets in one edge type (decoding was quadratic), 20,000 repeats of one offset
// (accepted silently), three far-apart offsets (a hull fill over 1e10 points: heap out of
// memory) and offsets of +-(2^53 - 1) (an endless fill loop). Loading is linear, repeats and
// unreachable magnitudes are refused, and the fill is confined to the offsets that can connect
// cells, which leaves the graph exactly as flyvis builds it (checked against a direct reading).
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BudgetError } from '../../src/budget.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { decodeConnectomeSpec, MAX_OFFSET } from '../../src/graph/decode.ts';
import { convexHull, fillHull, insideByCrossingRule } from '../../src/graph/hull.ts';
import { onHexLattice, patternPositions } from '../../src/graph/lattice.ts';
import { ConnectomeError, loadConnectomeSpec, MAX_LISTED_PROBLEMS } from '../../src/graph/load.ts';
import type { ConnectomeSpec, NodePattern, OffsetSpec } from '../../src/graph/spec.ts';
import type { Connectome } from '../../src/graph/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'flyvis-graph-'));

/** A two-type description (A -> B, both on the full lattice) with these offsets. */
const docWith = (offsets: readonly (readonly [readonly [number, number], number])[]) => ({
  nodes: [
    { name: 'A', pattern: ['stride', [1, 1]] },
    { name: 'B', pattern: ['stride', [1, 1]] },
  ],
  edges: [{ src: 'A', tar: 'B', alpha: 1, lambda_mult: 2, offsets }],
  input_units: ['A'],
  output_units: ['B'],
});
const write = (name: string, doc: unknown): string => {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(doc));
  return file;
};
const errorOf = (f: () => unknown): ConnectomeError => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConnectomeError) return e;
    throw e;
  }
  throw new Error('expected a ConnectomeError');
};

/** flyvis's construction rules read directly: every filled offset, every source cell, a Map lookup. */
function directEdges(spec: ConnectomeSpec, extent: number, nSynFill: number): number[][] {
  const nodes: { type: number; u: number; v: number }[] = [];
  spec.nodes.forEach((n, type) => {
    const p = patternPositions(n.pattern, extent);
    p.u.forEach((u, i) => nodes.push({ type, u, v: p.v[i]! }));
  });
  const at = new Map(nodes.map((n, i) => [`${n.type},${n.u},${n.v}`, i]));
  const typeOf = new Map(spec.nodes.map((n, t) => [n.name, t]));
  const edges: number[][] = [];
  for (const e of spec.edges) {
    const [src, tar] = [typeOf.get(e.src)!, typeOf.get(e.tar)!];
    const offsets = nSynFill > 0 && e.offsets.length >= 3 ? fillHull(e.offsets, nSynFill) : e.offsets;
    for (const o of offsets) {
      nodes.forEach((s, i) => {
        if (s.type !== src) return;
        const j = at.get(`${tar},${s.u + o.du},${s.v + o.dv}`);
        if (j !== undefined) edges.push([i, j, Math.fround(o.nSyn), o.du, o.dv]);
      });
    }
  }
  return edges;
}

const edgeRows = (c: Connectome): number[][] => {
  const col = (k: string) => c.edges.columns[k] as ArrayLike<number>;
  return Array.from({ length: c.edges.length }, (_, i) => ['source_index', 'target_index', 'n_syn', 'du', 'dv'].map((k) => col(k)[i]!));
};

describe('loading is linear', () => {
  it('loads 200,000 offsets of one edge type exactly, and compiles them as flyvis would', () => {
    const offsets = Array.from({ length: 200_000 }, (_, i) => [[(i % 1000) - 500, Math.floor(i / 1000) - 100], 1 + (i % 7)] as const);
    const spec = loadConnectomeSpec(write('200k.json', docWith(offsets)));
    const got = spec.edges[0]!.offsets;
    expect(got.length).toBe(200_000);
    let mismatches = 0;
    got.forEach((o, i) => {
      const [[du, dv], nSyn] = offsets[i]!;
      if (o.du !== du || o.dv !== dv || o.nSyn !== nSyn) mismatches++;
    });
    expect(mismatches).toBe(0);
    // The offsets cover their whole box: no fill, and only those within 2 * extent connect cells.
    const c = compileConnectome(spec, 2);
    const expected = directEdges({ ...spec, edges: [{ ...spec.edges[0]!, offsets: got.filter((o) => onHexLattice(o.du, o.dv, 4)) }] }, 2, 0);
    expect(edgeRows(c)).toEqual(expected);
    expect(c.edges.length).toBe(361); // 61 offsets within radius 4, each connecting the cells it can
  });
});

describe('repeats and magnitudes', () => {
  it('refuses 20,000 repeats of one offset in one problem', () => {
    const file = write('repeats.json', docWith(Array.from({ length: 20_000 }, () => [[0, 0], 1] as const)));
    const e = errorOf(() => loadConnectomeSpec(file));
    expect(e.problems).toEqual(['edges[0].offsets: expected distinct offsets, got 19,999 repeated offsets (edges[0].offsets[1] repeats [0, 0] of edges[0].offsets[0])']);
    expect(e.message).toBe(`connectome file ${file}: ${e.problems[0]}`);
  });

  it('decodes a list of offsets as given, refusing it exactly when an offset repeats (property)', () => {
    const pos = fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(pos, fc.integer({ min: 0, max: 9 })), { minLength: 1, maxLength: 40 }), (offsets) => {
        const decoded = decodeConnectomeSpec(docWith(offsets));
        const keys = offsets.map(([[du, dv]]) => `${du},${dv}`);
        const repeats = keys.length - new Set(keys).size;
        if (repeats === 0) {
          expect(decoded._tag).toBe('Right');
          if (decoded._tag === 'Right') expect(decoded.right.edges[0]!.offsets).toEqual(offsets.map(([[du, dv], nSyn]) => ({ du, dv, nSyn })));
        } else {
          expect(decoded._tag).toBe('Left');
          if (decoded._tag === 'Left') expect(decoded.left).toEqual([expect.stringContaining(`got ${repeats === 1 ? 'a repeated offset' : `${repeats} repeated offsets`}`)]);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('refuses |du|, |dv| above 2^25 (offsets of +-(2^53 - 1) used to loop forever), accepts 2^25', () => {
    const big = Number.MAX_SAFE_INTEGER;
    const e = errorOf(() => loadConnectomeSpec(write('huge.json', docWith([[[0, 0], 1], [[big, 0], 1], [[0, -big], 1]]))));
    expect(e.problems).toEqual([
      `edges[0].offsets[1]: expected |du|, |dv| <= 33554432 (2^25; no lattice that fits in memory reaches farther), got [[${big},0],1]`,
      `edges[0].offsets[2]: expected |du|, |dv| <= 33554432 (2^25; no lattice that fits in memory reaches farther), got [[0,-${big}],1]`,
    ]);
    const edge = loadConnectomeSpec(write('max.json', docWith([[[0, 0], 1], [[MAX_OFFSET, 0], 1], [[0, -MAX_OFFSET], 1]]))).edges[0]!;
    expect(edge.offsets.map((o) => [o.du, o.dv])).toEqual([[0, 0], [MAX_OFFSET, 0], [0, -MAX_OFFSET]]);
  });

  it('lists at most 20 problems in the message, and all of them in `problems`', () => {
    const e = errorOf(() => loadConnectomeSpec(write('bad.json', docWith(Array.from({ length: 100 }, (_, i) => [[i + 0.5, 0], 1] as const)))));
    expect(e.problems.length).toBe(100);
    expect(e.message).toMatch(/: 100 problems: edges\[0\]\.offsets\[0\]: .*edges\[0\]\.offsets\[19\]: [^;]*; \.\.\. and 80 more$/);
    expect(MAX_LISTED_PROBLEMS).toBe(20);
  });
});

describe('hull fills stay within what can connect', () => {
  const far = [
    { du: 0, dv: 0, nSyn: 3 },
    { du: 100_000, dv: 0, nSyn: 2 },
    { du: 0, dv: 100_000, nSyn: 1 },
  ];
  const spec = (offsets: readonly OffsetSpec[], patterns: readonly NodePattern[] = [{ kind: 'stride', uStride: 1, vStride: 1 }, { kind: 'stride', uStride: 1, vStride: 1 }]): ConnectomeSpec => ({
    nodes: patterns.map((pattern, i) => ({ name: `T${i}`, pattern, raw: {} })),
    edges: [{ src: 'T0', tar: `T${patterns.length - 1}`, alpha: 1, offsets, lambdaMult: 1, raw: {} }],
    inputUnits: ['T0'],
    outputUnits: [],
    raw: {},
  });

  it('compiles three offsets 100,000 columns apart at extent 2 (flyvis: a fill over 1e10 points)', () => {
    const c = compileConnectome(spec(far), 2);
    // Direct reading restricted to what can connect: the reported offsets, then the window's
    // points inside the triangle by flyvis's crossing rule, du outer and dv inner.
    const hull = convexHull(far.map((o) => [o.du, o.dv] as const));
    const filled: OffsetSpec[] = [];
    for (let du = 0; du <= 4; du++) for (let dv = 0; dv <= 4; dv++) {
      if ((du !== 0 || dv !== 0) && insideByCrossingRule(hull, du, dv)) filled.push({ du, dv, nSyn: 1 });
    }
    expect(filled.length).toBeGreaterThan(10);
    expect(edgeRows(c)).toEqual(directEdges(spec([...far, ...filled]), 2, 0));
  });

  it('the unconfined fill of those offsets is refused with its size, before scanning', () => {
    let e: unknown;
    try {
      fillHull(far, 1);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(BudgetError);
    expect((e as Error).message).toMatch(/^hull fill: 3 offsets spanning du 0\.\.100000, dv 0\.\.100000 give up to 1\.0e10 offsets \(about 1\.28 TB\), above the memory budget/);
  });

  it('a compile whose confined fill is still above the budget is refused before filling', () => {
    const wide = [{ du: -1000, dv: -1000, nSyn: 1 }, { du: 1000, dv: -1000, nSyn: 1 }, { du: 0, dv: 1000, nSyn: 1 }];
    expect(() => compileConnectome(spec(wide), { extent: 100, budget: { maxMemoryBytes: 5e6 } })).toThrow(
      /^hull fill: 1 edge types give up to 160,804 offsets \(edges\[0\] alone 160,801\) \(about 20\.6 MB\), above the memory budget of 5 MB/,
    );
  });

  it('equals the direct reading of flyvis for offsets far beyond the lattice (property)', () => {
    const offset = fc.record({ du: fc.integer({ min: -40, max: 40 }), dv: fc.integer({ min: -40, max: 40 }), nSyn: fc.double({ min: 0.1, max: 9, noNaN: true }) });
    const pattern: fc.Arbitrary<NodePattern> = fc.oneof(
      fc.record({ kind: fc.constant('stride' as const), uStride: fc.integer({ min: 1, max: 2 }), vStride: fc.integer({ min: 1, max: 2 }) }),
      fc.constant({ kind: 'single' as const }),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(offset, { minLength: 1, maxLength: 7, selector: (o) => `${o.du},${o.dv}` }),
        fc.array(pattern, { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(0, 1),
        (offsets, patterns, extent, nSynFill) => {
          const s = spec(offsets, patterns);
          expect(edgeRows(compileConnectome(s, extent, nSynFill))).toEqual(directEdges(s, extent, nSynFill));
        },
      ),
      { numRuns: 120 },
    );
  });
});
