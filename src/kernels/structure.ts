// Precomputed index structures the fast synapse kernels run over, built once per edge index:
//
// - CSR (compressed sparse rows) by target and by source, with the permutation from CSR slot to
//   original edge, so that a forward pass writes each output once and gv is a gather too.
// - Runs: maximal stretches of consecutive edges (in original order) whose sources and targets
//   both advance by one node per edge and, when weight groups are given, whose edges share a
//   group. flyvis's connectome generates edges per (edge spec, offset, source node in node
//   order), so at extent 15 its 1,513,231 edges form 70,091 runs (mean length 21.6): a run is
//   `out[t0 + i] += w * act[s0 + i]` for i < len, unit stride and one weight.
import { KernelError, checkLength, type EdgeIndex } from './synapse.ts';

export interface Csr {
  /** ptr[k]..ptr[k + 1] are the slots of row k (rows = nodes), length nNodes + 1. */
  readonly ptr: Int32Array;
  /** The other endpoint of each slot (the source for a by-target CSR). */
  readonly col: Int32Array;
  /** The original edge of each slot. */
  readonly edge: Int32Array;
}

/** CSR of the edges grouped by `rows` (target or source), stable in original edge order. */
export function buildCsr(nNodes: number, rows: Int32Array, cols: Int32Array): Csr {
  const E = rows.length;
  const ptr = new Int32Array(nNodes + 1);
  for (let e = 0; e < E; e++) ptr[rows[e]! + 1]!++;
  for (let k = 0; k < nNodes; k++) ptr[k + 1]! += ptr[k]!;
  const fill = ptr.slice(0, nNodes);
  const col = new Int32Array(E);
  const edge = new Int32Array(E);
  for (let e = 0; e < E; e++) {
    const p = fill[rows[e]!]!++;
    col[p] = cols[e]!;
    edge[p] = e;
  }
  return { ptr, col, edge };
}

export interface Runs {
  readonly count: number;
  /** First original edge of each run (a run's edges are e0 .. e0 + len - 1). */
  readonly e0: Int32Array;
  readonly s0: Int32Array;
  readonly t0: Int32Array;
  readonly len: Int32Array;
  /** Weight group of each run (dense ids 0..nGroups-1), or null without weight groups. */
  readonly group: Int32Array | null;
  readonly nGroups: number;
  /** The dense group id of each given group id's first edge, to read one weight per group. */
  readonly groupFirstEdge: Int32Array | null;
  /** Per-edge dense group id (null without weight groups). */
  readonly edgeGroup: Int32Array | null;
  /** The caller's group id of each dense group. */
  readonly groupIds: Int32Array | null;
  /** max caller group id + 1 (0 without weight groups). */
  readonly groupSlots: number;
}

/**
 * Validates per-edge weight group ids (any non-negative int32; need not be contiguous) and
 * remaps them to dense ids 0..nGroups-1 in order of first appearance.
 */
export function denseGroups(
  weightGroups: Int32Array,
  nEdges: number,
): { dense: Int32Array; nGroups: number; firstEdge: Int32Array; ids: Int32Array; slots: number } {
  checkLength('options.weightGroups', weightGroups, nEdges);
  const map = new Map<number, number>();
  const dense = new Int32Array(nEdges);
  const first: number[] = [];
  for (let e = 0; e < nEdges; e++) {
    const g = weightGroups[e]!;
    if (g < 0) throw new KernelError(`options.weightGroups[${e}] = ${g}: group ids must be non-negative`);
    let d = map.get(g);
    if (d === undefined) {
      d = first.length;
      map.set(g, d);
      first.push(e);
    }
    dense[e] = d;
  }
  const firstEdge = Int32Array.from(first);
  const ids = firstEdge.map((e) => weightGroups[e]!);
  let slots = 0;
  for (const id of ids) slots = Math.max(slots, id + 1);
  return { dense, nGroups: first.length, firstEdge, ids, slots };
}

/** Splits the edges into runs (see the file comment). O(E); about 10 ms at extent 15. */
export function buildRuns(edges: EdgeIndex, weightGroups?: Int32Array): Runs {
  const { source, target } = edges;
  const E = source.length;
  const groups = weightGroups ? denseGroups(weightGroups, E) : null;
  const g = groups?.dense ?? null;
  // First pass: count runs.
  let count = 0;
  for (let e = 0; e < E; e++) {
    if (e === 0 || source[e] !== source[e - 1]! + 1 || target[e] !== target[e - 1]! + 1 || (g !== null && g[e] !== g[e - 1])) count++;
  }
  const e0 = new Int32Array(count);
  const s0 = new Int32Array(count);
  const t0 = new Int32Array(count);
  const len = new Int32Array(count);
  const group = g ? new Int32Array(count) : null;
  let r = -1;
  for (let e = 0; e < E; e++) {
    if (e === 0 || source[e] !== source[e - 1]! + 1 || target[e] !== target[e - 1]! + 1 || (g !== null && g[e] !== g[e - 1])) {
      r++;
      e0[r] = e;
      s0[r] = source[e]!;
      t0[r] = target[e]!;
      if (group) group[r] = g![e]!;
    }
    len[r]!++;
  }
  return { count, e0, s0, t0, len, group, nGroups: groups?.nGroups ?? 0, groupFirstEdge: groups?.firstEdge ?? null, edgeGroup: g,
    groupIds: groups?.ids ?? null, groupSlots: groups?.slots ?? 0 };
}

/**
 * Reads one weight per group from per-edge weights, checking (when `check`) that every edge
 * of a group carries its group's weight: the structured kernels rely on it.
 */
export function groupWeights(runs: Runs, w: Float32Array, check: boolean, out: Float32Array): Float32Array {
  const first = runs.groupFirstEdge!;
  const dense = runs.edgeGroup!;
  for (let k = 0; k < runs.nGroups; k++) out[k] = w[first[k]!]!;
  if (check) {
    for (let e = 0; e < dense.length; e++) {
      const k = dense[e]!;
      const wk = out[k]!;
      const we = w[e]!;
      if (we !== wk && !(we !== we && wk !== wk)) {
        throw new KernelError(
          `synapse weights: edge ${e} has weight ${we} but its weight group's first edge ${first[k]} has ${wk}; ` +
            `options.weightGroups promises equal weights within a group (bind with { checkGroups: false } only when that holds)`,
        );
      }
    }
  }
  return out;
}

/** Sums per-edge values over each weight group (dense ids), e.g. per-edge gw to per-group gw. */
export function sumPerGroup(runs: Runs, gwEdge: Float32Array): Float64Array {
  const out = new Float64Array(runs.nGroups);
  const dense = runs.edgeGroup;
  if (!dense) throw new KernelError('sumPerGroup: the kernel was built without weight groups');
  for (let e = 0; e < dense.length; e++) out[dense[e]!]! += gwEdge[e]!;
  return out;
}
