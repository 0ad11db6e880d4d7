// One finiteness mechanism for every place numbers enter or leave the network: movies, stimulus
// buffers, network states, activity to plot. Platform-neutral (no Node imports), so the browser
// build and the CLI share it. A NaN or an infinity is never a result: whoever finds one names
// what it was in (file, field or phase), where (index) and what value it had.

/** Largest finite float32 (values beyond it round to ±Infinity when stored as float32). */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Numbers were expected finite and were not (bad input: the CLI exits 2). */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

/**
 * True when data[from, to) holds no NaN or ±Infinity. Fast (about 0.6 ns per value: it runs
 * after every Euler step): a sum in float64 over float32 values can only be non-finite when a
 * value is; for float64 data an overflowing sum is confirmed value by value.
 */
export function allFinite(data: ArrayLike<number>, from = 0, to = data.length): boolean {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = from;
  for (const end = to - 3; i < end; i += 4) {
    s0 += data[i]!;
    s1 += data[i + 1]!;
    s2 += data[i + 2]!;
    s3 += data[i + 3]!;
  }
  for (; i < to; i++) s0 += data[i]!;
  const s = s0 + s1 + s2 + s3;
  // s - s is 0 for every finite s, NaN for NaN and ±Infinity.
  return s - s === 0 || firstNonFiniteScan(data, from, to) < 0;
}

function firstNonFiniteScan(data: ArrayLike<number>, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const x = data[i]!;
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Index of the first NaN or ±Infinity in data[from, to), or -1 when all are finite. */
export function firstNonFinite(data: ArrayLike<number>, from = 0, to = data.length): number {
  return allFinite(data, from, to) ? -1 : firstNonFiniteScan(data, from, to);
}

/** Number of NaN or ±Infinity values in data[from, to). */
export function countNonFinite(data: ArrayLike<number>, from = 0, to = data.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const x = data[i]!;
    if (x - x !== 0) n++;
  }
  return n;
}

/** The multi-index of flat index `i` in a C-ordered array of `shape`, as text: '(0, 3, 5)'. */
export function formatIndex(i: number, shape?: readonly number[]): string {
  if (shape === undefined || shape.length === 0) return `[${i}]`;
  const idx: number[] = new Array<number>(shape.length);
  let r = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    idx[d] = n > 0 ? r % n : 0;
    r = n > 0 ? Math.floor(r / n) : 0;
  }
  return `[${idx.join(', ')}]`;
}

/**
 * Throws a NonFiniteError naming `what` (a file, field or phase), the index (multi-index when
 * `shape` is given) and the value of the first NaN or ±Infinity in `data`; returns `data`.
 */
export function assertFinite<T extends ArrayLike<number>>(data: T, what: string, shape?: readonly number[]): T {
  const i = firstNonFinite(data);
  if (i >= 0) {
    const n = countNonFinite(data, i);
    const more = n > 1 ? ` (${n} of ${data.length} values are not finite)` : '';
    throw new NonFiniteError(`${what}: value at ${formatIndex(i, shape)} is ${data[i]}, expected a finite number${more}`);
  }
  return data;
}

/**
 * Converts to float32 and checks every value after the conversion: a finite float64 beyond
 * float32 range (|x| > 3.4e38) becomes ±Infinity when cast, so it is refused as well as NaN and
 * ±Infinity, naming `what`, the index and the value before conversion. A Float32Array is checked
 * and returned as is (no copy).
 */
export function toFloat32(data: ArrayLike<number>, what: string, shape?: readonly number[]): Float32Array {
  const out = data instanceof Float32Array ? data : Float32Array.from(data);
  const i = firstNonFinite(out);
  if (i >= 0) {
    const v = data[i]!;
    const why = Number.isFinite(v) ? `, beyond float32 range (|x| <= ${FLOAT32_MAX})` : ', expected a finite number';
    throw new NonFiniteError(`${what}: value at ${formatIndex(i, shape)} is ${v}${why}`);
  }
  return out;
}
