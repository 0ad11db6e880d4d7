// Tensor construction: dtypes, zero-copy wrapping, shapes, and their errors.
import { describe, expect, it } from 'vitest';
import { AutogradError, Tensor, full, ones, scalar, tensor, zeros } from '../../src/autograd/index.ts';

describe('tensor constructors', () => {
  it('wraps a Float32Array or Float64Array without copying', () => {
    const big = new Float32Array(1_500_000);
    const t = tensor(big, [1000, 1500]);
    expect(t.data).toBe(big);
    expect(t.dtype).toBe('float32');
    expect(t.size).toBe(1_500_000);
    const d = new Float64Array([1, 2, 3]);
    expect(tensor(d).data).toBe(d);
    expect(tensor(d).dtype).toBe('float64');
  });

  it('copies (and converts) plain arrays and typed arrays of another dtype', () => {
    const plain = tensor([1, 2, 3, 4], [2, 2]);
    expect(plain.dtype).toBe('float32');
    expect(plain.data).toBeInstanceOf(Float32Array);
    expect(plain.shape).toEqual([2, 2]);
    const f32 = new Float32Array([0.1, 0.2]);
    const as64 = tensor(f32, [2], 'float64');
    expect(as64.data).not.toBe(f32);
    expect(as64.dtype).toBe('float64');
    expect(as64.data[0]).toBe(f32[0]);
    expect(tensor([0.1], [1], 'float64').data[0]).toBe(0.1);
  });

  it('defaults the shape to [length]; scalars have shape []', () => {
    expect(tensor([1, 2, 3]).shape).toEqual([3]);
    const s = scalar(2.5, 'float64');
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(2.5);
    expect(s.dtype).toBe('float64');
  });

  it('zeros, ones and full fill the given shape and dtype', () => {
    expect(zeros([2, 3]).toArray()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(ones([2], 'float64').data).toBeInstanceOf(Float64Array);
    expect(ones([2]).toArray()).toEqual([1, 1]);
    expect(full([3], 7).toArray()).toEqual([7, 7, 7]);
    expect(zeros([0, 4]).size).toBe(0);
  });

  it('freezes the shape it was given', () => {
    const shape = [2, 2];
    const t = tensor([1, 2, 3, 4], shape);
    shape[0] = 4;
    expect(t.shape).toEqual([2, 2]);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });

  it('rejects a shape that does not match the data, or a bad dimension, naming it', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/shape \[2, 2\] holds 4 values but data has 3/);
    expect(() => zeros([2, -1])).toThrow(/zeros: shape\[1\] = -1 is not a non-negative integer/);
    expect(() => full([1.5], 0)).toThrow(/shape\[0\] = 1.5/);
    expect(() => new Tensor([1, 2] as unknown as Float32Array, [2])).toThrow(AutogradError);
    expect(() => tensor([1, 2]).item()).toThrow(/item: expected a tensor with one element, got shape \[2\]/);
  });
});
