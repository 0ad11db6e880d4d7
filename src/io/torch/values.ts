// The values a PyTorch checkpoint holds, as plain TypeScript data: tensors, Python dicts
// (plain and OrderedDict), lists, tuples, sets, strings, bytes, numbers, None and booleans.
// Platform-neutral (no Node imports): the reader and writer work on Uint8Array.
//
// Numbers follow Python's two kinds exactly, so a file read and written back is unchanged:
// a Python float (and a numpy float scalar) is a JS `number`, a Python int (and a numpy integer
// scalar) is a JS `bigint`. Write `5n` for a Python int 5, `5` for a Python float 5.0.

/** A file that is not a readable PyTorch checkpoint, or a value that cannot be written as one. */
export class TorchFileError extends Error {
  override name = 'TorchFileError';
  constructor(
    /** The file (or value) concerned, as given by the caller. */
    readonly file: string,
    /** What is wrong, in one line. */
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** The tensor dtypes read and written (torch.float32, ...). */
export type TorchDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/**
 * The typed array holding a tensor's elements: Float32Array for float32, and also for float16
 * and bfloat16 (converted exactly; the original dtype is kept in `dtype`), Float64Array,
 * BigInt64Array (int64), Int32Array, Int16Array, Int8Array, Uint8Array (uint8, and bool as 0/1).
 */
export type TorchTensorData =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array;

interface DtypeInfo {
  readonly storage: string; // torch.<storage> class named in the pickle
  readonly itemsize: number; // bytes per element in the file
  readonly array: string; // name of the typed array holding the values
}

const ARRAY_TYPES: Readonly<Record<string, abstract new (...args: never[]) => TorchTensorData>> = {
  Float32Array,
  Float64Array,
  BigInt64Array,
  Int32Array,
  Int16Array,
  Int8Array,
  Uint8Array,
};

/** dtype -> storage class, bytes per element, typed array. */
export const DTYPES: Readonly<Record<TorchDtype, DtypeInfo>> = {
  float32: { storage: 'FloatStorage', itemsize: 4, array: 'Float32Array' },
  float64: { storage: 'DoubleStorage', itemsize: 8, array: 'Float64Array' },
  float16: { storage: 'HalfStorage', itemsize: 2, array: 'Float32Array' },
  bfloat16: { storage: 'BFloat16Storage', itemsize: 2, array: 'Float32Array' },
  int64: { storage: 'LongStorage', itemsize: 8, array: 'BigInt64Array' },
  int32: { storage: 'IntStorage', itemsize: 4, array: 'Int32Array' },
  int16: { storage: 'ShortStorage', itemsize: 2, array: 'Int16Array' },
  int8: { storage: 'CharStorage', itemsize: 1, array: 'Int8Array' },
  uint8: { storage: 'ByteStorage', itemsize: 1, array: 'Uint8Array' },
  bool: { storage: 'BoolStorage', itemsize: 1, array: 'Uint8Array' },
};

/** torch.<X>Storage class name -> dtype. */
export const STORAGE_DTYPES: ReadonlyMap<string, TorchDtype> = new Map(
  (Object.keys(DTYPES) as TorchDtype[]).map((d) => [DTYPES[d].storage, d] as const),
);

/** Number of elements of a shape (1 for a 0-dim tensor). */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Allocates the typed array for `n` elements of `dtype`. */
export function allocData(dtype: TorchDtype, n: number): TorchTensorData {
  switch (DTYPES[dtype].array) {
    case 'Float32Array':
      return new Float32Array(n);
    case 'Float64Array':
      return new Float64Array(n);
    case 'BigInt64Array':
      return new BigInt64Array(n);
    case 'Int32Array':
      return new Int32Array(n);
    case 'Int16Array':
      return new Int16Array(n);
    case 'Int8Array':
      return new Int8Array(n);
    default:
      return new Uint8Array(n);
  }
}

/**
 * A dense tensor in C (row-major) order. Views in a file (slices, transposes, expands sharing
 * one storage) are read as independent contiguous copies of their elements.
 */
export class TorchTensor {
  readonly dtype: TorchDtype;
  readonly shape: readonly number[];
  readonly data: TorchTensorData;
  /** The tensor's requires_grad flag as saved. */
  readonly requiresGrad: boolean;
  /** Saved as a torch.nn.Parameter (torch._utils._rebuild_parameter). */
  readonly isParameter: boolean;
  /** The storage location recorded in the file ('cpu', 'cuda:0'); written back as 'cpu'. */
  readonly device: string;

  constructor(
    dtype: TorchDtype,
    shape: readonly number[],
    data: TorchTensorData,
    options: { requiresGrad?: boolean; isParameter?: boolean; device?: string } = {},
  ) {
    const info = DTYPES[dtype] as DtypeInfo | undefined;
    if (info === undefined) throw new TorchFileError('TorchTensor', `unknown dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new TorchFileError('TorchTensor', `shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!(data instanceof ARRAY_TYPES[info.array]!)) {
      throw new TorchFileError('TorchTensor', `${dtype} data must be a ${info.array}, got ${data?.constructor?.name ?? typeof data}`);
    }
    const n = numelOf(shape);
    if (data.length !== n) {
      throw new TorchFileError('TorchTensor', `shape [${shape.join(', ')}] has ${n} elements but data has ${data.length}`);
    }
    this.dtype = dtype;
    this.shape = Object.freeze([...shape]);
    this.data = data;
    this.requiresGrad = options.requiresGrad ?? false;
    this.isParameter = options.isParameter ?? false;
    this.device = options.device ?? 'cpu';
  }

  get numel(): number {
    return this.data.length;
  }
}

/** A Python tuple. */
export class TorchTuple {
  readonly items: readonly TorchValue[];
  constructor(items: readonly TorchValue[]) {
    this.items = Object.freeze([...items]);
  }
}

/**
 * A Python dict (`ordered: false`) or collections.OrderedDict (`ordered: true`), keys in
 * insertion order. `attributes` is the instance state an OrderedDict may carry (a state_dict's
 * `_metadata`), kept so it is written back.
 */
export class TorchDict extends Map<TorchValue, TorchValue> {
  readonly ordered: boolean;
  attributes: TorchValue | undefined;
  constructor(entries: Iterable<readonly [TorchValue, TorchValue]> = [], ordered = false) {
    super(entries);
    this.ordered = ordered;
    this.attributes = undefined;
  }
}

/** A Python set (`frozen: false`) or frozenset. */
export class TorchSet extends Set<TorchValue> {
  readonly frozen: boolean;
  constructor(items: Iterable<TorchValue> = [], frozen = false) {
    super(items);
    this.frozen = frozen;
  }
}

/**
 * A value read from (or written to) a checkpoint. Python float -> number, int -> bigint,
 * str -> string, bytes -> Uint8Array, None -> null, list -> array, tuple -> TorchTuple,
 * dict / OrderedDict -> TorchDict, set / frozenset -> TorchSet, tensor -> TorchTensor.
 */
export type TorchValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | TorchTensor
  | TorchTuple
  | TorchDict
  | TorchSet
  | TorchValue[];

/**
 * What writeTorchFile accepts: a TorchValue, where dicts may also be given as a JS Map or a
 * plain object (string keys; written as a Python dict).
 */
export type TorchWritable =
  | TorchValue
  | Map<TorchWritable, TorchWritable>
  | TorchWritable[]
  | { readonly [key: string]: TorchWritable };

// ----------------------------------------------------------------- half-precision conversions

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE binary16 bits -> value (exact). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 value -> IEEE binary16 bits, rounding to nearest even (as torch's .half()). */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> inf
  if (e <= 0) {
    // subnormal half (or zero): value = m * 2^-24 with m = round(|x| * 2^24)
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000; // 24-bit significand
    const shift = 14 - e; // 1 - e + 13
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h += 1; // may carry into the exponent (to inf)
  return sign | h;
}

/** bfloat16 bits -> value (exact: the upper half of a float32). */
export function bfloat16ToFloat(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0]!;
}

/** float32 value -> bfloat16 bits, rounding to nearest even as torch does (NaN -> 0x7fc0). */
export function floatToBfloat16(x: number): number {
  f32[0] = x;
  if (Number.isNaN(f32[0])) return 0x7fc0;
  const bits = u32[0]!;
  const rounded = bits + (((bits >>> 16) & 1) + 0x7fff);
  return (rounded >>> 16) & 0xffff;
}
