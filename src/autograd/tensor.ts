// Tensors: a flat typed array (float32, or float64 where asked) with a row-major shape.
// Immutable from the user's point of view: no op writes into its inputs, so ops may share
// data buffers (reshape, detached values) and wrapping an existing array costs nothing.
import type { FloatArray } from '../kernels/basic.ts';

export type { FloatArray };
export type DType = 'float32' | 'float64';
export type Shape = readonly number[];

/** Every error the engine raises (shape mismatch, bad index, bad argument). */
export class AutogradError extends Error {
  override name = 'AutogradError';
}

/** "[2, 3]" */
export const formatShape = (shape: Shape): string => `[${shape.join(', ')}]`;

/** Product of the dimensions (1 for a scalar shape []). */
export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks that every dimension is a non-negative integer; returns a frozen copy. */
export function checkShape(shape: Shape, where: string): Shape {
  if (!Array.isArray(shape)) throw new AutogradError(`${where}: shape must be an array of integers, got ${String(shape)}`);
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) throw new AutogradError(`${where}: shape[${i}] = ${String(d)} is not a non-negative integer`);
  });
  return Object.freeze(shape.slice());
}

/** Resolves a possibly negative axis against a rank, naming the op when out of range. */
export function normalizeAxis(axis: number, rank: number, op: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new AutogradError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank}`);
  }
  return axis < 0 ? axis + rank : axis;
}

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

/** A new zero-filled array of the dtype. */
export function allocate(size: number, dtype: DType): FloatArray {
  return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size);
}

export class Tensor {
  readonly data: FloatArray;
  readonly shape: Shape;
  readonly dtype: DType;

  /** Wraps data (no copy) with a shape whose size must equal data.length. */
  constructor(data: FloatArray, shape: Shape) {
    if (!(data instanceof Float32Array || data instanceof Float64Array)) {
      throw new AutogradError('Tensor: data must be a Float32Array or Float64Array (use tensor() to convert other arrays)');
    }
    this.shape = checkShape(shape, 'Tensor');
    if (shapeSize(this.shape) !== data.length) {
      throw new AutogradError(`Tensor: shape ${formatShape(this.shape)} holds ${shapeSize(this.shape)} values but data has ${data.length}`);
    }
    this.data = data;
    this.dtype = dtypeOf(data);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new AutogradError(`item: expected a tensor with one element, got shape ${formatShape(this.shape)}`);
    return this.data[0]!;
  }

  /** A copy of the values as a plain array (row-major). */
  toArray(): number[] {
    return Array.from(this.data);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)})`;
  }
}

/**
 * A tensor from values. A Float32Array or Float64Array is wrapped without copying when dtype
 * is omitted or matches it (the caller must then not write into it); anything else is copied
 * into a new array of `dtype` (default float32). shape defaults to [data.length].
 */
export function tensor(data: ArrayLike<number>, shape?: Shape, dtype?: DType): Tensor {
  const fits = (data instanceof Float32Array && dtype !== 'float64') || (data instanceof Float64Array && dtype !== 'float32');
  const arr = fits ? (data as FloatArray) : dtype === 'float64' ? Float64Array.from(data) : Float32Array.from(data);
  return new Tensor(arr, shape ?? [arr.length]);
}

/** A tensor of shape [] holding x. */
export function scalar(x: number, dtype: DType = 'float32'): Tensor {
  const arr = allocate(1, dtype);
  arr[0] = x;
  return new Tensor(arr, []);
}

function filled(shape: Shape, value: number, dtype: DType, where: string): Tensor {
  const s = checkShape(shape, where);
  const arr = allocate(shapeSize(s), dtype);
  if (value !== 0) arr.fill(value);
  return new Tensor(arr, s);
}

/** A tensor of the shape with every element = value. */
export const full = (shape: Shape, value: number, dtype: DType = 'float32'): Tensor => filled(shape, value, dtype, 'full');
export const zeros = (shape: Shape, dtype: DType = 'float32'): Tensor => filled(shape, 0, dtype, 'zeros');
export const ones = (shape: Shape, dtype: DType = 'float32'): Tensor => filled(shape, 1, dtype, 'ones');

/** Throws unless x is a Tensor, naming the op and the argument. */
export function assertTensor(x: unknown, op: string, arg = 'x'): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    throw new AutogradError(`${op}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
}
