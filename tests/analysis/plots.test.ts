// The analysis plots say what the numbers say: axis titles, a y range zoomed to small values
// (and saying so), the DSI threshold and the rows below it, polar ticks and labels, preferred
// directions only where defined, the untrained network named; colour-blind-safe ON / OFF.
import { describe, expect, it } from 'vitest';
import type { DsiRow, TuningRow } from '../../src/analysis/dsi.ts';
import type { FriRow } from '../../src/analysis/fri.ts';
import { dsiBarChart, friBarChart, polarTuning } from '../../src/analysis/plots.ts';
import { OFF_COLOR, ON_COLOR, renderSVG } from '../../src/plot/index.ts';
import { countMarks, expectValidSVG } from '../plot/svg-helpers.ts';

const types = ['A', 'B', 'C'];
const fri = (values: number[]): FriRow[] =>
  values.map((f, i) => ({ cell_type: types[i]!, u: 0, v: 0, radius: -1, fri: f, on_peak: 1 + f, off_peak: 1 - f }));
const dsiRow = (cell_type: string, intensity: number, dsi: number, pd: number | null): DsiRow =>
  ({ cell_type, u: 0, v: 0, intensity, dsi, preferred_direction_deg: pd, dsi_below_threshold: pd === null });
type Spec = { layer: { encoding?: { y?: { scale?: { domain?: number[] }; title?: string } } }[]; title: { subtitle: string[] } };

describe('FRI bar chart', () => {
  it('zooms the y axis to small FRIs, symmetric about zero, and says so; titles both axes', async () => {
    const small = friBarChart(fri([0.0195, -0.004, 0.001]), types, { untrained: true }) as unknown as Spec;
    expect(small.layer[0]!.encoding!.y!.scale!.domain).toEqual([-0.05, 0.05]);
    expect(small.title.subtitle.join(' ')).toMatch(/zoomed to ±0\.05 \(the full range is ±1\)/);
    expect(small.title.subtitle.join(' ')).toMatch(/untrained network/);
    const svg = await renderSVG(small as never);
    expectValidSVG(svg);
    expect(countMarks(svg, 'bar')).toBe(3);
    expect(svg).toContain('flash response index (FRI)');
    expect(svg).toContain('cell type');
    const large = friBarChart(fri([0.77, -0.5, 0]), types) as unknown as Spec;
    expect(large.layer[0]!.encoding!.y!.scale!.domain).toEqual([-1, 1]);
    expect(large.title.subtitle.join(' ')).not.toMatch(/zoomed|untrained/);
  });
});

describe('DSI bar chart', () => {
  it('draws the threshold and marks the DSIs below it', async () => {
    const rows = [dsiRow('A', 1, 0.4, 30), dsiRow('A', 0, 1e-17, null), dsiRow('B', 1, 5e-4, null), dsiRow('B', 0, 0.02, 200), dsiRow('C', 1, 0, null), dsiRow('C', 0, 0.1, 90)];
    const svg = await renderSVG(dsiBarChart(rows, types));
    expectValidSVG(svg);
    expect(countMarks(svg, 'bar')).toBe(6);
    expect(countMarks(svg, 'point')).toBe(3); // hollow circles: the three below 0.01
    expect(countMarks(svg, 'rule mark')).toBe(1); // the threshold
    expect(svg).toContain('3 of 6 DSIs are below 0.01');
    expect(svg).toContain('direction selectivity index (DSI)');
    expect(svg).toContain(`fill="${ON_COLOR}"`);
    expect(svg).toContain(`fill="${OFF_COLOR}"`);
  });

  it('on an untrained network: every DSI below the threshold, a y axis that still shows the threshold, and says so', () => {
    const rows = types.flatMap((t) => [dsiRow(t, 1, 3e-5, null), dsiRow(t, 0, 1e-17, null)]);
    const spec = dsiBarChart(rows, types, { untrained: true }) as unknown as Spec;
    expect(spec.layer[0]!.encoding!.y!.scale!.domain).toEqual([0, 0.2]);
    const sub = spec.title.subtitle.join(' ');
    expect(sub).toMatch(/every DSI is below 0\.01 \(largest 3e-5\): no cell type is direction selective/);
    expect(sub).toMatch(/untrained network/);
  });
});

describe('polar tuning', () => {
  const angles = [0, 90, 180, 270];
  const tuning: TuningRow[] = types.flatMap((t, k) =>
    [0, 1].flatMap((intensity) =>
      angles.map((angle) => {
        const peak = k === 2 && intensity === 0 ? 0 : 1 + (k === 0 ? 0.5 * Math.cos((angle * Math.PI) / 180) : 0);
        return { cell_type: t, intensity, angle, peak_response: peak, normalized: peak / (k === 0 ? 1.5 : 1) || 0 };
      }),
    ),
  );
  const dsi = [dsiRow('A', 1, 0.25, 0), dsiRow('A', 0, 0.25, 0), dsiRow('B', 1, 1e-9, null), dsiRow('B', 0, 1e-9, null), dsiRow('C', 1, 2e-5, null), dsiRow('C', 0, 0, null)];

  it('has rings, direction ticks and labels; draws preferred directions only where defined; prints each DSI', async () => {
    const svg = await renderSVG(polarTuning(tuning, types, { dsi, columns: 3 }));
    expectValidSVG(svg);
    for (const label of ['0°', '90°', '180°', '270°']) expect(svg.split(`>${label}<`).length - 1).toBe(3);
    expect(svg).toContain('ON DSI 0.25 at 0°');
    expect(svg).toContain('OFF DSI 1e-9 (&lt; 0.01)');
    expect(svg).toContain('no OFF response'); // C's OFF responses are all 0
    // rule marks: direction ticks (one layer per panel) and preferred directions (A only)
    const pdLines = (svg.match(/stroke-width="2\.2"/g) ?? []).length;
    expect(pdLines).toBe(2);
  });

  it('keeps the old call with a column count, and says when no direction is preferred anywhere', async () => {
    const svg = await renderSVG(polarTuning(tuning, types, 2));
    expectValidSVG(svg);
    const flat = polarTuning(tuning, types, { dsi: dsi.filter((d) => d.cell_type !== 'A'), untrained: true }) as unknown as Spec;
    expect(flat.title.subtitle.join(' ')).toMatch(/every DSI is below 0\.01: no preferred direction anywhere/);
    expect(flat.title.subtitle.join(' ')).toMatch(/untrained network/);
  });
});
