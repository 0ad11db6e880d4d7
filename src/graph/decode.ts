// Decoding a parsed connectome JSON document into a `ConnectomeSpec` with fp-ts validation:
// every problem is collected (not just the first), each named by its path inside the file
// (`edges[12].offsets[3]: expected [[du, dv], n_syn], got ...`).
import * as E from 'fp-ts/lib/Either.js';
import { sequenceS } from 'fp-ts/lib/Apply.js';
import { pipe } from 'fp-ts/lib/function.js';
import * as RA from 'fp-ts/lib/ReadonlyArray.js';
import * as RNEA from 'fp-ts/lib/ReadonlyNonEmptyArray.js';
import type { ConnectomeSpec, EdgeSpec, NodePattern, NodeSpec, OffsetSpec } from './spec.ts';

type Problems = RNEA.ReadonlyNonEmptyArray<string>;
type Decoded<A> = E.Either<Problems, A>;
type JsonObject = Readonly<Record<string, unknown>>;

/** Accumulates problems from independent parts instead of stopping at the first. */
const V = E.getApplicativeValidation(RNEA.getSemigroup<string>());
const all = sequenceS(V);
const each = RA.traverseWithIndex(V);

/** A short rendering of an offending value for error messages. */
function preview(x: unknown): string {
  if (x === undefined) return 'nothing (missing)';
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A one-problem failure; pass the offending value (even `undefined`) to have it shown. */
const problem = (path: string, expected: string, ...got: [unknown?]): Decoded<never> =>
  E.left([`${path}: expected ${expected}${got.length > 0 ? `, got ${preview(got[0])}` : ''}`]);

const isObject = (x: unknown): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x);
const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x);
const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isPositiveInt = (x: unknown): x is number => isInt(x) && x > 0;

function field(obj: JsonObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function object(x: unknown, path: string, what: string): Decoded<JsonObject> {
  return isObject(x) ? E.right(x) : problem(path, what, x);
}

function array(x: unknown, path: string, what: string): Decoded<readonly unknown[]> {
  return Array.isArray(x) ? E.right(x) : problem(path, what, x);
}

function nonEmptyString(x: unknown, path: string): Decoded<string> {
  return typeof x === 'string' && x.length > 0 ? E.right(x) : problem(path, 'a non-empty string', x);
}

function finiteNumber(x: unknown, path: string): Decoded<number> {
  return isFiniteNumber(x) ? E.right(x) : problem(path, 'a finite number', x);
}

const PATTERN_EXPECTED = '["stride", [su, sv]], ["tile", n] or ["single", null] with positive integer strides';

function decodePattern(x: unknown, path: string): Decoded<NodePattern> {
  if (Array.isArray(x) && x.length === 2) {
    const [kind, args] = x as [unknown, unknown];
    if (kind === 'stride' && Array.isArray(args) && args.length === 2 && args.every(isPositiveInt)) {
      return E.right({ kind: 'stride', uStride: args[0] as number, vStride: args[1] as number });
    }
    if (kind === 'tile' && isPositiveInt(args)) return E.right({ kind: 'tile', stride: args });
    if (kind === 'single' && args === null) return E.right({ kind: 'single' });
  }
  return problem(path, PATTERN_EXPECTED, x);
}

function decodeNode(x: unknown, path: string): Decoded<NodeSpec> {
  return pipe(
    object(x, path, 'an object with name and pattern'),
    E.chain((o) =>
      all({
        name: nonEmptyString(field(o, 'name'), `${path}.name`),
        pattern: decodePattern(field(o, 'pattern'), `${path}.pattern`),
        raw: V.of(o),
      }),
    ),
  );
}

function decodeOffset(x: unknown, path: string): Decoded<OffsetSpec> {
  if (Array.isArray(x) && x.length === 2) {
    const [pos, nSyn] = x as [unknown, unknown];
    if (Array.isArray(pos) && pos.length === 2 && pos.every(isInt) && isFiniteNumber(nSyn) && nSyn >= 0) {
      return E.right({ du: pos[0] as number, dv: pos[1] as number, nSyn });
    }
  }
  return problem(path, '[[du, dv], n_syn] (integers du, dv and a finite n_syn >= 0)', x);
}

function decodeEdge(x: unknown, path: string): Decoded<EdgeSpec> {
  return pipe(
    object(x, path, 'an object with src, tar, alpha, offsets and lambda_mult'),
    E.chain((o) =>
      all({
        src: nonEmptyString(field(o, 'src'), `${path}.src`),
        tar: nonEmptyString(field(o, 'tar'), `${path}.tar`),
        alpha: finiteNumber(field(o, 'alpha'), `${path}.alpha`),
        offsets: pipe(
          array(field(o, 'offsets'), `${path}.offsets`, 'a list of [[du, dv], n_syn]'),
          E.chain(each((i, off) => decodeOffset(off, `${path}.offsets[${i}]`))),
        ),
        lambdaMult: finiteNumber(field(o, 'lambda_mult'), `${path}.lambda_mult`),
        raw: V.of(o),
      }),
    ),
  );
}

function listOf<A>(
  x: unknown,
  path: string,
  what: string,
  item: (x: unknown, path: string) => Decoded<A>,
): Decoded<readonly A[]> {
  return pipe(
    array(x, path, what),
    E.chain(each((i, el) => item(el, `${path}[${i}]`))),
  );
}

/** A referenced name worth checking: a non-empty string (other values are structural problems). */
const nameOf = (x: unknown): string | undefined => (typeof x === 'string' && x.length > 0 ? x : undefined);

/**
 * Cross-reference checks, run on the raw document so that they are reported alongside any
 * structural problems: cell type names are unique, and every referenced cell type exists.
 */
function referenceProblems(o: JsonObject): readonly string[] {
  const nodes = field(o, 'nodes');
  if (!Array.isArray(nodes)) return [];
  const problems: string[] = [];
  const firstAt = new Map<string, number>();
  nodes.forEach((n: unknown, i) => {
    const name = isObject(n) ? nameOf(field(n, 'name')) : undefined;
    if (name === undefined) return;
    const first = firstAt.get(name);
    if (first === undefined) firstAt.set(name, i);
    else problems.push(`nodes[${i}].name: duplicate cell type '${name}' (first at nodes[${first}])`);
  });
  const check = (x: unknown, path: string): void => {
    const name = nameOf(x);
    if (name !== undefined && !firstAt.has(name)) problems.push(`${path}: unknown cell type '${name}'`);
  };
  const edges = field(o, 'edges');
  if (Array.isArray(edges)) {
    edges.forEach((e: unknown, i) => {
      if (!isObject(e)) return;
      check(field(e, 'src'), `edges[${i}].src`);
      check(field(e, 'tar'), `edges[${i}].tar`);
    });
  }
  for (const key of ['input_units', 'output_units']) {
    const units = field(o, key);
    if (Array.isArray(units)) units.forEach((t: unknown, i) => check(t, `${key}[${i}]`));
  }
  return problems;
}

/**
 * Decodes a parsed connectome document (flyvis's JSON schema) into typed values.
 *
 * Returns `Left` with every problem found, each prefixed by its path inside the document, e.g.
 * `edges[12].offsets[3]: expected [[du, dv], n_syn] ...` or `edges[4].src: unknown cell type 'Xyz'`;
 * `Right` with the spec otherwise. Keys beyond the schema are kept in each entry's `raw`.
 */
export function decodeConnectomeSpec(json: unknown): E.Either<readonly string[], ConnectomeSpec> {
  return pipe(
    object(json, '(root)', 'a JSON object with nodes, edges, input_units and output_units'),
    E.chain((o) => {
      const structure = all({
        nodes: pipe(
          listOf(field(o, 'nodes'), 'nodes', 'a list of cell types', decodeNode),
          E.chain((ns) => (ns.length > 0 ? E.right(ns) : problem('nodes', 'at least one cell type'))),
        ),
        edges: listOf(field(o, 'edges'), 'edges', 'a list of edge types', decodeEdge),
        inputUnits: listOf(field(o, 'input_units'), 'input_units', 'a list of cell type names', nonEmptyString),
        outputUnits: listOf(field(o, 'output_units'), 'output_units', 'a list of cell type names', nonEmptyString),
        raw: V.of(o),
      });
      const references = referenceProblems(o);
      if (!RA.isNonEmpty(references)) return structure;
      return E.left(E.isLeft(structure) ? RNEA.concat(structure.left, references) : references);
    }),
  );
}
