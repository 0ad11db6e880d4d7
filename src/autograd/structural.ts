// Ops that move or combine values: reductions (sum, mean), gather / scatter-sum along an axis
// (indexSelect, scatterSum: flyvis's target_sum), slicing, concatenation, stacking, reshaping.
// Every op views its input as (outer, n, inner) around the axis it works on.
import {
  copyRows, expandAxis, firstOutOfRange,
  indexBound, gatherAxis, scatterAddAxis, sumAll, sumAxis,
} from '../kernels/basic.ts';
import { mul } from './elementwise.ts';
import { defineOp } from './tape.ts';
import {
  AutogradError, Tensor, allocate, assertTensor, formatShape, normalizeAxis, sameShape, shapeSize, type Shape,
} from './tensor.ts';

/** (outer, n, inner): the sizes before, at and after `axis`. */
function around(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  return { outer: shapeSize(shape.slice(0, axis)), n: shape[axis]!, inner: shapeSize(shape.slice(axis + 1)) };
}

const withDim = (shape: Shape, axis: number, n: number): Shape => shape.map((d, i) => (i === axis ? n : d));

// ---------------------------------------------------------------- reductions

interface SumAttrs {
  readonly axis: number | null;
  readonly keepdims: boolean;
}

const sumOp = defineOp<SumAttrs>({
  name: 'sum',
  forward(inputs, { axis, keepdims }) {
    const x = inputs[0]!;
    if (axis === null) {
      const out = allocate(1, x.dtype);
      out[0] = sumAll(x.data);
      return { out: new Tensor(out, keepdims ? x.shape.map(() => 1) : []) };
    }
    const { outer, n, inner } = around(x.shape, axis);
    const out = allocate(outer * inner, x.dtype);
    sumAxis(x.data, outer, n, inner, out);
    return { out: new Tensor(out, keepdims ? withDim(x.shape, axis, 1) : x.shape.filter((_, i) => i !== axis)) };
  },
  vjp(g, { inputs, attrs }) {
    const x = inputs[0]!;
    const gx = allocate(x.size, x.dtype);
    if (attrs.axis === null) gx.fill(g.data[0]!);
    else {
      const { outer, n, inner } = around(x.shape, attrs.axis);
      expandAxis(g.data, outer, n, inner, gx);
    }
    return [new Tensor(gx, x.shape)];
  },
});

/** Sum of all elements (shape [], or all ones with keepdims), or along one axis. */
export function sum(x: Tensor, axis?: number, keepdims = false): Tensor {
  assertTensor(x, 'sum');
  return sumOp([x], { axis: axis === undefined ? null : normalizeAxis(axis, x.rank, 'sum'), keepdims });
}

/** Mean of all elements, or along one axis (NaN over an empty axis, as torch). */
export function mean(x: Tensor, axis?: number, keepdims = false): Tensor {
  assertTensor(x, 'mean');
  const n = axis === undefined ? x.size : x.shape[normalizeAxis(axis, x.rank, 'mean')]!;
  return mul(sum(x, axis, keepdims), 1 / n);
}

// ---------------------------------------------------------------- gather / scatter-sum

interface IndexAttrs {
  readonly index: Int32Array;
  readonly axis: number;
  /** Size of the indexed dimension: of the input for indexSelect, of the output for scatterSum. */
  readonly size: number;
}

/**
 * Index arrays seen before, with 1 + their largest entry (all entries are >= 0). Like tensors,
 * index arrays are treated as immutable once used: the network gathers through the same 1.5 M
 * edge indices every step, and checking them once is enough.
 */
const checkedBound = new WeakMap<Int32Array, number>();

function checkIndex(op: string, index: unknown, size: number, x: Tensor, axis: number): asserts index is Int32Array {
  if (!(index instanceof Int32Array)) throw new AutogradError(`${op}: index must be an Int32Array, got ${index?.constructor?.name ?? typeof index}`);
  const bound = checkedBound.get(index);
  if (bound !== undefined && bound <= size) return;
  const j = firstOutOfRange(index, size);
  if (j < 0) checkedBound.set(index, indexBound(index));
  if (j >= 0) {
    throw new AutogradError(
      `${op}: index[${j}] = ${index[j]} is out of range [0, ${size}) (axis ${axis}, input shape ${formatShape(x.shape)})`,
    );
  }
}

function gather(x: Tensor, index: Int32Array, axis: number): Tensor {
  const { outer, n, inner } = around(x.shape, axis);
  const out = allocate(outer * index.length * inner, x.dtype);
  gatherAxis(x.data, outer, n, inner, index, out);
  return new Tensor(out, withDim(x.shape, axis, index.length));
}

function scatter(x: Tensor, index: Int32Array, size: number, axis: number): Tensor {
  const { outer, inner } = around(x.shape, axis);
  const out = allocate(outer * size * inner, x.dtype);
  scatterAddAxis(x.data, outer, inner, index, size, out);
  return new Tensor(out, withDim(x.shape, axis, size));
}

const indexSelectOp = defineOp<IndexAttrs>({
  name: 'indexSelect',
  forward: (inputs, { index, axis }) => ({ out: gather(inputs[0]!, index, axis) }),
  vjp: (g, { attrs: { index, axis, size } }) => [scatter(g, index, size, axis)],
});

const scatterSumOp = defineOp<IndexAttrs>({
  name: 'scatterSum',
  forward: (inputs, { index, axis, size }) => ({ out: scatter(inputs[0]!, index, size, axis) }),
  vjp: (g, { attrs: { index, axis } }) => [gather(g, index, axis)],
});

/** Gather along an axis, as torch.index_select: out[..., j, ...] = x[..., index[j], ...]. */
export function indexSelect(x: Tensor, index: Int32Array, axis = -1): Tensor {
  assertTensor(x, 'indexSelect');
  const ax = normalizeAxis(axis, x.rank, 'indexSelect');
  const size = x.shape[ax]!;
  checkIndex('indexSelect', index, size, x, ax);
  return indexSelectOp([x], { index, axis: ax, size });
}

/**
 * Segment sum along an axis: out has `size` entries there and out[..., index[i], ...] +=
 * x[..., i, ...] (torch's scatter_add_; flyvis's target_sum). x must have index.length
 * entries along the axis. The adjoint of indexSelect.
 */
export function scatterSum(x: Tensor, index: Int32Array, size: number, axis = -1): Tensor {
  assertTensor(x, 'scatterSum');
  const ax = normalizeAxis(axis, x.rank, 'scatterSum');
  if (!Number.isInteger(size) || size < 0) throw new AutogradError(`scatterSum: size must be a non-negative integer, got ${size}`);
  checkIndex('scatterSum', index, size, x, ax);
  if (x.shape[ax] !== index.length) {
    throw new AutogradError(
      `scatterSum: index has ${index.length} entries but x has ${x.shape[ax]} along axis ${ax} (shape ${formatShape(x.shape)})`,
    );
  }
  return scatterSumOp([x], { index, axis: ax, size });
}

// ---------------------------------------------------------------- slicing and joining

/** Copies the parts of `parts` (sizes along axis: lengths) into one tensor, or back. */
function joinAlong(parts: readonly Tensor[], axis: number): Tensor {
  const first = parts[0]!;
  const total = parts.reduce((s, p) => s + p.shape[axis]!, 0);
  const { outer, inner } = around(first.shape, axis);
  const out = allocate(outer * total * inner, first.dtype);
  let at = 0;
  for (const p of parts) {
    const len = p.shape[axis]! * inner;
    copyRows(p.data, len, 0, out, total * inner, at * inner, outer, len);
    at += p.shape[axis]!;
  }
  return new Tensor(out, withDim(first.shape, axis, total));
}

/** The part [start, end) of x along axis (a copy). */
function cut(x: Tensor, axis: number, start: number, end: number): Tensor {
  const { outer, n, inner } = around(x.shape, axis);
  const len = (end - start) * inner;
  const out = allocate(outer * len, x.dtype);
  copyRows(x.data, n * inner, start * inner, out, len, 0, outer, len);
  return new Tensor(out, withDim(x.shape, axis, end - start));
}

interface SliceAttrs {
  readonly axis: number;
  readonly start: number;
  readonly end: number;
}

const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  forward: (inputs, { axis, start, end }) => ({ out: cut(inputs[0]!, axis, start, end) }),
  vjp(g, { inputs, attrs: { axis, start, end } }) {
    const x = inputs[0]!;
    const { outer, n, inner } = around(x.shape, axis);
    const gx = allocate(x.size, x.dtype);
    const len = (end - start) * inner;
    copyRows(g.data, len, 0, gx, n * inner, start * inner, outer, len);
    return [new Tensor(gx, x.shape)];
  },
});

/** x[..., start:end, ...] along axis (negative start / end count from the end, as Python). */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  assertTensor(x, 'slice');
  const ax = normalizeAxis(axis, x.rank, 'slice');
  const n = x.shape[ax]!;
  const s = start < 0 ? start + n : start;
  const e = end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
    throw new AutogradError(`slice: range [${start}, ${end}) is out of bounds for axis ${ax} of size ${n} (shape ${formatShape(x.shape)})`);
  }
  return sliceOp([x], { axis: ax, start: s, end: e });
}

const concatOp = defineOp<{ readonly axis: number }>({
  name: 'concat',
  forward: (inputs, { axis }) => ({ out: joinAlong(inputs, axis) }),
  vjp(g, { inputs, attrs: { axis }, needsGrad }) {
    let at = 0;
    return inputs.map((x, i) => {
      const start = at;
      at += x.shape[axis]!;
      return needsGrad[i] ? cut(g, axis, start, at) : null;
    });
  },
});

function checkList(op: string, tensors: readonly Tensor[]): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new AutogradError(`${op}: expected a non-empty array of tensors`);
  tensors.forEach((t, i) => assertTensor(t, op, `tensors[${i}]`));
  const first = tensors[0]!;
  tensors.forEach((t, i) => {
    if (t.dtype !== first.dtype) throw new AutogradError(`${op}: tensors[${i}] is ${t.dtype} but tensors[0] is ${first.dtype}`);
  });
  return first;
}

/** Joins tensors along an existing axis; all other dimensions must agree. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  const first = checkList('concat', tensors);
  const ax = normalizeAxis(axis, first.rank, 'concat');
  tensors.forEach((t, i) => {
    if (t.rank !== first.rank || t.shape.some((d, k) => k !== ax && d !== first.shape[k])) {
      throw new AutogradError(
        `concat: tensors[${i}] has shape ${formatShape(t.shape)}, incompatible with tensors[0] ${formatShape(first.shape)} along axis ${ax}`,
      );
    }
  });
  return concatOp(tensors, { axis: ax });
}

/** Stacks equal-shaped tensors along a new axis (0..rank). */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  const first = checkList('stack', tensors);
  const ax = normalizeAxis(axis, first.rank + 1, 'stack');
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, first.shape)) {
      throw new AutogradError(`stack: tensors[${i}] has shape ${formatShape(t.shape)} but tensors[0] has ${formatShape(first.shape)}`);
    }
  });
  const expanded = [...first.shape.slice(0, ax), 1, ...first.shape.slice(ax)];
  return concat(tensors.map((t) => reshape(t, expanded)), ax);
}

const reshapeOp = defineOp<{ readonly shape: Shape }>({
  name: 'reshape',
  forward: (inputs, { shape }) => ({ out: new Tensor(inputs[0]!.data, shape) }),
  vjp: (g, { inputs }) => [new Tensor(g.data, inputs[0]!.shape)],
});

/** The same values with a new shape (no copy); one dimension may be -1 (inferred). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  assertTensor(x, 'reshape');
  const free = shape.filter((d) => d === -1).length;
  const known = shapeSize(shape.filter((d) => d !== -1));
  const bad = (): AutogradError => new AutogradError(`reshape: cannot reshape ${formatShape(x.shape)} (${x.size} values) into ${formatShape(shape)}`);
  if (free > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) throw bad();
  if (free === 1 && (known === 0 || x.size % known !== 0)) throw bad();
  const resolved = shape.map((d) => (d === -1 ? x.size / known : d));
  if (shapeSize(resolved) !== x.size) throw bad();
  return reshapeOp([x], { shape: resolved });
}
