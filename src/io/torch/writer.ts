// Writing files that torch.load reads: the pickle (protocol 2, torch.save's default, in the
// opcodes Python's pickler emits) of nested dicts, lists, tuples, sets, numbers, strings, bytes,
// None, booleans and tensors, each tensor with its own storage record (data/<key>), in a zip
// laid out as torch.save lays it out (zip.ts). Platform-neutral: returns a Uint8Array.
import { writeZip, type ZipRecord } from './zip.ts';
import {
  DTYPES,
  TorchDict,
  TorchFileError,
  TorchSet,
  TorchTensor,
  TorchTuple,
  floatToBfloat16,
  floatToHalf,
  type TorchWritable,
} from './values.ts';

export interface WriteTorchOptions {
  /** The archive folder all records sit in (default 'archive', as torch.save to a buffer). */
  readonly archiveName?: string;
  /**
   * Sizes and offsets at or above this are written with zip64 fields (default 0xFFFFFFFF, as
   * torch). Lower it only to exercise zip64 readers with small files.
   */
  readonly zip64Limit?: number;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const WHAT = 'writeTorchFile';

/**
 * Serialises `value` as torch.save does (zip format, pickle protocol 2). JS numbers are written
 * as Python floats, bigints as Python ints; TorchDict (ordered or not), Map and plain objects as
 * dicts; arrays as lists; TorchTuple as tuples; TorchSet / Set as sets; Uint8Array as bytes;
 * TorchTensor as a tensor (a Parameter when `isParameter`). A value reached twice is written
 * once and read back by torch as the same object; a list or dict that contains itself is
 * written as Python's pickler writes it, other cyclic values are refused.
 */
export function writeTorchFile(value: TorchWritable, options: WriteTorchOptions = {}): Uint8Array {
  const archive = options.archiveName ?? 'archive';
  if (archive.length === 0 || archive.includes('/')) {
    throw new TorchFileError(WHAT, `archive name must be a non-empty name without '/', got ${JSON.stringify(archive)}`);
  }
  const storages: Uint8Array[] = [];
  const p = new Pickler(storages);
  p.byte(0x80);
  p.byte(2); // PROTO 2
  try {
    p.save(value, 'value');
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new TorchFileError(WHAT, 'value is nested too deeply to write');
    }
    throw e;
  }
  p.byte(0x2e); // STOP
  const records: ZipRecord[] = [
    { name: `${archive}/data.pkl`, data: p.bytes() },
    { name: `${archive}/byteorder`, data: new TextEncoder().encode('little') },
    ...storages.map((data, key) => ({ name: `${archive}/data/${key}`, data })),
    { name: `${archive}/version`, data: new TextEncoder().encode('3\n') },
  ];
  return writeZip(records, options.zip64Limit === undefined ? {} : { zip64Limit: options.zip64Limit });
}

/** The bytes of a tensor's storage, little-endian, in its dtype's file layout. */
function storageBytes(t: TorchTensor, path: string): Uint8Array {
  const n = t.data.length;
  if (t.dtype === 'float16' || t.dtype === 'bfloat16') {
    const out = new Uint8Array(2 * n);
    const v = new DataView(out.buffer);
    const conv = t.dtype === 'float16' ? floatToHalf : floatToBfloat16;
    const src = t.data as Float32Array;
    for (let i = 0; i < n; i++) v.setUint16(2 * i, conv(src[i]!), true);
    return out;
  }
  if (t.dtype === 'bool') {
    const src = t.data as Uint8Array;
    for (let i = 0; i < n; i++) {
      if (src[i]! > 1) throw new TorchFileError(WHAT, `${path}: bool tensor holds ${src[i]} at index ${i}, expected 0 or 1`);
    }
  }
  const size = DTYPES[t.dtype].itemsize;
  const out = new Uint8Array(t.data.buffer, t.data.byteOffset, n * size).slice();
  if (!LITTLE_ENDIAN && size > 1) for (let i = 0; i < out.length; i += size) out.subarray(i, i + size).reverse();
  return out;
}

/** C-contiguous strides, as torch computes them (a size-0 dimension counts as 1). */
function contiguousStrides(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    stride[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return stride;
}

function isPlainObject(v: object): v is { readonly [key: string]: TorchWritable } {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

class Pickler {
  private buf = new Uint8Array(4096);
  private len = 0;
  private readonly memo = new Map<unknown, number>(); // object identity, or 'str:'/'global:' keys
  private readonly active = new Set<object>();
  private readonly scratch = new DataView(new ArrayBuffer(8));

  constructor(private readonly storages: Uint8Array[]) {}

  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  private raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  private u32(x: number): void {
    this.scratch.setUint32(0, x, true);
    this.raw(new Uint8Array(this.scratch.buffer, 0, 4));
  }

  /** Stores the top of the stack in the memo under `key` (BINPUT / LONG_BINPUT). */
  private put(key: unknown): void {
    const i = this.memo.size;
    this.memo.set(key, i);
    if (i < 256) {
      this.byte(0x71);
      this.byte(i);
    } else {
      this.byte(0x72);
      this.u32(i);
    }
  }

  /** Pushes a memoised object (BINGET / LONG_BINGET); false if `key` is not memoised. */
  private get(key: unknown): boolean {
    const i = this.memo.get(key);
    if (i === undefined) return false;
    if (i < 256) {
      this.byte(0x68);
      this.byte(i);
    } else {
      this.byte(0x6a);
      this.u32(i);
    }
    return true;
  }

  private str(s: string): void {
    const key = `str:${s}`;
    if (this.get(key)) return;
    const b = new TextEncoder().encode(s);
    this.byte(0x58); // BINUNICODE
    this.u32(b.length);
    this.raw(b);
    this.put(key);
  }

  private global(module: string, name: string): void {
    const key = `global:${module}\n${name}`;
    if (this.get(key)) return;
    this.byte(0x63); // GLOBAL
    this.raw(new TextEncoder().encode(`${module}\n${name}\n`));
    this.put(key);
  }

  private int(x: bigint): void {
    if (x >= 0n && x <= 0xffn) {
      this.byte(0x4b);
      this.byte(Number(x));
    } else if (x >= 0n && x <= 0xffffn) {
      this.byte(0x4d);
      this.byte(Number(x & 0xffn));
      this.byte(Number(x >> 8n));
    } else if (x >= -(2n ** 31n) && x < 2n ** 31n) {
      this.byte(0x4a);
      this.scratch.setInt32(0, Number(x), true);
      this.raw(new Uint8Array(this.scratch.buffer, 0, 4));
    } else {
      // Python's encode_long: minimal little-endian two's complement
      const out: number[] = [];
      let v = x;
      for (;;) {
        const b = Number(v & 0xffn);
        out.push(b);
        v >>= 8n; // arithmetic shift
        if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
      }
      if (out.length < 256) {
        this.byte(0x8a); // LONG1
        this.byte(out.length);
      } else {
        this.byte(0x8b); // LONG4
        this.u32(out.length);
      }
      this.raw(Uint8Array.from(out));
    }
  }

  private float(x: number): void {
    this.byte(0x47); // BINFLOAT, big-endian
    this.scratch.setFloat64(0, x, false);
    this.raw(new Uint8Array(this.scratch.buffer, 0, 8));
  }

  /** MARK items TUPLE, or the short forms, then memoised (as Python's save_tuple). */
  private tuple(items: readonly (() => void)[], key: object | undefined): void {
    if (items.length === 0) {
      this.byte(0x29); // EMPTY_TUPLE
      return;
    }
    if (items.length <= 3) {
      for (const it of items) it();
      this.byte([0x85, 0x86, 0x87][items.length - 1]!);
    } else {
      this.byte(0x28);
      for (const it of items) it();
      this.byte(0x74);
    }
    this.put(key ?? {});
  }

  private fail(path: string, problem: string): never {
    throw new TorchFileError(WHAT, `${path}: ${problem}`);
  }

  private checkKey(k: unknown, path: string): void {
    if (Array.isArray(k) || k instanceof Map || (k instanceof Set && !(k instanceof TorchSet && k.frozen))) {
      this.fail(path, 'dict key is unhashable in Python (a list, dict or set)');
    }
    if (k instanceof TorchTuple) k.items.forEach((x) => this.checkKey(x, path));
    else if (typeof k === 'object' && k !== null && !(k instanceof Uint8Array) && !(k instanceof TorchTensor) && !(k instanceof TorchSet)) {
      this.fail(path, 'dict key is unhashable in Python');
    }
  }

  private batch(items: readonly (readonly [unknown, unknown])[] | readonly unknown[], pairs: boolean, path: string): void {
    const n = items.length;
    for (let start = 0; start < n; start += 1000) {
      const chunk = items.slice(start, start + 1000);
      if (chunk.length > 1) this.byte(0x28); // MARK
      for (const [i, it] of chunk.entries()) {
        if (pairs) {
          const [k, v] = it as readonly [unknown, unknown];
          this.checkKey(k, path);
          this.save(k, `${path} key`);
          this.save(v, `${path}[${typeof k === 'string' ? JSON.stringify(k) : start + i}]`);
        } else {
          this.save(it, `${path}[${start + i}]`);
        }
      }
      if (pairs) this.byte(chunk.length > 1 ? 0x75 : 0x73); // SETITEMS / SETITEM
      else this.byte(chunk.length > 1 ? 0x65 : 0x61); // APPENDS / APPEND
    }
  }

  save(v: unknown, path: string): void {
    if (v === null) return this.byte(0x4e);
    if (v === true) return this.byte(0x88);
    if (v === false) return this.byte(0x89);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return this.float(v);
    if (typeof v === 'string') return this.str(v);
    if (typeof v !== 'object') this.fail(path, `cannot write ${typeof v}`);
    const obj = v as object;
    if (this.get(obj)) return;
    if (this.active.has(obj)) this.fail(path, 'value contains itself (cyclic values are not written)');
    this.active.add(obj);
    try {
      this.saveObject(obj, path);
    } finally {
      this.active.delete(obj);
    }
  }

  private saveObject(v: object, path: string): void {
    if (v instanceof TorchTensor) return this.tensor(v, path);
    if (v instanceof Uint8Array) {
      if (v.length === 0) {
        this.global('__builtin__', 'bytes');
        this.byte(0x29);
        this.byte(0x52);
      } else {
        this.global('_codecs', 'encode');
        this.str(latin1(v));
        this.str('latin1');
        this.byte(0x86);
        this.put({});
        this.byte(0x52);
      }
      return this.put(v);
    }
    if (ArrayBuffer.isView(v)) {
      this.fail(path, `cannot write a ${v.constructor.name} (wrap typed arrays in a TorchTensor; Uint8Array is bytes)`);
    }
    if (v instanceof TorchTuple) {
      return this.tuple(
        v.items.map((x, i) => () => this.save(x, `${path}[${i}]`)),
        v,
      );
    }
    if (Array.isArray(v)) {
      this.byte(0x5d); // EMPTY_LIST
      this.put(v);
      return this.batch(v, false, path);
    }
    if (v instanceof Set) {
      const frozen = v instanceof TorchSet && v.frozen;
      this.global('__builtin__', frozen ? 'frozenset' : 'set');
      const items = [...v];
      this.byte(0x5d);
      this.put({});
      this.batch(items, false, path);
      this.byte(0x85); // TUPLE1
      this.put({});
      this.byte(0x52);
      return this.put(v);
    }
    if (v instanceof Map) {
      const ordered = v instanceof TorchDict && v.ordered;
      if (ordered) {
        this.global('collections', 'OrderedDict');
        this.byte(0x29);
        this.byte(0x52);
      } else {
        this.byte(0x7d); // EMPTY_DICT
      }
      this.put(v);
      this.batch([...v.entries()], true, path);
      if (v instanceof TorchDict && v.attributes !== undefined) {
        if (!ordered) this.fail(path, 'only an OrderedDict carries attributes');
        this.save(v.attributes, `${path} attributes`);
        this.byte(0x62); // BUILD
      }
      return;
    }
    if (isPlainObject(v)) {
      this.byte(0x7d);
      this.put(v);
      return this.batch(Object.entries(v), true, path);
    }
    this.fail(path, `cannot write a ${v.constructor?.name ?? 'object'} (expected tensors, dicts, lists, tuples, sets, numbers, strings, bytes, null or booleans)`);
  }

  private tensor(t: TorchTensor, path: string): void {
    if (!(t.dtype in DTYPES)) this.fail(path, `unknown dtype ${t.dtype}`);
    if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) this.fail(path, 'tensor data length does not match its shape');
    if (t.isParameter) {
      // torch.nn.Parameter.__reduce_ex__: _rebuild_parameter(self.data, requires_grad, OrderedDict())
      this.global('torch._utils', '_rebuild_parameter');
      this.tuple(
        [() => (this.plainTensor(t, false, path), this.put({})), () => this.byte(t.requiresGrad ? 0x88 : 0x89), () => this.emptyOrderedDict()],
        undefined,
      );
      this.byte(0x52); // REDUCE
    } else {
      this.plainTensor(t, t.requiresGrad, path);
    }
    this.put(t);
  }

  /** _rebuild_tensor_v2(storage, 0, shape, stride, requires_grad, OrderedDict()), not memoised. */
  private plainTensor(t: TorchTensor, requiresGrad: boolean, path: string): void {
    const data = storageBytes(t, path);
    const key = this.storages.length;
    this.storages.push(data);
    this.global('torch._utils', '_rebuild_tensor_v2');
    const stride = contiguousStrides(t.shape);
    this.tuple(
      [
        () => {
          // persistent id ('storage', torch.XStorage, key, 'cpu', numel), then BINPERSID
          this.tuple(
            [
              () => this.str('storage'),
              () => this.global('torch', DTYPES[t.dtype].storage),
              () => this.str(String(key)),
              () => this.str('cpu'),
              () => this.int(BigInt(t.data.length)),
            ],
            undefined,
          );
          this.byte(0x51);
        },
        () => this.int(0n),
        () => this.tuple(t.shape.map((d) => () => this.int(BigInt(d))), undefined),
        () => this.tuple(stride.map((d) => () => this.int(BigInt(d))), undefined),
        () => this.byte(requiresGrad ? 0x88 : 0x89),
        () => this.emptyOrderedDict(),
      ],
      undefined,
    );
    this.byte(0x52); // REDUCE
  }

  private emptyOrderedDict(): void {
    this.global('collections', 'OrderedDict');
    this.byte(0x29);
    this.byte(0x52);
    this.put({});
  }
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}
