// Elementwise ops: arithmetic with numpy broadcasting, maps with constant parameters, and the
// activations. Each is defined once with its forward and VJP; the loops are in kernels/basic.
import {
  type BinaryKind, type UnaryKind, binaryBroadcast, reduceToShape, unaryBackward, unaryForward,
} from '../kernels/basic.ts';
import { type Op, defineOp } from './tape.ts';
import {
  AutogradError, Tensor, allocate, assertTensor, formatShape, sameShape, scalar, shapeSize, type Shape,
} from './tensor.ts';

// ---------------------------------------------------------------- maps

interface UnaryAttrs {
  readonly p0: number;
  readonly p1: number;
}

function unaryOp(kind: UnaryKind): Op<UnaryAttrs> {
  return defineOp<UnaryAttrs>({
    name: kind,
    forward(inputs, { p0, p1 }) {
      const x = inputs[0]!;
      const out = allocate(x.size, x.dtype);
      unaryForward(kind, x.data, out, p0, p1);
      return { out: new Tensor(out, x.shape) };
    },
    vjp(g, { inputs, out, attrs }) {
      const x = inputs[0]!;
      const gx = allocate(x.size, x.dtype);
      unaryBackward(kind, x.data, out.data, g.data, gx, attrs.p0, attrs.p1);
      return [new Tensor(gx, x.shape)];
    },
  });
}

const UNARY_KINDS: readonly UnaryKind[] = [
  'neg', 'exp', 'log', 'square', 'sqrt', 'abs', 'pow', 'maximum', 'minimum', 'clamp',
  'relu', 'elu', 'softplus', 'leakyrelu', 'sigmoid', 'tanh',
];
const UNARY = Object.fromEntries(UNARY_KINDS.map((k) => [k, unaryOp(k)])) as Record<UnaryKind, Op<UnaryAttrs>>;

function checkConstant(op: string, name: string, c: number): void {
  if (typeof c !== 'number' || Number.isNaN(c)) throw new AutogradError(`${op}: ${name} must be a number, got ${String(c)}`);
}

function map(kind: UnaryKind, x: Tensor, p0 = 0, p1 = 0): Tensor {
  assertTensor(x, kind);
  return UNARY[kind]([x], { p0, p1 });
}

export const neg = (x: Tensor): Tensor => map('neg', x);
export const exp = (x: Tensor): Tensor => map('exp', x);
export const log = (x: Tensor): Tensor => map('log', x);
export const square = (x: Tensor): Tensor => map('square', x);
export const sqrt = (x: Tensor): Tensor => map('sqrt', x);
/** |x| (gradient 0 at 0, as torch). */
export const abs = (x: Tensor): Tensor => map('abs', x);
export const relu = (x: Tensor): Tensor => map('relu', x);
export const sigmoid = (x: Tensor): Tensor => map('sigmoid', x);
export const tanh = (x: Tensor): Tensor => map('tanh', x);

/** x ** c for a constant exponent c. */
export function pow(x: Tensor, c: number): Tensor {
  checkConstant('pow', 'exponent', c);
  return map('pow', x, c);
}

/** max(x, c) elementwise for a constant c (gradient passes where x >= c, as torch.clamp). */
export function maximum(x: Tensor, c: number): Tensor {
  checkConstant('maximum', 'c', c);
  return map('maximum', x, c);
}

/** min(x, c) elementwise for a constant c (gradient passes where x <= c). */
export function minimum(x: Tensor, c: number): Tensor {
  checkConstant('minimum', 'c', c);
  return map('minimum', x, c);
}

/** min(max(x, lo), hi), as torch.clamp. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  checkConstant('clamp', 'lo', lo);
  checkConstant('clamp', 'hi', hi);
  if (lo > hi) throw new AutogradError(`clamp: lo (${lo}) must not exceed hi (${hi})`);
  return map('clamp', x, lo, hi);
}

/** x > 0 ? x : alpha * (exp(x) - 1). */
export function elu(x: Tensor, alpha = 1): Tensor {
  checkConstant('elu', 'alpha', alpha);
  return map('elu', x, alpha);
}

/** log(1 + exp(beta x)) / beta, linear where beta x > threshold (torch.nn.Softplus). */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  checkConstant('softplus', 'beta', beta);
  checkConstant('softplus', 'threshold', threshold);
  if (beta === 0) throw new AutogradError('softplus: beta must be non-zero');
  return map('softplus', x, beta, threshold);
}

/** x > 0 ? x : slope * x. */
export function leakyrelu(x: Tensor, slope = 0.01): Tensor {
  checkConstant('leakyrelu', 'slope', slope);
  return map('leakyrelu', x, slope);
}

// ---------------------------------------------------------------- arithmetic

/** The broadcast shape of a and b (numpy rules), or an error naming the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Shape {
  if (sameShape(a, b)) return a;
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let d = 0; d < r; d++) {
    const da = a[d - (r - a.length)] ?? 1;
    const db = b[d - (r - b.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new AutogradError(`${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dimension ${d}: ${da} vs ${db})`);
    }
    out[d] = da === 1 ? db : da;
  }
  return out;
}

/** g (shape of the op's output) summed down to x's shape: the adjoint of broadcasting. */
function unbroadcast(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const out = allocate(shapeSize(shape), g.dtype);
  reduceToShape(g.data, g.shape, out, shape);
  return new Tensor(out, shape);
}

/** out = a (op) b, broadcast to `shape`. */
function compute(kind: BinaryKind, a: Tensor, b: Tensor, shape: Shape): Tensor {
  const out = allocate(shapeSize(shape), a.dtype);
  binaryBroadcast(kind, a.data, a.shape, b.data, b.shape, out, shape);
  return new Tensor(out, shape);
}

function binaryOp(kind: BinaryKind): Op<undefined> {
  return defineOp({
    name: kind,
    forward(inputs) {
      const a = inputs[0]!;
      const b = inputs[1]!;
      return { out: compute(kind, a, b, broadcastShapes(kind, a.shape, b.shape)) };
    },
    vjp(g, { inputs, out, needsGrad }) {
      const a = inputs[0]!;
      const b = inputs[1]!;
      const ga = needsGrad[0] ?? false;
      const gb = needsGrad[1] ?? false;
      switch (kind) {
        case 'add':
          return [ga ? unbroadcast(g, a.shape) : null, gb ? unbroadcast(g, b.shape) : null];
        case 'sub':
          return [ga ? unbroadcast(g, a.shape) : null, gb ? UNARY.neg([unbroadcast(g, b.shape)], { p0: 0, p1: 0 }) : null];
        case 'mul':
          return [ga ? unbroadcast(compute('mul', g, b, g.shape), a.shape) : null, gb ? unbroadcast(compute('mul', g, a, g.shape), b.shape) : null];
        case 'div': {
          // d(a/b)/db = -out / b
          const gbTerm = gb ? compute('div', compute('mul', g, out, g.shape), b, g.shape) : null;
          return [
            ga ? unbroadcast(compute('div', g, b, g.shape), a.shape) : null,
            gbTerm ? UNARY.neg([unbroadcast(gbTerm, b.shape)], { p0: 0, p1: 0 }) : null,
          ];
        }
      }
    },
  });
}

const BINARY: Record<BinaryKind, Op<undefined>> = {
  add: binaryOp('add'), sub: binaryOp('sub'), mul: binaryOp('mul'), div: binaryOp('div'),
};

/** Checks operands; a number becomes a scalar of the other operand's dtype. */
function operands(op: string, a: Tensor | number, b: Tensor | number): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new AutogradError(`${op}: at least one operand must be a Tensor`);
  if (typeof a === 'number') {
    assertTensor(b, op, 'b');
    return [scalar(a, b.dtype), b];
  }
  assertTensor(a, op, 'a');
  if (typeof b === 'number') return [a, scalar(b, a.dtype)];
  assertTensor(b, op, 'b');
  if (a.dtype !== b.dtype) {
    throw new AutogradError(`${op}: dtype mismatch: ${a.dtype} ${formatShape(a.shape)} vs ${b.dtype} ${formatShape(b.shape)} (convert one explicitly)`);
  }
  return [a, b];
}

function arith(kind: BinaryKind, a: Tensor | number, b: Tensor | number): Tensor {
  const [ta, tb] = operands(kind, a, b);
  return BINARY[kind]([ta, tb], undefined);
}

/** a + b with numpy broadcasting; either operand may be a number. */
export const add = (a: Tensor | number, b: Tensor | number): Tensor => arith('add', a, b);
/** a - b with numpy broadcasting. */
export const sub = (a: Tensor | number, b: Tensor | number): Tensor => arith('sub', a, b);
/** a * b with numpy broadcasting. */
export const mul = (a: Tensor | number, b: Tensor | number): Tensor => arith('mul', a, b);
/** a / b with numpy broadcasting. */
export const div = (a: Tensor | number, b: Tensor | number): Tensor => arith('div', a, b);
