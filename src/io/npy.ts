// Reading and writing NumPy .npy files (format versions 1-3, C order, little-endian
// float32 / float64 / int32 / int64), the array format flyvis users exchange movies and
// activity in.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.ts';

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
  if (headerStart + headerLen > bytes.length) fail('truncated header');
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    return fail(`malformed header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === 'True') fail('Fortran-ordered arrays are not supported (save with C order)');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`malformed shape (${shapeText})`);
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

/** Reads a .npy file; errors name the file. */
export function readNpy(file: string): NpyArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new NpyError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
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
  writeFileAtomic(file, encodeNpy(data, shape));
}
