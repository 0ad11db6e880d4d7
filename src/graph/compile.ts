// flyvis's `ConnectomeFromAvgFilters`: compiles a connectome description into the graph flyvis
// builds, node for node and edge for edge in flyvis's order.
import {
  BYTES_PER_EDGE,
  BYTES_PER_NODE,
  BYTES_PER_OFFSET,
  checkMemory,
  estimateNodes,
  formatCount,
  latticePoints,
  type BudgetOptions,
} from '../budget.ts';
import { buildEdgeColumns, type EdgeRun, type NodeLayout } from './build-edges.ts';
import { intermediateCellTypes, ROLES, roleOf } from './cell-types.ts';
import { centralCellsIndexOf, layerIndexOf } from './derive.ts';
import { connectedOffsets, fillScanPoints } from './hull.ts';
import { onHexLattice, patternPositions } from './lattice.ts';
import { loadConnectomeSpec } from './load.ts';
import type { ConnectomeSpec } from './spec.ts';
import { categorical, makeTable } from './table.ts';
import type { CategoricalColumn, Connectome, Table } from './types.ts';

/** Compilation options (flyvis's `extent` and `n_syn_fill`). */
export interface CompileOptions {
  /** The lattice radius, in columns (default 15). */
  readonly extent?: number;
  /** The synapse count given to hull-filled offsets; 0 disables the fill (default 1). */
  readonly nSynFill?: number;
  /** The memory budget (default: the environment's, see src/budget.ts). */
  readonly budget?: BudgetOptions;
}

/** Defaults (extent 15, n_syn_fill 1) and validation of either argument form. */
function resolveOptions(extentOrOptions: number | CompileOptions | undefined, nSynFillArg: number | undefined) {
  const o = typeof extentOrOptions === 'object' ? extentOrOptions : { extent: extentOrOptions, nSynFill: nSynFillArg };
  const extent = o.extent ?? 15;
  const nSynFill = o.nSynFill ?? 1;
  if (!Number.isSafeInteger(extent) || extent < 0) {
    throw new RangeError(`extent: expected a non-negative integer, got ${String(extent)}`);
  }
  if (typeof nSynFill !== 'number' || !Number.isFinite(nSynFill) || nSynFill < 0) {
    throw new RangeError(`n_syn_fill: expected a finite number >= 0, got ${String(nSynFill)}`);
  }
  return { extent, nSynFill, ...('budget' in o && o.budget !== undefined ? { budget: o.budget } : {}) };
}

/** Refuses an extent whose lattice would not fit the memory budget, before building anything. */
function checkNodes(spec: ConnectomeSpec, extent: number, budget: BudgetOptions | undefined): void {
  const types = spec.nodes.map((n) => ({ single: n.pattern.kind === 'single' }));
  const nodes = estimateNodes(types, extent);
  const spread = types.filter((t) => !t.single).length;
  checkMemory(
    `extent ${extent}: ${spread} cell types on ${formatCount(latticePoints(extent))} lattice points give up to ${formatCount(nodes)} nodes`,
    nodes * BYTES_PER_NODE,
    budget,
  );
}

/**
 * Refuses hull fills that would scan more offsets than the budget allows, before filling
 * (each edge type's bounding box, clipped to the offsets that can connect cells).
 */
function checkFill(spec: ConnectomeSpec, nSynFill: number, window: number, budget: BudgetOptions | undefined): void {
  let offsets = 0;
  let largest = { points: -1, at: 0 };
  spec.edges.forEach((e, i) => {
    const points = fillScanPoints(e.offsets, nSynFill, window);
    offsets += e.offsets.length + points;
    if (points > largest.points) largest = { points, at: i };
  });
  checkMemory(
    `hull fill: ${spec.edges.length} edge types give up to ${formatCount(offsets)} offsets (edges[${largest.at}] alone ${formatCount(largest.points)})`,
    offsets * BYTES_PER_OFFSET,
    budget,
  );
}

/** Refuses edge sets above the budget: each run connects at most min(#source, #target) cells. */
function checkEdges(layout: NodeLayout, runs: readonly EdgeRun[], extent: number, budget: BudgetOptions | undefined): void {
  const count = (t: number): number => layout.typeEnd[t]! - layout.typeStart[t]!;
  let edges = 0;
  for (const r of runs) edges += Math.min(count(r.src), count(r.tar));
  checkMemory(
    `extent ${extent}: ${formatCount(runs.length)} (edge type, offset) pairs connect up to ${formatCount(edges)} edges`,
    edges * BYTES_PER_EDGE,
    budget,
  );
}

/** Nodes: each cell type's lattice positions, types in spec order. */
function buildNodes(spec: ConnectomeSpec, extent: number): { layout: NodeLayout; nodes: Table; type: CategoricalColumn } {
  const cellTypes = spec.nodes.map((n) => n.name);
  const positions = spec.nodes.map((n) => patternPositions(n.pattern, extent));
  const typeStart = new Int32Array(cellTypes.length);
  const typeEnd = new Int32Array(cellTypes.length);
  let total = 0;
  positions.forEach((p, t) => {
    typeStart[t] = total;
    total += p.u.length;
    typeEnd[t] = total;
  });
  const u = new Int32Array(total);
  const v = new Int32Array(total);
  const type = new Int32Array(total);
  const role = new Int32Array(total);
  const inputs = new Set(spec.inputUnits);
  const outputs = new Set(spec.outputUnits);
  positions.forEach((p, t) => {
    u.set(p.u, typeStart[t]);
    v.set(p.v, typeStart[t]);
    type.fill(t, typeStart[t], typeEnd[t]);
    role.fill(ROLES.indexOf(roleOf(cellTypes[t]!, inputs, outputs)), typeStart[t], typeEnd[t]);
  });
  const index = Int32Array.from({ length: total }, (_, i) => i);
  const typeColumn = categorical(type, cellTypes);
  const nodes = makeTable('nodes', { index, type: typeColumn, u, v, role: categorical(role, ROLES) });
  return { layout: { extent, u, v, typeStart, typeEnd, cellTypes }, nodes, type: typeColumn };
}

/**
 * One run per (edge type, connected offset), in spec order. Offsets beyond 2 * extent (in
 * |du|, |dv| or |du + dv|) connect no cells at this extent: they are neither filled nor kept,
 * which leaves the graph exactly as flyvis builds it.
 */
function edgeRuns(spec: ConnectomeSpec, extent: number, nSynFill: number, budget: BudgetOptions | undefined): EdgeRun[] {
  const window = 2 * extent;
  checkFill(spec, nSynFill, window, budget);
  const code = new Map(spec.nodes.map((n, t) => [n.name, t]));
  const typeCode = (name: string, path: string): number => {
    const t = code.get(name);
    if (t === undefined) throw new RangeError(`${path}: unknown cell type '${name}'`);
    return t;
  };
  return spec.edges.flatMap((e, i) => {
    const src = typeCode(e.src, `edges[${i}].src`);
    const tar = typeCode(e.tar, `edges[${i}].tar`);
    const offsets = connectedOffsets(e.offsets, nSynFill, { window, ...(budget ? { budget } : {}) });
    return offsets.filter((o) => onHexLattice(o.du, o.dv, window)).map((o) => ({
      src,
      tar,
      du: o.du,
      dv: o.dv,
      sign: e.alpha,
      nSyn: o.nSyn,
      nSynCertainty: e.lambdaMult,
    }));
  });
}

/**
 * Compiles a decoded connectome description at lattice radius `extent`, filling the convex
 * hull of each edge type's offsets (3 or more reported) with `nSynFill` synapses, exactly as
 * flyvis's `ConnectomeFromAvgFilters` does. Throws RangeError for a negative or fractional
 * extent or a negative / non-finite nSynFill, and `BudgetError` (before the work) when the
 * nodes, the hull fill or the edges would not fit the memory budget (src/budget.ts).
 */
export function compileConnectome(spec: ConnectomeSpec, extent?: number, nSynFill?: number): Connectome;
export function compileConnectome(spec: ConnectomeSpec, options: CompileOptions): Connectome;
export function compileConnectome(
  spec: ConnectomeSpec,
  extentOrOptions?: number | CompileOptions,
  nSynFillArg?: number,
): Connectome {
  const { extent, nSynFill, budget } = resolveOptions(extentOrOptions, nSynFillArg);
  checkNodes(spec, extent, budget);
  const { layout, nodes, type } = buildNodes(spec, extent);
  const runs = edgeRuns(spec, extent, nSynFill, budget);
  checkEdges(layout, runs, extent, budget);
  const edges = makeTable('edges', buildEdgeColumns(layout, runs));
  const uniqueCellTypes = layout.cellTypes;
  return {
    nodes,
    edges,
    uniqueCellTypes,
    inputCellTypes: [...spec.inputUnits],
    intermediateCellTypes: intermediateCellTypes(uniqueCellTypes, spec.inputUnits, spec.outputUnits),
    outputCellTypes: [...spec.outputUnits],
    centralCellsIndex: centralCellsIndexOf(layout.u, layout.v),
    layerIndex: layerIndexOf(type),
  };
}

/**
 * flyvis's `ConnectomeFromAvgFilters(file, extent, n_syn_fill)`: loads the description in
 * `file` (throws `ConnectomeError` naming the file and every problem) and compiles it.
 */
export function ConnectomeFromAvgFilters(file: string, extent?: number, nSynFill?: number): Connectome;
export function ConnectomeFromAvgFilters(file: string, options: CompileOptions): Connectome;
export function ConnectomeFromAvgFilters(
  file: string,
  extentOrOptions?: number | CompileOptions,
  nSynFill?: number,
): Connectome {
  const options = resolveOptions(extentOrOptions, nSynFill); // bad options fail before any file is read
  return compileConnectome(loadConnectomeSpec(file), options);
}
