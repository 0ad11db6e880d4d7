// The compiled graph, as every later stage sees it: struct-of-arrays tables (never arrays of
// objects; extent 15 has 1.5 M edges), with flyvis's column names.

/** A numeric column: one value per row. */
export type NumericColumn = Int32Array | Float32Array | Float64Array;

/** A column of strings (cell types, roles), stored as codes into a list of categories. */
export interface CategoricalColumn {
  readonly kind: 'categorical';
  readonly codes: Int32Array;
  readonly categories: readonly string[];
}

export type Column = NumericColumn | CategoricalColumn;

/** A table: named columns of equal length (flyvis's `nodes` / `edges` directories). */
export interface Table {
  readonly length: number;
  readonly columns: Readonly<Record<string, Column>>;
}

export const isCategorical = (c: Column): c is CategoricalColumn =>
  (c as CategoricalColumn).kind === 'categorical';

/** The value of row `i` of a column: a string for categorical columns, a number otherwise. */
export const cellValue = (c: Column, i: number): string | number =>
  isCategorical(c) ? (c.categories[c.codes[i]!] as string) : (c[i] as number);

/**
 * flyvis's `Connectome` protocol: the minimum a connectome must provide. Nodes need an
 * `index` column; edges need `source_index` and `target_index`. Any other columns (node
 * `type`, `u`, `v`, `role`; edge `sign`, `n_syn`, `source_type`, `du`, ...) are optional here and
 * required only by the parameter types or stimuli that use them.
 */
export interface ConnectomeProtocol {
  readonly nodes: Table;
  readonly edges: Table;
}

/**
 * A connectome as the rest of the library uses it (`ConnectomeFromAvgFilters` provides all of
 * it; `completeConnectome` derives it from a bare protocol implementation).
 *
 * Node columns of ConnectomeFromAvgFilters: index (Int32Array), type (categorical over
 * unique_cell_types), u, v (Int32Array), role (categorical: input | intermediate | output).
 * Edge columns: source_index, target_index (Int32Array), sign, n_syn, n_syn_certainty
 * (Float32Array), source_type, target_type (categorical over unique_cell_types), source_u,
 * target_u, source_v, target_v, du, dv (Int32Array).
 */
export interface Connectome extends ConnectomeProtocol {
  /** Cell types in spec order (flyvis `unique_cell_types`). Empty when nodes have no type. */
  readonly uniqueCellTypes: readonly string[];
  readonly inputCellTypes: readonly string[];
  readonly intermediateCellTypes: readonly string[];
  readonly outputCellTypes: readonly string[];
  /** Node index of the cell at u = v = 0 of each type, in nodes order (flyvis `central_cells_index`). */
  readonly centralCellsIndex: Int32Array;
  /** Each cell type's node indices (flyvis `nodes.layer_index`). */
  readonly layerIndex: ReadonlyMap<string, Int32Array>;
}
