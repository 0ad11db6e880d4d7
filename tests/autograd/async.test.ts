// The asynchronous path of the engine: ops whose forward is asynchronous (defineAsyncOp) or whose
// VJP returns a Promise, differentiated by valueAndGradAsync / gradAsync; mixed with synchronous
// ops before and after the awaits; checked against central finite differences in float64. Also:
// what records (decided when an op is called), the synchronous transform's refusals, and one
// valueAndGradAsync at a time.
import { describe, expect, it } from 'vitest';
import * as ag from '../../src/autograd/index.ts';
import {
  AutogradError, type Tensor, defineAsyncOp, defineOp, grad, gradAsync, graphStats, isRecording, noGrad, tensor, valueAndGrad, valueAndGradAsync,
} from '../../src/autograd/index.ts';
import { rng, uniform } from './fd.ts';

const f64 = (v: ArrayLike<number>, shape?: number[]): Tensor => tensor(Float64Array.from(v), shape, 'float64');
/** A macrotask: whatever else is queued runs before the continuation. */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));
const mapData = (t: Tensor, f: (a: number, i: number) => number): Tensor => tensor(Float64Array.from(t.data, f), t.shape, 'float64');

/** out = x * y^2 elementwise, computed after a macrotask; its VJP also resolves later. */
const lateMulSq = defineAsyncOp<{ delay: number }, undefined>({
  name: 'lateMulSq',
  async forward([x, y], { delay }) {
    for (let i = 0; i < delay; i++) await tick();
    return { out: mapData(x!, (a, i) => a * y!.data[i]! ** 2) };
  },
  async vjp(g, { inputs: [x, y], needsGrad }) {
    await tick();
    return [
      needsGrad[0] ? mapData(x!, (_, i) => g.data[i]! * y!.data[i]! ** 2) : null,
      needsGrad[1] ? mapData(y!, (b, i) => 2 * g.data[i]! * x!.data[i]! * b) : null,
    ];
  },
});

/** sin(x), computed synchronously, with a VJP that returns a Promise. */
const sinLateVjp = defineOp<undefined, undefined>({
  name: 'sinLateVjp',
  forward: ([x]) => ({ out: mapData(x!, Math.sin) }),
  vjp: (g, { inputs: [x] }) => tick().then(() => [mapData(x!, (a, i) => g.data[i]! * Math.cos(a))]),
});

/** The gradient of an async scalar function by central differences (float64). */
async function numericGrad(f: (xs: readonly Tensor[]) => Promise<Tensor>, xs: readonly Tensor[], h = 1e-6): Promise<Float64Array[]> {
  const out: Float64Array[] = [];
  for (let i = 0; i < xs.length; i++) {
    const g = new Float64Array(xs[i]!.size);
    for (let k = 0; k < g.length; k++) {
      const at = async (d: number): Promise<number> => {
        const moved = xs.map((y, j) => (j === i ? mapData(y, (a, q) => (q === k ? a + d : a)) : y));
        return (await f(moved)).item();
      };
      g[k] = ((await at(h)) - (await at(-h))) / (2 * h);
    }
    out.push(g);
  }
  return out;
}

const maxRelError = (analytic: ArrayLike<number>, numeric: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < numeric.length; i++) m = Math.max(m, Math.abs(analytic[i]! - numeric[i]!) / (1 + Math.abs(numeric[i]!)));
  return m;
};

describe('valueAndGradAsync', () => {
  it('gives what valueAndGrad gives for a synchronous f (value, structure, dtypes, zeros for unused parameters)', async () => {
    const f = (p: { a: Tensor; b: { c: Tensor }; unused: Tensor }, x: Tensor): Tensor => ag.sum(ag.mul(ag.tanh(ag.mul(p.a, x)), p.b.c));
    const params = { a: f64([0.3, -1.2]), b: { c: f64([2, 0.5]) }, unused: tensor([1, 2, 3]) };
    const x = f64([1.5, 0.25]);
    const sync = valueAndGrad(f)(params, x);
    const got = await valueAndGradAsync(f)(params, x);
    expect(got.value.item()).toBe(sync.value.item());
    expect(got.grads.a.toArray()).toEqual(sync.grads.a.toArray());
    expect(got.grads.b.c.toArray()).toEqual(sync.grads.b.c.toArray());
    expect(got.grads.unused.toArray()).toEqual([0, 0, 0]);
    expect(got.grads.unused.dtype).toBe('float32');
    expect((await gradAsync(f)(params, x)).a.toArray()).toEqual(sync.grads.a.toArray());
    expect(isRecording()).toBe(false);
  });

  it('differentiates sync ops before and after asynchronous ops (async forward, async VJPs, ops racing) as finite differences do', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const next = rng(seed);
      const n = 1 + Math.floor(next() * 5);
      const xs = [f64(uniform(next, n)), f64(uniform(next, n)), f64(uniform(next, n))];
      const [slow, fast] = [1 + Math.floor(next() * 3), Math.floor(next() * 2)];
      // (x, y, z) -> sum( sinLateVjp(lateMulSq(x + z, y)) * lateMulSq(2 z, x) + x^2 ), the two async
      // ops in flight at once and finishing in either order
      const loss = async ([x, y, z]: readonly Tensor[]): Promise<Tensor> => {
        const u = ag.add(x!, z!);
        const [a, b] = await Promise.all([lateMulSq([u, y!], { delay: slow }), lateMulSq([ag.mul(z!, 2), x!], { delay: fast })]);
        await tick();
        return ag.add(ag.sum(ag.mul(sinLateVjp([a], undefined), b)), ag.sum(ag.square(x!)));
      };
      const { value, grads } = await valueAndGradAsync((p: readonly Tensor[]) => loss(p))(xs);
      expect(value.item()).toBeCloseTo((await loss(xs)).item(), 12);
      const numeric = await numericGrad(loss, xs);
      grads.forEach((g, i) => {
        expect(g.dtype).toBe('float64');
        expect(maxRelError(g.data, numeric[i]!), `seed ${seed}, input ${i}`).toBeLessThan(1e-7);
      });
    }
  });

  it('decides whether an op records when it is called: an async op started in noGrad stays a constant', async () => {
    const p = { x: f64([0.5, -2]) };
    const { grads } = await valueAndGradAsync(async (q: typeof p) => {
      const constant = noGrad(() => lateMulSq([q.x, q.x], { delay: 1 })); // started without recording
      const tracked = lateMulSq([q.x, q.x], { delay: 1 });
      return ag.add(ag.sum(await constant), ag.sum(await tracked));
    })(p);
    // only the tracked x^3 contributes: 3 x^2
    expect(grads.x.toArray()).toEqual([0.75, 12]);
  });

  it('records nothing outside a transform, and nothing for ops run meanwhile by unrelated code', async () => {
    const outside = await lateMulSq([f64([2]), f64([3])], { delay: 1 });
    expect(outside.toArray()).toEqual([18]);
    expect(graphStats(outside).ops).toBe(0);
    let unrelated: Tensor | undefined;
    let unrelatedGrad: number | undefined;
    const pending = valueAndGradAsync(async (p: { x: Tensor }) => {
      const y = await lateMulSq([p.x, p.x], { delay: 2 });
      expect(isRecording()).toBe(true);
      return ag.sum(y);
    })({ x: f64([2]) });
    // runs while the transform above awaits: its tape is on the stack, but these ops have no
    // input it tracks, and a synchronous transform opens its own
    await tick();
    unrelated = ag.mul(f64([1, 2]), f64([3, 4]));
    unrelatedGrad = grad((q: { a: Tensor }) => ag.sum(ag.square(q.a)))({ a: f64([5]) }).a.item();
    const { value, grads } = await pending;
    expect(graphStats(unrelated).ops).toBe(0);
    expect(unrelatedGrad).toBe(10);
    expect(value.item()).toBe(8);
    expect(grads.x.toArray()).toEqual([12]);
  });

  it('is needed for a VJP that returns a Promise: the synchronous transform refuses it, naming the op', async () => {
    const f = (p: { x: Tensor }): Tensor => ag.sum(sinLateVjp([p.x], undefined));
    expect(() => valueAndGrad(f)({ x: f64([0.5]) })).toThrow(AutogradError);
    expect(() => valueAndGrad(f)({ x: f64([0.5]) })).toThrow(/sinLateVjp: its vjp is asynchronous.*valueAndGradAsync/);
    expect((await valueAndGradAsync(f)({ x: f64([0.5]) })).grads.x.item()).toBeCloseTo(Math.cos(0.5), 15);
    // an async f given to the synchronous transform
    const asyncF = async (p: { x: Tensor }): Promise<Tensor> => ag.sum(p.x);
    expect(() => valueAndGrad(asyncF as unknown as (p: { x: Tensor }) => Tensor)({ x: f64([1]) })).toThrow(/f returned a Promise.*valueAndGradAsync/);
  });

  it('runs one at a time: a concurrent or nested one is refused, the running one is unaffected, and the next works', async () => {
    const f = async (p: { x: Tensor }): Promise<Tensor> => ag.sum(await lateMulSq([p.x, p.x], { delay: 2 }));
    const first = valueAndGradAsync(f)({ x: f64([1, 2]) });
    const second = valueAndGradAsync(f)({ x: f64([3]) });
    await expect(second).rejects.toThrow(AutogradError);
    await expect(second).rejects.toThrow(/one valueAndGradAsync at a time/);
    expect((await first).grads.x.toArray()).toEqual([3, 12]);
    // nested in f
    await expect(
      valueAndGradAsync(async (p: { x: Tensor }) => {
        await valueAndGradAsync(f)({ x: f64([1]) });
        return ag.sum(p.x);
      })({ x: f64([1]) }),
    ).rejects.toThrow(/one valueAndGradAsync at a time/);
    // an f that throws after an await releases its turn
    await expect(valueAndGradAsync(async () => {
      await tick();
      throw new Error('boom');
    })({ x: f64([1]) })).rejects.toThrow('boom');
    expect(isRecording()).toBe(false);
    expect((await valueAndGradAsync(f)({ x: f64([3]) })).grads.x.toArray()).toEqual([27]);
    // a synchronous transform nested in f is independent, as with valueAndGrad
    const outer = await valueAndGradAsync(async (p: { x: Tensor }) => {
      const inner = valueAndGrad((q: { y: Tensor }) => ag.sum(ag.square(q.y)))({ y: f64([4]) });
      expect(inner.grads.y.item()).toBe(8);
      await tick();
      return ag.sum(ag.mul(p.x, inner.value));
    })({ x: f64([2]) });
    expect(outer.grads.x.item()).toBe(16);
  });

  it('rejects (never throws synchronously) on bad parameters and on an async op given a non-tensor', async () => {
    const bad = valueAndGradAsync((p: { x: Tensor }) => ag.sum(p.x))({ x: [1, 2] as unknown as Tensor });
    await expect(bad).rejects.toThrow(/valueAndGradAsync: params\.x\[0\] must be a Tensor/);
    const op = lateMulSq([f64([1]), 3 as unknown as Tensor], { delay: 0 });
    await expect(op).rejects.toThrow(/lateMulSq: inputs\[1\] must be a Tensor/);
  });
});
