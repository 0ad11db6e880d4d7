// The plain typed-array loops behind the autodiff engine's ops (src/autograd): elementwise
// maps and their derivatives, broadcast binary arithmetic, reductions, gather / scatter-sum
// along an axis, and block copies. Nothing here allocates per element or calls a callback per
// element: the choice of operation is made once, outside each loop. Callers validate shapes
// and indices; these loops trust their arguments.

export type FloatArray = Float32Array | Float64Array;

/** The elementwise maps of the engine; p0 / p1 are their constant parameters. */
export type UnaryKind =
  | 'neg' | 'exp' | 'log' | 'square' | 'sqrt' | 'abs'
  | 'pow' // x ** p0
  | 'maximum' | 'minimum' // max(x, p0), min(x, p0)
  | 'clamp' // min(max(x, p0), p1)
  | 'relu' | 'elu' // elu: alpha = p0
  | 'softplus' // beta = p0, threshold = p1 (torch: linear where beta * x > threshold)
  | 'leakyrelu' // negative slope = p0
  | 'sigmoid' | 'tanh';

/** out[i] = f(x[i]). NaN propagates as in torch. */
export function unaryForward(kind: UnaryKind, x: FloatArray, out: FloatArray, p0 = 0, p1 = 0): void {
  const n = x.length;
  switch (kind) {
    case 'neg': for (let i = 0; i < n; i++) out[i] = -x[i]!; return;
    case 'exp': for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!); return;
    case 'log': for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!); return;
    case 'square': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v * v; } return;
    case 'sqrt': for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!); return;
    case 'abs': for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!); return;
    case 'pow': for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, p0); return;
    case 'maximum': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < p0 ? p0 : v; } return;
    case 'minimum': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > p0 ? p0 : v; } return;
    case 'clamp': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < p0 ? p0 : v > p1 ? p1 : v; } return;
    case 'relu': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v < 0 ? 0 : v; } return;
    case 'elu': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? v : p0 * Math.expm1(v); } return;
    case 'softplus':
      for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = p0 * v > p1 ? v : Math.log1p(Math.exp(p0 * v)) / p0; }
      return;
    case 'leakyrelu': for (let i = 0; i < n; i++) { const v = x[i]!; out[i] = v > 0 ? v : p0 * v; } return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) {
        const v = x[i]!;
        if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
        else { const e = Math.exp(v); out[i] = e / (1 + e); }
      }
      return;
    case 'tanh': for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]!); return;
  }
}

/**
 * gx[i] = g[i] * f'(x[i]), given the input x and the output y = f(x). Derivatives at kinks
 * follow torch: relu'(0) = 0, leakyrelu'(0) = slope, abs'(0) = 0, and maximum / minimum /
 * clamp pass the gradient where x equals the bound.
 */
export function unaryBackward(kind: UnaryKind, x: FloatArray, y: FloatArray, g: FloatArray, gx: FloatArray, p0 = 0, p1 = 0): void {
  const n = x.length;
  switch (kind) {
    case 'neg': for (let i = 0; i < n; i++) gx[i] = -g[i]!; return;
    case 'exp': for (let i = 0; i < n; i++) gx[i] = g[i]! * y[i]!; return;
    case 'log': for (let i = 0; i < n; i++) gx[i] = g[i]! / x[i]!; return;
    case 'square': for (let i = 0; i < n; i++) gx[i] = 2 * x[i]! * g[i]!; return;
    case 'sqrt': for (let i = 0; i < n; i++) gx[i] = g[i]! / (2 * y[i]!); return;
    case 'abs': for (let i = 0; i < n; i++) { const v = x[i]!; gx[i] = v > 0 ? g[i]! : v < 0 ? -g[i]! : 0; } return;
    case 'pow':
      if (p0 === 0) gx.fill(0);
      else for (let i = 0; i < n; i++) gx[i] = g[i]! * p0 * Math.pow(x[i]!, p0 - 1);
      return;
    case 'maximum': for (let i = 0; i < n; i++) gx[i] = x[i]! >= p0 ? g[i]! : 0; return;
    case 'minimum': for (let i = 0; i < n; i++) gx[i] = x[i]! <= p0 ? g[i]! : 0; return;
    case 'clamp': for (let i = 0; i < n; i++) { const v = x[i]!; gx[i] = v >= p0 && v <= p1 ? g[i]! : 0; } return;
    case 'relu': for (let i = 0; i < n; i++) gx[i] = x[i]! > 0 ? g[i]! : 0; return;
    case 'elu': for (let i = 0; i < n; i++) gx[i] = x[i]! > 0 ? g[i]! : g[i]! * (y[i]! + p0); return;
    case 'softplus':
      for (let i = 0; i < n; i++) { const z = p0 * x[i]!; gx[i] = z > p1 ? g[i]! : g[i]! / (1 + Math.exp(-z)); }
      return;
    case 'leakyrelu': for (let i = 0; i < n; i++) gx[i] = x[i]! > 0 ? g[i]! : p0 * g[i]!; return;
    case 'sigmoid': for (let i = 0; i < n; i++) { const s = y[i]!; gx[i] = g[i]! * s * (1 - s); } return;
    case 'tanh': for (let i = 0; i < n; i++) { const t = y[i]!; gx[i] = g[i]! * (1 - t * t); } return;
  }
}

export type BinaryKind = 'add' | 'sub' | 'mul' | 'div';

/**
 * out[o + i] = a[ai] (op) b[bi] for i < n, with ai = aOff + i * aStep, bi = bOff + i * bStep;
 * a step of 0 repeats one value (a broadcast dimension).
 */
export function binaryRun(
  kind: BinaryKind, a: FloatArray, aOff: number, aStep: number, b: FloatArray, bOff: number, bStep: number,
  out: FloatArray, oOff: number, n: number,
): void {
  let ai = aOff;
  let bi = bOff;
  const end = oOff + n;
  switch (kind) {
    case 'add': for (let o = oOff; o < end; o++, ai += aStep, bi += bStep) out[o] = a[ai]! + b[bi]!; return;
    case 'sub': for (let o = oOff; o < end; o++, ai += aStep, bi += bStep) out[o] = a[ai]! - b[bi]!; return;
    case 'mul': for (let o = oOff; o < end; o++, ai += aStep, bi += bStep) out[o] = a[ai]! * b[bi]!; return;
    case 'div': for (let o = oOff; o < end; o++, ai += aStep, bi += bStep) out[o] = a[ai]! / b[bi]!; return;
  }
}

/**
 * How to walk two operands broadcast against an output shape: the output is a sequence of
 * contiguous rows of `run` elements; within a row each operand advances by its step (1, or 0
 * where it is broadcast); between rows the outer dimensions advance by their strides.
 */
export interface BroadcastPlan {
  readonly outerDims: readonly number[];
  readonly aStrides: readonly number[];
  readonly bStrides: readonly number[];
  readonly run: number;
  readonly aStep: number;
  readonly bStep: number;
}

/**
 * Plans a broadcast of shapes a and b (right-aligned, numpy rules, already checked) onto out.
 * Dimensions of size 1 in the output are dropped and neighbouring dimensions that broadcast
 * the same way are merged, so (B, N) against (N,) is B rows of N and equal shapes are one row.
 */
export function planBroadcast(out: readonly number[], a: readonly number[], b: readonly number[]): BroadcastPlan {
  const r = out.length;
  const dims: { n: number; aFull: boolean; bFull: boolean }[] = [];
  for (let d = 0; d < r; d++) {
    const n = out[d]!;
    if (n === 1) continue;
    const aFull = (a[d - (r - a.length)] ?? 1) !== 1;
    const bFull = (b[d - (r - b.length)] ?? 1) !== 1;
    const last = dims[dims.length - 1];
    if (last && last.aFull === aFull && last.bFull === bFull) last.n *= n;
    else dims.push({ n, aFull, bFull });
  }
  if (dims.length === 0) dims.push({ n: 1, aFull: true, bFull: true });
  const aStrides: number[] = new Array<number>(dims.length);
  const bStrides: number[] = new Array<number>(dims.length);
  let as = 1;
  let bs = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    const { n, aFull, bFull } = dims[d]!;
    aStrides[d] = aFull ? as : 0;
    bStrides[d] = bFull ? bs : 0;
    if (aFull) as *= n;
    if (bFull) bs *= n;
  }
  const inner = dims[dims.length - 1]!;
  return {
    outerDims: dims.slice(0, -1).map((d) => d.n),
    aStrides: aStrides.slice(0, -1),
    bStrides: bStrides.slice(0, -1),
    run: inner.n,
    aStep: inner.aFull ? 1 : 0,
    bStep: inner.bFull ? 1 : 0,
  };
}

/** Calls visit(aOff, bOff, outOff) once per row of the plan (per row, never per element). */
export function forEachRow(plan: BroadcastPlan, visit: (aOff: number, bOff: number, oOff: number) => void): void {
  const { outerDims, aStrides, bStrides, run } = plan;
  const rank = outerDims.length;
  let rows = 1;
  for (const n of outerDims) rows *= n;
  const counter = new Array<number>(rank).fill(0);
  let aOff = 0;
  let bOff = 0;
  for (let row = 0; row < rows; row++) {
    visit(aOff, bOff, row * run);
    for (let d = rank - 1; d >= 0; d--) {
      aOff += aStrides[d]!;
      bOff += bStrides[d]!;
      if (++counter[d]! < outerDims[d]!) break;
      counter[d] = 0;
      aOff -= aStrides[d]! * outerDims[d]!;
      bOff -= bStrides[d]! * outerDims[d]!;
    }
  }
}

/** out = a (op) b with numpy broadcasting; equal shapes take a single flat loop. */
export function binaryBroadcast(
  kind: BinaryKind, a: FloatArray, aShape: readonly number[], b: FloatArray, bShape: readonly number[],
  out: FloatArray, outShape: readonly number[],
): void {
  if (a.length === out.length && b.length === out.length) return binaryRun(kind, a, 0, 1, b, 0, 1, out, 0, out.length);
  if (b.length === 1 && a.length === out.length) return binaryRun(kind, a, 0, 1, b, 0, 0, out, 0, out.length);
  if (a.length === 1 && b.length === out.length) return binaryRun(kind, a, 0, 0, b, 0, 1, out, 0, out.length);
  const plan = planBroadcast(outShape, aShape, bShape);
  const { run, aStep, bStep } = plan;
  forEachRow(plan, (aOff, bOff, oOff) => binaryRun(kind, a, aOff, aStep, b, bOff, bStep, out, oOff, run));
}

/**
 * Sums g (shape gShape) down to `shape`, a shape that broadcasts to gShape (the adjoint of
 * broadcasting). Overwrites out.
 */
export function reduceToShape(g: FloatArray, gShape: readonly number[], out: FloatArray, shape: readonly number[]): void {
  if (out.length === g.length) {
    out.set(g);
    return;
  }
  if (out.length === 1) {
    out[0] = sumAll(g);
    return;
  }
  out.fill(0);
  const plan = planBroadcast(gShape, gShape, shape);
  const { run, bStep } = plan;
  forEachRow(plan, (gOff, oOff) => {
    if (bStep === 1) {
      for (let i = 0; i < run; i++) out[oOff + i]! += g[gOff + i]!;
    } else {
      let s = 0;
      for (let i = 0; i < run; i++) s += g[gOff + i]!;
      out[oOff]! += s;
    }
  });
}

/** The sum of all elements, accumulated in float64. */
export function sumAll(x: FloatArray): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return s;
}

/** out[o, i] = sum_k x[o, k, i] for x viewed as (outer, n, inner). Overwrites out. */
export function sumAxis(x: FloatArray, outer: number, n: number, inner: number, out: FloatArray): void {
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      let s = 0;
      const base = o * n;
      for (let k = 0; k < n; k++) s += x[base + k]!;
      out[o] = s;
    }
    return;
  }
  out.fill(0);
  for (let o = 0; o < outer; o++) {
    const dst = o * inner;
    for (let k = 0; k < n; k++) {
      const src = (o * n + k) * inner;
      for (let i = 0; i < inner; i++) out[dst + i]! += x[src + i]!;
    }
  }
}

/** out[o, k, i] = g[o, i] for out viewed as (outer, n, inner): the adjoint of sumAxis. */
export function expandAxis(g: FloatArray, outer: number, n: number, inner: number, out: FloatArray): void {
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < n; k++) {
      const dst = (o * n + k) * inner;
      const src = o * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = g[src + i]!;
    }
  }
}

/** The position of the first entry of index outside [0, size), or -1 when all are inside. */
export function firstOutOfRange(index: Int32Array, size: number): number {
  for (let j = 0; j < index.length; j++) {
    const v = index[j]!;
    if (v < 0 || v >= size) return j;
  }
  return -1;
}

/** Gather: out[o, j, i] = x[o, index[j], i], x viewed as (outer, n, inner). Overwrites out. */
export function gatherAxis(x: FloatArray, outer: number, n: number, inner: number, index: Int32Array, out: FloatArray): void {
  const k = index.length;
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const xo = o * n;
      const oo = o * k;
      for (let j = 0; j < k; j++) out[oo + j] = x[xo + index[j]!]!;
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const src = (o * n + index[j]!) * inner;
      const dst = (o * k + j) * inner;
      for (let i = 0; i < inner; i++) out[dst + i] = x[src + i]!;
    }
  }
}

/**
 * Scatter-sum (segment sum): out[o, index[j], i] += x[o, j, i], x viewed as (outer, k, inner)
 * with k = index.length and out as (outer, size, inner). Overwrites out (zeros it first).
 */
export function scatterAddAxis(x: FloatArray, outer: number, inner: number, index: Int32Array, size: number, out: FloatArray): void {
  const k = index.length;
  out.fill(0);
  if (inner === 1) {
    for (let o = 0; o < outer; o++) {
      const xo = o * k;
      const oo = o * size;
      for (let j = 0; j < k; j++) out[oo + index[j]!]! += x[xo + j]!;
    }
    return;
  }
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < k; j++) {
      const src = (o * k + j) * inner;
      const dst = (o * size + index[j]!) * inner;
      for (let i = 0; i < inner; i++) out[dst + i]! += x[src + i]!;
    }
  }
}

/** dst[r * dstStride + dstOff + i] = src[r * srcStride + srcOff + i] for r < rows, i < len. */
export function copyRows(
  src: FloatArray, srcStride: number, srcOff: number, dst: FloatArray, dstStride: number, dstOff: number, rows: number, len: number,
): void {
  if (len >= 64) {
    for (let r = 0; r < rows; r++) {
      const s = r * srcStride + srcOff;
      dst.set(src.subarray(s, s + len), r * dstStride + dstOff);
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    const s = r * srcStride + srcOff;
    const d = r * dstStride + dstOff;
    for (let i = 0; i < len; i++) dst[d + i] = src[s + i]!;
  }
}

/** dst[i] += src[i] (gradient accumulation). */
export function addInPlace(dst: FloatArray, src: FloatArray): void {
  for (let i = 0; i < dst.length; i++) dst[i]! += src[i]!;
}

/** 1 + the largest entry of a non-negative index array (0 when empty). */
export function indexBound(index: Int32Array): number {
  let m = -1;
  for (let j = 0; j < index.length; j++) if (index[j]! > m) m = index[j]!;
  return m + 1;
}
