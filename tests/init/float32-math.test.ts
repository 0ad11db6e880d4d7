// numpy's float32 log and pandas' float32 group mean (src/init/float32-math.ts): fixed values
// that hold without Python, and numpy itself on two million inputs when a python3 here imports
// numpy on an x86 CPU where np.log runs its AVX2/FMA3 or AVX512F kernel (both kernels checked).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { kahanMeanFloat32, npLogFloat32, npLogFloat32Array } from '../../src/init/float32-math.ts';
import { groupMeanFloat32, groupRows } from '../../src/init/grouping.ts';

const bitsOf = (x: number): number => new Uint32Array(new Float32Array([x]).buffer)[0]!;
const fromBits = (b: number): number => new Float32Array(new Uint32Array([b]).buffer)[0]!;
const hex = (b: number): string => `0x${b.toString(16).padStart(8, '0')}`;

// [x, np.log(x)] as float32 bit patterns, from numpy 1.24.2 (AVX512F and AVX2 kernels alike).
const NUMPY_LOG: readonly (readonly [number, number])[] = [
  [0x3f486945, 0xbe7aae7a], // 0.782856286: numpy's documented worst case (3.83 ulp)
  [0x3f83759f, 0x3cda7755], // 38/37; the next eight are means a/b that numpy logs 1 ulp off
  [0x403cb7cb, 0x3f8a6a58], // 2.94871783
  [0x410f7bdf, 0x400c6480], // 8.96774197
  [0x4197c71c, 0x403c59b8], // 18.9722214
  [0x41cc4ec5, 0x404f5f34], // 25.5384617
  [0x4211ef7c, 0x40663320], // 36.4838715
  [0x422e8f5c, 0x4071a990], // 43.6399994
  [0x4245b13b, 0x4079a070], // 49.4230766
  [0x3f800000, 0x00000000], // 1
  [0x40000000, 0x3f317218], // 2
  [0x3f000000, 0xbf317218], // 0.5
  [0x3f3504f3, 0xbeb17218], // float32(1/sqrt 2): the mantissa is doubled
  [0x3f3504f4, 0xbeb17215], // the next float32: it is not
  [0x3fb504f3, 0x3eb17218], // float32(sqrt 2)
  [0x41200000, 0x40135d8e], // 10
  [0x40600000, 0x3fa05a8a], // 3.5
  [0x000116c2, 0xc2b834f2], // 1e-40 (subnormal)
  [0x00800000, 0xc2aeac50], // FLT_MIN
  [0x7f7fffff, 0x42b17218], // FLT_MAX
  [0x00000001, 0xc2ce8ed0], // the smallest subnormal
];

describe('npLogFloat32 (numpy float32 np.log)', () => {
  it("gives numpy's values, including where numpy is not correctly rounded", () => {
    const wrong = NUMPY_LOG.flatMap(([x, y]) => {
      const got = bitsOf(npLogFloat32(fromBits(x)));
      return got === y ? [] : [`log(${hex(x)}) = ${hex(got)}, numpy ${hex(y)}`];
    });
    expect(wrong).toEqual([]);
    // Eight of them differ from the correctly rounded log, which is what makes the port necessary.
    const notCorrectlyRounded = NUMPY_LOG.filter(([x, y]) => Math.fround(Math.log(fromBits(x))) !== fromBits(y)).length;
    expect(notCorrectlyRounded).toBeGreaterThanOrEqual(8);
  });

  it('handles zero, negative, infinite and NaN inputs as numpy does', () => {
    expect(npLogFloat32(0)).toBe(-Infinity);
    expect(npLogFloat32(-0)).toBe(-Infinity);
    expect(npLogFloat32(-1)).toBeNaN();
    expect(npLogFloat32(-Infinity)).toBeNaN();
    expect(npLogFloat32(-1e-45)).toBeNaN();
    expect(npLogFloat32(Infinity)).toBe(Infinity);
    expect(npLogFloat32(NaN)).toBeNaN();
  });

  it('rounds its argument to float32 first and maps arrays elementwise', () => {
    expect(npLogFloat32(3.5000000001)).toBe(fromBits(0x3fa05a8a));
    expect(Array.from(npLogFloat32Array(new Float32Array([1, 2, 0])))).toEqual([0, fromBits(0x3f317218), -Infinity]);
  });
});

// ---------------------------------------------------------------- against numpy, when present

const AVX512 = 'AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL';

// Prints which of numpy's float32 log kernels runs: 'avx512f', 'avx2', or why neither does.
const PROBE = `
import platform, numpy as np
try:
    from numpy._core._multiarray_umath import __cpu_features__ as f
except ImportError:
    from numpy.core._multiarray_umath import __cpu_features__ as f
if platform.machine().lower() not in ('x86_64', 'amd64'):
    print('none: not an x86-64 CPU (%s), where numpy calls the C library logf' % platform.machine())
elif f.get('AVX512F'):
    print('avx512f')
elif f.get('AVX2') and f.get('FMA3'):
    print('avx2')
else:
    print('none: numpy sees no AVX2+FMA3 or AVX512F here and calls the C library logf')
`;

const LOG_SCRIPT = `
import sys, numpy as np
x = np.frombuffer(sys.stdin.buffer.read(), dtype=np.float32)
with np.errstate(all='ignore'):
    sys.stdout.buffer.write(np.log(x).tobytes())
`;

interface NumpyPython {
  python: string | null;
  kernel: string;
}

function findNumpy(): NumpyPython {
  const candidates = [process.env.FLYVIS_NUMPY_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  let reason = 'no python3 here imports numpy (set FLYVIS_NUMPY_PYTHON)';
  for (const python of candidates) {
    try {
      const kernel = execFileSync(python, ['-c', PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      if (kernel === 'avx512f' || kernel === 'avx2') return { python, kernel };
      reason = `${python}: ${kernel}`;
    } catch {
      // not runnable or no numpy: try the next one
    }
  }
  return { python: null, kernel: reason };
}

const numpy = findNumpy();
if (numpy.python === null) console.warn(`[flyvis-ts tests] skipping the comparison of npLogFloat32 with numpy: ${numpy.kernel}`);

/** Random float32 bit patterns (all signs, NaNs, subnormals) and a dense sweep of [0.5, 128). */
function inputs(): Float32Array {
  const n = 1 << 20;
  const bits = new Uint32Array(2 * n);
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    // xorshift32: any fixed sequence of bit patterns will do
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    bits[i] = s >>> 0;
  }
  const lo = bitsOf(0.5);
  const step = Math.floor((bitsOf(128) - lo) / n);
  for (let i = 0; i < n; i++) bits[n + i] = lo + i * step + (i % step);
  return new Float32Array(bits.buffer);
}

describe.skipIf(numpy.python === null)('npLogFloat32 against numpy', () => {
  const x = inputs();
  const ours = new Uint32Array(npLogFloat32Array(x).buffer);

  const compare = (env: NodeJS.ProcessEnv): string[] => {
    const out = execFileSync(numpy.python!, ['-c', LOG_SCRIPT], {
      input: Buffer.from(x.buffer),
      env: { ...process.env, ...env },
      maxBuffer: 1 << 26,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    expect(out.length).toBe(x.byteLength);
    const ref = new Uint32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
    const isNaN = (b: number): boolean => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
    const wrong: string[] = [];
    for (let i = 0; i < x.length; i++) {
      if (ours[i] !== ref[i] && !(isNaN(ours[i]!) && isNaN(ref[i]!))) wrong.push(`log(${hex(bitsOf(x[i]!))}) = ${hex(ours[i]!)}, numpy ${hex(ref[i]!)}`);
    }
    return wrong;
  };

  it(`equals numpy's ${numpy.kernel} kernel on 2 million inputs`, () => {
    const wrong = compare({});
    expect(wrong.slice(0, 5), `${wrong.length} differ`).toEqual([]);
  });

  it.skipIf(numpy.kernel !== 'avx512f')("equals numpy's AVX2/FMA3 kernel too (AVX512 disabled)", () => {
    const wrong = compare({ NPY_DISABLE_CPU_FEATURES: AVX512 });
    expect(wrong.slice(0, 5), `${wrong.length} differ`).toEqual([]);
  });
});

// ---------------------------------------------------------------- pandas' float32 group mean

describe('kahanMeanFloat32 (pandas groupby mean of float32)', () => {
  it('sums in float32 with Kahan compensation, unlike a plain float32 or a float64 sum', () => {
    // 10000001 + 0.7f + 1.7f: Kahan in float32 gives 10000003, so 3333334.25 after / 3; a plain
    // float32 sum gives 10000004 (3333334.75); float64 gives 10000003.4 (3333334.5 after rounding).
    expect(Array.from(kahanMeanFloat32([0, 0, 0], [10000001, 0.7, 1.7], 1))).toEqual([3333334.25]);
    // 2^24 + 1 + 1: the compensation recovers both ones.
    expect(Array.from(kahanMeanFloat32([0, 0, 0], [16777216, 1, 1], 1))).toEqual([5592406]);
  });

  it('accumulates each group over its rows in table order', () => {
    // Interleaved groups: group 1 holds the 10000001, 0.7, 1.7 of above (3333334.25).
    const groups = [1, 0, 1, 0, 1];
    const values = [10000001, 2, 0.7, 4, 1.7];
    expect(Array.from(kahanMeanFloat32(groups, values, 2))).toEqual([3, 3333334.25]);
    // The order matters: 0.1f, 2.9f, 1.7f average to 1.5666666 (0x3fc88888), other orders to
    // 1.5666667 (0x3fc88889).
    expect(bitsOf(kahanMeanFloat32([0, 0, 0], [0.1, 2.9, 1.7], 1)[0]!)).toBe(0x3fc88888);
    expect(bitsOf(kahanMeanFloat32([0, 0, 0], [2.9, 0.1, 1.7], 1)[0]!)).toBe(0x3fc88889);
  });

  it("skips NaN values and negative groups, and gives NaN for a group without values, as pandas", () => {
    const m = kahanMeanFloat32([0, 0, -1, 1, 2], [1, NaN, 100, NaN, 3], 4);
    expect(m[0]).toBe(1);
    expect(m[1]).toBeNaN();
    expect(m[2]).toBe(3);
    expect(m[3]).toBeNaN();
    // An infinite value resets the compensation (pandas >= 2.0) instead of making the mean NaN.
    expect(Array.from(kahanMeanFloat32([0, 0], [Infinity, 1], 1))).toEqual([Infinity]);
  });

  it('refuses mismatched lengths and out-of-range groups', () => {
    expect(() => kahanMeanFloat32([0], [1, 2], 1)).toThrow(/1 groups for 2 values/);
    expect(() => kahanMeanFloat32([0, 3], [1, 2], 2)).toThrow(/group 3 of row 1/);
  });

  it('groupMeanFloat32 averages the rows of each grouping', () => {
    const table = { length: 5, columns: { k: Int32Array.from([7, 5, 7, 5, 7]) } };
    const g = groupRows(table, ['k']);
    expect(Array.from(groupMeanFloat32(g, [10000001, 2, 0.7, 4, 1.7]))).toEqual([3333334.25, 3]);
  });
});
