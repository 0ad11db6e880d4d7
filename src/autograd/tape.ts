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
//
// The asynchronous path (a device that reads results back only asynchronously, WebGPU): an op
// may be recorded from an asynchronous forward (defineAsyncOp: the node is recorded when the
// forward resolves, on the tape that was on top when the op was called), and a VJP may return
// a Promise, which backwardAsync awaits (backward refuses it, naming the op). An asynchronous
// transform keeps its tape on the recording stack for the whole awaited call (withTapeAsync);
// the stack is shared by everything that runs meanwhile, so one such call at a time.
import { addInPlace } from '../kernels/basic.ts';
import { AutogradError, Tensor, assertTensor, formatShape, ones, sameShape, type FloatArray } from './tensor.ts';

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
  /** May return a Promise (a device that reads back asynchronously): backwardAsync awaits it. */
  vjp(gOut: Tensor, ctx: VjpContext<A, S>): VjpResult;
}

/** What a VJP returns: one gradient (or null) per input, or a Promise of them. */
export type VjpResult = readonly (Tensor | null)[] | Promise<readonly (Tensor | null)[]>;

export type Op<A> = (inputs: readonly Tensor[], attrs: A) => Tensor;

/**
 * An op whose forward is asynchronous (it reads its result back from a device). Its inputs
 * reach forward as fresh tensors sharing their data, so nothing forward computes from them is
 * recorded, even after an await. The VJP may be synchronous or return a Promise.
 */
export interface AsyncOpDefinition<A, S> {
  readonly name: string;
  forward(inputs: readonly Tensor[], attrs: A): Promise<{ out: Tensor; saved?: S }>;
  vjp(gOut: Tensor, ctx: VjpContext<A, S>): VjpResult;
}

export type AsyncOp<A> = (inputs: readonly Tensor[], attrs: A) => Promise<Tensor>;

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
  vjp: ((g: Tensor, ctx: VjpContext<unknown, unknown>) => VjpResult) | null;
}

const nodes = new WeakMap<Tensor, Node>();
let nextSeq = 0;

/**
 * Runs fn with `frame` on top of the recording stack. The frame is removed by identity: an
 * asynchronous transform started inside fn (and still running) keeps its own frame.
 */
export function withFrame<T>(frame: Frame, fn: () => T): T {
  frames.push(frame);
  try {
    return fn();
  } finally {
    removeFrame(frame);
  }
}

/** Removes the topmost occurrence of frame. */
function removeFrame(frame: Frame): void {
  const i = frames.lastIndexOf(frame);
  if (i >= 0) frames.splice(i, 1);
}

/** The asynchronous transform running now (its tape), if any. */
let asyncTape: Tape | null = null;

const ONE_AT_A_TIME =
  'one valueAndGradAsync at a time: another one is still running (await it first; concurrent or nested asynchronous differentiation is not supported: the recording stack is shared by everything that runs while one awaits)';

/**
 * Runs the asynchronous `body` as the one asynchronous transform of the moment (`what` names it
 * in errors): `record(fn)` runs fn, which may await, with `tape` on the recording stack for the
 * whole awaited call (pushed before, removed after), so that ops fn runs after an await still
 * record. Everything else that runs while fn awaits sees that stack too: a second asynchronous
 * transform starting meanwhile (concurrent, or nested in fn) is refused, since its ops and fn's
 * would land on each other's tapes. Synchronous frames (noGrad, valueAndGrad) opened meanwhile
 * are closed before fn resumes, so they never interleave with it.
 */
export async function withTapeAsync<T>(
  what: string,
  tape: Tape,
  body: (record: <R>(fn: () => R | Promise<R>) => Promise<R>) => Promise<T>,
): Promise<T> {
  if (asyncTape !== null) throw new AutogradError(`${what}: ${ONE_AT_A_TIME}`);
  asyncTape = tape;
  try {
    return await body(async (fn) => {
      frames.push(tape);
      try {
        return await fn();
      } finally {
        removeFrame(tape);
      }
    });
  } finally {
    asyncTape = null;
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

/** The tape on top of the recording stack and each input's node on it (null: nothing to record). */
function recordingOf(inputs: readonly Tensor[], name: string): { tape: Tape; parents: (Node | null)[] } | null {
  const top = frames[frames.length - 1];
  if (!(top instanceof Tape)) return null;
  const parents = inputs.map((x) => parentOf(x, top, name));
  return parents.every((p) => p === null) ? null : { tape: top, parents };
}

/** The op's output, with its node on `rec.tape` when recording. */
function recorded<A>(
  name: string,
  rec: { tape: Tape; parents: (Node | null)[] } | null,
  inputs: readonly Tensor[],
  attrs: A,
  result: { out: Tensor; saved?: unknown },
  vjp: Node['vjp'],
  also: readonly Tensor[] = [],
): Tensor {
  if (!result || !(result.out instanceof Tensor)) throw new AutogradError(`${name}: forward must return { out: Tensor }`);
  if (rec === null) return result.out;
  // A fresh output tensor, so no tensor ever carries two nodes (forward may return an input).
  const taken = nodes.has(result.out) || inputs.includes(result.out) || also.includes(result.out);
  const out = taken ? new Tensor(result.out.data, result.out.shape) : result.out;
  nodes.set(out, {
    seq: nextSeq++, tape: rec.tape, name, leaf: -1, parents: rec.parents, inputs, out, attrs, saved: result.saved, vjp,
  });
  return out;
}

/** Defines an op from its forward and VJP; calling the result records it when needed. */
export function defineOp<A = undefined, S = undefined>(def: OpDefinition<A, S>): Op<A> {
  const vjp = def.vjp as Node['vjp'];
  return (inputs, attrs) => {
    const rec = recordingOf(inputs, def.name);
    const result = withFrame(NO_GRAD, () => def.forward(inputs, attrs));
    return recorded(def.name, rec, inputs, attrs, result, vjp);
  };
}

/**
 * Defines an op whose forward is asynchronous. Whether it records is decided when it is called
 * (the tape then on top of the recording stack, as for any op); the node is recorded on that
 * tape once forward resolves, so it follows everything its inputs came from.
 */
export function defineAsyncOp<A = undefined, S = undefined>(def: AsyncOpDefinition<A, S>): AsyncOp<A> {
  const vjp = def.vjp as Node['vjp'];
  return (inputs, attrs) => {
    let rec: ReturnType<typeof recordingOf>;
    let detached: Tensor[];
    let pending: Promise<{ out: Tensor; saved?: S }>;
    try {
      inputs.forEach((x, i) => assertTensor(x, def.name, `inputs[${i}]`));
      rec = recordingOf(inputs, def.name);
      detached = inputs.map((x) => new Tensor(x.data, x.shape));
      pending = withFrame(NO_GRAD, () => def.forward(detached, attrs));
    } catch (e) {
      return Promise.reject(e);
    }
    if (!isThenable(pending)) return Promise.reject(new AutogradError(`${def.name}: forward of an asynchronous op must return a Promise`));
    return pending.then((result) => recorded(def.name, rec, inputs, attrs, result, vjp, detached));
  };
}

const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  x !== null && (typeof x === 'object' || typeof x === 'function') && typeof (x as { then?: unknown }).then === 'function';

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

/** A VJP that returned a Promise, handed to the driver of the reverse pass. */
interface PendingVjp {
  readonly op: string;
  readonly result: PromiseLike<readonly (Tensor | null)[]>;
}

/**
 * The reverse pass from `out` (a one-element tensor) through the nodes of `tape`, written once for
 * both drivers: it yields each VJP that returned a Promise and continues with what it resolved to.
 * Returns the gradient of each leaf (null for leaves the output does not depend on); frees each
 * node's references once its VJP has run. VJPs run without recording.
 */
function* reverse(out: Tensor, tape: Tape, nLeaves: number): Generator<PendingVjp, (Tensor | null)[], readonly (Tensor | null)[]> {
  const leafGrads = new Array<Tensor | null>(nLeaves).fill(null);
  const root = nodes.get(out);
  if (!root || root.tape !== tape) return leafGrads;
  const grads = new Map<Node, Accumulated>([[root, { t: ones(out.shape, out.dtype), owned: true }]]);
  for (const node of reachable(root, tape)) {
    const acc = grads.get(node);
    grads.delete(node);
    if (node.leaf >= 0) {
      if (acc) leafGrads[node.leaf] = acc.t;
      continue;
    }
    if (acc && node.vjp && node.out) {
      const ctx = { inputs: node.inputs, out: node.out, attrs: node.attrs, saved: node.saved, needsGrad: node.parents.map((p) => p !== null) };
      const vjp = node.vjp;
      const returned = withFrame(NO_GRAD, () => vjp(acc.t, ctx));
      const gIn = isThenable(returned) ? yield { op: node.name, result: returned } : returned;
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
  return leafGrads;
}

/**
 * Reverse pass from `out` (a one-element tensor) through the nodes of `tape`: returns the
 * gradient of each leaf (null for leaves the output does not depend on). Frees each node's
 * references once its VJP has run. Runs without recording. An op whose VJP is asynchronous
 * (returns a Promise) is an error naming it: use backwardAsync (valueAndGradAsync).
 */
export function backward(out: Tensor, tape: Tape, nLeaves: number): (Tensor | null)[] {
  const pass = reverse(out, tape, nLeaves);
  const step = pass.next();
  if (step.done) return step.value;
  Promise.resolve(step.value.result).catch(() => {}); // refused below: its failure is not reported twice
  throw new AutogradError(
    `${step.value.op}: its vjp is asynchronous (it returned a Promise; the backend reads back asynchronously): differentiate with valueAndGradAsync or gradAsync`,
  );
}

/** backward, awaiting the VJPs that return a Promise. */
export async function backwardAsync(out: Tensor, tape: Tape, nLeaves: number): Promise<(Tensor | null)[]> {
  const pass = reverse(out, tape, nLeaves);
  let step = pass.next();
  while (!step.done) step = pass.next(await step.value.result);
  return step.value;
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
