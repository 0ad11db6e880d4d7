// Decoding a parsed connectome JSON document into a `ConnectomeSpec` with fp-ts validation:
// every problem is collected (not just the first), each named by its path inside the file
// (`edges[12].offsets[3]: expected [[du, dv], n_syn], got ...`). Linear in the document's size:
// lists are decoded in one pass (fp-ts's traverse re-copies the accumulated array at every
// element), and previews of offending values stop after a few dozen characters.
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

/**
 * Decodes every element of a list with `item`, collecting the problems of all of them: one
 * pass, linear in the list's length (fp-ts's `traverseWithIndex` over the validation
 * applicative appends by copying, which is quadratic: 50,000 offsets took 23 s).
 */
const each =
  <A>(item: (i: number, x: unknown) => Decoded<A>) =>
  (xs: readonly unknown[]): Decoded<readonly A[]> => {
    const out: A[] = [];
    const problems: string[] = [];
    for (let i = 0; i < xs.length; i++) {
      const d = item(i, xs[i]);
      if (E.isRight(d)) out.push(d.right);
      else for (const p of d.left) problems.push(p);
    }
    return RA.isNonEmpty(problems) ? E.left(problems) : E.right(out);
  };

const PREVIEW_CHARS = 60;

/**
 * A short rendering of an offending value for error messages: its JSON, cut at 60 characters.
 * The rendering stops as soon as it is long enough, so a huge or deeply nested value costs no
 * more than a short one (JSON.stringify would walk all of it, and overflow the stack on deep
 * nesting).
 */
function preview(x: unknown): string {
  if (x === undefined) return 'nothing (missing)';
  let s = '';
  const full = (): boolean => s.length > PREVIEW_CHARS;
  const walk = (v: unknown, inArray: boolean): void => {
    if (full()) return;
    if (Array.isArray(v)) {
      s += '[';
      for (let i = 0; i < v.length && !full(); i++) {
        if (i > 0) s += ',';
        walk(v[i], true);
      }
      s += ']';
    } else if (typeof v === 'object' && v !== null) {
      s += '{';
      let first = true;
      for (const k in v) {
        if (full()) break;
        if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
        const value = (v as Record<string, unknown>)[k];
        if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
        s += `${first ? '' : ','}${JSON.stringify(k)}:`;
        first = false;
        walk(value, false);
      }
      s += '}';
    } else {
      s += JSON.stringify(v) ?? (inArray ? 'null' : String(v));
    }
  };
  walk(x, false);
  return s.length > PREVIEW_CHARS ? `${s.slice(0, PREVIEW_CHARS - 3)}...` : s;
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

/**
 * The largest |du| and |dv| accepted: 2^25. Farther offsets connect no cell of any lattice
 * that fits in memory (extent 2^24 has 8e14 nodes), and below it the hull fill's arithmetic
 * (products of coordinate differences) is exact in float64.
 */
export const MAX_OFFSET = 2 ** 25;

function decodeOffset(x: unknown, path: string): Decoded<OffsetSpec> {
  if (Array.isArray(x) && x.length === 2) {
    const [pos, nSyn] = x as [unknown, unknown];
    if (Array.isArray(pos) && pos.length === 2 && pos.every(isInt) && isFiniteNumber(nSyn) && nSyn >= 0) {
      const [du, dv] = pos as [number, number];
      if (Math.abs(du) > MAX_OFFSET || Math.abs(dv) > MAX_OFFSET) {
        return problem(path, `|du|, |dv| <= ${MAX_OFFSET} (2^25; no lattice that fits in memory reaches farther)`, x);
      }
      return E.right({ du, dv, nSyn });
    }
  }
  return problem(path, '[[du, dv], n_syn] (integers du, dv and a finite n_syn >= 0)', x);
}

/**
 * Refuses repeated offsets within one edge type, in one problem for the edge type: flyvis
 * would connect every cell again for each repeat (parallel synapse sets), which no
 * description means; a repeat is a mistake in the file (see docs/graph.md).
 */
function distinctOffsets(offsets: readonly OffsetSpec[], path: string): Decoded<readonly OffsetSpec[]> {
  const firstAt = new Map<string, number>();
  let repeats = 0;
  let example = '';
  offsets.forEach((o, i) => {
    const key = `${o.du},${o.dv}`;
    const first = firstAt.get(key);
    if (first === undefined) firstAt.set(key, i);
    else if (repeats++ === 0) example = `${path}[${i}] repeats [${o.du}, ${o.dv}] of ${path}[${first}]`;
  });
  if (repeats === 0) return E.right(offsets);
  const n = repeats === 1 ? 'a repeated offset' : `${repeats.toLocaleString('en-US')} repeated offsets`;
  return E.left([`${path}: expected distinct offsets, got ${n} (${example})`]);
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
          E.chain((offsets) => distinctOffsets(offsets, `${path}.offsets`)),
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
