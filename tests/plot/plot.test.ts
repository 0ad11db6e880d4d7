// Plot specifications rendered to SVG (and PNG): valid files with the right number of traces,
// panels, hexagons and points; per-type scales, colour-blind-safe colours, frame times,
// orientation marks and units; bad input named.
import { describe, expect, it } from 'vitest';
import { demoConnectome } from '../../src/graph/demo.ts';
import { countMarks, expectValidSVG } from './svg-helpers.ts';
import {
  OKABE_ITO, centralCell, centralTracesSpec, hexFrameSpec, hexToPixel, lossCurveSpec, renderSVG, svgToPNG,
} from '../../src/plot/index.ts';

const c = demoConnectome(2);
const N = c.nodes.length;
const activity = { data: Float32Array.from({ length: 2 * 5 * N }, (_, i) => Math.sin(i)), shape: [2, 5, N] };
type Layered = { layer: { data?: { values: Record<string, unknown>[] }; encoding?: Record<string, { scale?: { range?: unknown[] } }> }[] };

describe('central-cell traces', () => {
  it('draws one panel per cell type, each with its own y scale, at the central cells', async () => {
    // R1 swings by 100, L1 by 0.01: on a shared axis L1 would be a flat line
    const data = new Float32Array(5 * N);
    const r1 = centralCell(c, 'R1');
    const l1 = centralCell(c, 'L1');
    for (let f = 0; f < 5; f++) {
      data[f * N + r1] = 100 * f;
      data[f * N + l1] = 0.01 * f;
    }
    const spec = centralTracesSpec(c, { data, shape: [5, N] }, { cellTypes: ['R1', 'L1', 'T4a'], dt: 0.02, markers: [{ time: 0.04, label: 'ON' }] });
    expect((spec as { resolve: unknown }).resolve).toEqual({ scale: { y: 'independent' } });
    const svg = await renderSVG(spec);
    expectValidSVG(svg);
    expect(countMarks(svg, 'line mark')).toBe(3);
    expect(svg).toContain('T4a');
    expect(svg).toContain('each with its own activity scale');
    // L1's own axis reaches its small values (a shared axis would tick 0, 100, ...)
    expect(svg).toMatch(/>0\.04</);
    expect(svg).toMatch(/>400</);
    expect(countMarks(svg, 'rule mark')).toBe(3); // the ON marker in every panel
    expect(centralCell(c, 'L1')).toBe(c.centralCellsIndex[c.uniqueCellTypes.indexOf('L1')]);
  });

  it('overlaid, ten traces get ten different colour-blind-safe colour and dash pairs', async () => {
    const types = c.uniqueCellTypes.slice(0, 10);
    const spec = centralTracesSpec(c, activity, { cellTypes: types, dt: 0.02, sample: 1, layout: 'overlay' }) as unknown as Layered;
    const enc = spec.layer[0]!.encoding!;
    const colours = enc.color!.scale!.range as string[];
    const dashes = enc.strokeDash!.scale!.range as number[][];
    for (const col of colours) expect(OKABE_ITO).toContain(col);
    expect(new Set(types.map((_, i) => `${colours[i]}/${dashes[i]!.join(',')}`)).size).toBe(10);
    const svg = await renderSVG(spec as never);
    expect(countMarks(svg, 'line mark')).toBe(10);
  });
});

describe('lattice frames', () => {
  it("draws one hexagon per cell, coloured by that frame's activity, with its time, orientation marks and units", async () => {
    const spec = hexFrameSpec(c, activity, { cellType: 'Lawf2', frame: 2, dt: 0.01 });
    const svg = await renderSVG(spec);
    expectValidSVG(svg);
    const cells = c.layerIndex.get('Lawf2')!;
    expect(countMarks(svg, 'point')).toBe(cells.length); // the orientation arrows are lines
    const values = (spec as unknown as Layered).layer[0]!.data!.values as { activity: number; u: number; v: number; x: number; y: number }[];
    expect(values[0]!.activity).toBe(activity.data[2 * N + cells[0]!]);
    expect(svg).toContain('Lawf2 activity at t = 0.03 s (frame 2)'); // frame 0 is at dt
    expect(svg).toContain('+u');
    expect(svg).toContain('+v');
    expect(svg).toContain('activity (a.u.)');
    const png = await svgToPNG(svg);
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
  });

  it("is oriented as flyvis draws the lattice and as stimuli are rendered: +v to the right, +u down", () => {
    expect(hexToPixel(0, 1).x).toBeGreaterThan(hexToPixel(0, 0).x);
    expect(hexToPixel(1, 0)).toEqual({ x: 0, y: -Math.sqrt(3) });
    expect(hexToPixel(0, 1)).toEqual({ x: 1.5, y: -Math.sqrt(3) / 2 });
  });

  it('labels the time from given frame times, and the frame without', async () => {
    expect(await renderSVG(hexFrameSpec(c, activity, { cellType: 'L1', frame: -1, times: [0, 0.5, 1, 1.5, 2.25] }))).toContain('t = 2.25 s (frame 4)');
    expect(await renderSVG(hexFrameSpec(c, activity, { cellType: 'L1', frame: 1 }))).toContain('L1 activity at frame 1');
  });
});

describe('loss curve', () => {
  it('draws the loss curve (log scale, linear when a loss is 0)', async () => {
    const svg = await renderSVG(lossCurveSpec([1, 0.1, 0.01]));
    expectValidSVG(svg);
    expect(countMarks(svg, 'line mark')).toBe(1);
    expect(() => lossCurveSpec([1, NaN])).toThrow(/losses\[1\]: expected a finite number >= 0, got NaN/);
  });
});

describe('bad input', () => {
  it('names the field at fault', () => {
    expect(() => centralTracesSpec(c, activity, { cellTypes: ['R1', 'XX'], dt: 0.02 })).toThrow(/cell types: unknown 'XX' \(this connectome has R1/);
    expect(() => centralTracesSpec(c, { data: new Float32Array(3), shape: [3] }, { cellTypes: ['R1'], dt: 0.02 })).toThrow(
      /activity: expected shape \(frames, 250\) or \(batch, frames, 250\), got \(3\)/,
    );
    const nan = { data: new Float32Array(5 * N).fill(NaN), shape: [5, N] };
    expect(() => centralTracesSpec(c, nan, { cellTypes: ['R1'], dt: 0.02 })).toThrow(/activity: R1 \(central cell\) is NaN at frame 0; expected finite values/);
    expect(() => hexFrameSpec(c, nan, { cellType: 'L1' })).toThrow(/activity: L1 at \(u -?\d+, v -?\d+\) is NaN in frame 4/);
    expect(() => hexFrameSpec(c, activity, { cellType: 'L1', frame: 5 })).toThrow(/frame: expected an integer in \[-5, 4\], got 5/);
    expect(() => hexFrameSpec(c, activity, { cellType: 'L1', sample: 2 })).toThrow(/sample: expected an integer in \[0, 1\], got 2/);
    expect(() => hexFrameSpec(c, activity, { cellType: 'L1', times: [0, 1] })).toThrow(/times: expected 5 values \(one per frame\), got 2/);
    expect(() => hexFrameSpec(c, activity, { cellType: 'L1', dt: 0 })).toThrow(/dt: expected a positive number, got 0/);
  });
});
