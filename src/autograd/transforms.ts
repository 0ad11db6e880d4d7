// The functional surface: grad(f) and valueAndGrad(f) over functions of a parameter tree (a
// Tensor, or nested records / arrays of Tensors), returning gradients of the same structure;
// gradAsync and valueAndGradAsync for asynchronous f (simulations on a device that reads back
// asynchronously) and asynchronous VJPs.
import { Tape, backward, backwardAsync, trackLeaf, withFrame, withTapeAsync } from './tape.ts';
import { AutogradError, Tensor, formatShape, zeros } from './tensor.ts';

/** A parameter set: a Tensor, or records / arrays of parameter sets (nested). */
export type ParamTree = Tensor | readonly ParamTree[] | { readonly [key: string]: ParamTree };

/**
 * The constraint the transforms put on their parameter type P: a Tensor, or an object (record,
 * interface or array) whose members are Tensors or objects. Unlike ParamTree it accepts
 * interfaces (which have no index signature); deeper levels are checked when called, with an
 * error naming the path of any member that is not a Tensor.
 */
export type TensorTree<P> = Tensor | { readonly [K in keyof P]: Tensor | object };

export interface ValueAndGrad<P> {
  /** f's output (a constant: it shares data with f's result but records nothing). */
  readonly value: Tensor;
  /** d value / d params, shaped and typed like params (zeros where f does not depend on it). */
  readonly grads: P;
}

/** Collects the tensors of a tree in a fixed order, naming the path of anything that is not one. */
function flatten(tree: unknown, path: string, out: Tensor[], what: string): void {
  if (tree instanceof Tensor) out.push(tree);
  else if (Array.isArray(tree)) tree.forEach((t, i) => flatten(t, `${path}[${i}]`, out, what));
  else if (tree !== null && typeof tree === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(tree))) {
    for (const [k, v] of Object.entries(tree)) flatten(v, `${path}.${k}`, out, what);
  } else {
    throw new AutogradError(`${what}: ${path} must be a Tensor or a record / array of Tensors, got ${tree === null ? 'null' : typeof tree}`);
  }
}

/** Rebuilds the structure of `tree` from leaves in flatten's order. */
function unflatten<P>(tree: P, leaves: readonly Tensor[]): P {
  let i = 0;
  const build = (t: unknown): unknown => {
    if (t instanceof Tensor) return leaves[i++];
    if (Array.isArray(t)) return t.map(build);
    return Object.fromEntries(Object.entries(t as object).map(([k, v]) => [k, build(v)]));
  };
  return build(tree) as P;
}

/**
 * Returns a function computing f(params, ...rest) and its gradient with respect to params.
 * f must return a one-element tensor. rest is passed through untouched (constants). The
 * caller's tensors are never marked: f receives fresh tensors that share their data.
 *
 * Re-entrancy: inside noGrad, valueAndGrad still differentiates (it opens its own tape). Inside
 * another valueAndGrad's f, the inner call is independent: its results are constants to the
 * outer one, and using a tensor tracked by the outer call in the inner f is an error (no
 * higher-order gradients) unless the inner call runs inside noGrad, which makes it a constant.
 */
export function valueAndGrad<P extends TensorTree<P>, R extends unknown[]>(
  f: (params: P, ...rest: R) => Tensor,
): (params: P, ...rest: R) => ValueAndGrad<P> {
  return (params, ...rest) => {
    const { tape, leaves, tracked } = open(params);
    const out = checkOutput('valueAndGrad', withFrame(tape, () => f(tracked, ...rest)));
    return result(params, leaves, out, backward(out, tape, leaves.length));
  };
}

/** Like valueAndGrad, returning only the gradients. */
export function grad<P extends TensorTree<P>, R extends unknown[]>(f: (params: P, ...rest: R) => Tensor): (params: P, ...rest: R) => P {
  const vg = valueAndGrad(f);
  return (params, ...rest) => vg(params, ...rest).grads;
}

/**
 * valueAndGrad for an asynchronous f (one that awaits a simulation on a device that reads back
 * asynchronously, e.g. `await network.simulateAsync(movie, dt, { params: p, grad: true })`) and
 * for ops whose VJP is asynchronous (the reverse pass awaits them). f's tape stays on the
 * recording stack for the whole awaited call, so ops after an await record as usual. That stack is
 * shared by everything running meanwhile: one valueAndGradAsync at a time (a second one started
 * while one runs, concurrently or nested in its f, is refused). A synchronous f works too.
 */
export function valueAndGradAsync<P extends TensorTree<P>, R extends unknown[]>(
  f: (params: P, ...rest: R) => Tensor | Promise<Tensor>,
): (params: P, ...rest: R) => Promise<ValueAndGrad<P>> {
  return (params, ...rest) => {
    let opened: { tape: Tape; leaves: Tensor[]; tracked: P };
    try {
      opened = open(params, 'valueAndGradAsync');
    } catch (e) {
      return Promise.reject(e);
    }
    const { tape, leaves, tracked } = opened;
    return withTapeAsync('valueAndGradAsync', tape, async (record) => {
      const out = checkOutput('valueAndGradAsync', await record(() => f(tracked, ...rest)));
      return result(params, leaves, out, await backwardAsync(out, tape, leaves.length));
    });
  };
}

/** Like valueAndGradAsync, returning only the gradients. */
export function gradAsync<P extends TensorTree<P>, R extends unknown[]>(
  f: (params: P, ...rest: R) => Tensor | Promise<Tensor>,
): (params: P, ...rest: R) => Promise<P> {
  const vg = valueAndGradAsync(f);
  return async (params, ...rest) => (await vg(params, ...rest)).grads;
}

/** A new tape with params' tensors as its leaves, and the tracked copies f gets. */
function open<P>(params: P, what = 'valueAndGrad'): { tape: Tape; leaves: Tensor[]; tracked: P } {
  const leaves: Tensor[] = [];
  flatten(params, 'params', leaves, what);
  const tape = new Tape();
  return { tape, leaves, tracked: unflatten(params, leaves.map((t, i) => trackLeaf(t, tape, i))) };
}

function checkOutput(what: string, out: unknown): Tensor {
  if (out instanceof Promise) {
    out.catch(() => {}); // refused: its failure is not reported twice
    throw new AutogradError(`${what}: f returned a Promise (an async f): use valueAndGradAsync or gradAsync`);
  }
  if (!(out instanceof Tensor)) throw new AutogradError(`${what}: f must return a Tensor, got ${out === null ? 'null' : typeof out}`);
  if (out.size !== 1) throw new AutogradError(`${what}: f must return a scalar (one-element) tensor, got shape ${formatShape(out.shape)}`);
  return out;
}

/** The value and the gradients, shaped like params, each in a buffer of its own. */
function result<P>(params: P, leaves: readonly Tensor[], out: Tensor, leafGrads: readonly (Tensor | null)[]): ValueAndGrad<P> {
  // Each gradient gets its own buffer, shared with no other gradient or parameter: callers
  // (optimizers) may update them in place.
  const handedOut = new Set<ArrayBufferLike>(leaves.map((p) => p.data.buffer));
  const grads = leaves.map((p, i) => {
    const g = leafGrads[i];
    if (!g) return zeros(p.shape, p.dtype);
    const own = handedOut.has(g.data.buffer) ? new Tensor(g.data.slice(), g.shape) : g;
    handedOut.add(own.data.buffer);
    return own;
  });
  return { value: new Tensor(out.data, out.shape), grads: unflatten(params, grads) };
}
