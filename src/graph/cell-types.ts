// Cell-type lists and roles as flyvis derives them from a connectome description.

/** The role of a cell type: it receives the stimulus, is read out, or neither. */
export type Role = 'input' | 'intermediate' | 'output';

/** The categories of the nodes' `role` column, in this order. */
export const ROLES: readonly Role[] = ['input', 'intermediate', 'output'];

/**
 * flyvis's grouping for `order_node_type_list`: a type joins the group whose pattern matches
 * at its start (R1.., L1.., Lawf1.., Am, C2.., CT1.., Mi1.., T1.., Tm1..; no name can match two
 * of them); unmatched types come last.
 */
const GROUPS: readonly RegExp[] = [
  /^R\d/,
  /^L\d/,
  /^Lawf\d/,
  /^A/,
  /^C\d/,
  /^CT\d/,
  /^Mi\d{1,2}/,
  /^T\d{1,2}/,
  /^Tm.*\d{1,2}/,
];

/**
 * flyvis's numeric sort key: every run of digits is replaced by the *first* run's value,
 * zero-padded to 4 digits ("CT1(M10)" -> "CT0001(M0001)"), so Mi9 sorts before Mi10.
 */
export function numericSortKey(name: string): string {
  const first = /\d+/.exec(name);
  if (first === null) return name;
  const padded = BigInt(first[0]).toString().padStart(4, '0');
  return name.replace(/\d+/g, padded);
}

/** Compares strings by Unicode code points, as Python does. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * flyvis's `order_node_type_list`: cell types grouped by GROUPS (in group order, unmatched
 * last), each group sorted by `numericSortKey`. Types with equal keys keep their given order
 * (flyvis leaves that tie to Python's set order; the spec order is the deterministic choice).
 */
export function orderNodeTypeList(types: readonly string[]): string[] {
  const groups: string[][] = Array.from({ length: GROUPS.length + 1 }, () => []);
  for (const t of types) {
    const g = GROUPS.findIndex((re) => re.test(t));
    groups[g === -1 ? GROUPS.length : g]!.push(t);
  }
  const byKey = (a: string, b: string): number => compareCodePoints(numericSortKey(a), numericSortKey(b));
  return groups.flatMap((g) => [...g].sort(byKey));
}

/** A cell type's role: `output` if it is an output unit, else `input` if an input unit (flyvis's precedence). */
export function roleOf(type: string, inputs: ReadonlySet<string>, outputs: ReadonlySet<string>): Role {
  return outputs.has(type) ? 'output' : inputs.has(type) ? 'input' : 'intermediate';
}

/** flyvis's intermediate cell types: neither input nor output, in `orderNodeTypeList` order. */
export function intermediateCellTypes(
  unique: readonly string[],
  inputs: readonly string[],
  outputs: readonly string[],
): string[] {
  const excluded = new Set([...inputs, ...outputs]);
  return orderNodeTypeList(unique.filter((t) => !excluded.has(t)));
}
