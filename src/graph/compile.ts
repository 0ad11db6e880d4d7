// flyvis's `ConnectomeFromAvgFilters`: compiles a connectome description into the graph flyvis
// builds, node for node and edge for edge in flyvis's order.
import { buildEdgeColumns, type EdgeRun, type NodeLayout } from './build-edges.ts';
import { intermediateCellTypes, ROLES, roleOf } from './cell-types.ts';
import { centralCellsIndexOf, layerIndexOf } from './derive.ts';
import { connectedOffsets } from './hull.ts';
import { patternPositions } from './lattice.ts';
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
  return { extent, nSynFill };
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

/** One run per (edge type, connected offset), in spec order. */
function edgeRuns(spec: ConnectomeSpec, nSynFill: number): EdgeRun[] {
  const code = new Map(spec.nodes.map((n, t) => [n.name, t]));
  const typeCode = (name: string, path: string): number => {
    const t = code.get(name);
    if (t === undefined) throw new RangeError(`${path}: unknown cell type '${name}'`);
    return t;
  };
  return spec.edges.flatMap((e, i) => {
    const src = typeCode(e.src, `edges[${i}].src`);
    const tar = typeCode(e.tar, `edges[${i}].tar`);
    return connectedOffsets(e.offsets, nSynFill).map((o) => ({
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
 * extent or a negative / non-finite nSynFill.
 */
export function compileConnectome(spec: ConnectomeSpec, extent?: number, nSynFill?: number): Connectome;
export function compileConnectome(spec: ConnectomeSpec, options: CompileOptions): Connectome;
export function compileConnectome(
  spec: ConnectomeSpec,
  extentOrOptions?: number | CompileOptions,
  nSynFillArg?: number,
): Connectome {
  const { extent, nSynFill } = resolveOptions(extentOrOptions, nSynFillArg);
  const { layout, nodes, type } = buildNodes(spec, extent);
  const edges = makeTable('edges', buildEdgeColumns(layout, edgeRuns(spec, nSynFill)));
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
