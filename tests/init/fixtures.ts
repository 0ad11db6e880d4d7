// Small hand-built connectomes for the parameter tests. Cell types are deliberately listed in
// categories in a different order than they first appear, so first-appearance grouping is tested.
import type { CategoricalColumn, Connectome, Table } from '../../src/graph/types.ts';

export function categorical(values: readonly string[], categories?: readonly string[]): CategoricalColumn {
  const cats = categories ?? [...new Set(values)].sort();
  const codes = Int32Array.from(values, (v) => {
    const c = cats.indexOf(v);
    if (c < 0) throw new Error(`fixture: ${v} not in categories`);
    return c;
  });
  return { kind: 'categorical', codes, categories: cats };
}

export interface NodeSpec {
  readonly type: string;
  readonly u: number;
  readonly v: number;
}
export interface EdgeSpec {
  readonly source: number;
  readonly target: number;
  readonly sign: number;
  readonly n_syn: number;
}

/** A Connectome with flyvis's node and edge columns built from node and edge lists. */
export function makeConnectome(nodes: readonly NodeSpec[], edges: readonly EdgeSpec[], categories: readonly string[]): Connectome {
  const node = (i: number): NodeSpec => {
    const n = nodes[i];
    if (n === undefined) throw new Error(`fixture: no node ${i}`);
    return n;
  };
  const nodeTable: Table = {
    length: nodes.length,
    columns: {
      index: Int32Array.from(nodes, (_, i) => i),
      type: categorical(nodes.map((n) => n.type), categories),
      u: Int32Array.from(nodes, (n) => n.u),
      v: Int32Array.from(nodes, (n) => n.v),
    },
  };
  const src = edges.map((e) => node(e.source));
  const tgt = edges.map((e) => node(e.target));
  const edgeTable: Table = {
    length: edges.length,
    columns: {
      source_index: Int32Array.from(edges, (e) => e.source),
      target_index: Int32Array.from(edges, (e) => e.target),
      sign: Float32Array.from(edges, (e) => e.sign),
      n_syn: Float32Array.from(edges, (e) => e.n_syn),
      n_syn_certainty: Float32Array.from(edges, () => 1),
      source_type: categorical(src.map((n) => n.type), categories),
      target_type: categorical(tgt.map((n) => n.type), categories),
      source_u: Int32Array.from(src, (n) => n.u),
      target_u: Int32Array.from(tgt, (n) => n.u),
      source_v: Int32Array.from(src, (n) => n.v),
      target_v: Int32Array.from(tgt, (n) => n.v),
      du: Int32Array.from(edges, (_, i) => tgt[i]!.u - src[i]!.u),
      dv: Int32Array.from(edges, (_, i) => tgt[i]!.v - src[i]!.v),
    },
  };
  const uniqueCellTypes = [...new Set(nodes.map((n) => n.type))];
  const layerIndex = new Map(uniqueCellTypes.map((t) => [t, Int32Array.from(nodes.flatMap((n, i) => (n.type === t ? [i] : [])))]));
  return {
    nodes: nodeTable,
    edges: edgeTable,
    uniqueCellTypes,
    inputCellTypes: [],
    intermediateCellTypes: uniqueCellTypes,
    outputCellTypes: [],
    centralCellsIndex: Int32Array.from(uniqueCellTypes, (t) => nodes.findIndex((n) => n.type === t && n.u === 0 && n.v === 0)),
    layerIndex,
  };
}

/**
 * Types first appear in the order R, L, T (categories are alphabetical: L, R, T).
 * Nodes: 0 R(0,0) 1 R(1,0) 2 L(0,0) 3 L(1,0) 4 L(0,1) 5 T(0,0).
 */
export const TINY_NODES: readonly NodeSpec[] = [
  { type: 'R', u: 0, v: 0 },
  { type: 'R', u: 1, v: 0 },
  { type: 'L', u: 0, v: 0 },
  { type: 'L', u: 1, v: 0 },
  { type: 'L', u: 0, v: 1 },
  { type: 'T', u: 0, v: 0 },
];

/**
 * Edge groups by (source_type, target_type), first appearance: (R,L) (L,T) (T,L) (R,T); mean n_syn
 * 81/4, 7/3, 7, 2.5. Keys (source_type, target_type, du, dv) of the groups by (source_type,
 * target_type, dv, du): (R,L,0,0) (R,L,-1,0) (L,T,0,0) (R,L,1,0) (L,T,-1,0) (T,L,0,1) (R,T,0,0)
 * (L,T,0,-1); mean n_syn 38, 3, 5, 2, 1, 7, 2.5, 1.
 */
export const TINY_EDGES: readonly EdgeSpec[] = [
  { source: 0, target: 2, sign: -1, n_syn: 40 }, // R->L du 0 dv 0
  { source: 1, target: 3, sign: -1, n_syn: 36 }, // R->L du 0 dv 0
  { source: 1, target: 2, sign: -1, n_syn: 3 }, //  R->L du -1 dv 0
  { source: 2, target: 5, sign: 1, n_syn: 5 }, //   L->T du 0 dv 0
  { source: 0, target: 3, sign: -1, n_syn: 2 }, //  R->L du 1 dv 0
  { source: 3, target: 5, sign: 1, n_syn: 1 }, //   L->T du -1 dv 0
  { source: 5, target: 4, sign: -1, n_syn: 7 }, //  T->L du 0 dv 1
  { source: 0, target: 5, sign: 1, n_syn: 2.5 }, // R->T du 0 dv 0
  { source: 4, target: 5, sign: 1, n_syn: 1 }, //   L->T du 0 dv -1
];

export const tinyConnectome = (): Connectome => makeConnectome(TINY_NODES, TINY_EDGES, ['L', 'R', 'T']);

/** Deep-freezes plain data (for checking that configs are never mutated). */
export function deepFreeze<T>(x: T): T {
  if (typeof x === 'object' && x !== null) {
    for (const v of Object.values(x)) deepFreeze(v);
    Object.freeze(x);
  }
  return x;
}
