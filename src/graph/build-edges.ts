// The hot loops of the compiler: connecting every source cell to the target cell at its
// position plus an offset, straight into typed arrays (no per-edge objects). Edges come in
// runs, one per (edge type, offset), in flyvis's order: runs in edge-spec then offset order,
// and within a run the source cells in node order.
import { categorical } from './table.ts';
import type { Column } from './types.ts';

/** The nodes as the edge builder needs them: positions, and each cell type's contiguous node range. */
export interface NodeLayout {
  readonly extent: number;
  readonly u: Int32Array;
  readonly v: Int32Array;
  /** Node range [typeStart[t], typeEnd[t]) of cell type code t. */
  readonly typeStart: Int32Array;
  readonly typeEnd: Int32Array;
  /** Category names for the type codes. */
  readonly cellTypes: readonly string[];
}

/** One (edge type, offset) pair: every `src` cell connects to the `tar` cell at (u + du, v + dv). */
export interface EdgeRun {
  readonly src: number;
  readonly tar: number;
  readonly du: number;
  readonly dv: number;
  readonly sign: number;
  readonly nSyn: number;
  readonly nSynCertainty: number;
}

/** Dense (u, v) -> node index grids per cell type (-1 where the type has no cell), built on demand. */
function positionLookup(layout: NodeLayout): (type: number) => Int32Array {
  const n = layout.extent;
  const side = 2 * n + 1;
  const grids = new Map<number, Int32Array>();
  return (type) => {
    let grid = grids.get(type);
    if (grid === undefined) {
      grid = new Int32Array(side * side).fill(-1);
      for (let i = layout.typeStart[type]!; i < layout.typeEnd[type]!; i++) {
        grid[(layout.u[i]! + n) * side + layout.v[i]! + n] = i;
      }
      grids.set(type, grid);
    }
    return grid;
  };
}

/** Source and target indices of every edge, and where each run ends. */
function connect(layout: NodeLayout, runs: readonly EdgeRun[]) {
  const { extent: n, u, v, typeStart, typeEnd } = layout;
  const side = 2 * n + 1;
  const gridOf = positionLookup(layout);
  let bound = 0;
  for (const r of runs) bound += typeEnd[r.src]! - typeStart[r.src]!;
  const source = new Int32Array(bound);
  const target = new Int32Array(bound);
  const runEnd = new Int32Array(runs.length);
  let k = 0;
  runs.forEach((r, ri) => {
    const grid = gridOf(r.tar);
    const { du, dv } = r;
    for (let s = typeStart[r.src]!, end = typeEnd[r.src]!; s < end; s++) {
      const tu = u[s]! + du;
      const tv = v[s]! + dv;
      if (tu < -n || tu > n || tv < -n || tv > n) continue;
      const t = grid[(tu + n) * side + tv + n]!;
      if (t >= 0) {
        source[k] = s;
        target[k] = t;
        k++;
      }
    }
    runEnd[ri] = k;
  });
  return { source: source.slice(0, k), target: target.slice(0, k), runEnd };
}

/**
 * The edge columns of flyvis's `ConnectomeFromAvgFilters`: source_index, target_index, sign,
 * n_syn, n_syn_certainty, source_type, target_type, source_u, target_u, source_v, target_v,
 * du, dv.
 */
export function buildEdgeColumns(layout: NodeLayout, runs: readonly EdgeRun[]): Record<string, Column> {
  const { source, target, runEnd } = connect(layout, runs);
  const m = source.length;
  const sign = new Float32Array(m);
  const nSyn = new Float32Array(m);
  const certainty = new Float32Array(m);
  const sourceType = new Int32Array(m);
  const targetType = new Int32Array(m);
  const du = new Int32Array(m);
  const dv = new Int32Array(m);
  runs.forEach((r, ri) => {
    const start = ri === 0 ? 0 : runEnd[ri - 1]!;
    const end = runEnd[ri]!;
    sign.fill(r.sign, start, end);
    nSyn.fill(r.nSyn, start, end);
    certainty.fill(r.nSynCertainty, start, end);
    sourceType.fill(r.src, start, end);
    targetType.fill(r.tar, start, end);
    du.fill(r.du, start, end);
    dv.fill(r.dv, start, end);
  });
  const gather = (from: Int32Array, at: Int32Array): Int32Array => {
    const out = new Int32Array(at.length);
    for (let i = 0; i < at.length; i++) out[i] = from[at[i]!]!;
    return out;
  };
  const columns: Record<string, Column> = {
    source_index: source,
    target_index: target,
    sign,
    n_syn: nSyn,
    n_syn_certainty: certainty,
    source_type: categorical(sourceType, layout.cellTypes),
    target_type: categorical(targetType, layout.cellTypes),
  };
  // flyvis's convenience coordinates of each edge's endpoints: 24 MB at extent 15 that nothing
  // in a simulation reads, so they are gathered from the nodes on first read (then kept).
  const lazy = (name: string, from: Int32Array, at: Int32Array): void => {
    let value: Int32Array | undefined;
    Object.defineProperty(columns, name, { enumerable: true, get: () => (value ??= gather(from, at)) });
  };
  lazy('source_u', layout.u, source);
  lazy('target_u', layout.u, target);
  lazy('source_v', layout.v, source);
  lazy('target_v', layout.v, target);
  columns.du = du;
  columns.dv = dv;
  return columns;
}
