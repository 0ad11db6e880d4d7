// The compiled graph against flyvis's own (../shared/golden): counts and digests at every
// extent 0..15, the hull fill of all 605 edge types, and extents 1 and 3 record by record.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileConnectome } from '../../src/graph/compile.ts';
import { edgeRecords, edgesDigest, nodeRecords, nodesDigest } from '../../src/graph/digest.ts';
import { connectedOffsets } from '../../src/graph/hull.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { CONNECTOME_FILE, hasShared, sharedPath } from '../helpers/shared.ts';

interface ExtentGolden {
  extent: number;
  n_nodes: number;
  n_edges: number;
  nodes_sha256: string;
  edges_sha256: string;
}

interface FilledGolden {
  src: string;
  tar: string;
  n_reported: number;
  offsets: [[number, number], number][];
}

const readJson = <T>(...parts: string[]): T => JSON.parse(readFileSync(sharedPath('golden', ...parts), 'utf8')) as T;

/** Decodes record `i` of a little-endian table with the given field kinds. */
function recordAt(bytes: Uint8Array, kinds: readonly ('i32' | 'f32')[], i: number): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return kinds.map((k, j) => {
    const at = (i * kinds.length + j) * 4;
    return k === 'i32' ? view.getInt32(at, true) : view.getFloat32(at, true);
  });
}

/** Compares two record tables; fails naming the first differing record and both values. */
function expectSameRecords(what: string, ours: Uint8Array, golden: Uint8Array, kinds: readonly ('i32' | 'f32')[]): void {
  const width = 4 * kinds.length;
  const n = Math.min(ours.length, golden.length) / width;
  for (let i = 0; i < n; i++) {
    for (let b = i * width; b < (i + 1) * width; b++) {
      if (ours[b] !== golden[b]) {
        const msg = `${what}: first difference at record ${i}: ours ${JSON.stringify(recordAt(ours, kinds, i))}, flyvis ${JSON.stringify(recordAt(golden, kinds, i))}`;
        expect.fail(msg);
      }
    }
  }
  expect(ours.length / width, `${what}: number of records`).toBe(golden.length / width);
}

describe.skipIf(!hasShared)('compiled graph vs flyvis (golden)', () => {
  const spec = hasShared ? loadConnectomeSpec(CONNECTOME_FILE) : undefined;

  it('matches counts and both digests at every extent 0..15', () => {
    const golden = readJson<ExtentGolden[]>('connectome_extents.json');
    expect(golden.map((g) => g.extent)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    for (const g of golden) {
      const c = compileConnectome(spec!, g.extent, 1);
      expect({ extent: g.extent, n_nodes: c.nodes.length, n_edges: c.edges.length }).toEqual({
        extent: g.extent,
        n_nodes: g.n_nodes,
        n_edges: g.n_edges,
      });
      expect(nodesDigest(c), `nodes_sha256 at extent ${g.extent}`).toBe(g.nodes_sha256);
      expect(edgesDigest(c), `edges_sha256 at extent ${g.extent}`).toBe(g.edges_sha256);
    }
  });

  it('fills the convex hull of all 605 edge types exactly as flyvis', () => {
    const golden = readJson<FilledGolden[]>('filled_offsets.json');
    expect(golden).toHaveLength(605);
    expect(spec!.edges).toHaveLength(605);
    let filled = 0;
    golden.forEach((g, i) => {
      const e = spec!.edges[i]!;
      expect([e.src, e.tar, e.offsets.length], `edge spec ${i}`).toEqual([g.src, g.tar, g.n_reported]);
      const ours = connectedOffsets(e.offsets, 1).map((o) => [[o.du, o.dv], o.nSyn]);
      expect(ours, `filled offsets of edge spec ${i} (${g.src} -> ${g.tar})`).toEqual(g.offsets);
      filled += g.offsets.length - g.n_reported;
    });
    expect(filled).toBeGreaterThan(0);
  });

  for (const extent of [1, 3]) {
    it(`matches flyvis's node and edge tables record by record at extent ${extent}`, () => {
      const c = compileConnectome(spec!, extent, 1);
      const nodes = new Uint8Array(readFileSync(sharedPath('golden', 'tables', `nodes_extent${extent}.bin`)));
      const edges = new Uint8Array(readFileSync(sharedPath('golden', 'tables', `edges_extent${extent}.bin`)));
      expectSameRecords(`nodes (type, u, v) at extent ${extent}`, nodeRecords(c), nodes, ['i32', 'i32', 'i32']);
      expectSameRecords(`edges (source, target, sign, n_syn) at extent ${extent}`, edgeRecords(c), edges, [
        'i32',
        'i32',
        'f32',
        'f32',
      ]);
    });
  }
});
