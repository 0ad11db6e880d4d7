// `flyvis optimal-stimulus --mode natural|regularized` (and the picture the artificial mode now
// writes too), run in this process on the demo connectome: the files, their agreement with the
// library on the same dataset, and bad input (exit 2, one line, nothing written).
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { naturalOptimalStimulus, naturalisticMovies } from '../../src/analysis/optimal-stimulus-natural.ts';
import { run } from '../../src/cli/optimal-stimulus.ts';
import { ProceduralFlow } from '../../src/datasets/index.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { readNpy } from '../../src/io/npy.ts';
import { Network } from '../../src/network/network.ts';

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    return { code: await run(args), stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'flyvis-optstim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = ['--connectome', 'demo', '--extent', '2', '--cell-type', 'T4a', '--quiet'];
const searchFlags = ['--items', '2', '--rotations', '0,3'];
const sumSq = (x: ArrayLike<number>) => Array.from(x).reduce((s, v) => s + (v - 0.5) ** 2, 0);
const isPng = (file: string) => readFileSync(file).subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

describe('flyvis optimal-stimulus --mode natural | regularized', () => {
  it("natural: the library's optimum over the same procedural movies (AugmentedSintel's variants), peaks.csv, summary.json and the picture", async () => {
    const out = join(dir, 'natural');
    const r = await cli(...base, ...searchFlags, '--mode', 'natural', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/T4a: movie \d+ of 8 \(item [01], flip [01], rotation [03]\), peak central response .* at frame \d+; wrote/);
    expect(readdirSync(out).sort()).toEqual(['peaks.csv', 'response.npy', 'stimulus.npy', 'stimulus.png', 'summary.json']);
    // the same search in the library
    const net = Network.fromConnectome(demoConnectome(2));
    const movies = naturalisticMovies(new ProceduralFlow({ split: 'validation', nSequences: 2, extent: 2, dt: 1 / 100, augment: false }), { rotations: [0, 3] });
    const lib = naturalOptimalStimulus(net, 'T4a', movies);
    const stim = readNpy(join(out, 'stimulus.npy'));
    expect(stim.shape).toEqual([80, 19]); // 19 Sintel frames at 24/s, resampled to dt 1/100
    expect(Array.from(stim.data)).toEqual(Array.from(lib.stimulus));
    expect(Array.from(readNpy(join(out, 'response.npy')).data)).toEqual(Array.from(lib.response));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ mode: 'natural', cell_type: 'T4a', dataset: 'procedural', dataset_items: 2, movies: 8, flip_axes: [0, 1], rotations: [0, 3], t_pre: 0, t_fade_in: 2 });
    expect(summary.natural.index).toBe(lib.index);
    expect(summary.natural.peak_response).toBeCloseTo(lib.peak, 10);
    const peaks = readFileSync(join(out, 'peaks.csv'), 'utf8').trim().split('\n');
    expect(peaks[0]).toBe('index,item,flip_axis,rotation,peak_response,peak_frame');
    expect(peaks.slice(1).map((l) => l.split(',').slice(0, 4).join(','))).toEqual(['0,0,0,0', '1,0,0,3', '2,0,1,0', '3,0,1,3', '4,1,0,0', '5,1,0,3', '6,1,1,0', '7,1,1,3']);
    expect(isPng(join(out, 'stimulus.png'))).toBe(true);
  });

  it('regularized: the natural optimum and its regularisation (losses.csv falling, the pull to grey smaller)', async () => {
    const out = join(dir, 'regularized');
    const r = await cli(...base, ...searchFlags, '--mode', 'regularized', '--iterations', '5', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['losses.csv', 'natural_response.npy', 'natural_stimulus.npy', 'peaks.csv', 'response.npy', 'stimulus.npy', 'stimulus.png', 'summary.json']);
    const natural = readNpy(join(out, 'natural_stimulus.npy'));
    expect(Array.from(natural.data)).toEqual(Array.from(readNpy(join(dir, 'natural', 'stimulus.npy')).data));
    const reg = readNpy(join(out, 'stimulus.npy'));
    expect(reg.shape).toEqual(natural.shape);
    expect(sumSq(reg.data)).toBeLessThan(sumSq(natural.data));
    const losses = readFileSync(join(out, 'losses.csv'), 'utf8').trim().split('\n');
    expect(losses[0]).toBe('iteration,loss,act,stim');
    const total = losses.slice(1).map((l) => Number(l.split(',')[1]));
    expect(total).toHaveLength(5);
    for (let i = 1; i < total.length; i++) expect(total[i]).toBeLessThan(total[i - 1]!);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ mode: 'regularized', iterations: 5, lr: 0.01, l2_act: 1, l2_stim: 1 });
    expect(summary.loss_initial.stim).toBeCloseTo(sumSq(natural.data), 2);
    expect(summary.loss_final.stim).toBeCloseTo(sumSq(reg.data), 2);
    expect(isPng(join(out, 'stimulus.png'))).toBe(true);
  });

  it('artificial (the default mode) writes the picture too', async () => {
    const out = join(dir, 'artificial');
    const r = await cli(...base, '--iterations', '1', '--out', out);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['losses.csv', 'response.npy', 'stimulus.npy', 'stimulus.png', 'summary.json']);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).mode).toBe('artificial');
  });

  it('bad input: exit 2, one line naming the flag, nothing written and an existing folder left as it was', async () => {
    const out = join(dir, 'kept');
    const cases: [string[], RegExp][] = [
      [['--mode', 'best'], /--mode: expected artificial, natural or regularized, got 'best'/],
      [['--mode', 'natural', '--weight-mei', '3'], /--weight-mei: applies to --mode artificial, got --mode natural/],
      [['--mode', 'natural', '--iterations', '3'], /--iterations: applies to --mode artificial or regularized, got --mode natural/],
      [['--mode', 'artificial', '--dataset', 'procedural'], /--dataset: applies to --mode natural or regularized, got --mode artificial/],
      [['--mode', 'natural', '--l2-act', '2'], /--l2-act: applies to --mode regularized, got --mode natural/],
      [['--mode', 'natural', '--dataset', 'movies'], /--dataset: expected 'procedural' or 'sintel:PATH'.*got 'movies'/],
      [['--mode', 'natural', '--dataset', `sintel:${join(dir, 'nowhere')}`], /nowhere: not found, expected an MPI Sintel folder/],
      [['--mode', 'natural', '--dataset', `sintel:${dir}`, '--items', '3'], /--items: applies to --dataset procedural only/],
      [['--mode', 'natural', '--flip-axes', '0,5'], /--flip-axes: expected a comma-separated list of distinct values from 0, 1, 2, 3, got '0,5'/],
      [['--mode', 'regularized', '--rotations', '1,1'], /--rotations: expected a comma-separated list of distinct values from 0, 1, 2, 3, 4, 5, got '1,1'/],
      [['--mode', 'regularized', '--lr', '0'], /--lr: expected a positive number, got '0'/],
      [['--mode', 'regularized', '--l2-stim', '-1'], /--l2-stim: expected a finite number >= 0, got '-1'/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(...base, ...args, '--out', out);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
    // an unknown cell type, found after the folder was checked: the earlier results stay as they were
    const natural = join(dir, 'natural');
    const before = readFileSync(join(natural, 'stimulus.npy'));
    const r = await cli('--connectome', 'demo', '--extent', '2', '--cell-type', 'T99', '--quiet', '--mode', 'natural', '--items', '1', '--out', natural);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown cell type 'T99'/);
    expect(readFileSync(join(natural, 'stimulus.npy')).equals(before)).toBe(true);
    expect(readdirSync(natural).sort()).toEqual(['peaks.csv', 'response.npy', 'stimulus.npy', 'stimulus.png', 'summary.json']);
  });
});
