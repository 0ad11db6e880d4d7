// The torch file reader and writer without Python or ../shared: our writer's output read back,
// the zip layout torch uses, pickles Python wrote (embedded bytes), views built by hand, the
// refusal of anything that is not data, errors naming the file, stateDictFromTorch and the
// Node wrapper. (tests/io/torch-python.test.ts checks against PyTorch itself.)
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  TorchDict,
  TorchFileError,
  TorchSet,
  TorchTensor,
  TorchTuple,
  loadTorchFile,
  readTorchFile,
  saveTorchFile,
  stateDictFromTorch,
  writeTorchFile,
  type TorchValue,
  type TorchWritable,
} from '../../src/io/torch/index.ts';
import { readZip, writeZip } from '../../src/io/torch/zip.ts';

const roundTrip = (v: TorchWritable): TorchValue => readTorchFile(writeTorchFile(v), 'round trip');
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const enc = new TextEncoder();

/** A pickle assembled opcode by opcode (protocol 2 framing). */
class Pickle {
  readonly b: number[] = [0x80, 0x02];
  op(...bytes: number[]): this {
    this.b.push(...bytes);
    return this;
  }
  str(s: string): this {
    const u = enc.encode(s);
    this.b.push(0x58, u.length & 0xff, (u.length >> 8) & 0xff, 0, 0, ...u);
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 256) this.b.push(0x4b, n);
    else this.b.push(0x4a, ...new Uint8Array(Int32Array.of(n).buffer));
    return this;
  }
  global(module: string, name: string): this {
    this.b.push(0x63, ...enc.encode(`${module}\n${name}\n`));
    return this;
  }
  tuple(...ints: number[]): this {
    this.b.push(0x28);
    ints.forEach((n) => this.int(n));
    this.b.push(0x74);
    return this;
  }
  /** _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, shape, stride, False, OrderedDict()) */
  tensor(type: string, key: string, numel: number, offset: number, shape: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    this.op(0x28).str('storage').global('torch', type).str(key).str('cpu').int(numel).op(0x74, 0x51);
    this.int(offset).tuple(...shape).tuple(...stride).op(0x89);
    this.global('collections', 'OrderedDict').op(0x29, 0x52, 0x74, 0x52);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from([...this.b, 0x2e]);
  }
}

/** A torch-style archive holding `pkl` as data.pkl and the given storages. */
const archive = (pkl: Uint8Array, storages: Record<string, Uint8Array> = {}, prefix = 'archive'): Uint8Array =>
  writeZip([
    { name: `${prefix}/data.pkl`, data: pkl },
    ...Object.entries(storages).map(([k, data]) => ({ name: `${prefix}/data/${k}`, data })),
    { name: `${prefix}/version`, data: enc.encode('3\n') },
  ]);
const f32bytes = (...xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer);

/** The error readTorchFile throws for `bytes` (failing the test if it does not throw one). */
function readError(bytes: Uint8Array, name = 'f.pt'): TorchFileError {
  try {
    readTorchFile(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(TorchFileError);
    expect((e as Error).message.startsWith(`${name}: `)).toBe(true);
    expect((e as Error).message).not.toContain('\n');
    return e as TorchFileError;
  }
  throw new Error('expected a TorchFileError');
}

describe('writer output read back', () => {
  it('keeps every dtype, shape (0-dim, empty) and value, special floats included', () => {
    const floats = [0, -0, 1.5, -2.25, NaN, Infinity, -Infinity, 2 ** -24, 65504, 0.099975586];
    const value = new TorchDict(
      [
        ['f32', new TorchTensor('float32', [2, 5], Float32Array.from([...floats.slice(0, 9), 3.4e38]))],
        ['f64', new TorchTensor('float64', [10], Float64Array.from([...floats.slice(0, 9), 1e-310]))],
        ['f16', new TorchTensor('float16', [5, 2], Float32Array.from(floats.map((x) => (x === 0.099975586 ? 0.0999755859375 : x))))],
        ['bf16', new TorchTensor('bfloat16', [4], Float32Array.from([1, -0, 1.015625, 3.3895313892515355e38]))],
        ['i64', new TorchTensor('int64', [2, 2], BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]))],
        ['i32', new TorchTensor('int32', [3], Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 5]))],
        ['i16', new TorchTensor('int16', [2], Int16Array.from([-32768, 32767]))],
        ['i8', new TorchTensor('int8', [2], Int8Array.from([-128, 127]))],
        ['u8', new TorchTensor('uint8', [2], Uint8Array.from([0, 255]))],
        ['bool', new TorchTensor('bool', [3], Uint8Array.from([1, 0, 1]))],
        ['scalar', new TorchTensor('float32', [], Float32Array.of(7.25))],
        ['empty', new TorchTensor('float64', [0], new Float64Array(0))],
        ['empty3d', new TorchTensor('int64', [2, 0, 4], new BigInt64Array(0))],
        ['param', new TorchTensor('float32', [1], Float32Array.of(2), { isParameter: true, requiresGrad: true })],
        ['rg', new TorchTensor('float32', [1], Float32Array.of(3), { requiresGrad: true })],
      ],
      true,
    );
    expect(roundTrip(value)).toEqual(value);
  });

  it('rounds float16 and bfloat16 to nearest even, as torch does', () => {
    const xs = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, 2 ** -25, 3 * 2 ** -26, 1.5 * 2 ** -24, 0.1, -1 / 3, 1e-40, NaN];
    const half = roundTrip(new TorchTensor('float16', [xs.length], Float32Array.from(xs))) as TorchTensor;
    // values from torch.tensor(xs, dtype=torch.float32).half() (torch 1.13)
    expect(Array.from(half.data as Float32Array)).toEqual([
      1, 1.001953125, 65504, Infinity, 0, 5.960464477539063e-8, 1.1920928955078125e-7, 0.0999755859375, -0.333251953125, 0, NaN,
    ]);
    const ys = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 65519, 1e-3, -1 / 3, 3.4e38, NaN];
    const bf = roundTrip(new TorchTensor('bfloat16', [ys.length], Float32Array.from(ys))) as TorchTensor;
    // values from torch.tensor(ys, dtype=torch.float32).bfloat16() (torch 1.13)
    expect(Array.from(bf.data as Float32Array)).toEqual([1, 1.015625, 1.0078125, 65536, 0.00099945068359375, -0.333984375, Infinity, NaN]);
  });

  it('keeps nested dicts, OrderedDicts, lists, tuples, sets, bytes, ints, floats, strings, None and booleans', () => {
    const value = new TorchDict([
      ['network', new TorchDict([['nodes_bias', new TorchTensor('float32', [2], Float32Array.of(0.5, -1))]], true)],
      ['decoder', new TorchDict([['flow', new TorchDict([], true)]])],
      ['ints', [0n, 255n, 256n, 65535n, 65536n, -1n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 100n, -(2n ** 64n), -128n, 128n]],
      ['floats', [0.02, 1, -0, NaN, -Infinity, 5e-324]],
      ['strings', ['', 'é✓ 𝛼', 'a\nb']],
      ['misc', [null, true, false, new Uint8Array([0, 10, 255]), new Uint8Array(0)]],
      ['tuples', new TorchTuple([new TorchTuple([]), new TorchTuple([1n]), new TorchTuple([1n, 2n, 3n, 4n, 5n])])],
      ['sets', [new TorchSet([1n, 'a']), new TorchSet([], true)]],
      ['keys', new TorchDict([[0n, 'int'], [1.5, 'float'], [null, 'none'], [new TorchTuple([1n, 'x']), 'tuple'], [true, 'bool']])],
      ['long', Array.from({ length: 2345 }, (_, i) => BigInt(i))],
    ]);
    const back = roundTrip(value);
    expect(back).toEqual(value);
    expect(((back as TorchDict).get('network') as TorchDict).ordered).toBe(true);
    expect(((back as TorchDict).get('decoder') as TorchDict).ordered).toBe(false);
  });

  it('writes plain objects and Maps as dicts, JS numbers as floats and bigints as ints', () => {
    const back = roundTrip({ a: 1, b: 1n, c: new Map<TorchWritable, TorchWritable>([[2n, { d: [3] }]]) }) as TorchDict;
    expect(back).toEqual(
      new TorchDict([
        ['a', 1],
        ['b', 1n],
        ['c', new TorchDict([[2n, new TorchDict([['d', [3]]])]])],
      ]),
    );
    expect(typeof back.get('a')).toBe('number');
    expect(typeof back.get('b')).toBe('bigint');
  });

  it('writes a tensor reached twice once, and a list that contains itself', () => {
    const t = new TorchTensor('float32', [2], Float32Array.of(1, 2));
    const self: TorchWritable[] = [1n];
    self.push(self);
    const bytes = writeTorchFile({ a: t, b: t, self });
    expect(readZip(bytes, 'x').filter((e) => e.name.startsWith('archive/data/'))).toHaveLength(1);
    const back = readTorchFile(bytes) as TorchDict;
    expect(back.get('a')).toBe(back.get('b'));
    const l = back.get('self') as TorchValue[];
    expect(l[1]).toBe(l);
  });

  it('lays records out as torch.save: archive/ prefix, 64-byte aligned data, data descriptors, zip64 end records', () => {
    const bytes = writeTorchFile({ x: new TorchTensor('float32', [3], Float32Array.of(1, 2, 3)), e: new TorchTensor('int8', [0], new Int8Array(0)) });
    const entries = readZip(bytes, 'x');
    expect(entries.map((e) => e.name)).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/data/1', 'archive/version']);
    expect(entries.every((e) => e.dataOffset % 64 === 0)).toBe(true);
    expect(Array.from(entries[0]!.data.subarray(0, 2))).toEqual([0x80, 0x02]); // pickle protocol 2
    expect(Buffer.from(entries[1]!.data).toString()).toBe('little');
    expect(entries[2]!.data).toEqual(f32bytes(1, 2, 3));
    expect(Buffer.from(entries[4]!.data).toString()).toBe('3\n');
    const view = new DataView(bytes.buffer);
    expect(view.getUint16(6, true)).toBe(0x0808); // local header flags: UTF-8 names, data descriptor
    expect(view.getUint32(30 + 'archive/data.pkl'.length, true) & 0xffff).toBe(0x4246); // 'FB' padding field
    const dataEnd = entries[0]!.dataOffset + entries[0]!.data.length;
    expect(view.getUint32(dataEnd, true)).toBe(0x08074b50); // data descriptor
    expect(view.getUint32(bytes.length - 22, true)).toBe(0x06054b50);
    expect(view.getUint32(bytes.length - 42, true)).toBe(0x07064b50); // zip64 locator
    expect(view.getUint32(bytes.length - 98, true)).toBe(0x06064b50); // zip64 end record
    const named = readZip(writeTorchFile({ x: 1n }, { archiveName: 'best_chkpt' }), 'x');
    expect(named[0]!.name).toBe('best_chkpt/data.pkl');
  });

  it('reads zip64 fields (sizes and offsets in the extra field, end record) as written', () => {
    const value = new TorchDict([['x', new TorchTensor('float64', [3], Float64Array.of(1, 2, 3))], ['y', 'z']]);
    const bytes = writeTorchFile(value, { zip64Limit: 0 });
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(bytes.length - 22 + 16, true)).toBe(0xffffffff); // central directory offset in zip64 only
    expect(readTorchFile(bytes)).toEqual(value);
  });

  it('takes the archive prefix from the first record (the file stem in torch < 2 files)', () => {
    const pkl = new Pickle().op(0x7d).str('k').tensor('FloatStorage', '0', 2, 0, [2], [1]).op(0x73).bytes();
    const v = readTorchFile(archive(pkl, { '0': f32bytes(4, 5) }, 'chkpt_00001')) as TorchDict;
    expect(Array.from((v.get('k') as TorchTensor).data as Float32Array)).toEqual([4, 5]);
  });
});

describe("torch 2.x's extra records and reduce forms", () => {
  it('accepts .data/version, .data/serialization_id, .format_version, byteorder; _rebuild_parameter_with_state, torch.Size, NEWOBJ OrderedDict', () => {
    const p = new Pickle().op(0x7d, 0x28);
    // torch.nn.Parameter in torch 2.x: _rebuild_parameter_with_state(tensor, requires_grad, OrderedDict(), state)
    p.str('param').global('torch._utils', '_rebuild_parameter_with_state').op(0x28);
    p.tensor('DoubleStorage', '0', 2, 0, [2], [1]).op(0x88).global('collections', 'OrderedDict').op(0x29, 0x52, 0x4e, 0x74, 0x52);
    p.str('size').global('torch', 'Size').tuple(3, 4).op(0x85, 0x52);
    p.str('od').global('collections', 'OrderedDict').op(0x29, 0x81).str('a').int(1).op(0x73);
    const pkl = p.op(0x75).bytes();
    const bytes = writeZip([
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/.format_version', data: enc.encode('1') },
      { name: 'archive/byteorder', data: enc.encode('little') },
      { name: 'archive/data/0', data: new Uint8Array(Float64Array.of(0.25, -8).buffer) },
      { name: 'archive/.data/version', data: enc.encode('3\n') },
      { name: 'archive/.data/serialization_id', data: enc.encode('1234567890123456789012345678901234567890') },
    ]);
    expect(readTorchFile(bytes)).toEqual(
      new TorchDict([
        ['param', new TorchTensor('float64', [2], Float64Array.of(0.25, -8), { isParameter: true, requiresGrad: true })],
        ['size', new TorchTuple([3n, 4n])],
        ['od', new TorchDict([['a', 1n]], true)],
      ]),
    );
  });
});

describe('pickles Python wrote (embedded bytes)', () => {
  it('protocol 4: FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL, EMPTY_SET/ADDITEMS, FROZENSET, LONG1, shared lists', () => {
    // pickle.dumps({'a': [1, 2.5, None, True, False], 'b': (1, 2, 3, 4), 's': {1, 2}, 'f': frozenset({3}),
    //   'y': b'\x00\xff', 'big': 2**100, 'neg': -2**40, 'u': 'é✓', 'od': OrderedDict(x=1), 'e': (), 't1': ('z',),
    //   'shared': [L, L]}, protocol=4) with L = [7], Python 3.11
    const p4 = hex(
      '800495c8000000000000007d94288c0161945d94284b014740040000000000004e8889658c016294284b014b024b034b0474948c0173948f94284b014b02908c016694284b0391948c017994430200ff948c03626967948a0d000000000000000000000000108c036e6567948a060000000000ff8c0175948c05c3a9e29c93948c026f64948c0b636f6c6c656374696f6e73948c0b4f726465726564446963749493942952948c0178944b01738c016594298c027431948c017a9485948c06736861726564945d94285d944b0761681b65752e',
    );
    const v = readTorchFile(archive(p4)) as TorchDict;
    expect(v).toEqual(
      new TorchDict([
        ['a', [1n, 2.5, null, true, false]],
        ['b', new TorchTuple([1n, 2n, 3n, 4n])],
        ['s', new TorchSet([1n, 2n])],
        ['f', new TorchSet([3n], true)],
        ['y', Uint8Array.from([0, 255])],
        ['big', 2n ** 100n],
        ['neg', -(2n ** 40n)],
        ['u', 'é✓'],
        ['od', new TorchDict([['x', 1n]], true)],
        ['e', new TorchTuple([])],
        ['t1', new TorchTuple(['z'])],
        ['shared', [[7n], [7n]]],
      ]),
    );
    const shared = v.get('shared') as TorchValue[][];
    expect(shared[0]).toBe(shared[1]);
  });

  it('protocol 5: BYTEARRAY8 read as bytes', () => {
    // pickle.dumps({'ba': bytearray(b'ab'), 'x': 1.25}, protocol=5)
    const p5 = hex('80059523000000000000007d94288c026261949602000000000000006162948c017894473ff4000000000000752e');
    expect(readTorchFile(archive(p5))).toEqual(new TorchDict([['ba', enc.encode('ab')], ['x', 1.25]]));
  });

  it('numpy scalars (numpy 2 pickles numpy._core.multiarray.scalar): floats as numbers, integers as bigints', () => {
    // pickle.dumps({'f8': np.float64(5.136557112137477), 'f4': np.float32(1.5), 'f2': np.float16(0.1),
    //   'i8': np.int64(-3), 'u1': np.uint8(200), 'b': np.bool_(True)}, protocol=2), numpy 2.4
    const np2 = hex(
      '80027d710028580200000066387101636e756d70792e5f636f72652e6d756c746961727261790a7363616c61720a7102636e756d70790a64747970650a71035802000000663871048988877105527106284b0358010000003c71074e4e4e4affffffff4affffffff4b0074710862635f636f646563730a656e636f64650a7109580e000000c2abc2aac2aac2a0c395c28b1440710a58060000006c6174696e31710b86710c52710d86710e52710f580200000066347110680268035802000000663471118988877112527113284b0368074e4e4e4affffffff4affffffff4b0074711462680958050000000000c3803f7115680b86711652711786711852711958020000006632711a6802680358020000006632711b898887711c52711d284b0368074e4e4e4affffffff4affffffff4b0074711e6268095802000000662e711f680b867120527121867122527123580200000069387124680268035802000000693871258988877126527127284b0368074e4e4e4affffffff4affffffff4b007471286268095810000000c3bdc3bfc3bfc3bfc3bfc3bfc3bfc3bf7129680b86712a52712b86712c52712d58020000007531712e6802680358020000007531712f8988877130527131284b0358010000007c71324e4e4e4affffffff4affffffff4b007471336268095802000000c3887134680b86713552713686713752713858010000006271396802680358020000006231713a898887713b52713c284b0368324e4e4e4affffffff4affffffff4b0074713d626809580100000001713e680b86713f527140867141527142752e',
    );
    expect(readTorchFile(archive(np2))).toEqual(
      new TorchDict([
        ['f8', 5.136557112137477],
        ['f4', 1.5],
        ['f2', 0.0999755859375],
        ['i8', -3n],
        ['u1', 200n],
        ['b', true],
      ]),
    );
  });
});

describe('views sharing one storage (offsets and strides in elements)', () => {
  it('rebuilds slices, transposes, expands and 0-dim elements from one storage record', () => {
    const storage = f32bytes(...Array.from({ length: 12 }, (_, i) => i)); // arange(12).reshape(3, 4)
    const p = new Pickle().op(0x7d, 0x28);
    p.str('base').tensor('FloatStorage', '0', 12, 0, [3, 4], [4, 1]);
    p.str('t').tensor('FloatStorage', '0', 12, 0, [4, 3], [1, 4]);
    p.str('slice').tensor('FloatStorage', '0', 12, 5, [2, 2], [4, 1]);
    p.str('col').tensor('FloatStorage', '0', 12, 2, [3], [4]);
    p.str('expand').tensor('FloatStorage', '0', 12, 1, [2, 3], [0, 4]);
    p.str('elem').tensor('FloatStorage', '0', 12, 11, [], []);
    p.str('unit').tensor('FloatStorage', '0', 12, 3, [1, 2, 1], [99, 4, 7]);
    p.str('none').tensor('FloatStorage', '0', 12, 0, [0, 3], [3, 1]);
    const v = readTorchFile(archive(p.op(0x75).bytes(), { '0': storage })) as TorchDict;
    const get = (k: string): number[] => Array.from((v.get(k) as TorchTensor).data as Float32Array);
    expect(get('base')).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(get('t')).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(get('slice')).toEqual([5, 6, 9, 10]);
    expect(get('col')).toEqual([2, 6, 10]);
    expect(get('expand')).toEqual([1, 5, 9, 1, 5, 9]);
    expect(get('elem')).toEqual([11]);
    expect((v.get('elem') as TorchTensor).shape).toEqual([]);
    expect(get('unit')).toEqual([3, 7]);
    expect(get('none')).toEqual([]);
    expect((v.get('none') as TorchTensor).shape).toEqual([0, 3]);
  });

  it('refuses a view that reads past its storage', () => {
    const pkl = new Pickle().tensor('FloatStorage', '0', 4, 1, [2, 2], [2, 1]).bytes();
    expect(readError(archive(pkl, { '0': f32bytes(1, 2, 3, 4) })).message).toMatch(/reads past its storage data\/0 of 4 elements/);
  });
});

describe('bad input: one-line TorchFileError naming the file', () => {
  it('refuses the legacy (pre-1.6) format and says how to convert it', () => {
    const legacy = hex('80028a0a6cfc9c46f9206aa850192e');
    const e = readError(legacy, 'old.pt');
    expect(e.message).toMatch(/legacy torch\.save format.*torch\.save\(torch\.load\('old\.pt'\), 'converted\.pt'\)/);
    const tar = new Uint8Array(1024);
    tar.set(enc.encode('ustar'), 257);
    expect(readError(tar).message).toMatch(/legacy torch\.save format \(torch < 0\.4: a tar archive\)/);
  });

  it('refuses files that are not zip archives, empty or truncated', () => {
    expect(readError(enc.encode('hello world')).message).toMatch(/not a PyTorch checkpoint/);
    expect(readError(new Uint8Array(0)).message).toMatch(/not a PyTorch checkpoint/);
    const good = writeTorchFile({ x: new TorchTensor('float32', [100], new Float32Array(100)) });
    for (const n of [10, 100, 500, good.length - 23, good.length - 1]) {
      expect(readError(good.subarray(0, n)).message).toMatch(/truncated|corrupt|extends past|missing|bad local header/);
    }
    expect(readError(writeZip([])).message).toMatch(/empty zip archive/);
    expect(readError(writeZip([{ name: 'archive/other', data: new Uint8Array(1) }])).message).toMatch(/no archive\/data\.pkl record/);
    expect(readError(writeZip([{ name: 'data.pkl', data: new Uint8Array(1) }])).message).toMatch(/not inside an archive folder/);
  });

  it('detects corrupted bytes by their CRC-32, and refuses compressed, encrypted or big-endian files', () => {
    const good = writeTorchFile({ x: new TorchTensor('float32', [4], Float32Array.of(1, 2, 3, 4)) });
    const data0 = readZip(good, 'x').find((e) => e.name === 'archive/data/0')!;
    const flipped = good.slice();
    flipped[data0.dataOffset + 5]! ^= 0x10;
    expect(readError(flipped).message).toMatch(/archive\/data\/0 fails its CRC-32 check/);
    const cd = new DataView(good.buffer).getUint32(good.length - 22 + 16, true);
    const compressed = good.slice();
    compressed[cd + 10] = 8; // method 8 (deflate) in the first central directory entry
    expect(readError(compressed).message).toMatch(/archive\/data\.pkl is compressed \(method 8\)/);
    const encrypted = good.slice();
    encrypted[cd + 8]! |= 1;
    expect(readError(encrypted).message).toMatch(/is encrypted/);
    const big = writeZip([
      { name: 'archive/data.pkl', data: new Pickle().op(0x4e).bytes() },
      { name: 'archive/byteorder', data: enc.encode('big') },
    ]);
    expect(readError(big).message).toMatch(/big-endian checkpoint/);
  });

  it('refuses classes and functions outside the allowed set, naming them', () => {
    const call = (module: string, name: string) => new Pickle().global(module, name).op(0x29, 0x52).bytes();
    for (const [m, n] of [
      ['os', 'system'],
      ['builtins', 'eval'],
      ['numpy.core.multiarray', '_reconstruct'],
      ['torch._utils', '_rebuild_qtensor'],
      ['torch.nn.modules.linear', 'Linear'],
    ]) {
      expect(readError(archive(call(m!, n!))).message).toMatch(new RegExp(`refers to ${m!.replace(/\./g, '\\.')}\\.${n}, which is not allowed`));
    }
    // STACK_GLOBAL (protocol 4) is checked the same way
    const stackGlobal = new Pickle().str('posix').str('system').op(0x93).bytes();
    expect(readError(archive(stackGlobal)).message).toMatch(/refers to posix\.system, which is not allowed/);
    const complex = new Pickle().tensor('ComplexFloatStorage', '0', 1, 0, [1], [1]).bytes();
    expect(readError(archive(complex)).message).toMatch(/unsupported storage type torch\.ComplexFloatStorage/);
    const newobj = new Pickle().global('builtins', 'set').op(0x29, 0x81).bytes();
    expect(readError(archive(newobj)).message).toMatch(/NEWOBJ of builtins\.set/);
  });

  it('refuses storages, classes or dtypes outside a tensor, and malformed pickles', () => {
    const bare = new Pickle().op(0x28).str('storage').global('torch', 'FloatStorage').str('0').str('cpu').int(1).op(0x74, 0x51).bytes();
    expect(readError(archive(bare, { '0': f32bytes(1) })).message).toMatch(/result holds a storage/);
    const cls = new Pickle().op(0x5d).global('collections', 'OrderedDict').op(0x61).bytes();
    expect(readError(archive(cls)).message).toMatch(/result holds collections\.OrderedDict/);
    const cases: [Pickle, RegExp][] = [
      [new Pickle().op(0x49).op(...enc.encode('1\n')), /unsupported pickle opcode 0x49 \(INT\)/],
      [new Pickle().op(0x52), /pickle stack underflow/],
      [new Pickle().op(0x68, 5), /memo entry 5 missing/],
      [new Pickle().op(0x4e, 0x74), /MARK missing/],
      [new Pickle().op(0x58, 0xff, 0, 0, 0, 0x41), /truncated pickle/],
      [new Pickle().op(0x80, 6, 0x4e), /pickle protocol 6 is newer than 5/],
      [new Pickle().op(0x4e, 0x4e, 0x4e, 0x73), /SETITEMS on None, expected a dict/],
      [new Pickle().tensor('FloatStorage', '0', 2, 0, [2], [1]), /missing storage record archive\/data\/0/],
    ];
    for (const [p, re] of cases) expect(readError(archive(p.bytes())).message).toMatch(re);
    const noStop = Uint8Array.from([0x80, 2, 0x4e]);
    expect(readError(archive(noStop)).message).toMatch(/truncated pickle \(no STOP\)/);
    const wrongSize = new Pickle().tensor('FloatStorage', '0', 3, 0, [3], [1]).bytes();
    expect(readError(archive(wrongSize, { '0': f32bytes(1, 2) })).message).toMatch(/archive\/data\/0 holds 8 bytes, expected 12/);
  });
});

describe('stateDictFromTorch', () => {
  const t = (...xs: number[]) => new TorchTensor('float32', [xs.length], Float32Array.from(xs));
  it("takes a flyvis checkpoint's network entry, or a plain state_dict", () => {
    const network = new TorchDict([['nodes_bias', t(1, 2)], ['edges_syn_strength', new TorchTensor('float64', [1], Float64Array.of(0.1))]], true);
    const ckpt = new TorchDict([['network', network], ['decoder', new TorchDict()], ['validation_loss', 5.1]]);
    const sd = stateDictFromTorch(readTorchFile(writeTorchFile(ckpt)));
    expect(Object.keys(sd)).toEqual(['nodes_bias', 'edges_syn_strength']);
    expect(sd.nodes_bias).toEqual(Float32Array.of(1, 2));
    expect(sd.edges_syn_strength).toEqual(Float32Array.of(Math.fround(0.1)));
    expect(stateDictFromTorch(network)).toEqual(sd);
  });
  it('names the entry that is not a float tensor, and the file', () => {
    expect(() => stateDictFromTorch(5.5, 'c.pt')).toThrow(/^c\.pt: expected a state_dict/);
    expect(() => stateDictFromTorch(new TorchDict([['x', t(1)], ['step', 3n]]), 'c.pt')).toThrow(/"step" is not a tensor/);
    const ints = new TorchDict([['network', new TorchDict([['n', new TorchTensor('int64', [1], BigInt64Array.of(1n))]])]]);
    expect(() => stateDictFromTorch(ints, 'c.pt')).toThrow(/c\.pt: network entry "n" is a int64 tensor, expected floating point/);
    expect(() => stateDictFromTorch(new TorchDict([['network', [1n]]]), 'c.pt')).toThrow(/"network" entry is not a dict/);
    expect(() => stateDictFromTorch(new TorchDict(), 'c.pt')).toThrow(/holds no parameters/);
  });
});

describe('writer: bad values named by their path', () => {
  it('refuses what Python cannot hold', () => {
    const err = (v: unknown) => () => writeTorchFile(v as TorchWritable);
    expect(err({ a: { b: undefined } })).toThrow(/^writeTorchFile: value\["a"\]\["b"\]: cannot write undefined$/);
    expect(err({ a: Float32Array.of(1) })).toThrow(/cannot write a Float32Array \(wrap typed arrays in a TorchTensor/);
    expect(err([() => 1])).toThrow(/value\[0\]: cannot write function/);
    expect(err(new Map([[[1n], 'x']]))).toThrow(/unhashable/);
    expect(err(new Date())).toThrow(/cannot write a Date/);
    const s = new TorchSet();
    s.add(new TorchTuple([s as unknown as TorchValue]));
    expect(err(s)).toThrow(/contains itself/);
    expect(err(new TorchTensor('bool', [2], Uint8Array.of(0, 2)))).toThrow(/bool tensor holds 2 at index 1, expected 0 or 1/);
    expect(() => writeTorchFile(1n, { archiveName: 'a/b' })).toThrow(/archive name/);
  });
  it('TorchTensor checks dtype, shape and data', () => {
    expect(() => new TorchTensor('float32', [2, 2], new Float32Array(3))).toThrow(/shape \[2, 2\] has 4 elements but data has 3/);
    expect(() => new TorchTensor('int64', [1], new Float64Array(1))).toThrow(/int64 data must be a BigInt64Array, got Float64Array/);
    expect(() => new TorchTensor('complex64' as 'float32', [1], new Float32Array(1))).toThrow(/unknown dtype "complex64"/);
    expect(() => new TorchTensor('float32', [-1], new Float32Array(0))).toThrow(/shape must be a list of non-negative integers/);
  });
});

describe('Node wrapper', () => {
  it('saves atomically and loads back; errors name the path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'torch-file-'));
    const file = join(dir, 'ckpt.pt');
    const value = new TorchDict([['network', new TorchDict([['nodes_bias', new TorchTensor('float32', [1], Float32Array.of(0.5))]], true)]]);
    saveTorchFile(file, value);
    expect(readdirSync(dir)).toEqual(['ckpt.pt']);
    expect(loadTorchFile(file)).toEqual(value);
    expect(() => loadTorchFile(join(dir, 'missing.pt'))).toThrow(new RegExp(`^${join(dir, 'missing.pt')}: no such file$`));
    expect(() => loadTorchFile(dir)).toThrow(/is a directory/);
    writeFileSync(join(dir, 'bad.pt'), 'not a checkpoint');
    expect(() => loadTorchFile(join(dir, 'bad.pt'))).toThrow(new RegExp(`^${join(dir, 'bad.pt')}: not a PyTorch checkpoint`));
  });
});
