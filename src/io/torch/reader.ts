// Reading files written by torch.save (zip format, torch >= 1.6) without Python: the zip
// container (zip.ts), the pickle inside (data.pkl, protocols 2 to 5) run by a small pickle
// machine that only builds data, and tensors rebuilt from their storages (data/<key>).
// Platform-neutral: works on Uint8Array (node.ts reads files).
//
// The pickle machine never calls arbitrary functions: a pickle naming any class or function
// outside ALLOWED_GLOBALS is refused with an error naming it (docs/torch-files.md).
import { readZip } from './zip.ts';
import {
  DTYPES,
  STORAGE_DTYPES,
  TorchDict,
  TorchFileError,
  TorchSet,
  TorchTensor,
  TorchTuple,
  allocData,
  bfloat16ToFloat,
  halfToFloat,
  numelOf,
  type TorchDtype,
  type TorchTensorData,
  type TorchValue,
} from './values.ts';

/**
 * The classes and functions a checkpoint's pickle may name, as 'module.name' (besides the
 * storage classes torch.FloatStorage, torch.DoubleStorage, ... of the supported dtypes, which
 * only appear in storage references). Each is implemented here as data construction.
 */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.Size',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
  'numpy.dtype',
  '_codecs.encode',
  'builtins.set',
  'builtins.frozenset',
  'builtins.bytes',
  '__builtin__.set',
  '__builtin__.frozenset',
  '__builtin__.bytes',
];
const ALLOWED = new Set(ALLOWED_GLOBALS);

/** Largest tensor materialised (bytes): bigger ones only arise from corrupt or expanded views. */
const MAX_TENSOR_BYTES = 2 ** 31 - 1;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ------------------------------------------------------------------ internal pickle objects

/** A class or function named by GLOBAL / STACK_GLOBAL (allowed ones only). */
class GlobalRef {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A storage loaded by BINPERSID: the raw little-endian bytes of data/<key>. */
class StorageRef {
  private values: TorchTensorData | undefined;
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly numel: number,
    readonly location: string,
    readonly raw: Uint8Array,
  ) {}
  /** The storage's elements, decoded once. */
  decoded(): TorchTensorData {
    this.values ??= decodeStorage(this.dtype, this.raw, this.numel);
    return this.values;
  }
}

/** numpy.dtype(descr, align, copy) with the byte order its BUILD state sets. */
class NumpyDtype {
  byteorder = '=';
  constructor(readonly descr: string) {}
}

function decodeStorage(dtype: TorchDtype, raw: Uint8Array, n: number): TorchTensorData {
  const size = DTYPES[dtype].itemsize;
  const copy = raw.slice(); // aligned, owned copy
  if (!LITTLE_ENDIAN && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  const buf = copy.buffer;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, 0, n);
    case 'float64':
      return new Float64Array(buf, 0, n);
    case 'int64':
      return new BigInt64Array(buf, 0, n);
    case 'int32':
      return new Int32Array(buf, 0, n);
    case 'int16':
      return new Int16Array(buf, 0, n);
    case 'int8':
      return new Int8Array(buf, 0, n);
    case 'uint8':
    case 'bool':
      return copy;
    case 'float16': {
      const h = new Uint16Array(buf, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(h[i]!);
      return out;
    }
    case 'bfloat16': {
      const h = new Uint16Array(buf, 0, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = bfloat16ToFloat(h[i]!);
      return out;
    }
  }
}

// ------------------------------------------------------------------------------ reading

/**
 * Reads the bytes of a file written by torch.save (zip format). `name` names the file in
 * errors. Throws TorchFileError for anything else: legacy (pre-1.6) files, truncated or
 * corrupt files, and pickles naming classes or functions outside ALLOWED_GLOBALS.
 */
export function readTorchFile(bytes: Uint8Array, name = 'torch file'): TorchValue {
  const fail = (problem: string): never => {
    throw new TorchFileError(name, problem);
  };
  if (!(bytes instanceof Uint8Array)) fail('expected the bytes of a file (a Uint8Array)');
  // A plain Uint8Array view (a Node Buffer's slice() would not copy).
  bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) {
    fail(
      'legacy torch.save format (torch < 1.6: a bare pickle, not a zip archive) is not supported; ' +
        `convert it with a current torch: python3 -c "import torch; torch.save(torch.load('${name}'), 'converted.pt')"`,
    );
  }
  if (bytes.length >= 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') {
    fail(
      'legacy torch.save format (torch < 0.4: a tar archive) is not supported; ' +
        `convert it with a current torch: python3 -c "import torch; torch.save(torch.load('${name}'), 'converted.pt')"`,
    );
  }
  const entries = readZip(bytes, name);
  const first = entries[0]?.name ?? fail('empty zip archive: not a torch.save file');
  const slash = first.indexOf('/');
  if (slash <= 0) fail(`first record ${JSON.stringify(first)} is not inside an archive folder: not a torch.save file`);
  const prefix = first.slice(0, slash + 1);
  const records = new Map<string, Uint8Array>();
  for (const e of entries) if (e.name.startsWith(prefix)) records.set(e.name.slice(prefix.length), e.data);
  const pkl = records.get('data.pkl') ?? fail(`no ${prefix}data.pkl record: not a torch.save file`);
  const order = records.get('byteorder');
  if (order !== undefined) {
    const text = new TextDecoder().decode(order);
    if (text === 'big') fail('big-endian checkpoint (byteorder "big") is not supported');
    if (text !== 'little') fail(`unknown byteorder record ${JSON.stringify(text)}`);
  }

  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown, failAt: (problem: string) => never): StorageRef => {
    const items = pid instanceof TorchTuple ? (pid.items as readonly unknown[]) : undefined;
    if (items === undefined || items.length !== 5 || items[0] !== 'storage') {
      return failAt("persistent id is not ('storage', type, key, location, numel)");
    }
    const [, type, key, location, numel] = items;
    if (!(type instanceof GlobalRef) || !STORAGE_DTYPES.has(type.name) || type.module !== 'torch') {
      return failAt('persistent id names no storage type');
    }
    if (typeof key !== 'string' || typeof location !== 'string' || typeof numel !== 'bigint' || numel < 0n) {
      return failAt('malformed storage reference');
    }
    const cached = storages.get(key);
    if (cached !== undefined) return cached; // as torch: a storage is loaded once, with its first dtype
    const dtype = STORAGE_DTYPES.get(type.name)!;
    const raw = records.get(`data/${key}`) ?? fail(`missing storage record ${prefix}data/${key}`);
    const expected = BigInt(DTYPES[dtype].itemsize) * numel;
    if (BigInt(raw.length) !== expected) {
      fail(`${prefix}data/${key} holds ${raw.length} bytes, expected ${expected} (${numel} × ${dtype})`);
    }
    const s = new StorageRef(key, dtype, Number(numel), location, raw);
    storages.set(key, s);
    return s;
  };
  return unpickle(pkl, `${prefix}data.pkl`, fail, persistentLoad);
}

// ------------------------------------------------------------------------- pickle machine

const OPCODE_NAMES: Readonly<Record<number, string>> = {
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x70: 'PUT',
  0x67: 'GET',
  0x50: 'PERSID',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

function unpickle(
  data: Uint8Array,
  record: string,
  failFile: (problem: string) => never,
  persistentLoad: (pid: unknown, fail: (problem: string) => never) => StorageRef,
): TorchValue {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const end = data.length;
  let pos = 0;
  let opPos = 0;
  const fail = (problem: string): never => failFile(`${record}: ${problem} (at byte ${opPos})`);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();

  const need = (n: number): void => {
    if (pos + n > end) fail('truncated pickle');
  };
  const u8 = (): number => {
    need(1);
    return data[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(end)) fail('truncated pickle');
    return Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const text = (n: number): string => {
    const b = take(n);
    try {
      return utf8.decode(b);
    } catch {
      return fail('string that is not UTF-8');
    }
  };
  const line = (): string => {
    let q = pos;
    while (q < end && data[q] !== 0x0a) q++;
    if (q >= end) fail('truncated pickle');
    const s = text(q - pos);
    pos++; // newline
    return s;
  };
  const floor = (): number => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const pop = (): unknown => {
    if (stack.length <= floor()) fail('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length <= floor()) fail('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop() ?? fail('MARK missing');
    return stack.splice(m);
  };
  const longFrom = (b: Uint8Array): bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v;
  };
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!(d instanceof TorchDict)) fail(`SETITEMS on ${describe(d)}, expected a dict`);
    const dict = d as TorchDict;
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) dict.set(items[i] as TorchValue, items[i + 1] as TorchValue);
  };
  const appendItems = (l: unknown, items: unknown[]): void => {
    if (!Array.isArray(l)) fail(`APPENDS on ${describe(l)}, expected a list`);
    for (const it of items) (l as unknown[]).push(it);
  };
  const resolveGlobal = (module: string, name: string): GlobalRef => {
    if (module === 'torch' && name.endsWith('Storage')) {
      if (!STORAGE_DTYPES.has(name)) fail(`unsupported storage type torch.${name}`);
      return new GlobalRef(module, name);
    }
    if (!ALLOWED.has(`${module}.${name}`)) {
      fail(
        `refers to ${module}.${name}, which is not allowed: only tensors, containers, numbers, strings ` +
          'and numpy scalars are read (see docs/torch-files.md)',
      );
    }
    return new GlobalRef(module, name);
  };
  const call = (fn: unknown, argsValue: unknown, how: string): unknown => {
    if (!(fn instanceof GlobalRef)) return fail(`${how} of ${describe(fn)}, expected an allowed class or function`);
    if (!(argsValue instanceof TorchTuple)) return fail(`${how} of ${fn.qualified} with ${describe(argsValue)} arguments`);
    const args = argsValue.items as readonly unknown[];
    const arity = (...counts: number[]): void => {
      if (!counts.includes(args.length)) fail(`${fn.qualified} called with ${args.length} arguments, expected ${counts.join(' or ')}`);
    };
    switch (`${fn.module}.${fn.name}`) {
      case 'collections.OrderedDict': {
        arity(0, 1);
        const d = new TorchDict([], true);
        if (args.length === 1) {
          const pairs = args[0];
          if (!Array.isArray(pairs)) return fail('OrderedDict called with a non-list argument');
          for (const p of pairs as unknown[]) {
            const kv = p instanceof TorchTuple ? (p.items as unknown[]) : Array.isArray(p) ? (p as unknown[]) : [];
            if (kv.length !== 2) return fail('OrderedDict called with an item that is not a pair');
            d.set(kv[0] as TorchValue, kv[1] as TorchValue);
          }
        }
        return d;
      }
      case 'torch._utils._rebuild_tensor_v2':
        arity(6, 7);
        return rebuildTensor(args);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        arity(fn.name === '_rebuild_parameter' ? 3 : 4);
        const [t, requiresGrad, hooks] = args;
        if (!(t instanceof TorchTensor) || typeof requiresGrad !== 'boolean' || !(hooks instanceof TorchDict)) {
          return fail(`${fn.qualified} called with malformed arguments`);
        }
        return new TorchTensor(t.dtype, t.shape, t.data, { requiresGrad, isParameter: true, device: t.device });
      }
      case 'torch.Size': {
        arity(1);
        if (!(args[0] instanceof TorchTuple)) return fail('torch.Size called with a non-tuple');
        return args[0];
      }
      case 'numpy.dtype': {
        arity(1, 3);
        if (typeof args[0] !== 'string') return fail('numpy.dtype called with a non-string');
        const m = /^([<>|=]?)([a-z]\d+)$/.exec(args[0]);
        if (m === null) return fail(`unsupported numpy dtype ${JSON.stringify(args[0])}`);
        const d = new NumpyDtype(m[2]!);
        if (m[1]) d.byteorder = m[1];
        return d;
      }
      case 'numpy.core.multiarray.scalar':
      case 'numpy._core.multiarray.scalar': {
        arity(2);
        const [dtype, raw] = args;
        if (!(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) {
          return fail('numpy scalar with malformed arguments (only numeric and bool scalars are read)');
        }
        return numpyScalar(dtype, raw, fail);
      }
      case '_codecs.encode': {
        arity(2);
        const [s, encoding] = args;
        if (typeof s !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
          return fail('_codecs.encode supported only as (str, "latin1"), as pickle writes bytes');
        }
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c > 0xff) return fail('_codecs.encode of a character outside latin-1');
          out[i] = c;
        }
        return out;
      }
      case 'builtins.bytes':
      case '__builtin__.bytes':
        arity(0);
        return new Uint8Array(0);
      case 'builtins.set':
      case '__builtin__.set':
      case 'builtins.frozenset':
      case '__builtin__.frozenset': {
        arity(0, 1);
        const items = args.length === 0 ? [] : args[0];
        if (!Array.isArray(items)) return fail(`${fn.qualified} called with a non-list`);
        return new TorchSet(items as TorchValue[], fn.name === 'frozenset');
      }
      default:
        return fail(`${how} of ${fn.qualified}, which is only valid in a storage reference`);
    }
  };
  const asIndex = (v: unknown, what: string): number => {
    if (typeof v !== 'bigint' || v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
      return fail(`tensor ${what} is not a non-negative integer`);
    }
    return Number(v);
  };
  const asIndexTuple = (v: unknown, what: string): number[] => {
    if (!(v instanceof TorchTuple)) return fail(`tensor ${what} is not a tuple`);
    return v.items.map((x) => asIndex(x, what));
  };
  const rebuildTensor = (args: readonly unknown[]): TorchTensor => {
    const [storage, offsetV, sizeV, strideV, requiresGrad, hooks, metadata] = args;
    if (!(storage instanceof StorageRef)) return fail('_rebuild_tensor_v2 without a storage');
    const offset = asIndex(offsetV, 'offset');
    const shape = asIndexTuple(sizeV, 'size');
    const stride = asIndexTuple(strideV, 'stride');
    if (stride.length !== shape.length) fail(`tensor size (${shape.length} dims) and stride (${stride.length}) differ in length`);
    if (typeof requiresGrad !== 'boolean') fail('tensor requires_grad is not a bool');
    if (!(hooks instanceof TorchDict)) fail('tensor backward hooks are not an OrderedDict');
    if (metadata !== undefined && metadata !== null && !(metadata instanceof TorchDict && metadata.size === 0)) {
      fail('tensor metadata is not supported');
    }
    const n = numelOf(shape);
    const { dtype } = storage;
    const where = `tensor of shape [${shape.join(', ')}] (stride [${stride.join(', ')}], offset ${offset})`;
    if (n > 0) {
      let last = offset;
      for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
      if (last >= storage.numel) fail(`${where} reads past its storage data/${storage.key} of ${storage.numel} elements`);
    }
    if (n * DTYPES[dtype].itemsize > MAX_TENSOR_BYTES) fail(`${where} is too large to load`);
    const src = storage.decoded();
    const out = allocData(dtype, n);
    if (n > 0) gather(src, out, offset, shape, stride);
    return new TorchTensor(dtype, shape, out, { requiresGrad: requiresGrad as boolean, device: storage.location });
  };

  for (;;) {
    opPos = pos;
    if (pos >= end) fail('truncated pickle (no STOP)');
    const op = data[pos++]!;
    switch (op) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (v > 5) fail(`pickle protocol ${v} is newer than 5`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        checkResult(result, fail);
        return result as TorchValue;
      }
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new TorchDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new TorchTuple([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new TorchSet());
        break;
      case 0x74: // TUPLE
        stack.push(new TorchTuple(popMark() as TorchValue[]));
        break;
      case 0x85: // TUPLE1
        stack.push(new TorchTuple([pop() as TorchValue]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new TorchTuple([a, b] as TorchValue[]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new TorchTuple([a, b, c] as TorchValue[]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new TorchDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(BigInt(u8()));
        break;
      case 0x4d: // BININT2
        stack.push(BigInt(u16()));
        break;
      case 0x4a: // BININT
        stack.push(BigInt(i32()));
        break;
      case 0x8a: // LONG1
        stack.push(longFrom(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('LONG4 with a negative length');
        stack.push(longFrom(take(n)));
        break;
      }
      case 0x47: {
        // BINFLOAT: big-endian
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64()).slice());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo entry ${i} missing`);
        stack.push(memo.get(i));
        break;
      }
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL of non-strings');
        stack.push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(call(fn, args, 'call'));
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: {
        // NEWOBJ_EX
        if (op === 0x92) {
          const kwargs = pop();
          if (!(kwargs instanceof TorchDict) || kwargs.size !== 0) fail('NEWOBJ_EX with keyword arguments');
        }
        const args = pop();
        const cls = pop();
        if (!(cls instanceof GlobalRef) || cls.qualified !== 'collections.OrderedDict') {
          fail(`NEWOBJ of ${cls instanceof GlobalRef ? cls.qualified : describe(cls)} (only OrderedDict)`);
        }
        if (!(args instanceof TorchTuple) || args.items.length !== 0) fail('NEWOBJ of OrderedDict with arguments');
        stack.push(new TorchDict([], true));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof NumpyDtype) {
          const s = state instanceof TorchTuple ? state.items : [];
          if (typeof s[1] === 'string') obj.byteorder = s[1];
        } else if (obj instanceof TorchDict && obj.ordered) {
          obj.attributes = state as TorchValue;
        } else {
          fail(`BUILD on ${describe(obj)}`);
        }
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS: pop to the MARK before taking the list
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof TorchSet) || s.frozen) fail(`ADDITEMS on ${describe(s)}, expected a set`);
        for (const it of items) (s as TorchSet).add(it as TorchValue);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new TorchSet(popMark() as TorchValue[], true));
        break;
      case 0x51: // BINPERSID
        stack.push(persistentLoad(pop(), fail));
        break;
      case 0x30: // POP
        if (stack.length > floor()) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default: {
        const known = OPCODE_NAMES[op];
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${known ? ` (${known})` : ''}`);
      }
    }
  }
}

/** Copies the elements of a strided view (C order) out of a storage. */
function gather(src: TorchTensorData, out: TorchTensorData, offset: number, shape: readonly number[], stride: readonly number[]): void {
  const d = shape.length;
  const n = out.length;
  // Contiguous (size-1 dimensions may have any stride): one block copy.
  let contiguous = true;
  for (let i = d - 1, expect = 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expect) contiguous = false;
    expect *= shape[i]!;
  }
  const s = src as unknown as { [i: number]: number | bigint; subarray(a: number, b: number): ArrayLike<number | bigint> };
  const o = out as unknown as { [i: number]: number | bigint; set(a: ArrayLike<number | bigint>, at?: number): void };
  if (contiguous) {
    o.set(s.subarray(offset, offset + n));
    return;
  }
  if (d === 0) {
    o[0] = s[offset]!;
    return;
  }
  const inner = shape[d - 1]!;
  const innerStride = stride[d - 1]!;
  const idx = new Array<number>(d).fill(0);
  let base = offset;
  for (let k = 0; k < n; k += inner) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) o[k + j] = s[p]!;
    // odometer over the outer dimensions
    for (let ax = d - 2; ax >= 0; ax--) {
      idx[ax]!++;
      base += stride[ax]!;
      if (idx[ax]! < shape[ax]!) break;
      base -= idx[ax]! * stride[ax]!;
      idx[ax] = 0;
    }
  }
}

function numpyScalar(dtype: NumpyDtype, raw: Uint8Array, fail: (problem: string) => never): TorchValue {
  const kind = dtype.descr[0];
  const size = Number(dtype.descr.slice(1));
  const ok =
    (kind === 'f' && (size === 2 || size === 4 || size === 8)) ||
    ((kind === 'i' || kind === 'u') && (size === 1 || size === 2 || size === 4 || size === 8)) ||
    (kind === 'b' && size === 1);
  if (!ok) fail(`unsupported numpy scalar dtype ${JSON.stringify(dtype.descr)}`);
  if (raw.length !== size) fail(`numpy ${dtype.descr} scalar with ${raw.length} bytes`);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dtype.byteorder !== '>';
  if (kind === 'b') return raw[0] !== 0;
  if (kind === 'f') return size === 2 ? halfToFloat(v.getUint16(0, le)) : size === 4 ? v.getFloat32(0, le) : v.getFloat64(0, le);
  if (size === 8) return kind === 'i' ? v.getBigInt64(0, le) : v.getBigUint64(0, le);
  if (kind === 'i') return BigInt(size === 1 ? v.getInt8(0) : size === 2 ? v.getInt16(0, le) : v.getInt32(0, le));
  return BigInt(size === 1 ? v.getUint8(0) : size === 2 ? v.getUint16(0, le) : v.getUint32(0, le));
}

function describe(v: unknown): string {
  if (v instanceof GlobalRef) return v.qualified;
  if (v instanceof StorageRef) return 'a storage';
  if (v instanceof NumpyDtype) return 'a numpy dtype';
  if (v instanceof TorchTensor) return 'a tensor';
  if (v instanceof TorchTuple) return 'a tuple';
  if (v instanceof TorchDict) return 'a dict';
  if (v instanceof TorchSet) return 'a set';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'bytes';
  if (v === null) return 'None';
  return `a ${typeof v}`;
}

/** Every object reachable from the result must be plain data (no storage, class or dtype). */
function checkResult(result: unknown, fail: (problem: string) => never): void {
  const seen = new Set<object>();
  const todo: unknown[] = [result];
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') continue;
    if (v instanceof Uint8Array || v instanceof TorchTensor) continue;
    if (typeof v !== 'object') return fail(`result holds ${describe(v)}`);
    if (seen.has(v)) continue;
    seen.add(v);
    if (v instanceof TorchTuple) for (const x of v.items) todo.push(x);
    else if (Array.isArray(v)) for (const x of v) todo.push(x);
    else if (v instanceof TorchDict) {
      for (const [k, x] of v) todo.push(k, x);
      if (v.attributes !== undefined) todo.push(v.attributes);
    } else if (v instanceof TorchSet) for (const x of v) todo.push(x);
    else fail(`result holds ${describe(v)} outside a tensor`);
  }
}
