// The transforms and the tape: structure of gradients, what gets recorded and kept, noGrad and
// re-entrancy, user-defined ops, deep chains.
import { describe, expect, it } from 'vitest';
import * as ag from '../../src/autograd/index.ts';
import { type Tensor, defineOp, graphStats, grad, isRecording, noGrad, tensor, valueAndGrad } from '../../src/autograd/index.ts';

interface Params {
  readonly bias: Tensor;
  readonly layers: readonly { readonly w: Tensor }[];
  readonly unused: Tensor;
}

const f64 = (v: number[], shape?: number[]): Tensor => tensor(v, shape, 'float64');

describe('valueAndGrad', () => {
  const params: Params = {
    bias: f64([1, 2]),
    layers: [{ w: f64([3, 4]) }, { w: f64([-1, 0.5]) }],
    unused: tensor([7, 8, 9]),
  };
  const f = (p: Params, x: Tensor): Tensor => ag.sum(ag.mul(ag.add(ag.mul(p.layers[0]!.w, x), p.bias), p.layers[1]!.w));

  it('returns the value and gradients with the structure, shapes and dtypes of the parameters', () => {
    const x = f64([10, 20]);
    const { value, grads } = valueAndGrad(f)(params, x);
    // sum((w0 x + b) w1) = (30 + 1)(-1) + (80 + 2)(0.5)
    expect(value.item()).toBe(-31 + 41);
    expect(grads.bias.toArray()).toEqual([-1, 0.5]);
    expect(grads.layers[0]!.w.toArray()).toEqual([-10, 10]);
    expect(grads.layers[1]!.w.toArray()).toEqual([31, 82]);
    // a parameter f does not use: zeros of its own shape and dtype
    expect(grads.unused.toArray()).toEqual([0, 0, 0]);
    expect(grads.unused.dtype).toBe('float32');
    expect(grads.bias.dtype).toBe('float64');
    expect(grad(f)(params, x).layers[1]!.w.toArray()).toEqual([31, 82]);
  });

  it('never marks the caller tensors: f gets fresh tensors sharing their data', () => {
    let seen: Tensor | undefined;
    valueAndGrad((p: { a: Tensor }) => {
      seen = p.a;
      expect(isRecording()).toBe(true);
      return ag.sum(p.a);
    })({ a: params.bias });
    expect(seen).not.toBe(params.bias);
    expect(seen!.data).toBe(params.bias.data);
    expect(isRecording()).toBe(false);
    // outside any transform, ops on the caller's tensors record nothing
    expect(graphStats(ag.mul(params.bias, params.bias)).ops).toBe(0);
  });

  it('returns a value that records nothing', () => {
    const { value } = valueAndGrad((p: { a: Tensor }) => ag.sum(ag.square(p.a)))({ a: f64([1, 2]) });
    expect(value.item()).toBe(5);
    expect(graphStats(value).ops).toBe(0);
  });

  it('accumulates a parameter used several times; the same tensor in two places gets two gradients', () => {
    const a = f64([3]);
    const g = grad((p: { a: Tensor }) => ag.sum(ag.add(ag.mul(p.a, p.a), ag.mul(p.a, 2))))({ a });
    expect(g.a.toArray()).toEqual([8]);
    const two = grad((p: { x: Tensor; y: Tensor }) => ag.sum(ag.mul(p.x, 5)))({ x: a, y: a });
    expect(two.x.toArray()).toEqual([5]);
    expect(two.y.toArray()).toEqual([0]);
  });

  it('never accumulates into a gradient buffer that another input shares', () => {
    // add's VJP hands the same buffer to x and y; x then gets a second contribution (from the
    // earlier mul), which must not land in y's gradient
    const g = grad((p: { x: Tensor; y: Tensor }) => {
      const early = ag.mul(p.x, 3);
      const u = ag.add(p.x, p.y);
      return ag.add(ag.sum(ag.mul(u, f64([1, 2]))), ag.sum(early));
    })({ x: f64([0, 0]), y: f64([0, 0]) });
    expect(g.x.toArray()).toEqual([4, 5]);
    expect(g.y.toArray()).toEqual([1, 2]);
  });

  it('gives every gradient its own buffer, never a parameter one', () => {
    const p = { a: f64([1, 2]), b: f64([3, 4]) };
    const g = grad((q: typeof p) => ag.sum(ag.add(q.a, q.b)))(p);
    expect(g.a.data.buffer).not.toBe(g.b.data.buffer);
    g.a.data[0] = 100;
    expect(g.b.toArray()).toEqual([1, 1]);
    // f returning its parameter: the gradient is a fresh ones, not the parameter's buffer
    const s = f64([5]);
    const gs = grad((q: { s: Tensor }) => q.s)({ s });
    expect(gs.s.toArray()).toEqual([1]);
    expect(gs.s.data).not.toBe(s.data);
  });

  it('errors: non-scalar output (with its shape), non-tensor output, non-tensor parameter (with its path)', () => {
    expect(() => valueAndGrad((p: { a: Tensor }) => ag.mul(p.a, 2))({ a: f64([1, 2, 3, 4], [2, 2]) })).toThrow(
      /valueAndGrad: f must return a scalar \(one-element\) tensor, got shape \[2, 2\]/,
    );
    expect(() => valueAndGrad(((p: { a: Tensor }) => p.a.item()) as unknown as (p: { a: Tensor }) => Tensor)({ a: f64([1]) })).toThrow(
      /valueAndGrad: f must return a Tensor, got number/,
    );
    const bad = { a: f64([1]), nested: { b: [f64([1]), 3] } } as unknown as { a: Tensor };
    expect(() => valueAndGrad((p: { a: Tensor }) => ag.sum(p.a))(bad)).toThrow(/valueAndGrad: params.nested.b\[1\] must be a Tensor/);
    // the recording state is restored after f throws
    expect(() =>
      valueAndGrad((p: { a: Tensor }) => {
        throw new Error(`boom ${p.a.size}`);
      })({ a: f64([1]) }),
    ).toThrow(/boom 1/);
    expect(isRecording()).toBe(false);
  });
});

describe('noGrad and re-entrancy', () => {
  const a = f64([2]);

  it('noGrad records nothing: what it computes is a constant to an enclosing valueAndGrad', () => {
    const g = grad((p: { a: Tensor }) => {
      const c = noGrad(() => {
        expect(isRecording()).toBe(false);
        return ag.mul(p.a, 3);
      });
      expect(graphStats(c).ops).toBe(0);
      return ag.sum(ag.mul(p.a, c)); // d(a * const)/da = const = 6, not 12
    })({ a });
    expect(g.a.toArray()).toEqual([6]);
  });

  it('valueAndGrad inside noGrad differentiates normally', () => {
    const g = noGrad(() => grad((p: { a: Tensor }) => ag.sum(ag.square(p.a)))({ a }));
    expect(g.a.toArray()).toEqual([4]);
  });

  it('an inner valueAndGrad is independent, and its results are constants to the outer one', () => {
    const outer = grad((p: { a: Tensor }) => {
      const inner = valueAndGrad((q: { b: Tensor }) => ag.sum(ag.square(q.b)))({ b: f64([3]) });
      expect(inner.grads.b.toArray()).toEqual([6]);
      return ag.sum(ag.mul(p.a, inner.grads.b));
    })({ a });
    expect(outer.a.toArray()).toEqual([6]);
  });

  it('using an outer-tracked tensor inside an inner valueAndGrad is an error (no higher order), unless under noGrad', () => {
    expect(() =>
      grad((p: { a: Tensor }) => {
        const inner = grad((q: { b: Tensor }) => ag.sum(ag.mul(q.b, p.a)))({ b: f64([1]) });
        return ag.sum(inner.b);
      })({ a }),
    ).toThrow(/mul: an input is tracked by an enclosing valueAndGrad; nested differentiation is not supported/);
    const g = grad((p: { a: Tensor }) => {
      const inner = noGrad(() => grad((q: { b: Tensor }) => ag.sum(ag.mul(q.b, p.a)))({ b: f64([1]) }));
      expect(inner.b.toArray()).toEqual([2]);
      return ag.sum(ag.mul(p.a, inner.b));
    })({ a });
    expect(g.a.toArray()).toEqual([2]);
  });

  it('tensors leaked from a finished call are constants later', () => {
    let leaked: Tensor | undefined;
    grad((p: { a: Tensor }) => {
      leaked = ag.mul(p.a, 2);
      return ag.sum(leaked);
    })({ a });
    const g = grad((p: { b: Tensor }) => ag.sum(ag.mul(p.b, leaked!)))({ b: f64([1]) });
    expect(g.b.toArray()).toEqual([4]);
  });
});

describe('memory and depth', () => {
  it('backward releases what each op kept; the graph is measurable before', () => {
    let leaked: Tensor | undefined;
    let before = { ops: 0, bytes: 0 };
    grad((p: { a: Tensor }) => {
      leaked = ag.tanh(ag.mul(p.a, 2));
      const out = ag.sum(ag.square(leaked));
      before = graphStats(out);
      return out;
    })({ a: f64([1, 2, 3]) });
    expect(before.ops).toBe(4);
    expect(before.bytes).toBeGreaterThan(0);
    expect(graphStats(leaked!)).toEqual({ ops: 0, bytes: 0 });
  });

  it('differentiates a 5,000-step chain without recursion', () => {
    const { value, grads } = valueAndGrad((p: { x: Tensor }) => {
      let x = p.x;
      for (let t = 0; t < 5000; t++) x = ag.add(ag.mul(x, 0.999), 0.001);
      return ag.sum(x);
    })({ x: f64([0.5, 2]) });
    grads.x.data.forEach((g) => expect(g).toBeCloseTo(0.999 ** 5000, 12));
    expect(value.item()).toBeCloseTo(2 * (1 - 0.999 ** 5000) + 2.5 * 0.999 ** 5000, 10);
  });
});

describe('defineOp', () => {
  const cube = defineOp<undefined, Float64Array>({
    name: 'cube',
    forward([x]) {
      const out = x!.data.map((v) => v * v * v) as Float64Array;
      return { out: tensor(out, x!.shape), saved: x!.data.map((v) => 3 * v * v) as Float64Array };
    },
    vjp(g, { saved }) {
      return [tensor(g.data.map((v, i) => v * saved[i]!) as Float64Array, g.shape)];
    },
  });

  it('a user op with forward and VJP works inside grad, with what it saved', () => {
    const g = grad((p: { x: Tensor }) => ag.sum(cube([p.x], undefined)))({ x: f64([1, -2]) });
    expect(g.x.toArray()).toEqual([3, 12]);
  });

  it('a VJP gets needsGrad, and an op may return an input as its output', () => {
    const flags: boolean[][] = [];
    const first = defineOp<undefined>({
      name: 'first',
      forward: (inputs) => ({ out: inputs[0]! }),
      vjp(g, { needsGrad }) {
        flags.push([...needsGrad]);
        return [g, null];
      },
    });
    const c = f64([5]);
    const g = grad((p: { x: Tensor }) => ag.sum(ag.mul(first([p.x, c], undefined), 3)))({ x: f64([1]) });
    expect(g.x.toArray()).toEqual([3]);
    expect(flags).toEqual([[true, false]]);
  });

  it('a VJP returning a wrong shape or count is an error naming the op', () => {
    const wrongShape = defineOp<undefined>({ name: 'wrongShape', forward: (i) => ({ out: ag.mul(i[0]!, 1) }), vjp: () => [f64([1, 2, 3])] });
    expect(() => grad((p: { x: Tensor }) => ag.sum(wrongShape([p.x], undefined)))({ x: f64([1, 2]) })).toThrow(
      /wrongShape: vjp returned a gradient of float64 \[3\] for input 0, expected float64 \[2\]/,
    );
    const wrongCount = defineOp<undefined>({ name: 'wrongCount', forward: (i) => ({ out: ag.mul(i[0]!, 1) }), vjp: () => [] });
    expect(() => grad((p: { x: Tensor }) => ag.sum(wrongCount([p.x], undefined)))({ x: f64([1, 2]) })).toThrow(
      /wrongCount: vjp must return an array of 1 gradients/,
    );
  });
});
