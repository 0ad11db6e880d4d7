// The torch file reader and writer against PyTorch itself: python3 with torch (found as
// FLYVIS_TORCH_PYTHON, python3 on PATH or /usr/bin/python3) writes files in a temp dir that we
// read, and loads the files we write; one Python run describes both in a tagged JSON form that
// describe() below reproduces from our values. Skipped, with a printed reason, without torch.
// A plain python3 (no torch) checks our forced-zip64 file with Python's zipfile.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  TorchDict,
  TorchSet,
  TorchTensor,
  TorchTuple,
  readTorchFile,
  writeTorchFile,
  type TorchValue,
} from '../../src/io/torch/index.ts';

function findPython(probe: string): string | null {
  const candidates = [process.env.FLYVIS_TORCH_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', probe], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

// find_spec: checks torch and numpy are installed without paying for importing torch here.
const torchPython = findPython("import importlib.util as u, sys; sys.exit(0 if u.find_spec('torch') and u.find_spec('numpy') else 1)");
const plainPython = torchPython ?? findPython('import zipfile');
if (torchPython === null) {
  console.warn('[torch-python] skipping PyTorch cross-checks: no python3 that can import torch and numpy (set FLYVIS_TORCH_PYTHON)');
}
if (plainPython === null) console.warn('[torch-python] skipping the zipfile check: no python3');

// ----------------------------------------------------------------------- tagged description

type Desc = unknown;

const reprFloat = (x: number): string =>
  Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : x === -Infinity ? '-inf' : Object.is(x, -0) ? '-0.0' : String(x);
const parseFloatRepr = (s: string): number =>
  s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);

/** Our values in the tagged form the Python side prints (floats compared as numbers). */
function describe_(v: TorchValue): Desc {
  if (v === null) return { n: 1 };
  if (typeof v === 'boolean') return { b: v };
  if (typeof v === 'bigint') return { i: v.toString() };
  if (typeof v === 'number') return { f: v };
  if (typeof v === 'string') return { s: v };
  if (v instanceof TorchTensor) {
    const integral = ['int64', 'int32', 'int16', 'int8', 'uint8'].includes(v.dtype);
    const values = Array.from(v.data as ArrayLike<number | bigint>, (x) =>
      v.dtype === 'bool' ? x !== 0 : integral ? x.toString() : (x as number),
    );
    return { T: v.dtype, shape: [...v.shape], v: values, rg: v.requiresGrad, param: v.isParameter };
  }
  if (v instanceof Uint8Array) return { y: Buffer.from(v).toString('hex') };
  if (v instanceof TorchTuple) return { U: v.items.map(describe_) };
  if (Array.isArray(v)) return { L: v.map(describe_) };
  if (v instanceof TorchSet) {
    return { S: [...v].map(describe_).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)), frozen: v.frozen };
  }
  return { D: v.ordered ? 'OrderedDict' : 'dict', items: [...v].map(([k, x]) => [describe_(k), describe_(x)]) };
}

/** Python's floats arrive as repr strings: turn them into numbers to compare with describe_. */
function fromPython(d: Desc): Desc {
  if (Array.isArray(d)) return d.map(fromPython);
  if (d === null || typeof d !== 'object') return d;
  const o = d as Record<string, unknown>;
  if ('f' in o) return { f: parseFloatRepr(o.f as string) };
  if ('T' in o) {
    const floats = !['int64', 'int32', 'int16', 'int8', 'uint8', 'bool'].includes(o.T as string);
    return { ...o, v: floats ? (o.v as string[]).map(parseFloatRepr) : o.v };
  }
  if ('S' in o) {
    const items = (o.S as Desc[]).map(fromPython).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    return { S: items, frozen: o.frozen };
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, fromPython(x)]));
}

const PY_DESCRIBE = String.raw`
import sys, json, zipfile, collections, torch, numpy as np

def r(x):
    return repr(float(x))

def desc(v):
    if isinstance(v, torch.Tensor):
        t = v.detach()
        if t.dtype == torch.bool:
            vals = [bool(x) for x in t.flatten().tolist()]
        elif t.is_floating_point():
            vals = [r(x) for x in t.double().flatten().tolist()]
        else:
            vals = [str(int(x)) for x in t.flatten().tolist()]
        return {'T': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'v': vals,
                'rg': bool(v.requires_grad), 'param': isinstance(v, torch.nn.Parameter)}
    if v is None: return {'n': 1}
    if isinstance(v, (bool, np.bool_)): return {'b': bool(v)}
    if isinstance(v, (int, np.integer)): return {'i': str(int(v))}
    if isinstance(v, (float, np.floating)): return {'f': r(v)}
    if isinstance(v, str): return {'s': v}
    if isinstance(v, bytes): return {'y': v.hex()}
    if isinstance(v, tuple): return {'U': [desc(x) for x in v]}
    if isinstance(v, list): return {'L': [desc(x) for x in v]}
    if isinstance(v, (set, frozenset)): return {'S': [desc(x) for x in v], 'frozen': isinstance(v, frozenset)}
    if isinstance(v, dict):
        return {'D': 'OrderedDict' if isinstance(v, collections.OrderedDict) else 'dict',
                'items': [[desc(k), desc(x)] for k, x in v.items()]}
    raise TypeError(type(v))
`;

const PY_GENERATE = String.raw`
def generate(d):
    special = [0.0, -0.0, 1.5, -2.25, 1e-3, 65504.0, float('nan'), float('inf'), float('-inf'), 6e-8, 3.0e38, 1e-40]
    dts = {'float32': torch.float32, 'float64': torch.float64, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
           'int64': torch.int64, 'int32': torch.int32, 'int16': torch.int16, 'int8': torch.int8,
           'uint8': torch.uint8, 'bool': torch.bool}
    ints = {'int64': [-(2**63), 2**63 - 1, 0, -1, 12345678901], 'int32': [-(2**31), 2**31 - 1, 0, -7],
            'int16': [-(2**15), 2**15 - 1, 3], 'int8': [-128, 127, 0], 'uint8': [0, 255, 17], 'bool': [True, False, True]}
    dtypes = collections.OrderedDict()
    for name, dt in dts.items():
        vals = torch.tensor(ints[name], dtype=dt) if name in ints else torch.tensor(special, dtype=torch.float64).to(dt)
        dtypes[name] = vals
        dtypes[name + '_0d'] = vals[1].clone()
        dtypes[name + '_2d'] = vals.repeat(2).reshape(2, -1)
        dtypes[name + '_empty'] = torch.zeros((2, 0, 3), dtype=dt)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = {'base': base, 'slice': base[1:3, 2:5], 't': base.t(), 'col': base[:, 4], 'step': base[::2, ::3],
             'elem0d': base[2, 3], 'expand': torch.arange(3.0).reshape(3, 1).expand(3, 4),
             'permute': torch.arange(24, dtype=torch.int64).reshape(2, 3, 4).permute(2, 0, 1),
             'tail_empty': base[4:], 'narrow_h': torch.arange(10, dtype=torch.float16)[3:7]}
    lin = torch.nn.Linear(3, 2)
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(torch.ones(1, 4)).sum().backward()
    opt.step()
    shared = torch.ones(3)
    nested = {
        'network': collections.OrderedDict([('nodes_bias', torch.linspace(-1, 1, 65)),
                                            ('edges_syn_strength', torch.arange(604, dtype=torch.float32) / 7)]),
        'decoder': {'flow': lin.state_dict()},
        'optim': opt.state_dict(),
        'val_loss': np.float64(5.136557112137477), 'np32': np.float32(1.5), 'npint': np.int64(-7),
        'npbool': np.bool_(True), 'np16': np.float16(0.1), 'npu8': np.uint8(200),
        'iteration': 12345678901234, 'neg': -5, 'big': 2**100, 'dt': 0.02, 'one': 1.0,
        'time': 'Thu Jan  1 00:00:00 1970', 'unicode': 'é✓ 𝛼',
        'list': [1, 2.5, None, True, False, [], {}], 'tuple': (1, (2, 3), ()), 'bytes': b'\x00\xff', 'nobytes': b'',
        'set': {1, 2}, 'frozenset': frozenset({'a'}), 'intkeys': {0: 'a', -1: 'b', (1, 2): 'c', None: 'd'},
        'param': torch.nn.Parameter(torch.ones(2)), 'rg': torch.ones(2, requires_grad=True),
        'shared': [shared, shared[1:]],
    }
    cases = {'dtypes_p2': (dtypes, 2), 'dtypes_p4': (dtypes, 4), 'views_p2': (views, 2), 'views_p4': (views, 4),
             'nested_p2': (nested, 2), 'nested_p4': (nested, 4), 'nested_p5': (nested, 5)}
    out = {}
    for name, (obj, proto) in cases.items():
        torch.save(obj, d + '/' + name + '.pt', pickle_protocol=proto)
        out[name] = desc(obj)
    return out
`;

const PY_MAIN = String.raw`
args = json.load(sys.stdin)
d = args['dir']
res = {'torch': torch.__version__, 'generated': generate(d), 'loaded': {}, 'weights_only': {}, 'zip': {}}
for name in args['ours']:
    res['loaded'][name] = desc(torch.load(d + '/' + name + '.pt'))
for name in args['weights_only']:
    res['weights_only'][name] = desc(torch.load(d + '/' + name + '.pt', weights_only=True))
halves = torch.tensor([float(x) for x in args['half_floats']], dtype=torch.float32)
res['rounded'] = {'float16': desc(halves.half()), 'bfloat16': desc(halves.bfloat16())}
same = torch.load(d + '/shared.pt')
res['identity'] = [same['a'] is same['b'], same['a'] is same['list'][0]]
print(json.dumps(res))
`;

const PY_ZIP = String.raw`
import sys, json, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(json.dumps({i.filename: [i.file_size, i.CRC, z.read(i.filename).hex()] for i in z.infolist()}))
`;

// ----------------------------------------------------------------------- our files for torch

const FLOATS = [0, -0, 1.5, -2.25, 1e-3, 65504, NaN, Infinity, -Infinity, 6e-8, 3e38, 1e-40];
/** For float16 / bfloat16 tensors: also rounding ties, overflow and subnormals of both formats. */
const HALF_FLOATS = [
  ...FLOATS,
  1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 65519, 65520, 2 ** -24, 2 ** -25,
  3 * 2 ** -26, 2 ** -14 - 2 ** -25, -(2 ** -24) * 1.5, 0.1, -1 / 3, 3.4e38, 1.2e-38, 2 ** -133, 2 ** -134, 3 * 2 ** -135,
];

function ourCases(): Record<string, TorchValue> {
  const t = (dtype: ConstructorParameters<typeof TorchTensor>[0], shape: number[], data: TorchTensor['data']) =>
    new TorchTensor(dtype, shape, data);
  const f32 = Float32Array.from(FLOATS);
  const dtypes = new TorchDict(
    [
      ['float32', t('float32', [12], f32)],
      ['float64', t('float64', [3, 4], Float64Array.from(FLOATS))],
      ['float16', t('float16', [HALF_FLOATS.length], Float32Array.from(HALF_FLOATS))],
      ['bfloat16', t('bfloat16', [HALF_FLOATS.length], Float32Array.from(HALF_FLOATS))],
      ['int64', t('int64', [4], BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]))],
      ['int32', t('int32', [2, 2], Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, -7]))],
      ['int16', t('int16', [3], Int16Array.from([-32768, 32767, 3]))],
      ['int8', t('int8', [3], Int8Array.from([-128, 127, 0]))],
      ['uint8', t('uint8', [3], Uint8Array.from([0, 255, 17]))],
      ['bool', t('bool', [3], Uint8Array.from([1, 0, 1]))],
      ['f32_0d', t('float32', [], Float32Array.of(-3.5))],
      ['i64_0d', t('int64', [], BigInt64Array.of(232080n))],
      ['empty', t('float32', [2, 0, 3], new Float32Array(0))],
      ['empty_i8', t('int8', [0], new Int8Array(0))],
    ],
    true,
  );
  const nested = new TorchDict([
    ['network', new TorchDict([['nodes_bias', t('float32', [3], Float32Array.from([0.5, -1, 2]))]], true)],
    ['decoder', new TorchDict([['flow', new TorchDict([], true)]])],
    ['val_loss', 5.136557112137477],
    ['iteration', 12345678901234n],
    ['one', 1],
    ['neg', -5n],
    ['big', -(2n ** 100n)],
    ['ints', [0n, 255n, 256n, 65535n, 65536n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 63n, -128n, -129n]],
    ['floats', FLOATS],
    ['time', 'Thu Jan  1 00:00:00 1970'],
    ['unicode', 'é✓ 𝛼'],
    ['list', [1n, 2.5, null, true, false, [], new TorchDict()]],
    ['tuple', new TorchTuple([1n, new TorchTuple([2n, 3n]), new TorchTuple([]), new TorchTuple([1n, 2n, 3n, 4n, 5n])])],
    ['bytes', Uint8Array.from([0, 255, 10])],
    ['nobytes', new Uint8Array(0)],
    ['set', new TorchSet([1n, 'x'])],
    ['frozenset', new TorchSet([2n], true)],
    ['intkeys', new TorchDict([[0n, 'a'], [-1n, 'b'], [new TorchTuple([1n, 2n]), 'c'], [null, 'd'], [1.5, 'e']])],
    ['param', new TorchTensor('float32', [2], Float32Array.of(1, 2), { isParameter: true, requiresGrad: true })],
    ['frozen_param', new TorchTensor('float32', [1], Float32Array.of(3), { isParameter: true })],
    ['rg', new TorchTensor('float64', [1], Float64Array.of(4), { requiresGrad: true })],
    ['many', Array.from({ length: 2500 }, (_, i) => BigInt(i))],
    ['manykeys', new TorchDict(Array.from({ length: 1200 }, (_, i) => [`k${i}`, BigInt(i)] as [string, bigint]))],
  ]);
  const a = t('float32', [2], Float32Array.of(1, 2));
  const shared = new TorchDict([['a', a], ['b', a], ['list', [a]]]);
  const stateDict = new TorchDict(
    [
      ['weight', t('float32', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]))],
      ['bias', t('float32', [2], Float32Array.of(-1, 1))],
      ['num_batches_tracked', t('int64', [], BigInt64Array.of(7n))],
    ],
    true,
  );
  return { ours_dtypes: dtypes, ours_nested: nested, shared, ours_state_dict: stateDict };
}

// ---------------------------------------------------------------------------------- tests

describe.skipIf(torchPython === null)('against PyTorch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'torch-py-'));
  const ours = ourCases();
  let result: {
    torch: string;
    generated: Record<string, Desc>;
    loaded: Record<string, Desc>;
    weights_only: Record<string, Desc>;
    rounded: Record<'float16' | 'bfloat16', Desc>;
    identity: boolean[];
  };

  beforeAll(() => {
    for (const [name, value] of Object.entries(ours)) writeFileSync(join(dir, `${name}.pt`), writeTorchFile(value));
    writeFileSync(join(dir, 'ours_zip64.pt'), writeTorchFile(ours.ours_dtypes!, { zip64Limit: 0 }));
    const input = {
      dir,
      ours: [...Object.keys(ours).filter((n) => n !== 'shared'), 'ours_zip64'],
      weights_only: ['ours_state_dict'],
      half_floats: HALF_FLOATS.map(reprFloat),
    };
    const out = execFileSync(torchPython!, ['-c', PY_DESCRIBE + PY_GENERATE + PY_MAIN], {
      input: JSON.stringify(input),
      maxBuffer: 1 << 28,
      encoding: 'utf8',
    });
    result = JSON.parse(out);
    console.log(`[torch-python] compared with torch ${result.torch}`);
  });

  for (const name of ['dtypes_p2', 'dtypes_p4', 'views_p2', 'views_p4', 'nested_p2', 'nested_p4', 'nested_p5']) {
    it(`reads what torch.save writes: ${name}`, () => {
      const value = readTorchFile(readFileSync(join(dir, `${name}.pt`)), `${name}.pt`);
      expect(describe_(value)).toEqual(fromPython(result.generated[name]));
    });
  }

  it('reads views as torch does: offsets and strides in elements, one storage shared', () => {
    const v = readTorchFile(readFileSync(join(dir, 'views_p2.pt'))) as TorchDict;
    const get = (k: string) => v.get(k) as TorchTensor & { data: Float32Array };
    expect(Array.from(get('slice').data)).toEqual([8, 9, 10, 14, 15, 16]);
    expect(get('t').shape).toEqual([6, 4]);
    expect(Array.from(get('t').data.subarray(0, 5))).toEqual([0, 6, 12, 18, 1]);
    expect(get('elem0d').shape).toEqual([]);
    expect(Array.from(get('elem0d').data)).toEqual([15]);
    expect(Array.from(get('expand').data)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect(get('permute').shape).toEqual([4, 2, 3]);
    expect(get('tail_empty').shape).toEqual([0, 6]);
  });

  /** Our description of a value, float16 / bfloat16 tensors rounded as torch's .half() / .bfloat16(). */
  const expectedOf = (name: string): Desc => {
    const d = describe_(name === 'ours_zip64' ? ours.ours_dtypes! : ours[name]!) as { D: string; items: [Desc, Desc][] };
    if (!name.includes('dtypes') && name !== 'ours_zip64') return d;
    const items = d.items.map(([k, x]) => {
      const key = (k as { s: string }).s;
      if (key !== 'float16' && key !== 'bfloat16') return [k, x];
      return [k, { ...(x as object), v: (fromPython(result.rounded[key]) as { v: number[] }).v }];
    });
    return { ...d, items };
  };

  for (const name of ['ours_dtypes', 'ours_nested', 'ours_state_dict', 'ours_zip64']) {
    it(`writes what torch.load reads back equal: ${name}`, () => {
      expect(fromPython(result.loaded[name])).toEqual(expectedOf(name));
    });
  }

  it('rounds float16 and bfloat16 as torch does, and reads them back exactly', () => {
    const back = readTorchFile(writeTorchFile(ours.ours_dtypes!)) as TorchDict;
    for (const key of ['float16', 'bfloat16'] as const) {
      const expected = (fromPython(result.rounded[key]) as { v: number[] }).v;
      expect(Array.from((back.get(key) as TorchTensor).data as Float32Array)).toEqual(expected);
    }
  });

  it("writes a state_dict that torch.load's weights_only mode accepts", () => {
    expect(fromPython(result.weights_only.ours_state_dict)).toEqual(describe_(ours.ours_state_dict!));
  });

  it('writes a tensor reached twice once: torch.load gives the same object', () => {
    expect(result.identity).toEqual([true, true]);
  });
});

describe.skipIf(plainPython === null)("Python's zipfile", () => {
  it('reads our forced-zip64 archive: names, sizes, CRCs and bytes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'torch-zip-'));
    const value = new TorchDict([['x', new TorchTensor('float64', [3], Float64Array.of(1, 2, 3))]]);
    const file = join(dir, 'z.pt');
    writeFileSync(file, writeTorchFile(value, { zip64Limit: 0 }));
    const entries = JSON.parse(execFileSync(plainPython!, ['-c', PY_ZIP, file], { encoding: 'utf8' })) as Record<
      string,
      [number, number, string]
    >;
    expect(Object.keys(entries)).toEqual(['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/version']);
    expect(entries['archive/data/0']![0]).toBe(24);
    expect(entries['archive/data/0']![2]).toBe(Buffer.from(Float64Array.of(1, 2, 3).buffer).toString('hex'));
    expect(entries['archive/byteorder']![2]).toBe(Buffer.from('little').toString('hex'));
    expect(entries['archive/version']![2]).toBe(Buffer.from('3\n').toString('hex'));
    expect(readTorchFile(readFileSync(file))).toEqual(value);
  });
});
