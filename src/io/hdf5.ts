// Node edge: one numeric dataset of an HDF5 file, read or written with h5wasm (the HDF5 C library
// compiled to WebAssembly; loaded on first use). flyvis's results directories are written by
// datamate, which stores each array as its own file holding one dataset named `data`
// (`validation_loss.h5`, `validation/epe.h5`, `chkpt_index.h5`, ...).
import { closeSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** An HDF5 file that cannot be read as asked; the message is `<file>: <problem>`, one line. */
export class Hdf5Error extends Error {
  override name = 'Hdf5Error';
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** The stored element types read (HDF5 integer and float classes). */
export type Hdf5NumericArray =
  | Float64Array
  | Float32Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A numeric dataset, C order. */
export interface Hdf5Dataset {
  /** The values as stored (h5wasm's typed array, converted to this machine's byte order). */
  readonly data: Hdf5NumericArray;
  /** The values as float64 (integers beyond 2^53 are refused). */
  readonly values: Float64Array;
  /** The dataset's shape; [] for a scalar (then `values` has one element). */
  readonly shape: readonly number[];
  /** h5wasm's dtype string ('<d' float64, '<f' float32, '<i' int32, '<q' int64, ...). */
  readonly dtype: string;
}

/** HDF5's format signature; the superblock sits at 0, 512, 1024, 2048, ... (after a user block). */
const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function hasSignature(file: string, size: number): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = new Uint8Array(8);
    for (let at = 0; at + 8 <= size; at = at === 0 ? 512 : at * 2) {
      if (readSync(fd, buf, 0, 8, at) === 8 && SIGNATURE.every((b, i) => buf[i] === b)) return true;
    }
    return false;
  } finally {
    closeSync(fd);
  }
}

type H5 = typeof import('h5wasm/node').default;
let h5: Promise<H5> | undefined;

/** h5wasm, loaded and initialised once; its errors thrown as exceptions rather than printed. */
function loadH5(): Promise<H5> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    const module = await m.default.ready;
    module.activate_throwing_error_handler();
    return m.default;
  });
  return h5;
}

/**
 * The innermost problem of an HDF5 error stack ("truncated file: eof = 400, ...", "file signature
 * not found"), on one line.
 */
function hdf5Problem(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const frames = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)$/gm)];
  const last = frames.at(-1)?.[1] ?? text.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  return last.trim().replace(/\s+/g, ' ');
}

const isTyped = (x: unknown): x is Hdf5NumericArray =>
  ArrayBuffer.isView(x) && !(x instanceof DataView);

/**
 * Reads the numeric dataset `name` (default `data`, datamate's) of an HDF5 file. Throws
 * `Hdf5Error` naming the file: file not found, not a regular file, not an HDF5 file, an HDF5
 * library error (truncated, damaged), no dataset of that name (the message lists what the file
 * holds), or a dataset that is not integer or floating point (strings, compounds, float16).
 */
export async function readHdf5Dataset(file: string, name = 'data'): Promise<Hdf5Dataset> {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Hdf5Error(file, st.isDirectory() ? 'is a directory, expected an HDF5 file' : 'not a regular file');
    size = st.size;
  } catch (e) {
    if (e instanceof Hdf5Error) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new Hdf5Error(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(e)})`);
  }
  let signed: boolean;
  try {
    signed = hasSignature(file, size);
  } catch (e) {
    throw new Hdf5Error(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (!signed) throw new Hdf5Error(file, `not an HDF5 file (no HDF5 signature${size === 0 ? '; the file is empty' : ''})`);

  const lib = await loadH5();
  let f: InstanceType<H5['File']>;
  try {
    f = new lib.File(file, 'r');
  } catch (e) {
    throw new Hdf5Error(file, `cannot open as HDF5: ${hdf5Problem(e)}`);
  }
  try {
    let entity: ReturnType<typeof f.get>;
    try {
      entity = f.get(name);
    } catch (e) {
      throw new Hdf5Error(file, `cannot read "${name}": ${hdf5Problem(e)}`);
    }
    if (entity === null || !(entity instanceof lib.Dataset)) {
      let keys: string[] = [];
      try {
        keys = f.keys();
      } catch {
        // an unreadable root group: listed as holding nothing
      }
      const holds = keys.length === 0 ? 'the file holds nothing' : `the file holds ${keys.map((k) => `"${k}"`).join(', ')}`;
      const what = entity === null ? `no dataset "${name}"` : `"${name}" is not a dataset`;
      throw new Hdf5Error(file, `${what} (${holds})`);
    }
    let meta: { type: number; shape: number[] | null };
    let value: unknown;
    let dtype: string;
    try {
      meta = entity.metadata;
      dtype = String(entity.dtype);
      if (meta.type !== 0 && meta.type !== 1) {
        throw new Hdf5Error(file, `dataset "${name}" holds ${dtype === 'S' ? 'strings' : `values of type ${dtype}`}, expected numbers`);
      }
      value = entity.value;
    } catch (e) {
      if (e instanceof Hdf5Error) throw e;
      throw new Hdf5Error(file, `cannot read dataset "${name}": ${hdf5Problem(e)}`);
    }
    const shape = meta.shape ?? [];
    let data: Hdf5NumericArray;
    if (isTyped(value)) data = value;
    else if (typeof value === 'number') data = Float64Array.of(value);
    else if (typeof value === 'bigint') data = BigInt64Array.of(value);
    else throw new Hdf5Error(file, `dataset "${name}" could not be read as numbers (${dtype})`);
    const values = new Float64Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const x = data[i]!;
      if (typeof x === 'bigint') {
        if (x > BigInt(Number.MAX_SAFE_INTEGER) || x < -BigInt(Number.MAX_SAFE_INTEGER)) {
          throw new Hdf5Error(file, `dataset "${name}"[${i}] = ${x} is beyond 2^53, not exactly a float64`);
        }
        values[i] = Number(x);
      } else {
        values[i] = x;
      }
    }
    return { data, values, shape, dtype };
  } finally {
    try {
      f.close();
    } catch {
      // closing a read-only file frees memory only; nothing to report
    }
  }
}

/**
 * Writes `values` as a float64 dataset `name` (default `data`) of a new HDF5 file, as datamate
 * stores an array (e.g. a validation loss per checkpoint): a number is written as a scalar
 * (shape []), a list with `shape` (default: one dimension). The file is written beside its
 * destination and renamed into place, so a failure leaves no partial file; errors are Hdf5Error
 * naming the file.
 */
export async function writeHdf5Dataset(
  file: string,
  values: number | ArrayLike<number>,
  options: { name?: string; shape?: readonly number[] } = {},
): Promise<void> {
  const data = typeof values === 'number' ? Float64Array.of(values) : Float64Array.from(values);
  const shape = options.shape ?? (typeof values === 'number' ? [] : [data.length]);
  const count = shape.reduce((a, b) => a * b, 1);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0) || count !== data.length) {
    throw new Hdf5Error(file, `shape (${shape.join(', ')}) does not fit ${data.length} value${data.length === 1 ? '' : 's'}`);
  }
  let folder = false;
  try {
    folder = statSync(dirname(file)).isDirectory();
  } catch {
    // missing: said below
  }
  if (!folder) throw new Hdf5Error(file, `cannot write: no folder ${dirname(file)}`);
  const lib = await loadH5();
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const f = new lib.File(tmp, 'w');
    try {
      f.create_dataset({ name: options.name ?? 'data', data, shape: [...shape], dtype: '<d' });
    } finally {
      f.close();
    }
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof Hdf5Error) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new Hdf5Error(file, code ? `cannot write (${code})` : `cannot write: ${hdf5Problem(e)}`);
  }
}
