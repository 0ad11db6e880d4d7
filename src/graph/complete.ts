// Completing a bare connectome (flyvis's `Connectome` protocol: nodes.index, edges.source_index
// and edges.target_index) into the `Connectome` the rest of the library uses.
import { intermediateCellTypes, ROLES } from './cell-types.ts';
import { centralCellsIndexOf, layerIndexOf } from './derive.ts';
import { categoricalColumn, numericColumn, requireNumericColumn } from './table.ts';
import type { CategoricalColumn, Connectome, ConnectomeProtocol, NumericColumn } from './types.ts';

/** Checks the protocol's required columns: integer node indices, edge endpoints among the nodes. */
function checkProtocol(p: ConnectomeProtocol): void {
  const index = requireNumericColumn(p.nodes, 'nodes', 'index');
  const n = p.nodes.length;
  if (index.length !== n) throw new RangeError(`nodes.index: expected ${n} rows (nodes.length), got ${index.length}`);
  for (const name of ['source_index', 'target_index']) {
    const col = requireNumericColumn(p.edges, 'edges', name);
    if (col.length !== p.edges.length) {
      throw new RangeError(`edges.${name}: expected ${p.edges.length} rows (edges.length), got ${col.length}`);
    }
    const bad = col.findIndex((i: number) => !Number.isInteger(i) || i < 0 || i >= n);
    if (bad !== -1) {
      throw new RangeError(`edges.${name}[${bad}]: expected a node index in [0, ${n}), got ${col[bad]}`);
    }
  }
}

/** The cell types whose nodes all have `role`, in cell type order. */
function typesWithRole(type: CategoricalColumn, role: CategoricalColumn | undefined, which: string): string[] {
  if (role === undefined) return [];
  const k = role.categories.indexOf(which);
  const found = new Set<number>();
  type.codes.forEach((t, i) => {
    if (role.codes[i] === k) found.add(t);
  });
  return type.categories.filter((_, t) => found.has(t));
}

const isConnectome = (p: ConnectomeProtocol): p is Connectome =>
  'uniqueCellTypes' in p && 'centralCellsIndex' in p && 'layerIndex' in p;

/**
 * Derives a full `Connectome` from a protocol implementation (returned unchanged if it is one
 * already). Requires nodes.index and edges.source_index / target_index (node indices in range);
 * throws naming the column otherwise. From optional columns: cell types from a categorical
 * nodes.type (its categories, in order; empty lists without it), input / output types from a
 * categorical nodes.role ('input' / 'output' values; intermediate = the rest, in flyvis's order),
 * central cells from nodes.u and nodes.v (empty without them), layer index from nodes.type.
 */
export function completeConnectome(p: ConnectomeProtocol): Connectome {
  checkProtocol(p);
  if (isConnectome(p)) return p;
  const type = categoricalColumn(p.nodes, 'nodes', 'type');
  const role = categoricalColumn(p.nodes, 'nodes', 'role');
  const u: NumericColumn | undefined = numericColumn(p.nodes, 'nodes', 'u');
  const v: NumericColumn | undefined = numericColumn(p.nodes, 'nodes', 'v');
  const uniqueCellTypes = type?.categories ?? [];
  const inputCellTypes = type ? typesWithRole(type, role, ROLES[0]!) : [];
  const outputCellTypes = type ? typesWithRole(type, role, ROLES[2]!) : [];
  return {
    nodes: p.nodes,
    edges: p.edges,
    uniqueCellTypes,
    inputCellTypes,
    intermediateCellTypes: intermediateCellTypes(uniqueCellTypes, inputCellTypes, outputCellTypes),
    outputCellTypes,
    centralCellsIndex: u && v ? centralCellsIndexOf(u, v) : new Int32Array(0),
    layerIndex: type ? layerIndexOf(type) : new Map(),
  };
}
