// Plot specifications rendered to SVG (and PNG): valid files with the right number of traces,
// hexagons and points; bad input named.
import { describe, expect, it } from 'vitest';
import { demoConnectome } from '../../src/graph/demo.ts';
import { countMarks, expectValidSVG } from './svg-helpers.ts';
import { centralCell, centralTracesSpec, hexFrameSpec, lossCurveSpec, renderSVG, svgToPNG } from '../../src/plot/index.ts';

const c = demoConnectome(2);
const N = c.nodes.length;
const activity = { data: Float32Array.from({ length: 2 * 5 * N }, (_, i) => Math.sin(i)), shape: [2, 5, N] };

describe('plots', () => {
  it('draws one trace per cell type, at the central cells', async () => {
    const svg = await renderSVG(centralTracesSpec(c, activity, { cellTypes: ['R1', 'L1', 'T4a'], dt: 0.02, sample: 1 }));
    expectValidSVG(svg);
    expect(countMarks(svg, 'line mark')).toBe(3);
    expect(svg).toContain('T4a');
    expect(centralCell(c, 'L1')).toBe(c.centralCellsIndex[c.uniqueCellTypes.indexOf('L1')]);
  });

  it("draws one hexagon per cell of the type, coloured by that frame's activity", async () => {
    const spec = hexFrameSpec(c, activity, { cellType: 'Lawf2', frame: 2 });
    const svg = await renderSVG(spec);
    expectValidSVG(svg);
    expect(countMarks(svg, 'point')).toBe(c.layerIndex.get('Lawf2')!.length);
    const values = (spec as { data: { values: { activity: number }[] } }).data.values;
    const first = c.layerIndex.get('Lawf2')![0]!;
    expect(values[0]!.activity).toBe(activity.data[2 * N + first]);
    const png = await svgToPNG(svg);
    expect(Array.from(png.subarray(1, 4))).toEqual([0x50, 0x4e, 0x47]); // "PNG"
  });

  it('draws the loss curve (log scale, linear when a loss is 0)', async () => {
    const svg = await renderSVG(lossCurveSpec([1, 0.1, 0.01]));
    expectValidSVG(svg);
    expect(countMarks(svg, 'line mark')).toBe(1);
    expect(() => lossCurveSpec([1, NaN])).toThrow(/losses\[1\]: expected a finite number >= 0, got NaN/);
  });

  it('names the field at fault', () => {
    expect(() => centralTracesSpec(c, activity, { cellTypes: ['R1', 'XX'], dt: 0.02 })).toThrow(/cell types: unknown 'XX' \(this connectome has R1/);
    expect(() => centralTracesSpec(c, { data: new Float32Array(3), shape: [3] }, { cellTypes: ['R1'], dt: 0.02 })).toThrow(
      /activity: expected shape \(frames, 250\) or \(batch, frames, 250\), got \(3\)/,
    );
    expect(() => hexFrameSpec(c, activity, { cellType: 'L1', frame: 5 })).toThrow(/frame: expected an integer in \[-5, 4\], got 5/);
    expect(() => hexFrameSpec(c, activity, { cellType: 'L1', sample: 2 })).toThrow(/sample: expected an integer in \[0, 1\], got 2/);
  });
});
