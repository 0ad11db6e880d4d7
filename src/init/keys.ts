// Group keys, as flyvis's `Parameter.keys`: the groupby values of each group's first row, a
// scalar for one key column ('R1') and a tuple for several (['R1', 'L1'] or ['R1', 'L1', 0, 0]).
import { type Table, cellValue } from '../graph/types.ts';
import type { Grouping } from './grouping.ts';

export type KeyPart = string | number;
/** A group's key: one column value, or a tuple of them. */
export type Key = KeyPart | readonly KeyPart[];

/** A canonical string for a key (JSON), used to index keys in maps. */
export const keyId = (key: Key): string => JSON.stringify(key);

/** A key as it reads in messages: `'R1'` or `('R1', 'L1', 0, 0)`, as Python prints it. */
export function formatKey(key: unknown): string {
  const part = (x: unknown): string => (typeof x === 'string' ? `'${x}'` : x === null ? 'None' : String(x));
  return Array.isArray(key) ? `(${key.map(part).join(', ')})` : part(key);
}

/**
 * The order in which groupby columns appear in keys: the columns of `preferred` that are in
 * `groupby` (in `preferred` order), then the rest of `groupby` in its own order.
 */
export function keyColumnOrder(groupby: readonly string[], preferred: readonly string[] = []): string[] {
  const first = preferred.filter((c) => groupby.includes(c));
  return [...first, ...groupby.filter((c) => !first.includes(c))];
}

/** Each group's key from its first row, over `keyColumns` (scalar when there is one column). */
export function groupKeys(table: Table, grouping: Grouping, keyColumns: readonly string[]): Key[] {
  const cols = keyColumns.map((c) => {
    const col = table.columns[c];
    if (col === undefined) throw new Error(`key column '${c}' is not a column of the table`);
    return col;
  });
  const keys: Key[] = [];
  for (let g = 0; g < grouping.nGroups; g++) {
    const row = grouping.firstRow[g]!;
    const parts = cols.map((col) => cellValue(col, row));
    keys.push(parts.length === 1 ? parts[0]! : Object.freeze(parts));
  }
  return keys;
}

/** Key id to group position. */
export function keyIndexMap(keys: readonly Key[]): Map<string, number> {
  const m = new Map<string, number>();
  keys.forEach((k, i) => m.set(keyId(k), i));
  return m;
}
