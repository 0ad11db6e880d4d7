// `flyvis run`: the main job in one command: a flash on the demo connectome, activity.npy and
// responses.svg written, their paths printed.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flashMovie } from '../../src/cli/run.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { readNpy } from '../../src/io/npy.ts';
import { centralCell } from '../../src/plot/index.ts';
import { countMarks, expectValidSVG } from '../plot/svg-helpers.ts';
import { flyvis } from './fit-helpers.ts';

describe('flyvis run', () => {
  it('simulates a flash and writes activity.npy and responses.svg, printing their paths', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'flyvis-run-')), 'out');
    const r = flyvis('run', '--extent', '3', '--out-dir', dir, '--grey', '0.1', '--on', '0.2', '--off', '0.2', '--dt', '0.02');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const npy = join(dir, 'activity.npy');
    const svg = join(dir, 'responses.svg');
    expect(r.stdout).toContain(`activity: ${npy}`);
    expect(r.stdout).toContain(`responses: ${svg}`);
    const a = readNpy(npy);
    expect(a.shape.slice(0, 2)).toEqual([1, 25]);
    expect(Array.from(a.data).every(Number.isFinite)).toBe(true);
    const text = readFileSync(svg, 'utf8');
    expectValidSVG(text);
    const types = /responses: .* \((.*)\)/.exec(r.stdout)![1]!.split(', ');
    expect(countMarks(text, 'line mark')).toBe(types.length);
    // Photoreceptors respond to the flash: R1 differs between the on and off phases.
    const N = a.shape[2]!;
    const r1 = centralCell(demoConnectome(3), 'R1');
    const at = (frame: number) => a.data[frame * N + r1]!;
    expect(at(14)).toBeGreaterThan(at(4) + 0.01); // end of 'on' above grey
    expect(at(24)).toBeLessThan(at(4) - 0.01); // end of 'off' below grey
    const bad = flyvis('run', '--extent', '3', '--out-dir', join(dir, 'bad'), '--types', 'Nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/cell types: unknown 'Nope'/);
    expect(existsSync(join(dir, 'bad', 'activity.npy'))).toBe(false);
  }, 30_000);

  it('builds the flash movie: grey, then 1.0, then 0.0', () => {
    const m = flashMovie(2, { grey: 1, on: 2, off: 1 });
    expect(m.shape).toEqual([1, 4, 1, 2]);
    expect(Array.from(m.data)).toEqual([0.5, 0.5, 1, 1, 1, 1, 0, 0]);
  });
});
