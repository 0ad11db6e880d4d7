// Grouping rows of a node or edge table by the unique combinations of some columns, in order of
// first appearance (pandas `groupby(..., sort=False)`), without building a string per row: each
// column is coded as small integers and the codes are combined column by column into dense group
// ids through a lookup table (or a Map when the combined key space is large).
import { type Column, type Table, isCategorical } from '../graph/types.ts';
import { ParameterError } from './errors.ts';
import { kahanMeanFloat32 } from './float32-math.ts';

/** Rows of a table grouped by some of its columns. */
export interface Grouping {
  /** The groupby columns, in the order given. */
  readonly columns: readonly string[];
  /** Group of each row (flyvis's scatter indices): 0..nGroups-1, numbered by first appearance. */
  readonly indices: Int32Array;
  readonly nGroups: number;
  /** The first row of each group (its representative: every groupby column has the same value on all its rows). */
  readonly firstRow: Int32Array;
  /** Number of rows in each group. */
  readonly counts: Int32Array;
}

interface Coded {
  readonly codes: Int32Array;
  readonly card: number;
}

/** Dense lookup tables up to this size; beyond it a Map. */
const MAX_TABLE = 1 << 24;

function codeNumeric(values: ArrayLike<number>, fieldPath: string): Coded {
  const n = values.length;
  const codes = new Int32Array(n);
  if (values instanceof Int32Array && n > 0) {
    let min = values[0]!;
    let max = min;
    for (let i = 1; i < n; i++) {
      const x = values[i]!;
      if (x < min) min = x;
      else if (x > max) max = x;
    }
    if (max - min < 1 << 20) {
      for (let i = 0; i < n; i++) codes[i] = values[i]! - min;
      return { codes, card: max - min + 1 };
    }
  }
  const seen = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = values[i]!;
    if (Number.isNaN(x)) throw new ParameterError(fieldPath, `cannot group by NaN (row ${i})`);
    let c = seen.get(x);
    if (c === undefined) {
      c = seen.size;
      seen.set(x, c);
    }
    codes[i] = c;
  }
  return { codes, card: Math.max(seen.size, 1) };
}

function codeColumn(col: Column, fieldPath: string): Coded {
  if (isCategorical(col)) return { codes: col.codes, card: Math.max(col.categories.length, 1) };
  return codeNumeric(col, fieldPath);
}

/** Combines dense codes `prev` (of cardinality prevCard) with a column's codes into dense ids by first appearance. */
function combine(prev: Coded, next: Coded): Coded {
  const n = prev.codes.length;
  const out = new Int32Array(n);
  const a = prev.codes;
  const b = next.codes;
  const stride = next.card;
  let count = 0;
  if (prev.card * stride <= MAX_TABLE) {
    const table = new Int32Array(prev.card * stride).fill(-1);
    for (let i = 0; i < n; i++) {
      const k = a[i]! * stride + b[i]!;
      let id = table[k]!;
      if (id < 0) {
        id = count++;
        table[k] = id;
      }
      out[i] = id;
    }
  } else {
    const map = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const k = a[i]! * stride + b[i]!;
      let id = map.get(k);
      if (id === undefined) {
        id = count++;
        map.set(k, id);
      }
      out[i] = id;
    }
  }
  return { codes: out, card: Math.max(count, 1) };
}

/** Options naming what is grouped, for error messages. */
export interface GroupOptions {
  /** 'nodes' or 'edges' (used in messages). */
  readonly tableName?: string;
  /** Field path of the groupby list, e.g. `node_config.bias.groupby`. */
  readonly path?: string;
}

/** Looks up a column by name; an unknown name is an error naming the field and listing the columns. */
export function requireColumn(table: Table, name: string, fieldPath: string, tableName = 'table'): Column {
  const col = table.columns[name];
  if (col === undefined) {
    const available = Object.keys(table.columns).join(', ');
    throw new ParameterError(fieldPath, `unknown ${tableName} column '${name}' (available: ${available})`);
  }
  return col;
}

/**
 * Groups the rows of `table` by the unique combinations of `columns`, numbered by first
 * appearance. Unknown columns are errors naming the field (`path[i]`).
 */
export function groupRows(table: Table, columns: readonly string[], options: GroupOptions = {}): Grouping {
  const path = options.path ?? 'groupby';
  const n = table.length;
  let acc: Coded = { codes: new Int32Array(n), card: 1 };
  const cols = columns.map((name, i) => requireColumn(table, name, `${path}[${i}]`, options.tableName));
  cols.forEach((col, i) => {
    const rows = isCategorical(col) ? col.codes.length : col.length;
    if (rows !== n) {
      throw new ParameterError(`${path}[${i}]`, `column '${columns[i]}' has ${rows} rows, the table ${n}`);
    }
    acc = combine(acc, codeColumn(col, `${path}[${i}]`));
  });
  if (columns.length === 0) acc = combine(acc, { codes: new Int32Array(n), card: 1 });
  const nGroups = n === 0 ? 0 : acc.card;
  const firstRow = new Int32Array(nGroups).fill(-1);
  const counts = new Int32Array(nGroups);
  const indices = acc.codes;
  for (let i = 0; i < n; i++) {
    const g = indices[i]!;
    if (counts[g] === 0) firstRow[g] = i;
    counts[g]!++;
  }
  return { columns: [...columns], indices, nGroups, firstRow, counts };
}

/**
 * flyvis's `get_scatter_indices`: the group (0..M-1, by first appearance) of every row, e.g.
 * elements A A A B B C D D E give 0 0 0 1 1 2 3 3 4.
 */
export function scatterIndices(table: Table, columns: readonly string[], options: GroupOptions = {}): Int32Array {
  return groupRows(table, columns, options).indices;
}

/**
 * Mean of `values` (one per row) over each group, accumulated in float64. flyvis's means of
 * float32 columns (pandas) are `groupMeanFloat32`'s, which can differ in the last float32 bit.
 */
export function groupMean(grouping: Grouping, values: ArrayLike<number>): Float64Array {
  const sums = new Float64Array(grouping.nGroups);
  const idx = grouping.indices;
  for (let i = 0; i < idx.length; i++) sums[idx[i]!]! += values[i]!;
  for (let g = 0; g < sums.length; g++) sums[g]! /= grouping.counts[g]!;
  return sums;
}

/**
 * Mean of float32 `values` (one per row) over each group as pandas' `groupby(...).mean()` takes
 * it, bit for bit: a Kahan-compensated float32 sum over the rows in table order, divided by the
 * count in float32 (see `kahanMeanFloat32`). This is how flyvis averages the edges' n_syn.
 */
export function groupMeanFloat32(grouping: Grouping, values: ArrayLike<number>): Float32Array {
  return kahanMeanFloat32(grouping.indices, values, grouping.nGroups);
}

/** Gathers one value per row from one value per group: `out[i] = values[indices[i]]`. */
export function gather(values: ArrayLike<number>, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i]!]!;
  return out;
}

/** Edges grouped so that every parameter is constant within a group (see `commonRefinement`). */
export interface Refinement {
  /** The group of each row, numbered by first appearance. */
  readonly index: Int32Array;
  /** The first row of each group. */
  readonly representative: Int32Array;
}

/**
 * The coarsest grouping of rows on which every given scatter-index array is constant: with
 * flyvis's defaults, the synapse-count groups (source type, target type, du, dv) of the edges,
 * since sign and strength are grouped more coarsely. Any value derived elementwise from these
 * parameters (the synapse weight) is then one number per group, which the structured synapse
 * kernels exploit. Uses one of the arrays directly when it refines all the others (the usual
 * case, O(rows) without hashing); otherwise combines them.
 */
export function commonRefinement(indices: readonly Int32Array[], rows: number): Refinement {
  const firstRows = (index: Int32Array): Int32Array => {
    let n = 0;
    for (let r = 0; r < rows; r++) if (index[r]! >= n) n = index[r]! + 1;
    const first = new Int32Array(n).fill(-1);
    for (let r = 0; r < rows; r++) if (first[index[r]!] === -1) first[index[r]!] = r;
    return first;
  };
  const refinesAll = (index: Int32Array, first: Int32Array): boolean =>
    indices.every((other) => {
      if (other === index) return true;
      for (let r = 0; r < rows; r++) if (other[r] !== other[first[index[r]!]!]) return false;
      return true;
    });
  const candidates = indices.map((index) => ({ index, first: firstRows(index) })).sort((a, b) => b.first.length - a.first.length);
  for (const { index, first } of candidates) {
    if (!first.includes(-1) && refinesAll(index, first) && isFirstAppearanceOrder(index, rows)) return { index, representative: first };
  }
  // General case: number the distinct combinations in order of first appearance.
  const index = new Int32Array(rows);
  const ids = new Map<string, number>();
  const representative: number[] = [];
  for (let r = 0; r < rows; r++) {
    const key = indices.map((ix) => ix[r]).join(',');
    let id = ids.get(key);
    if (id === undefined) {
      ids.set(key, (id = representative.length));
      representative.push(r);
    }
    index[r] = id;
  }
  return { index, representative: Int32Array.from(representative) };
}

/** Whether groups are numbered 0, 1, 2, ... in order of first appearance. */
function isFirstAppearanceOrder(index: Int32Array, rows: number): boolean {
  let next = 0;
  for (let r = 0; r < rows; r++) {
    const g = index[r]!;
    if (g > next) return false;
    if (g === next) next++;
  }
  return true;
}
