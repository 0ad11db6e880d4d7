// Reading and writing NumPy .npy files (format versions 1-3, C order, little-endian
// float32 / float64 / int32 / int64), the array format flyvis users exchange movies and
// activity in. Platform-neutral: parseNpy / encodeNpy work on bytes; readNpy / writeNpy go
// through the platform's files (src/platform.ts; Node's file system).
import { resolveBudget } from '../budget.ts';
import { BoundedReadError, readFileBounded, writeFileThroughPlatform } from './bounded.ts';
import { toFloat32 } from './finite.ts';

export type NpyData = Float32Array | Float64Array | Int32Array;

export interface NpyArray {
  readonly data: NpyData;
  readonly shape: readonly number[];
  /** The dtype as stored in the file, e.g. '<f4'. */
  readonly descr: string;
}

export class NpyError extends Error {
  override name = 'NpyError';
}

const MAGIC = '\x93NUMPY';

/** numpy's default max_header_size: np.load refuses longer headers (they may be hostile). */
const MAX_HEADER_SIZE = 10000;

type HeaderValue = string | boolean | number[];

/**
 * Parses the header dict as numpy does (ast.literal_eval, then exact keys), but only the literal
 * forms numpy writes: a dict with string keys of strings, True/False and tuples of
 * non-negative integers. Anything else is refused rather than read differently from numpy: a
 * duplicated key (numpy keeps the last, a regular expression the first), a missing or extra key,
 * other Python expressions, text after the dict (a header whose declared length runs into the
 * data), a shape that is not a tuple of integers.
 */
function parseHeader(header: string, major: number, fail: (msg: string) => never): { descr: string; fortranOrder: boolean; shape: number[] } {
  let i = 0;
  const shown = JSON.stringify(header.length > 200 ? `${header.slice(0, 200)}...` : header.trimEnd());
  const bad = (what: string): never => fail(`malformed header (${what} at character ${i}): ${shown}`);
  const ws = (): void => {
    while (i < header.length && ' \t\n\r\f\v'.includes(header[i]!)) i++;
  };
  const expect = (c: string): void => {
    ws();
    if (header[i] !== c) bad(`expected '${c}'`);
    i++;
  };
  const str = (): string => {
    ws();
    if (header[i] === 'u' || header[i] === 'U') i++;
    const q = header[i];
    if (q !== "'" && q !== '"') return bad('expected a string');
    const end = header.indexOf(q, i + 1);
    if (end < 0) return bad('unterminated string');
    const text = header.slice(i + 1, end);
    if (/[\\\n\r]/.test(text)) return bad('unsupported escape or line break in a string');
    i = end + 1;
    return text;
  };
  const int = (): number => {
    ws();
    const m = /^[+-]?\d+(?:_\d+)*/.exec(header.slice(i));
    if (m === null) return bad('expected an integer');
    const digits = m[0].replace(/_/g, '').replace(/^[+-]/, '');
    if (digits.length > 1 && digits[0] === '0' && /[1-9]/.test(digits)) bad('integer with a leading zero');
    i += m[0].length;
    // Python 2 wrote 3L; numpy accepts it in format versions 1 and 2.
    if ((header[i] === 'L' || header[i] === 'l') && major <= 2) i++;
    const v = Number(m[0].replace(/_/g, ''));
    if (!Number.isSafeInteger(v)) bad('integer too large');
    return v;
  };
  const value = (): HeaderValue => {
    ws();
    const c = header[i];
    if (c === "'" || c === '"' || ((c === 'u' || c === 'U') && (header[i + 1] === "'" || header[i + 1] === '"'))) return str();
    for (const [word, v] of [['True', true], ['False', false]] as const) {
      if (header.startsWith(word, i) && !/\w/.test(header[i + word.length] ?? '')) {
        i += word.length;
        return v;
      }
    }
    if (c !== '(') return bad('expected a string, True, False or a tuple of integers');
    i++;
    const dims: number[] = [];
    ws();
    if (header[i] === ')') {
      i++;
      return dims;
    }
    for (;;) {
      dims.push(int());
      ws();
      if (header[i] === ')') {
        // (3) is an integer in Python, not a tuple.
        if (dims.length === 1) bad("a one-element tuple needs a trailing comma, as in (3,)");
        i++;
        return dims;
      }
      expect(',');
      ws();
      if (header[i] === ')') {
        i++;
        return dims;
      }
    }
  };
  const entries = new Map<string, HeaderValue>();
  expect('{');
  ws();
  while (header[i] !== '}') {
    const key = str();
    if (entries.has(key)) {
      fail(`header has the key '${key}' twice (numpy reads the last, other readers the first): refusing an ambiguous file`);
    }
    expect(':');
    entries.set(key, value());
    ws();
    if (header[i] === ',') {
      i++;
      ws();
    } else if (header[i] !== '}') bad("expected ',' or '}'");
  }
  i++;
  ws();
  if (i < header.length) bad('unexpected text after the header dict');
  const keys = [...entries.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') {
    return fail(`header must have exactly the keys 'descr', 'fortran_order', 'shape' (as numpy requires), got ${keys.map((k) => `'${k}'`).join(', ') || 'none'}`);
  }
  const descr = entries.get('descr');
  const fortranOrder = entries.get('fortran_order');
  const shape = entries.get('shape');
  if (typeof descr !== 'string') return fail(`descr is not a dtype string: ${JSON.stringify(descr)}`);
  if (typeof fortranOrder !== 'boolean') return fail(`fortran_order is not True or False: ${JSON.stringify(fortranOrder)}`);
  if (!Array.isArray(shape)) return fail(`shape is not a tuple of integers: ${JSON.stringify(shape)}`);
  if (shape.some((d) => d < 0)) fail(`malformed shape (${shape.join(', ')}): negative dimension`);
  return { descr, fortranOrder, shape };
}

/** Parses the bytes of a .npy file. `what` names the file or field in error messages. */
export function parseNpy(bytes: Uint8Array, what = 'npy'): NpyArray {
  const fail = (msg: string): never => {
    throw new NpyError(`${what}: ${msg}`);
  };
  if (bytes.length < 10 || String.fromCharCode(...bytes.subarray(0, 6)) !== MAGIC) {
    fail('not a .npy file (missing \\x93NUMPY magic)');
  }
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail('truncated header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    return fail(`unsupported .npy format version ${major}`);
  }
  if (headerStart + headerLen > bytes.length) fail(`truncated header (${headerLen} bytes declared, ${bytes.length - headerStart} present)`);
  if (headerLen > MAX_HEADER_SIZE) fail(`header of ${headerLen} bytes is longer than numpy's limit of ${MAX_HEADER_SIZE}`);
  let header: string;
  try {
    header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(headerStart, headerStart + headerLen));
  } catch {
    return fail('header is not valid UTF-8 (format version 3)');
  }
  const { descr, fortranOrder, shape } = parseHeader(header, major, fail);
  if (fortranOrder) fail('Fortran-ordered arrays are not supported (save with C order)');
  const count = shape.reduce((a, b) => a * b, 1);
  const body = bytes.subarray(headerStart + headerLen);
  const copy = (bytesPer: number): ArrayBuffer => {
    if (body.length < count * bytesPer) {
      fail(`expected ${count * bytesPer} data bytes for shape (${shape.join(', ')}) of ${descr}, got ${body.length}`);
    }
    // Copy into a fresh, aligned buffer (the header length does not guarantee alignment;
    // and Node's Buffer.slice would return a view, not a copy).
    const chunk = new Uint8Array(count * bytesPer);
    chunk.set(body.subarray(0, count * bytesPer));
    return chunk.buffer;
  };
  switch (descr) {
    case '<f4':
      return { data: new Float32Array(copy(4)), shape, descr };
    case '<f8':
      return { data: new Float64Array(copy(8)), shape, descr };
    case '<i4':
      return { data: new Int32Array(copy(4)), shape, descr };
    case '<i8': {
      const wide = new BigInt64Array(copy(8));
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = wide[i]!;
        if (v > 2147483647n || v < -2147483648n) fail(`int64 value ${v} at ${i} does not fit int32`);
        out[i] = Number(v);
      }
      return { data: out, shape, descr };
    }
    default:
      return fail(`unsupported dtype '${descr}' (expected little-endian float32 '<f4', float64 '<f8', int32 '<i4' or int64 '<i8')`);
  }
}

/**
 * Reads a .npy file; errors name the file. Files above the memory budget (src/budget.ts) and
 * devices such as /dev/zero are refused before reading; a pipe is read up to the budget.
 */
export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    const hint = ' (the memory budget; raise it with FLYVIS_MAX_MEMORY_GB or --max-memory)';
    bytes = readFileBounded(file, resolveBudget().maxMemoryBytes, '.npy input', hint);
  } catch (e) {
    if (e instanceof BoundedReadError) throw new NpyError(`${file}: ${e.problem === 'missing' ? 'cannot read (ENOENT)' : e.detail}`);
    throw e;
  }
  return parseNpy(bytes, file);
}

/** Encodes an array as .npy (version 1.0) bytes. */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new NpyError(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, data has ${data.length}`);
  }
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Writes a .npy file atomically (temporary name, renamed on success). */
export function writeNpy(file: string, data: NpyData, shape: readonly number[]): void {
  writeFileThroughPlatform(file, encodeNpy(data, shape));
}

/**
 * The array's values as float32 (no copy for float32 data), refusing any value that is not
 * finite after the conversion: NaN, ±Infinity, and float64 values beyond float32 range (1e300),
 * which the cast would turn into ±Infinity. Errors name `what` (the file or field), the index
 * and the value. Use it wherever a .npy movie or stimulus enters the network.
 */
export function npyToFloat32(a: NpyArray, what: string): Float32Array {
  try {
    return toFloat32(a.data, what, a.shape);
  } catch (e) {
    throw new NpyError((e as Error).message);
  }
}
