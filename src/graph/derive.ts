// Per-node lookups flyvis derives from the node table: each type's node indices and the
// central cells.
import type { CategoricalColumn, NumericColumn } from './types.ts';

/** flyvis `nodes.layer_index`: for each category (cell type) in order, the indices of its nodes. */
export function layerIndexOf(type: CategoricalColumn): Map<string, Int32Array> {
  const counts = new Int32Array(type.categories.length);
  for (const k of type.codes) counts[k]!++;
  const index = type.categories.map((_, k) => new Int32Array(counts[k]!));
  const fill = new Int32Array(type.categories.length);
  type.codes.forEach((k, i) => {
    index[k]![fill[k]!++] = i;
  });
  return new Map(type.categories.map((name, k) => [name, index[k]!]));
}

/** flyvis `central_cells_index`: the indices of the nodes at u = v = 0, in node order. */
export function centralCellsIndexOf(u: NumericColumn, v: NumericColumn): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < u.length; i++) if (u[i] === 0 && v[i] === 0) out.push(i);
  return Int32Array.from(out);
}
