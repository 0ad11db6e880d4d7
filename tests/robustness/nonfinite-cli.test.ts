// Regression suite (issue 12 items 7 and 8), as a user meets it: checkpoints that make the
// dynamics blow up, a float64 movie beyond float32 range and a .npy movie with a duplicated
// header key make `simulate`, `run` and `analyze flashes` exit 2 with one line naming the
// problem, and write nothing (they used to write 93-99% NaN activity and exit 0).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoConnectome } from '../../src/graph/index.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { Network } from '../../src/network/network.ts';
import { PROJECT_DIR, onDemo } from '../helpers/shared.ts';

const flyvis = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/flyvis.mjs', ...onDemo(args)], { cwd: PROJECT_DIR, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const dir = mkdtempSync(join(tmpdir(), 'flyvis-nonfinite-'));
const H = 19; // hexals at extent 2

/** A checkpoint of the demo network at extent 2 with every value of `param` set to `value`. */
function checkpoint(name: string, param: string, value: number): string {
  const sd = Network.fromConnectome(demoConnectome(2)).stateDict();
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ ...sd, [param]: sd[param]!.map(() => value) }));
  return file;
}
const strength = checkpoint('strength-1e30.json', 'edges_syn_strength', 1e30);
const count = checkpoint('count-100.json', 'edges_syn_count', 100);
const grey = join(dir, 'grey.npy');
writeFileSync(grey, encodeNpy(new Float32Array(4 * H).fill(0.5), [1, 4, 1, H]));

/** One line on stderr, exit 2, nothing written. */
function refused(r: { code: number | null; stdout: string; stderr: string }, output: string, ...parts: (string | RegExp)[]) {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  for (const p of parts) expect(lines[0]).toMatch(p);
  expect(existsSync(output)).toBe(false);
  expect(existsSync(`${output}.json`)).toBe(false); // nor its sidecar
}
const blowUp = [/non-finite node state at step \d+ of \d+ \(t = [\d.]+ s\) of the steady state, sample 0, node \d+, cell type \w+, u -?\d+, v -?\d+: activity = /];

describe('blown-up checkpoints stop the simulation (exit 2, no output)', () => {
  it('simulate, syn_strength 1e30', () => {
    const out = join(dir, 'a1.npy');
    refused(flyvis('simulate', '--extent', '2', '--params', strength, '--movie', grey, '--dt', '0.02', '--out', out), out, ...blowUp, /incoming edges_syn_strength\[.*\] = 1e\+30/);
  });

  it('simulate, syn_count 100 (exp(100) beyond float32)', () => {
    const out = join(dir, 'a2.npy');
    refused(
      flyvis('simulate', '--extent', '2', '--params', count, '--movie', grey, '--dt', '0.02', '--out', out),
      out,
      ...blowUp,
      /non-finite or out-of-range parameters: edges_syn_count\[/,
    );
  });

  it('run (activity and plot)', () => {
    const outDir = join(dir, 'run');
    refused(flyvis('run', '--extent', '2', '--params', strength, '--out-dir', outDir), join(outDir, 'activity.npy'), ...blowUp);
    expect(existsSync(join(outDir, 'responses.svg'))).toBe(false);
  });

  it('analyze flashes (no table of NaN FRIs)', () => {
    const outDir = join(dir, 'flashes');
    const r = flyvis('analyze', 'flashes', '--extent', '2', '--params', strength, '--quiet', '--out', outDir);
    refused(r, outDir, ...blowUp);
  }, 60_000);
});

describe('movies checked after the float32 conversion (exit 2, no output)', () => {
  it('a float64 movie holding 1e300', () => {
    const data = new Float64Array(4 * H).fill(0.5);
    data[2 * H + 7] = 1e300;
    const movie = join(dir, 'm64.npy');
    writeFileSync(movie, encodeNpy(data, [1, 4, 1, H]));
    const out = join(dir, 'a3.npy');
    refused(flyvis('simulate', '--extent', '2', '--movie', movie, '--dt', '0.02', '--out', out), out, /m64\.npy: value at \[0, 2, 0, 7\] is 1e\+300, beyond float32 range/);
  });

  it('a movie whose header has the key shape twice', () => {
    const good = encodeNpy(new Float32Array(4 * H).fill(0.5), [1, 4, 1, H]);
    const text = new TextDecoder('latin1').decode(good.subarray(10, 10 + good[8]! + 256 * good[9]!));
    const dup = text.replace("'shape': (1, 4, 1, 19), ", "'shape': (4, 1, 1, 19), 'shape': (1, 4, 1, 19), ");
    // Same header length: the added entry takes the place of padding spaces.
    const header = dup.replace(new RegExp(` {${dup.length - text.length}}\n$`), '\n');
    expect(header.length).toBe(text.length);
    const bytes = good.slice();
    bytes.set(Uint8Array.from(header, (c) => c.charCodeAt(0)), 10);
    const movie = join(dir, 'dup.npy');
    writeFileSync(movie, bytes);
    const out = join(dir, 'a4.npy');
    refused(flyvis('simulate', '--extent', '2', '--movie', movie, '--dt', '0.02', '--out', out), out, /dup\.npy: header has the key 'shape' twice/);
  });

  it('left no stray files', () => {
    expect(readdirSync(dir).filter((f) => !/\.(json|npy)$/.test(f) && f !== 'run' && f !== 'flashes')).toEqual([]);
    expect(readdirSync(dir).filter((f) => /^a\d\.npy$/.test(f))).toEqual([]);
  });
});
