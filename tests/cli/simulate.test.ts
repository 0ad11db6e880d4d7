// `flyvis simulate` (a contract): the golden cases through the command line, and its errors
// (exit 2, one line on stderr, no output file).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, readNpy } from '../../src/io/npy.ts';
import { CONNECTOME_FILE, PROJECT_DIR, hasShared, sharedPath, onDemo } from '../helpers/shared.ts';

const flyvis = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...onDemo(args)], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const tmp = () => mkdtempSync(join(tmpdir(), 'flyvis-sim-'));

describe.skipIf(!hasShared)('flyvis simulate on the golden cases', () => {
  for (const name of ['default_e2', 'default_e15']) {
    it(`reproduces cases/${name} within 2e-5`, () => {
      const c = JSON.parse(readFileSync(sharedPath('golden', 'cases', `${name}.case.json`), 'utf8')) as { extent: number; dt: number; t_pre: number; shape: number[] };
      const out = join(tmp(), 'activity.npy');
      const r = flyvis(
        'simulate', '--connectome', CONNECTOME_FILE, '--extent', String(c.extent),
        '--params', sharedPath('golden', 'cases', `${name}.params.json`),
        '--movie', sharedPath('golden', 'cases', `${name}.movie.npy`),
        '--dt', String(c.dt), '--t-pre', String(c.t_pre), '--out', out,
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const got = readNpy(out);
      const want = readNpy(sharedPath('golden', 'cases', `${name}.activity.npy`));
      expect(got.descr).toBe('<f4');
      expect(got.shape).toEqual(c.shape);
      let maxErr = 0;
      for (let i = 0; i < want.data.length; i++) maxErr = Math.max(maxErr, Math.abs(got.data[i]! - want.data[i]!));
      expect(maxErr).toBeLessThan(2e-5);
    });
  }
});

describe('flyvis simulate on the demo connectome', () => {
  const demoMovie = (dir: string, shape: number[], value = 0.5): string => {
    const file = join(dir, 'movie.npy');
    const n = shape.reduce((a, b) => a * b, 1);
    writeFileSync(file, encodeNpy(new Float32Array(n).fill(value), shape));
    return file;
  };
  const hexals = 7; // demo connectome at extent 1

  it('runs with default parameters when no connectome or checkpoint is given', () => {
    const dir = tmp();
    const movie = demoMovie(dir, [2, 3, 1, hexals]);
    const out = join(dir, 'a.npy');
    const r = flyvis('simulate', '--extent', '1', '--movie', movie, '--dt', '0.02', '--t-pre', '0', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const a = readNpy(out);
    expect(a.shape.slice(0, 2)).toEqual([2, 3]);
    expect(a.data.every(Number.isFinite)).toBe(true);
    // Identical samples give identical activity.
    const per = a.data.length / 2;
    expect(Array.from(a.data.subarray(0, per))).toEqual(Array.from(a.data.subarray(per)));
  });

  const expectBadInput = (args: string[], pattern: RegExp, dir: string) => {
    const r = flyvis('simulate', ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(dir).filter((f) => f.startsWith('out') || f.includes('.tmp'))).toEqual([]);
  };

  it('rejects bad movies, checkpoints and arguments with exit 2 and no output', () => {
    const dir = tmp();
    const out = join(dir, 'out.npy');
    const good = demoMovie(dir, [1, 2, 1, hexals]);
    const common = ['--extent', '1', '--dt', '0.02', '--out', out];
    expectBadInput(['--movie', join(dir, 'missing.npy'), ...common], /flyvis simulate: .*missing\.npy: cannot read \(ENOENT\)/, dir);
    const flat = join(dir, 'flat.npy');
    writeFileSync(flat, encodeNpy(new Float32Array(2 * hexals), [2, hexals]));
    expectBadInput(['--movie', flat, ...common], /movie has shape \(2, 7\), expected \(batch, frames, 1, 7\)/, dir);
    const wide = demoMovie(join(dir), [1, 2, 1, hexals + 1]);
    expectBadInput(['--movie', wide, ...common], /movie has shape \(1, 2, 1, 8\), expected \(batch, frames, 1, 7\)/, dir);
    const ckpt = join(dir, 'bad.json');
    writeFileSync(ckpt, JSON.stringify({ nodes_bias: [1, 2] }));
    expectBadInput(['--movie', good, '--params', ckpt, ...common], /nodes_bias: expected \d+ values, got 2/, dir);
    writeFileSync(ckpt, '{ not json');
    expectBadInput(['--movie', good, '--params', ckpt, ...common], /bad\.json/, dir);
    expectBadInput(['--movie', good, '--extent', '1', '--dt', '0.02'], /--out is required/, dir);
    expectBadInput(['--movie', good, ...common, '--dt', '0.01'], /--dt given more than once/, dir);
    expectBadInput(['--movie', good, '--extent', '1', '--dt', '-1', '--out', out], /--dt: expected a positive time step in seconds such as 0.005 or 1\/200, got '-1'/, dir);
    expectBadInput(['--movie', good, ...common, '--frobnicate'], /unknown option '--frobnicate'/, dir);
    expectBadInput(['--movie', good, ...common, '--connectome', join(dir, 'nope.json')], /nope\.json/, dir);
    expect(existsSync(out)).toBe(false);
  });

  it('warns on stderr when dt is above 1/50, as flyvis does', () => {
    const dir = tmp();
    const r = flyvis('simulate', '--extent', '1', '--movie', demoMovie(dir, [1, 2, 1, hexals]), '--dt', '0.05', '--out', join(dir, 'a.npy'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: dt=0.05 is very large for integration/);
  });
});
