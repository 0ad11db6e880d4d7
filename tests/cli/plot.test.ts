// `flyvis plot`: SVG / PNG files from activity .npy, right number of traces and hexagons; bad input -> exit 2, no files.
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as plot } from '../../src/cli/plot.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { countMarks, expectValidSVG } from '../plot/svg-helpers.ts';
import { inProcess } from './fit-helpers.ts';

describe('flyvis plot', () => {
  const c = demoConnectome(2);
  const N = c.nodes.length;
  const dir = mkdtempSync(join(tmpdir(), 'flyvis-plot-'));
  const act = join(dir, 'activity.npy');
  writeFileSync(act, encodeNpy(Float32Array.from({ length: 6 * N }, (_, i) => Math.cos(i)), [1, 6, N]));

  it('writes the traces and a lattice frame', async () => {
    const traces = join(dir, 'traces.svg');
    const frame = join(dir, 'frame.png');
    const r = await inProcess(plot, '--activity', act, '--extent', '2', '--types', 'R1,L2,Mi1,T4a', '--traces', traces, '--frame-type', 'L2', '--frame-out', frame);
    // No sidecar beside the activity: the default dt is assumed, and said.
    expect(r.stderr).toBe(`flyvis plot: warning: ${act} has no sidecar (${act}.json); assuming --dt 0.02 (give them to silence this)\n`);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual([traces, frame]);
    const svg = readFileSync(traces, 'utf8');
    expectValidSVG(svg);
    expect(countMarks(svg, 'line mark')).toBe(4);
    expect(readFileSync(frame).subarray(1, 4).toString()).toBe('PNG');
    const svgFrame = join(dir, 'frame.svg');
    expect((await inProcess(plot, '--activity', act, '--extent', '2', '--frame-type', 'L2', '--frame', '-2', '--frame-out', svgFrame)).code).toBe(0);
    expect(countMarks(readFileSync(svgFrame, 'utf8'), 'point')).toBe(c.layerIndex.get('L2')!.length);
  });

  it('rejects bad input with exit 2, one line, no files', async () => {
    const out = join(dir, 'bad.svg');
    const cases: [string[], RegExp][] = [
      [['--activity', act, '--extent', '3', '--traces', out], /activity: expected shape \(frames, \d+\) or \(batch, frames, \d+\), got \(1, 6, 250\)/],
      [['--activity', act, '--extent', '2', '--types', 'R1,Foo', '--traces', out], /cell types: unknown 'Foo'/],
      [['--activity', act, '--extent', '2', '--traces', 'x.pdf'], /--traces: expected a file name ending in \.svg or \.png/],
      [['--activity', act, '--extent', '2'], /expected --traces and\/or --frame-out/],
      [['--activity', act, '--extent', '2', '--traces', out, '--frame-out', join(dir, 'bad2.svg'), '--frame', '9'], /frame: expected an integer in \[-6, 5\], got 9/],
    ];
    for (const [args, pattern] of cases) {
      const r = await inProcess(plot, ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith('bad') || f.includes('.tmp'))).toEqual([]);
  });
});
