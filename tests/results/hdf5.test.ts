// readHdf5Dataset (src/io/hdf5.ts): datamate's HDF5 files (one dataset `data`) from flyvis's
// published results, cross-checked with h5py where /usr/bin/python3 has it, and every refusal
// naming the file. Files written here use h5wasm itself (and h5py for big-endian data).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Hdf5Error, readHdf5Dataset, writeHdf5Dataset } from '../../src/io/hdf5.ts';
import { PRETRAINED, RESULTS_V1, tempDir, writeH5 } from './helpers.ts';

const hasShared = existsSync(join(PRETRAINED, '0000', 'validation_loss.h5')) && existsSync(join(RESULTS_V1, '001', 'validation', 'epe.h5'));
if (!hasShared) console.warn(`[results/hdf5] skipping flyvis's files: ${PRETRAINED} or ${RESULTS_V1} is absent`);

function h5pyPython(): string | null {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import h5py, numpy'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}
const python = h5pyPython();
if (python === null) console.warn('[results/hdf5] skipping h5py cross-checks: no python3 with h5py and numpy');

const refuses = async (file: string, problem: RegExp, name?: string): Promise<void> => {
  const err = await readHdf5Dataset(file, name).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(Hdf5Error);
  expect((err as Hdf5Error).file).toBe(file);
  expect((err as Hdf5Error).message.startsWith(`${file}: `)).toBe(true);
  expect((err as Hdf5Error).message).not.toContain('\n');
  expect((err as Hdf5Error).problem).toMatch(problem);
};

describe.skipIf(!hasShared)("flyvis's HDF5 files", () => {
  it('reads 0.1 validation_loss.h5 as a float64 scalar', async () => {
    const d = await readHdf5Dataset(join(PRETRAINED, '0000', 'validation_loss.h5'));
    expect(d.shape).toEqual([]);
    expect(d.dtype).toBe('<d');
    expect(d.values.length).toBe(1);
    expect(d.values[0]).toBeCloseTo(5.1366, 4);
  });

  it('reads 1.x validation arrays (README: epe [0.3, 0.5], loss [0.9, 0.1])', async () => {
    const epe = await readHdf5Dataset(join(RESULTS_V1, '001', 'validation', 'epe.h5'));
    expect(epe.shape).toEqual([2]);
    expect(Array.from(epe.values)).toEqual([0.3, 0.5]);
    const loss = await readHdf5Dataset(join(RESULTS_V1, '001', 'validation', 'loss.h5'));
    expect(Array.from(loss.values)).toEqual([0.9, 0.1]);
  });

  it.skipIf(python === null)('agrees with h5py on the published validation losses, bit for bit', async () => {
    const ids = ['0000', '0013', '0049'];
    const files = ids.map((id) => join(PRETRAINED, id, 'validation_loss.h5'));
    // repr() of a Python float round-trips exactly, as does Number() of it
    const script = 'import sys, h5py\nfor f in sys.argv[1:]:\n    print(repr(float(h5py.File(f, "r")["data"][()])))';
    const out = execFileSync(python!, ['-c', script, ...files], { encoding: 'utf8' }).trim().split('\n');
    for (const [i, f] of files.entries()) {
      const d = await readHdf5Dataset(f);
      expect(d.values[0]).toBe(Number(out[i]));
    }
  });
});

describe('files written here', () => {
  it('reads float32, int32, 2-D and a named dataset', async () => {
    const dir = tempDir('h5');
    const file = join(dir, 'a.h5');
    await writeH5(file, {
      data: { data: Float32Array.of(1.5, -2.25, 3), shape: [3] },
      grid: { data: Float64Array.of(0, 1, 2, 3, 4, 5), shape: [2, 3] },
      counts: { data: Int32Array.of(7, -8), shape: [2] },
    });
    const d = await readHdf5Dataset(file);
    expect(d.data).toBeInstanceOf(Float32Array);
    expect(Array.from(d.values)).toEqual([1.5, -2.25, 3]);
    const g = await readHdf5Dataset(file, 'grid');
    expect(g.shape).toEqual([2, 3]);
    expect(Array.from(g.values)).toEqual([0, 1, 2, 3, 4, 5]);
    const c = await readHdf5Dataset(file, 'counts');
    expect(c.data).toBeInstanceOf(Int32Array);
    expect(Array.from(c.values)).toEqual([7, -8]);
  });

  it.skipIf(python === null)('reads big-endian and int64 data as h5py wrote them', async () => {
    const dir = tempDir('h5py');
    const script = [
      'import sys, h5py, numpy as np',
      'h5py.File(sys.argv[1], "w")["data"] = np.array([1.5, -0.1], dtype=">f8")',
      'h5py.File(sys.argv[2], "w")["data"] = np.array([3, -(2**40)], dtype="<i8")',
      'h5py.File(sys.argv[3], "w")["data"] = np.array([2**60], dtype="<i8")',
    ].join('\n');
    execFileSync(python!, ['-c', script, join(dir, 'be.h5'), join(dir, 'i64.h5'), join(dir, 'big.h5')]);
    expect(Array.from((await readHdf5Dataset(join(dir, 'be.h5'))).values)).toEqual([1.5, -0.1]);
    expect(Array.from((await readHdf5Dataset(join(dir, 'i64.h5'))).values)).toEqual([3, -(2 ** 40)]);
    await refuses(join(dir, 'big.h5'), /beyond 2\^53/);
  });

  it('refuses a missing file, a directory, an empty or non-HDF5 file', async () => {
    const dir = tempDir('h5bad');
    await refuses(join(dir, 'missing.h5'), /^file not found$/);
    await refuses(dir, /is a directory/);
    writeFileSync(join(dir, 'empty.h5'), '');
    await refuses(join(dir, 'empty.h5'), /not an HDF5 file .*empty/);
    writeFileSync(join(dir, 'text.h5'), 'just some text, long enough to have a few bytes in it');
    await refuses(join(dir, 'text.h5'), /not an HDF5 file \(no HDF5 signature\)/);
  });

  it('refuses a truncated HDF5 file with the library\'s reason', async () => {
    const dir = tempDir('h5trunc');
    const whole = join(dir, 'whole.h5');
    await writeH5(whole, { data: { data: Float64Array.of(1, 2, 3) } });
    const cut = join(dir, 'cut.h5');
    writeFileSync(cut, readFileSync(whole).subarray(0, 400));
    await refuses(cut, /cannot open as HDF5: truncated file/);
  });

  it('refuses a file without the dataset, naming what it holds', async () => {
    const dir = tempDir('h5nodata');
    const file = join(dir, 'other.h5');
    await writeH5(file, { loss: { data: Float64Array.of(1) } });
    await refuses(file, /^no dataset "data" \(the file holds "loss"\)$/);
    const empty = join(dir, 'nothing.h5');
    await writeH5(empty, {});
    await refuses(empty, /no dataset "data" \(the file holds nothing\)/);
  });

  it('refuses a group or strings where numbers are expected', async () => {
    const dir = tempDir('h5kind');
    const h5wasm = (await import('h5wasm/node')).default;
    await h5wasm.ready;
    const file = join(dir, 'group.h5');
    const f = new h5wasm.File(file, 'w');
    f.create_group('data');
    f.close();
    await refuses(file, /"data" is not a dataset/);
    const strings = join(dir, 'strings.h5');
    await writeH5(strings, { data: 'hello' });
    await refuses(strings, /holds strings, expected numbers/);
  });
});

describe('writeHdf5Dataset', () => {
  it('writes float64 scalars and arrays that read back exactly (and that h5py reads)', async () => {
    const dir = tempDir('h5write');
    await writeHdf5Dataset(join(dir, 'scalar.h5'), 5.136557112137477);
    await writeHdf5Dataset(join(dir, 'grid.h5'), [0.1, NaN, -Infinity, 3, 4, 5], { shape: [2, 3] });
    await writeHdf5Dataset(join(dir, 'named.h5'), [1, 2], { name: 'loss' });
    const s = await readHdf5Dataset(join(dir, 'scalar.h5'));
    expect([s.shape, s.dtype, Array.from(s.values)]).toEqual([[], '<d', [5.136557112137477]]);
    const g = await readHdf5Dataset(join(dir, 'grid.h5'));
    expect(g.shape).toEqual([2, 3]);
    expect(Array.from(g.values)).toEqual([0.1, NaN, -Infinity, 3, 4, 5]);
    expect(Array.from((await readHdf5Dataset(join(dir, 'named.h5'), 'loss')).values)).toEqual([1, 2]);
    expect(readdirSync(dir).sort()).toEqual(['grid.h5', 'named.h5', 'scalar.h5']); // no temporary files left
    if (python !== null) {
      const script = 'import sys, h5py\nd = h5py.File(sys.argv[1], "r")["data"]\nprint(d.dtype.str, d.shape, repr(float(d[()])))';
      expect(execFileSync(python, ['-c', script, join(dir, 'scalar.h5')], { encoding: 'utf8' }).trim()).toBe('<f8 () 5.136557112137477');
    }
  });

  it('refuses a shape that does not fit and an unwritable place, naming the file', async () => {
    const dir = tempDir('h5wbad');
    const e1 = await writeHdf5Dataset(join(dir, 'a.h5'), [1, 2, 3], { shape: [2, 2] }).then(() => null, (e: unknown) => e);
    expect((e1 as Hdf5Error).message).toBe(`${join(dir, 'a.h5')}: shape (2, 2) does not fit 3 values`);
    const target = join(dir, 'missing-folder', 'b.h5');
    const e2 = await writeHdf5Dataset(target, 1).then(() => null, (e: unknown) => e);
    expect(e2).toBeInstanceOf(Hdf5Error);
    expect((e2 as Hdf5Error).file).toBe(target);
    expect((e2 as Hdf5Error).message).toBe(`${target}: cannot write: no folder ${join(dir, 'missing-folder')}`);
  });
});
