// Regression suite for .npy headers that a careless reader would read differently from numpy
// (issue 12 item 8), and for float64 data beyond float32 range. What numpy does with each header
// was checked with numpy 2.4.6 (np.load): where numpy reads a file, we read the same array;
// where it refuses one, we refuse it; a duplicated key (numpy silently keeps the last, a
// first-match reader the first) is refused as ambiguous.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FLOAT32_MAX, NonFiniteError, assertFinite, firstNonFinite, toFloat32 } from '../../src/io/finite.ts';
import { NpyError, encodeNpy, npyToFloat32, parseNpy } from '../../src/io/npy.ts';

/** A .npy file (version `major`) with this header text and the float32 values 0, 1, 2, ... as data. */
function npyWith(header: string, major = 1, values = 60): Uint8Array {
  const h = Uint8Array.from(`${header}          \n`, (c) => c.charCodeAt(0));
  const pre = major === 1 ? 10 : 12;
  const data = new Uint8Array(Float32Array.from({ length: values }, (_, i) => i).buffer);
  const out = new Uint8Array(pre + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(h, pre);
  out.set(data, pre + h.length);
  return out;
}
const dict = (shape: string, extra = '') => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, ${extra}}`;

describe('npy headers numpy reads: read the same array', () => {
  const cases: [string, string, number, number[]][] = [
    ['plain', dict('(2, 3)'), 1, [2, 3]],
    ['double quotes', '{"descr": "<f4", "fortran_order": False, "shape": (6,)}', 1, [6]],
    ['Python 2 long in version 1', dict('(6L,)'), 1, [6]],
    ['underscores in an integer', dict('(6_0,)'), 1, [60]],
    ['unary plus', dict('(+6,)'), 1, [6]],
    ['scalar', dict('()'), 1, []],
    ["u'' strings", "{u'descr': u'<f4', 'fortran_order': False, 'shape': (6,)}", 1, [6]],
    ['version 2', dict('(3, 2)'), 2, [3, 2]],
    ['version 3 (UTF-8)', dict('(3, 2)'), 3, [3, 2]],
    ['no trailing comma, spaces and newlines inside', "{ 'descr' :'<f4' ,\n'fortran_order':False,'shape':( 2 ,3 , ) }", 1, [2, 3]],
  ];
  it.each(cases)('%s', (_name, header, major, shape) => {
    const a = parseNpy(npyWith(header, major), 'm.npy');
    expect(a.shape).toEqual(shape);
    const n = shape.reduce((x, y) => x * y, 1);
    expect(Array.from(a.data)).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});

describe('npy headers refused, naming the file and the problem', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    // numpy reads shape (2, 3), a first-match reader (6,): refused as ambiguous.
    ['duplicated shape', npyWith(dict('(6,)', "'shape': (2, 3), ")), /m\.npy: header has the key 'shape' twice/],
    // numpy reads '<f4', a first-match reader '<f8' (half as many values, garbage).
    ['duplicated descr', npyWith("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), 'descr': '<f4'}"), /m\.npy: header has the key 'descr' twice/],
    ['duplicated fortran_order', npyWith(dict('(6,)', "'fortran_order': True, ")), /m\.npy: header has the key 'fortran_order' twice/],
    ['extra key (numpy: wrong keys)', npyWith(dict('(6,)', "'x': 'y', ")), /m\.npy: header must have exactly the keys 'descr', 'fortran_order', 'shape' .*got 'descr', 'fortran_order', 'shape', 'x'/],
    ['missing key', npyWith("{'descr': '<f4', 'shape': (6,)}"), /m\.npy: header must have exactly the keys .*got 'descr', 'shape'$/],
    ['shape not a tuple: (6)', npyWith(dict('(6)')), /m\.npy: malformed header \(a one-element tuple needs a trailing comma/],
    ['shape a list', npyWith(dict('[6]')), /m\.npy: malformed header \(expected a string, True, False or a tuple of integers/],
    ['Python expression', npyWith(dict('(2*3,)')), /m\.npy: malformed header \(expected ','/],
    ['function call', npyWith(dict("(__import__('os').getpid(),)")), /m\.npy: malformed header \(expected an integer/],
    ['negative dimension', npyWith(dict('(-6,)')), /m\.npy: malformed shape \(-6\): negative dimension/],
    ['bool in shape', npyWith(dict('(True, 6)')), /m\.npy: malformed header \(expected an integer/],
    ['leading zero (a Python syntax error)', npyWith(dict('(06,)')), /m\.npy: malformed header \(integer with a leading zero/],
    ['fortran_order 0', npyWith("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}"), /m\.npy: malformed header \(expected a string, True, False/],
    ['descr not a string', npyWith("{'descr': ('<f4',), 'fortran_order': False, 'shape': (6,)}"), /m\.npy: malformed header \(expected an integer/],
    ['text after the dict', npyWith(`${dict('(6,)')} x`), /m\.npy: malformed header \(unexpected text after the header dict/],
    ['NUL after the dict', npyWith(`${dict('(6,)')}\0`), /m\.npy: malformed header \(unexpected text after the header dict/],
    ['unterminated dict', npyWith("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)"), /m\.npy: malformed header \(expected ',' or '}'/],
    ['Python 2 long in version 3', npyWith(dict('(6L,)'), 3), /m\.npy: malformed header/],
    ['pickled object array', npyWith("{'descr': '|O', 'fortran_order': False, 'shape': (6,)}"), /m\.npy: unsupported dtype '\|O'/],
    ['header longer than numpy allows', npyWith(dict('(6,)') + ' '.repeat(10_000)), /m\.npy: header of \d+ bytes is longer than numpy's limit of 10000/],
  ];
  it.each(cases)('%s', (_name, bytes, message) => {
    expect(() => parseNpy(bytes, 'm.npy')).toThrow(NpyError);
    expect(() => parseNpy(bytes, 'm.npy')).toThrow(message);
  });

  it('a header whose declared length lies', () => {
    const good = encodeNpy(Float32Array.from([1, 2, 3, 4]), [4]);
    const len = good[8]! + 256 * good[9]!;
    // Longer than the file: truncated.
    const long = good.slice();
    new DataView(long.buffer).setUint16(8, good.length, true);
    expect(() => parseNpy(long, 'm.npy')).toThrow(/m\.npy: truncated header \(\d+ bytes declared, \d+ present\)/);
    // Running into the data: the data bytes are text after the dict.
    const into = good.slice();
    new DataView(into.buffer).setUint16(8, len + 8, true);
    expect(() => parseNpy(into, 'm.npy')).toThrow(/m\.npy: malformed header \(unexpected text after the header dict/);
    // Shorter: the dict is cut.
    const short = good.slice();
    new DataView(short.buffer).setUint16(8, 30, true);
    expect(() => parseNpy(short, 'm.npy')).toThrow(/m\.npy: malformed header/);
    // Version 2 with fewer than 12 bytes.
    expect(() => parseNpy(Uint8Array.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 1, 0]), 'm.npy')).toThrow(/m\.npy: truncated header/);
  });

  it('property: inserting any duplicate of a header key is refused; the original reads', () => {
    const keys = ["'descr': '<f4'", "'fortran_order': False", "'shape': (6,)"];
    fc.assert(
      fc.property(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 3 }), fc.constantFrom("'<f4'", "'<f8'", 'True', 'False', '(2, 3)', '(6,)'), (k, at, value) => {
        const name = keys[k]!.split(':')[0]!;
        const entries = [...keys];
        entries.splice(at, 0, `${name}: ${value}`);
        expect(() => parseNpy(npyWith(`{${entries.join(', ')}}`), 'm.npy')).toThrow(new RegExp(`header has the key ${name} twice`));
        expect(parseNpy(npyWith(`{${keys.join(', ')}}`), 'm.npy').shape).toEqual([6]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('float32 conversion refuses what the cast would make infinite', () => {
  it('a float64 value beyond float32 range, NaN and Infinity, with the index', () => {
    const shape = [1, 2, 1, 3];
    const a = { data: Float64Array.from([0.5, 0.5, 0.5, 0.5, 1e300, 0.5]), shape, descr: '<f8' };
    expect(() => npyToFloat32(a, 'movie.npy')).toThrow(NpyError);
    expect(() => npyToFloat32(a, 'movie.npy')).toThrow(/^movie\.npy: value at \[0, 1, 0, 1\] is 1e\+300, beyond float32 range/);
    const b = { ...a, data: Float64Array.from([0, NaN, 0, 0, 0, 0]) };
    expect(() => npyToFloat32(b, 'movie.npy')).toThrow(/^movie\.npy: value at \[0, 0, 0, 1\] is NaN, expected a finite number/);
    // The largest float32 and values that round to it are kept.
    const c = { ...a, data: Float64Array.from([FLOAT32_MAX, -FLOAT32_MAX, 3.4028235e38, 0, 1e-300, -0]) };
    expect(Array.from(npyToFloat32(c, 'movie.npy'))).toEqual([FLOAT32_MAX, -FLOAT32_MAX, FLOAT32_MAX, 0, 0, -0]);
    // float32 data is checked and returned without a copy.
    const f32 = Float32Array.from([1, 2, 3]);
    expect(npyToFloat32({ data: f32, shape: [3], descr: '<f4' }, 'x')).toBe(f32);
    expect(() => toFloat32(Float32Array.from([1, Infinity]), 'x.npy', [2])).toThrow(/^x\.npy: value at \[1\] is Infinity, expected a finite number$/);
  });

  it('property: toFloat32 refuses exactly the values that are not finite after the cast', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { minLength: 1, maxLength: 40 }), (xs) => {
        const bad = xs.findIndex((x) => !Number.isFinite(Math.fround(x)));
        if (bad < 0) expect(Array.from(toFloat32(xs, 'x'))).toEqual(xs.map(Math.fround));
        else expect(() => toFloat32(xs, 'x')).toThrow(new RegExp(`^x: value at \\[${bad}\\] is `));
        expect(firstNonFinite(Float32Array.from(xs))).toBe(bad);
      }),
    );
  });

  it('assertFinite names what, where and how many', () => {
    expect(() => assertFinite(Float32Array.from([1, NaN, 2, Infinity]), 'activity.npy', [2, 2])).toThrow(
      /^activity\.npy: value at \[0, 1\] is NaN, expected a finite number \(2 of 4 values are not finite\)$/,
    );
    expect(() => assertFinite([NaN], 'x')).toThrow(NonFiniteError);
    const ok = Float32Array.from([0, -1, FLOAT32_MAX]);
    expect(assertFinite(ok, 'x')).toBe(ok);
  });
});
