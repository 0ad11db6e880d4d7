// Op forwards on hand-checked values, torch's conventions at kinks and thresholds, and the
// errors for shape mismatches, bad indices and bad arguments.
import { describe, expect, it } from 'vitest';
import * as ag from '../../src/autograd/index.ts';
import { type Tensor, tensor } from '../../src/autograd/index.ts';

const arr = (t: Tensor): number[] => t.toArray();
/** d sum(f(x)) / dx at x. */
const gradAt = (f: (x: Tensor) => Tensor, values: number[]): number[] =>
  arr(ag.grad((p: { x: Tensor }) => ag.sum(f(p.x)))({ x: tensor(values, [values.length], 'float64') }).x);

describe('elementwise forwards', () => {
  it('match the scalar definitions', () => {
    const x = tensor([-2, -0.5, 0.5, 2], [4], 'float64');
    expect(arr(ag.relu(x))).toEqual([0, 0, 0.5, 2]);
    expect(arr(ag.leakyrelu(x, 0.1))).toEqual([-0.2, -0.05, 0.5, 2]);
    expect(arr(ag.elu(x, 2))).toEqual([2 * Math.expm1(-2), 2 * Math.expm1(-0.5), 0.5, 2]);
    arr(ag.sigmoid(x)).forEach((y, i) => expect(y).toBeCloseTo(1 / (1 + Math.exp(-x.data[i]!)), 15));
    expect(arr(ag.tanh(x))).toEqual([-2, -0.5, 0.5, 2].map(Math.tanh));
    expect(arr(ag.abs(x))).toEqual([2, 0.5, 0.5, 2]);
    expect(arr(ag.clamp(x, -1, 1))).toEqual([-1, -0.5, 0.5, 1]);
    expect(arr(ag.maximum(x, 0.5))).toEqual([0.5, 0.5, 0.5, 2]);
    expect(arr(ag.minimum(x, -0.5))).toEqual([-2, -0.5, -0.5, -0.5]);
    expect(arr(ag.square(x))).toEqual([4, 0.25, 0.25, 4]);
    expect(arr(ag.neg(x))).toEqual([2, 0.5, -0.5, -2]);
    const p = tensor([0.25, 4], [2], 'float64');
    expect(arr(ag.sqrt(p))).toEqual([0.5, 2]);
    expect(arr(ag.pow(p, 1.5))).toEqual([0.125, 8]);
    expect(arr(ag.log(p))).toEqual([Math.log(0.25), Math.log(4)]);
    expect(arr(ag.exp(p))).toEqual([Math.exp(0.25), Math.exp(4)]);
  });

  it('softplus is linear above threshold / beta and log1p(exp(beta x)) / beta below (torch)', () => {
    const x = tensor([-30, 1, 9.9, 10.1, 25], [5], 'float64');
    const y = arr(ag.softplus(x, 2, 20));
    expect(y[0]).toBeCloseTo(Math.log1p(Math.exp(-60)) / 2, 40);
    expect(y[1]).toBe(Math.log1p(Math.exp(2)) / 2);
    expect(y[2]).toBe(Math.log1p(Math.exp(19.8)) / 2);
    expect(y[3]).toBe(10.1);
    expect(y[4]).toBe(25);
    expect(gradAt((t) => ag.softplus(t, 2, 20), [10.1, 1])).toEqual([1, 1 / (1 + Math.exp(-2))]);
  });

  it('sigmoid is finite and exact in both tails', () => {
    const y = arr(ag.sigmoid(tensor([-800, 800], [2], 'float64')));
    expect(y).toEqual([0, 1]);
  });

  it('gradients at kinks follow torch', () => {
    expect(gradAt(ag.relu, [0, 1, -1])).toEqual([0, 1, 0]);
    expect(gradAt((x) => ag.leakyrelu(x, 0.2), [0, 1, -1])).toEqual([0.2, 1, 0.2]);
    expect(gradAt(ag.abs, [0, 2, -2])).toEqual([0, 1, -1]);
    expect(gradAt((x) => ag.maximum(x, 1), [1, 0, 2])).toEqual([1, 0, 1]);
    expect(gradAt((x) => ag.minimum(x, 1), [1, 0, 2])).toEqual([1, 1, 0]);
    expect(gradAt((x) => ag.clamp(x, 0, 1), [0, 1, 0.5, -1, 2])).toEqual([1, 1, 1, 0, 0]);
    expect(gradAt((x) => ag.pow(x, 0), [0, 3])).toEqual([0, 0]);
  });

  it('keep float32 data in float32', () => {
    const y = ag.mul(ag.exp(tensor([1, 2])), 3);
    expect(y.dtype).toBe('float32');
    expect(y.data).toBeInstanceOf(Float32Array);
    expect(y.data[0]).toBe(Math.fround(Math.fround(Math.E) * 3));
  });

  it('never write into their inputs', () => {
    const x = tensor([1, -2, 3], [3], 'float64');
    const before = arr(x);
    ag.relu(x);
    ag.add(x, x);
    ag.scatterSum(x, Int32Array.from([0, 0, 1]), 2);
    ag.grad((p: { x: Tensor }) => ag.sum(ag.mul(ag.add(p.x, 1), p.x)))({ x });
    expect(arr(x)).toEqual(before);
  });
});

describe('broadcasting arithmetic', () => {
  const a = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float64');

  it('equal shapes, numbers, trailing shapes and size-1 dims', () => {
    expect(arr(ag.add(a, a))).toEqual([2, 4, 6, 8, 10, 12]);
    expect(arr(ag.sub(10, a))).toEqual([9, 8, 7, 6, 5, 4]);
    expect(arr(ag.div(a, 2))).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    expect(arr(ag.mul(a, tensor([1, 10, 100], [3], 'float64')))).toEqual([1, 20, 300, 4, 50, 600]);
    expect(arr(ag.sub(a, tensor([1, 2], [2, 1], 'float64')))).toEqual([0, 1, 2, 2, 3, 4]);
    const outer = ag.mul(tensor([1, 2], [2, 1], 'float64'), tensor([1, 10, 100], [1, 3], 'float64'));
    expect(outer.shape).toEqual([2, 3]);
    expect(arr(outer)).toEqual([1, 10, 100, 2, 20, 200]);
    expect(ag.add(scalarOf(1), tensor([1, 2, 3, 4], [1, 4, 1], 'float64')).shape).toEqual([1, 4, 1]);
  });

  it('reduces gradients over broadcast dims, including middle and repeated outer ones', () => {
    // b of shape (3, 1) against (2, 3, 2): each b element feeds 4 outputs
    const big = tensor(Array.from({ length: 12 }, (_, i) => i), [2, 3, 2], 'float64');
    const b = tensor([1, 2, 3], [3, 1], 'float64');
    const g = ag.grad((p: { b: Tensor }) => ag.sum(ag.mul(big, p.b)))({ b }).b;
    expect(g.shape).toEqual([3, 1]);
    // sum of big over dims 0 and 2 for each middle index: (0+1+6+7), (2+3+8+9), (4+5+10+11)
    expect(arr(g)).toEqual([14, 22, 30]);
    const m = ag.grad((p: { m: Tensor }) => ag.sum(ag.mul(big, p.m)))({ m: tensor([1, 1], [2, 1, 1], 'float64') }).m;
    expect(arr(m)).toEqual([0 + 1 + 2 + 3 + 4 + 5, 6 + 7 + 8 + 9 + 10 + 11]);
  });

  it('errors name the op and both shapes, or the dtypes', () => {
    expect(() => ag.add(a, tensor([1, 2, 3, 4], [4], 'float64'))).toThrow(/add: shapes \[2, 3\] and \[4\] do not broadcast/);
    expect(() => ag.mul(tensor([1, 2], [2, 1]), tensor([1, 2, 3], [3, 1]))).toThrow(/mul: shapes \[2, 1\] and \[3, 1\]/);
    expect(() => ag.sub(a, tensor([1, 2, 3]))).toThrow(/sub: dtype mismatch: float64 \[2, 3\] vs float32 \[3\]/);
    expect(() => ag.div(1, 2 as unknown as Tensor)).toThrow(/div: at least one operand must be a Tensor/);
    expect(() => ag.add(a, undefined as unknown as Tensor)).toThrow(/add: b must be a Tensor, got undefined/);
  });
});

function scalarOf(x: number): Tensor {
  return ag.scalar(x, 'float64');
}

describe('reductions', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
  it('sum and mean over all, or along an axis, with keepdims', () => {
    expect(ag.sum(x).shape).toEqual([]);
    expect(ag.sum(x).item()).toBe(21);
    expect(ag.sum(x, undefined, true).shape).toEqual([1, 1]);
    expect(arr(ag.sum(x, 0))).toEqual([5, 7, 9]);
    expect(ag.sum(x, -1, true).shape).toEqual([2, 1]);
    expect(arr(ag.sum(x, 1))).toEqual([6, 15]);
    expect(arr(ag.mean(x, 0))).toEqual([2.5, 3.5, 4.5]);
    expect(ag.mean(x).item()).toBe(3.5);
    expect(arr(ag.sum(tensor(Array.from({ length: 24 }, (_, i) => i), [2, 3, 4], 'float64'), 1))).toEqual([
      12, 15, 18, 21, 48, 51, 54, 57,
    ]);
  });
  it('reject a bad axis', () => {
    expect(() => ag.sum(x, 2)).toThrow(/sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => ag.mean(x, -3)).toThrow(/mean: axis -3/);
  });
});

describe('gather and scatter-sum', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
  it('indexSelect gathers along the last axis by default, and along any axis', () => {
    expect(arr(ag.indexSelect(x, Int32Array.from([2, 0, 2])))).toEqual([3, 1, 3, 6, 4, 6]);
    expect(arr(ag.indexSelect(x, Int32Array.from([1, 1]), 0))).toEqual([4, 5, 6, 4, 5, 6]);
    expect(ag.indexSelect(x, new Int32Array(0)).shape).toEqual([2, 0]);
  });
  it('scatterSum sums into segments (target_sum), empty segments are 0', () => {
    const y = ag.scatterSum(x, Int32Array.from([3, 0, 3]), 4);
    expect(y.shape).toEqual([2, 4]);
    expect(arr(y)).toEqual([2, 0, 0, 4, 5, 0, 0, 10]);
    expect(arr(ag.scatterSum(x, Int32Array.from([1, 1]), 3, 0))).toEqual([0, 0, 0, 5, 7, 9, 0, 0, 0]);
  });
  it('errors name the op, the offending index and the size', () => {
    expect(() => ag.indexSelect(x, Int32Array.from([0, 1, 3]))).toThrow(/indexSelect: index\[2\] = 3 is out of range \[0, 3\) \(axis 1, input shape \[2, 3\]\)/);
    expect(() => ag.indexSelect(x, Int32Array.from([-1]), 0)).toThrow(/indexSelect: index\[0\] = -1 is out of range \[0, 2\)/);
    expect(() => ag.scatterSum(x, Int32Array.from([0, 5, 1]), 5)).toThrow(/scatterSum: index\[1\] = 5 is out of range \[0, 5\)/);
    expect(() => ag.scatterSum(x, Int32Array.from([0, 1]), 4)).toThrow(/scatterSum: index has 2 entries but x has 3 along axis 1 \(shape \[2, 3\]\)/);
    expect(() => ag.scatterSum(x, Int32Array.from([0, 1, 1]), -1)).toThrow(/scatterSum: size must be a non-negative integer, got -1/);
    expect(() => ag.indexSelect(x, [0, 1] as unknown as Int32Array)).toThrow(/indexSelect: index must be an Int32Array, got Array/);
  });
});

describe('slicing, joining, reshaping', () => {
  const x = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'float64');
  it('slice, with negative bounds as in Python', () => {
    expect(arr(ag.slice(x, 1, 1, 3))).toEqual([2, 3, 5, 6]);
    expect(arr(ag.slice(x, 0, -1, 2))).toEqual([4, 5, 6]);
    expect(ag.slice(x, 1, 2, 2).shape).toEqual([2, 0]);
    expect(() => ag.slice(x, 1, 1, 4)).toThrow(/slice: range \[1, 4\) is out of bounds for axis 1 of size 3 \(shape \[2, 3\]\)/);
    expect(() => ag.slice(x, 1, 2, 1)).toThrow(/slice: range \[2, 1\)/);
  });
  it('concat and stack', () => {
    const y = tensor([7, 8], [2, 1], 'float64');
    expect(arr(ag.concat([x, y], 1))).toEqual([1, 2, 3, 7, 4, 5, 6, 8]);
    expect(arr(ag.concat([x, ag.reshape(x, [2, 3])], 0))).toEqual([1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
    const s = ag.stack([x, ag.mul(x, 10)], 2);
    expect(s.shape).toEqual([2, 3, 2]);
    expect(arr(s)).toEqual([1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60]);
    expect(ag.stack([x, x]).shape).toEqual([2, 2, 3]);
    expect(() => ag.concat([x, y], 0)).toThrow(/concat: tensors\[1\] has shape \[2, 1\], incompatible with tensors\[0\] \[2, 3\] along axis 0/);
    expect(() => ag.stack([x, y])).toThrow(/stack: tensors\[1\] has shape \[2, 1\] but tensors\[0\] has \[2, 3\]/);
    expect(() => ag.stack([])).toThrow(/stack: expected a non-empty array of tensors/);
    expect(() => ag.concat([x, tensor([1, 2, 3], [1, 3])])).toThrow(/concat: tensors\[1\] is float32 but tensors\[0\] is float64/);
  });
  it('reshape shares data and infers -1', () => {
    const r = ag.reshape(x, [3, -1]);
    expect(r.shape).toEqual([3, 2]);
    expect(r.data).toBe(x.data);
    expect(() => ag.reshape(x, [4, -1])).toThrow(/reshape: cannot reshape \[2, 3\] \(6 values\) into \[4, -1\]/);
    expect(() => ag.reshape(x, [-1, -1])).toThrow(/reshape: cannot reshape/);
    expect(() => ag.reshape(x, [5])).toThrow(/into \[5\]/);
  });
});

describe('argument checks of maps', () => {
  const x = tensor([1, 2]);
  it('name the op and the bad argument', () => {
    expect(() => ag.clamp(x, 2, 1)).toThrow(/clamp: lo \(2\) must not exceed hi \(1\)/);
    expect(() => ag.softplus(x, 0)).toThrow(/softplus: beta must be non-zero/);
    expect(() => ag.pow(x, Number.NaN)).toThrow(/pow: exponent must be a number/);
    expect(() => ag.relu([1, 2] as unknown as Tensor)).toThrow(/relu: x must be a Tensor, got object/);
  });
});
