import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../../src/io/npy.ts';
import { hasShared, sharedPath } from '../helpers/shared.ts';

describe('npy', () => {
  it('round-trips float32, float64 and int32 arrays with their shapes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    const f32 = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);
    writeNpy(join(dir, 'a.npy'), f32, [2, 3, 1, 4]);
    const a = readNpy(join(dir, 'a.npy'));
    expect(a.shape).toEqual([2, 3, 1, 4]);
    expect(a.descr).toBe('<f4');
    expect(Array.from(a.data)).toEqual(Array.from(f32));
    const f64 = Float64Array.from([1e-300, -2.5, Math.PI]);
    expect(Array.from(parseNpy(encodeNpy(f64, [3])).data)).toEqual(Array.from(f64));
    const i32 = Int32Array.from([-7, 0, 2147483647]);
    const b = parseNpy(encodeNpy(i32, [1, 3]));
    expect(b.shape).toEqual([1, 3]);
    expect(Array.from(b.data)).toEqual([-7, 0, 2147483647]);
    // No temporary files are left behind by the atomic write.
    expect(readdirSync(dir)).toEqual(['a.npy']);
  });

  it('pads the header to a multiple of 64 bytes as numpy does', () => {
    const bytes = encodeNpy(new Float32Array(5), [5]);
    const headerLen = bytes[8]! + 256 * bytes[9]!;
    expect((10 + headerLen) % 64).toBe(0);
    expect(bytes[10 + headerLen - 1]).toBe(0x0a);
  });

  it('names the file and the problem for bad input', () => {
    expect(() => parseNpy(new Uint8Array([1, 2, 3]), 'movie.npy')).toThrow(/movie\.npy: not a \.npy file/);
    const good = encodeNpy(new Float32Array(6), [2, 3]);
    expect(() => parseNpy(good.subarray(0, good.length - 4), 'm.npy')).toThrow(/m\.npy: expected 24 data bytes .* got 20/);
    const text = new TextDecoder('latin1').decode(good).replace("'<f4'", "'>f4'");
    const swapped = Uint8Array.from(text, (c) => c.charCodeAt(0));
    expect(() => parseNpy(swapped, 'm.npy')).toThrow(/unsupported dtype '>f4'/);
    const fortran = Uint8Array.from(new TextDecoder('latin1').decode(good).replace('False', 'True '), (c) => c.charCodeAt(0));
    expect(() => parseNpy(fortran, 'm.npy')).toThrow(/Fortran/);
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/holds 6 values, data has 5/);
    const dir = mkdtempSync(join(tmpdir(), 'npy-'));
    expect(() => readNpy(join(dir, 'missing.npy'))).toThrow(/missing\.npy: cannot read \(ENOENT\)/);
    writeFileSync(join(dir, 'junk.npy'), 'hello world, not numpy');
    expect(() => readNpy(join(dir, 'junk.npy'))).toThrow(/junk\.npy: not a \.npy file/);
  });

  it.skipIf(!hasShared)('reads the movies numpy wrote for the golden cases', () => {
    const m = readNpy(sharedPath('golden', 'cases', 'default_e2.movie.npy'));
    expect(m.descr).toBe('<f4');
    expect(m.shape).toEqual([2, 20, 1, 19]);
    expect(m.data.every((x) => Number.isFinite(x) && x >= 0 && x <= 1)).toBe(true);
  });
});
