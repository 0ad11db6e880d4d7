// The tape: how ops are recorded and how gradients flow back through them.
//
// Recording is scoped: a transform (valueAndGrad) opens a Tape, wraps its parameters in fresh
// leaf tensors of that tape, and runs f. An op records a Node only when a tape is open and
// one of its inputs belongs to that tape; everything else is a constant. Nodes are attached to
// their output tensors through a WeakMap and point back to their inputs, so the "tape" is just
// the graph reachable from the output: an intermediate nobody holds is garbage collected
// during the forward pass, and nothing outlives the call. Backward visits the nodes reachable
// from the output in decreasing creation order (an explicit topological order, no recursion)
// and drops each node's inputs, output and saved values as soon as its VJP has run.
import { addInPlace } from '../kernels/basic.ts';
import { AutogradError, Tensor, formatShape, ones, sameShape, type FloatArray } from './tensor.ts';

/** What an op's VJP gets besides the output gradient. */
export interface VjpContext<A, S> {
  /** The op's inputs, as given to forward. */
  readonly inputs: readonly Tensor[];
  /** The op's output. */
  readonly out: Tensor;
  readonly attrs: A;
  /** What forward returned as `saved` (undefined when it returned none). */
  readonly saved: S;
  /** needsGrad[i]: whether input i leads to a differentiated parameter (skip the others). */
  readonly needsGrad: readonly boolean[];
}

/**
 * An op: a forward over tensors and constant attributes, and its vector-Jacobian product.
 * forward must not write into its inputs. vjp returns one gradient per input, shaped and typed
 * like that input, or null where the input needs none. Keep `saved` small: anything a VJP can
 * recompute from the inputs (per-edge values from per-node ones) should be recomputed.
 */
export interface OpDefinition<A, S> {
  readonly name: string;
  forward(inputs: readonly Tensor[], attrs: A): { out: Tensor; saved?: S };
  vjp(gOut: Tensor, ctx: VjpContext<A, S>): readonly (Tensor | null)[];
}

export type Op<A> = (inputs: readonly Tensor[], attrs: A) => Tensor;

/** A recording scope, opened by a transform; compared by identity only. */
export class Tape {}

const NO_GRAD = 'no-grad' as const;
type Frame = Tape | typeof NO_GRAD;
const frames: Frame[] = [];

interface Node {
  readonly seq: number;
  readonly tape: Tape;
  readonly name: string;
  /** >= 0: this node is the tape's leaf number `leaf` (a parameter); -1: an op. */
  readonly leaf: number;
  parents: readonly (Node | null)[];
  inputs: readonly Tensor[];
  out: Tensor | null;
  attrs: unknown;
  saved: unknown;
  vjp: ((g: Tensor, ctx: VjpContext<unknown, unknown>) => readonly (Tensor | null)[]) | null;
}

const nodes = new WeakMap<Tensor, Node>();
let nextSeq = 0;

/** Runs fn with `frame` on top of the recording stack. */
export function withFrame<T>(frame: Frame, fn: () => T): T {
  frames.push(frame);
  try {
    return fn();
  } finally {
    frames.pop();
  }
}

/**
 * Runs fn without recording anything: results of ops inside are constants, even when their
 * inputs are tracked by an enclosing valueAndGrad. A valueAndGrad called inside fn still works
 * (it opens its own tape).
 */
export function noGrad<T>(fn: () => T): T {
  return withFrame(NO_GRAD, fn);
}

/** Whether ops called here would be recorded (some valueAndGrad is open and not paused). */
export function isRecording(): boolean {
  return frames.length > 0 && frames[frames.length - 1] !== NO_GRAD;
}

/**
 * The node of input x on the current tape, or null for a constant. A tensor tracked by an
 * enclosing tape that is still recording (no noGrad in between) would need higher-order
 * differentiation, which the engine does not do: that is an error, not a silent zero.
 */
function parentOf(x: Tensor, tape: Tape, op: string): Node | null {
  const node = nodes.get(x);
  if (!node || node.tape === tape) return node ?? null;
  for (let i = frames.length - 2; i >= 0; i--) {
    const f = frames[i];
    if (f === NO_GRAD) return null;
    if (f === node.tape) {
      throw new AutogradError(
        `${op}: an input is tracked by an enclosing valueAndGrad; nested differentiation is not supported (pass it as a parameter of the inner function, or wrap the inner call in noGrad)`,
      );
    }
  }
  return null;
}

/** Defines an op from its forward and VJP; calling the result records it when needed. */
export function defineOp<A = undefined, S = undefined>(def: OpDefinition<A, S>): Op<A> {
  const vjp = def.vjp as Node['vjp'];
  return (inputs, attrs) => {
    const top = frames[frames.length - 1];
    const tape = top instanceof Tape ? top : null;
    const parents = tape ? inputs.map((x) => parentOf(x, tape, def.name)) : null;
    const result = withFrame(NO_GRAD, () => def.forward(inputs, attrs));
    if (!result || !(result.out instanceof Tensor)) throw new AutogradError(`${def.name}: forward must return { out: Tensor }`);
    if (!tape || !parents || parents.every((p) => p === null)) return result.out;
    // A fresh output tensor, so no tensor ever carries two nodes (forward may return an input).
    const out = nodes.has(result.out) || inputs.includes(result.out) ? new Tensor(result.out.data, result.out.shape) : result.out;
    nodes.set(out, {
      seq: nextSeq++, tape, name: def.name, leaf: -1, parents, inputs, out, attrs, saved: result.saved, vjp,
    });
    return out;
  };
}

/** A fresh tensor sharing x's data, tracked as leaf number `index` of the tape. */
export function trackLeaf(x: Tensor, tape: Tape, index: number): Tensor {
  const t = new Tensor(x.data, x.shape);
  nodes.set(t, {
    seq: nextSeq++, tape, name: 'parameter', leaf: index, parents: [], inputs: [], out: null, attrs: undefined, saved: undefined, vjp: null,
  });
  return t;
}

/** Nodes of `tape` reachable from root, latest first (a reverse topological order). */
function reachable(root: Node, tape: Tape): Node[] {
  const seen = new Set<Node>([root]);
  const stack = [root];
  while (stack.length > 0) {
    const n = stack.pop()!;
    for (const p of n.parents) {
      if (p && p.tape === tape && !seen.has(p)) {
        seen.add(p);
        stack.push(p);
      }
    }
  }
  return [...seen].sort((a, b) => b.seq - a.seq);
}

interface Accumulated {
  t: Tensor;
  /** Whether the buffer was allocated here, so it may be added into in place. */
  owned: boolean;
}

function accumulate(grads: Map<Node, Accumulated>, node: Node, g: Tensor): void {
  const prev = grads.get(node);
  if (!prev) grads.set(node, { t: g, owned: false });
  else if (prev.owned) addInPlace(prev.t.data, g.data);
  else {
    const sum = prev.t.data.slice() as FloatArray;
    addInPlace(sum, g.data);
    grads.set(node, { t: new Tensor(sum, prev.t.shape), owned: true });
  }
}

function checkGrad(node: Node, i: number, g: Tensor): void {
  const x = node.inputs[i]!;
  if (!(g instanceof Tensor) || !sameShape(g.shape, x.shape) || g.dtype !== x.dtype) {
    const got = g instanceof Tensor ? `${g.dtype} ${formatShape(g.shape)}` : typeof g;
    throw new AutogradError(`${node.name}: vjp returned a gradient of ${got} for input ${i}, expected ${x.dtype} ${formatShape(x.shape)}`);
  }
}

/**
 * Reverse pass from `out` (a one-element tensor) through the nodes of `tape`: returns the
 * gradient of each leaf (null for leaves the output does not depend on). Frees each node's
 * references once its VJP has run. Runs without recording.
 */
export function backward(out: Tensor, tape: Tape, nLeaves: number): (Tensor | null)[] {
  const leafGrads = new Array<Tensor | null>(nLeaves).fill(null);
  const root = nodes.get(out);
  if (!root || root.tape !== tape) return leafGrads;
  const grads = new Map<Node, Accumulated>([[root, { t: ones(out.shape, out.dtype), owned: true }]]);
  withFrame(NO_GRAD, () => {
    for (const node of reachable(root, tape)) {
      const acc = grads.get(node);
      grads.delete(node);
      if (node.leaf >= 0) {
        if (acc) leafGrads[node.leaf] = acc.t;
        continue;
      }
      if (acc && node.vjp && node.out) {
        const ctx = { inputs: node.inputs, out: node.out, attrs: node.attrs, saved: node.saved, needsGrad: node.parents.map((p) => p !== null) };
        const gIn = node.vjp(acc.t, ctx);
        if (!Array.isArray(gIn) || gIn.length !== node.inputs.length) {
          throw new AutogradError(`${node.name}: vjp must return an array of ${node.inputs.length} gradients (Tensor or null)`);
        }
        node.parents.forEach((p, i) => {
          const g = gIn[i] as Tensor | null | undefined;
          if (!p || g == null) return;
          checkGrad(node, i, g);
          accumulate(grads, p, g);
        });
      }
      release(node);
    }
  });
  return leafGrads;
}

/** Drops what a node keeps for its VJP (after it ran, or when the node is not needed). */
function release(node: Node): void {
  node.parents = [];
  node.inputs = [];
  node.out = null;
  node.attrs = undefined;
  node.saved = undefined;
  node.vjp = null;
}

/** What the recorded graph reachable from a tensor keeps alive. */
export interface GraphStats {
  /** Recorded ops (parameters excluded). */
  readonly ops: number;
  /** Bytes of distinct array buffers held by those ops (inputs, outputs, attrs, saved values). */
  readonly bytes: number;
}

/**
 * Measures the recorded graph behind t (for tests and memory budgeting): what a backward pass
 * from t would have to keep. Zero for a constant or after the backward pass has run.
 */
export function graphStats(t: Tensor): GraphStats {
  const root = nodes.get(t);
  if (!root) return { ops: 0, bytes: 0 };
  const buffers = new Set<ArrayBufferLike>();
  const add = (v: unknown): void => {
    if (v instanceof Tensor) buffers.add(v.data.buffer);
    else if (ArrayBuffer.isView(v)) buffers.add(v.buffer);
  };
  const addShallow = (v: unknown): void => {
    add(v);
    if (v && typeof v === 'object' && !ArrayBuffer.isView(v) && !(v instanceof Tensor)) Object.values(v).forEach(add);
  };
  let ops = 0;
  for (const n of reachable(root, root.tape)) {
    if (n.leaf >= 0 || !n.vjp) continue;
    ops++;
    n.inputs.forEach(add);
    add(n.out);
    addShallow(n.attrs);
    addShallow(n.saved);
  }
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return { ops, bytes };
}
