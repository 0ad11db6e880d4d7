// flyvis's artificial optimal stimulus (src/analysis/optimal-stimulus.ts) on flyvis's default
// network at extent 15, and the `flyvis optimal-stimulus` command as a user runs it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { optimalStimulus } from '../../src/analysis/optimal-stimulus.ts';
import { ConnectomeFromAvgFilters, Network, readNpy, Tensor, indexSelect, noGrad } from '../../src/core.ts';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const net = Network.fromConnectome(ConnectomeFromAvgFilters('fib25-fib19_v2.2.json', 15), {}, { kernel: 'wasm' });
const H = net.stimulus.nInputElements;

/** The central T4a cell's activity at the last frame for a (frames, hexals) movie at dt 1/100, from the grey steady state. */
function lastCentral(movie: Float32Array, frames: number, node: number): number {
  return noGrad(() => {
    const a = net.simulate({ data: movie, shape: [1, frames, 1, H] }, 1 / 100) as Tensor;
    return indexSelect(a, Int32Array.of(node), 2).data[frames - 1]!;
  });
}

describe('optimal stimulus (flyvis artificial_optimal_stimuli)', () => {
  it('gradient ascent raises the central cell response above the initial noise and above grey; the stimulus stays in [0, 1]', () => {
    const r = optimalStimulus(net, 'T4a', { iterations: 6, weightMei: 0, lr: 0.05 });
    expect(r.shape).toEqual([24, H]); // trunc(0.245 / 0.01) frames
    expect(r.responseShape).toEqual([24, net.connectome.layerIndex.get('T4a')!.length]);
    expect(r.stimulus.every((x) => x >= 0 && x <= 1)).toBe(true);
    // the result's response, computed independently through Network.simulate
    const final = lastCentral(r.stimulus, 24, r.centralNode);
    expect(final).toBeCloseTo(r.finalCentral, 5);
    const grey = lastCentral(new Float32Array(24 * H).fill(0.5), 24, r.centralNode);
    expect(r.finalCentral).toBeGreaterThan(r.initialCentral + 1e-4);
    expect(r.finalCentral).toBeGreaterThan(grey + 1e-4);
    // each step lowers flyvis's loss (-exp(central)) here
    for (let i = 1; i < r.losses.length; i++) expect(r.losses[i]!.loss).toBeLessThan(r.losses[i - 1]!.loss);
  });

  it("with flyvis's regulariser (weight_mei 3000) the loss falls, pulling the stimulus to grey; unknown cell types are refused", () => {
    const r = optimalStimulus(net, 'T5c', { iterations: 4 });
    expect(r.losses[3]!.loss).toBeLessThan(r.losses[0]!.loss);
    expect(r.losses[3]!.mei).toBeLessThan(r.losses[0]!.mei); // pulled towards grey
    // (on the untrained network the pull to grey outweighs the response's gradient at first)
    expect(() => optimalStimulus(net, 'T9', { iterations: 1 })).toThrow(/unknown cell type 'T9'/);
  });

  it('flyvis optimal-stimulus writes the stimulus, response, losses and summary; bad input exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flyvis-optstim-'));
    try {
      const run = (...args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((ok) =>
          execFile('node', ['bin/flyvis.mjs', 'optimal-stimulus', ...args], { cwd: ROOT }, (e, stdout, stderr) =>
            ok({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : -1, stdout, stderr }),
          ),
        );
      const out = join(dir, 'T4a');
      const r = await run('--extent', '4', '--cell-type', 'T4a', '--iterations', '3', '--weight-mei', '0', '--lr', '0.05', '--out', out, '--quiet');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/T4a: central response .* -> .*; wrote/);
      const stim = readNpy(join(out, 'stimulus.npy'));
      expect(stim.shape).toEqual([24, 61]); // extent 4: 61 hexals
      expect(readNpy(join(out, 'response.npy')).shape).toEqual([24, 61]);
      expect(readFileSync(join(out, 'losses.csv'), 'utf8').trim().split('\n')).toHaveLength(4);
      const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Record<string, number | string>;
      expect(summary.cell_type).toBe('T4a');
      expect(summary.central_response_final as number).toBeGreaterThan(summary.central_response_initial as number);
      const bad = await run('--extent', '4', '--cell-type', 'T99', '--out', join(dir, 'bad'), '--quiet');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/unknown cell type 'T99'/);
      expect(existsSync(join(dir, 'bad'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
