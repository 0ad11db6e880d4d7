// Building and reading struct-of-arrays tables (types.ts), with errors that name the column.
import { isCategorical, type CategoricalColumn, type Column, type NumericColumn, type Table } from './types.ts';

/** Number of rows of a column. */
export const columnLength = (c: Column): number => (isCategorical(c) ? c.codes.length : c.length);

/** A categorical column over `categories` (codes index into it). */
export const categorical = (codes: Int32Array, categories: readonly string[]): CategoricalColumn => ({
  kind: 'categorical',
  codes,
  categories,
});

/**
 * A table from named columns; `what` names it in errors ('nodes', 'edges'). Throws when the
 * columns differ in length or a categorical code is out of range.
 */
export function makeTable(what: string, columns: Readonly<Record<string, Column>>): Table {
  // Columns computed on first read (getters) are derived from the others and not checked here,
  // so that building a table does not compute them.
  const entries = Object.entries(Object.getOwnPropertyDescriptors(columns))
    .filter(([, d]) => d.get === undefined)
    .map(([name, d]) => [name, d.value as Column] as const);
  const length = entries.length === 0 ? 0 : columnLength(entries[0]![1]);
  for (const [name, c] of entries) {
    if (columnLength(c) !== length) {
      throw new RangeError(`${what}.${name}: expected ${length} rows like ${what}.${entries[0]![0]}, got ${columnLength(c)}`);
    }
    if (isCategorical(c)) {
      const bad = c.codes.findIndex((k) => k < 0 || k >= c.categories.length);
      if (bad !== -1) {
        throw new RangeError(`${what}.${name}[${bad}]: code ${c.codes[bad]} is not one of ${c.categories.length} categories`);
      }
    }
  }
  return { length, columns };
}

/** The numeric column `name` of `table`, or undefined if absent; throws if it is categorical. */
export function numericColumn(table: Table, what: string, name: string): NumericColumn | undefined {
  const c = table.columns[name];
  if (c === undefined) return undefined;
  if (isCategorical(c)) throw new TypeError(`${what}.${name}: expected a numeric column, got a categorical one`);
  return c;
}

/** The numeric column `name` of `table`; throws naming it when absent or categorical. */
export function requireNumericColumn(table: Table, what: string, name: string): NumericColumn {
  const c = numericColumn(table, what, name);
  if (c === undefined) throw new TypeError(`${what}.${name}: missing (required numeric column)`);
  return c;
}

/** The categorical column `name` of `table`, or undefined if absent; throws if it is numeric. */
export function categoricalColumn(table: Table, what: string, name: string): CategoricalColumn | undefined {
  const c = table.columns[name];
  if (c === undefined) return undefined;
  if (!isCategorical(c)) throw new TypeError(`${what}.${name}: expected a categorical column, got a numeric one`);
  return c;
}
