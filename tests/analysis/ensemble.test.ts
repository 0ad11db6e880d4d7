// Ensemble analyses on synthetic rows: flyvis's table of known polarities and T4/T5 directions
// (values as flyvis states them), numpy's quartiles, the per-cell-type summaries, how many known
// polarities and directions are predicted, and the ensemble plots (box + dots per cell type in
// flyvis's order, labels coloured by the known polarity; one polar panel per T4/T5 type).
import { describe, expect, it } from 'vitest';
import {
  DSI_SUMMARY_COLUMNS, FRI_SUMMARY_COLUMNS, circularMean, describeKnownPolarity, dsiSummary, friSummary, knownDirectionCount,
  knownPolarityCount, medianTuning, quantileSorted, summarize, type EnsembleDsiRow, type EnsembleFriRow,
} from '../../src/analysis/ensemble.ts';
import {
  KNOWN_POLARITY, OFF_MOTION_TUNING, ON_MOTION_TUNING, POLARITY, PREFERRED_DIRECTIONS, angularDistance, polarityOf, sortOnOffUnknown,
} from '../../src/analysis/groundtruth.ts';
import { dsiDistribution, friDistribution, preferredDirectionsPolar } from '../../src/analysis/plots.ts';
import { OFF_COLOR, ON_COLOR, renderSVG } from '../../src/plot/index.ts';
import { countMarks, expectValidSVG } from '../plot/svg-helpers.ts';

describe("flyvis's ground truth (groundtruth_utils.py)", () => {
  it('knows the polarity of 32 of its 65 cell types, with the values flyvis states', () => {
    expect(Object.keys(POLARITY)).toHaveLength(65);
    expect(Object.keys(KNOWN_POLARITY)).toHaveLength(32);
    expect(Object.values(KNOWN_POLARITY).filter((v) => v === 1)).toHaveLength(18);
    expect(Object.values(KNOWN_POLARITY).filter((v) => v === -1)).toHaveLength(14);
    const spot: Record<string, number> = {
      R1: 1, R8: 1, L1: -1, L4: -1, L5: 1, C3: 1, 'CT1(Lo1)': -1, 'CT1(M10)': 1, Mi1: 1, Mi4: 1, Mi9: -1,
      T4c: 1, T5b: -1, Tm1: -1, Tm3: 1, Tm4: -1, Tm9: -1, Mi2: 0, Lawf1: 0, T2a: 0, TmY18: 0,
    };
    for (const [t, v] of Object.entries(spot)) expect(POLARITY[t], t).toBe(v);
    expect(polarityOf('not a cell type')).toBe(0);
  });

  it('states the preferred directions of T4a-d and T5a-d', () => {
    expect(PREFERRED_DIRECTIONS).toEqual({ T4a: 180, T4b: 0, T4c: 90, T4d: 270, T5a: 180, T5b: 0, T5c: 90, T5d: 270 });
    expect(ON_MOTION_TUNING).toEqual(['T4a', 'T4b', 'T4c', 'T4d']);
    expect(OFF_MOTION_TUNING).toEqual(['T5a', 'T5b', 'T5c', 'T5d']);
  });

  it("orders cell types as flyvis plots them: known ON, known OFF, unknown, in the table's order; others last", () => {
    expect(sortOnOffUnknown(['Tm3', 'Mi2', 'L1', 'X', 'R1', 'T5a', 'L5'])).toEqual(['R1', 'L5', 'Tm3', 'L1', 'T5a', 'Mi2', 'X']);
  });

  it('measures angles between directions as flyvis (0 to 180, across 0)', () => {
    expect(angularDistance(350, 10)).toBe(20);
    expect(angularDistance(-90, 270)).toBe(0);
    expect(angularDistance(0, 180)).toBe(180);
    expect(angularDistance(90, 300)).toBe(150);
  });
});

describe('summary statistics', () => {
  it("computes numpy's default (linear) quantiles", () => {
    expect(quantileSorted([1, 2, 3, 4], 0.25)).toBe(1.75);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0.75)).toBe(3.25);
    expect(summarize([3, 1, 2])).toEqual({ n: 3, median: 2, q1: 1.5, q3: 2.5, min: 1, max: 3 });
    expect(summarize([0.4])).toEqual({ n: 1, median: 0.4, q1: 0.4, q3: 0.4, min: 0.4, max: 0.4 });
    expect(() => summarize([1, NaN])).toThrow(/NaN is not a finite number/);
    expect(() => summarize([])).toThrow(/no values/);
  });

  const fri = (model: string, cell_type: string, radius: number, f: number): EnsembleFriRow =>
    ({ model, cell_type, u: 0, v: 0, radius, fri: f, on_peak: 1 + f, off_peak: 1 - f });

  it('summarises the FRI per cell type and radius over the members, with the known and predicted polarity', () => {
    const rows = [
      fri('m0', 'L1', -1, -0.5), fri('m0', 'L1', 6, -0.4), fri('m0', 'Mi2', 6, 0.1),
      fri('m1', 'L1', -1, -0.3), fri('m1', 'L1', 6, 0.2), fri('m1', 'Mi2', 6, 0.3),
      fri('m2', 'L1', -1, -0.1), fri('m2', 'L1', 6, -0.6), fri('m2', 'Mi2', 6, -0.2),
    ];
    const s = friSummary(rows);
    expect(s.map((r) => [r.cell_type, r.radius])).toEqual([['L1', -1], ['L1', 6], ['Mi2', 6]]);
    expect(s[1]).toEqual({
      cell_type: 'L1', radius: 6, n_models: 3, fri_median: -0.4, fri_q1: -0.5, fri_q3: expect.closeTo(-0.1, 12),
      fri_min: -0.6, fri_max: 0.2, known_polarity: -1, predicted_polarity: -1,
    });
    expect(s[2]!.known_polarity).toBe(0);
    expect(s[2]!.predicted_polarity).toBe(1);
    expect(Object.keys(s[0]!)).toEqual([...FRI_SUMMARY_COLUMNS]);
  });

  it('counts the known polarities predicted by the sign of the FRI at radius 6, listing mismatches and absent types', () => {
    const single = [
      { cell_type: 'R1', radius: 6, fri: 0.3 }, { cell_type: 'L1', radius: 6, fri: 0.1 }, // L1 is OFF: a mismatch
      { cell_type: 'T5a', radius: 6, fri: -0.2 }, { cell_type: 'Tm3', radius: 6, fri: 0 }, // 0 predicts neither
      { cell_type: 'Mi2', radius: 6, fri: 0.5 }, // unknown: not counted
      { cell_type: 'R1', radius: -1, fri: -0.9 }, // another radius: not compared
    ];
    const k = knownPolarityCount(single)!;
    expect(k.radius).toBe(6);
    expect(k.n_known).toBe(4);
    expect(k.n_predicted).toBe(2);
    expect(k.mismatches).toEqual([{ cell_type: 'L1', known: -1, fri: 0.1 }, { cell_type: 'Tm3', known: 1, fri: 0 }]);
    expect(k.absent).toHaveLength(28);
    expect(k.absent).toContain('CT1(M10)');
    expect(knownPolarityCount(single, -1)!.n_predicted).toBe(0);
    expect(knownPolarityCount(single, 3)).toBeNull();
    expect(describeKnownPolarity(k, 'this network')).toBe(
      'this network predicts 2 of 4 known ON/OFF polarities (sign of the FRI, flash radius 6); not: L1 (OFF, FRI 0.10), Tm3 (ON, FRI 0.00)',
    );
    expect(() => knownPolarityCount([...single, { cell_type: 'R1', radius: 6, fri: 0.1 }])).toThrow(/R1 has more than one FRI/);
  });

  it("summarises an ensemble's polarity through the median, not through single members", () => {
    // L1 (OFF): two of three members say OFF, so the median does; the mean (0.1) would say ON.
    const rows = [fri('a', 'L1', 6, -0.1), fri('b', 'L1', 6, -0.1), fri('c', 'L1', 6, 0.5)];
    const medians = friSummary(rows).map((s) => ({ ...s, fri: s.fri_median }));
    expect(knownPolarityCount(medians)).toMatchObject({ n_known: 1, n_predicted: 1, mismatches: [] });
  });

  const dsi = (model: string, cell_type: string, intensity: number, d: number, pd: number | null): EnsembleDsiRow =>
    ({ model, cell_type, u: 0, v: 0, intensity, dsi: d, preferred_direction_deg: pd, dsi_below_threshold: pd === null });

  it('summarises DSIs and the circular mean of the preferred directions, with the known T4/T5 direction and the error', () => {
    const rows = [
      dsi('a', 'T4b', 1, 0.5, 350), dsi('b', 'T4b', 1, 0.3, 20), dsi('c', 'T4b', 1, 0.001, null),
      dsi('a', 'T4b', 0, 0.02, 180), dsi('b', 'T4b', 0, 0.04, 90), dsi('c', 'T4b', 0, 0.03, 135),
      dsi('a', 'Mi1', 1, 0, null), dsi('b', 'Mi1', 1, 0, null), dsi('c', 'Mi1', 1, 0, null),
    ];
    const s = dsiSummary(rows);
    expect(Object.keys(s[0]!)).toEqual([...DSI_SUMMARY_COLUMNS]);
    expect(s[0]).toMatchObject({ cell_type: 'T4b', intensity: 1, n_models: 3, dsi_median: 0.3, n_direction_selective: 2, known_preferred_direction_deg: 0 });
    expect(s[0]!.preferred_direction_mean_deg).toBeCloseTo(5, 9);
    expect(s[0]!.preferred_direction_agreement).toBeCloseTo(Math.cos((15 * Math.PI) / 180), 12);
    expect(s[0]!.preferred_direction_error_deg).toBeCloseTo(5, 9);
    // OFF edges: T4b's known direction is for ON edges only
    expect(s[1]).toMatchObject({ intensity: 0, preferred_direction_mean_deg: 135, known_preferred_direction_deg: null, preferred_direction_error_deg: null });
    expect(s[2]).toMatchObject({ cell_type: 'Mi1', n_direction_selective: 0, preferred_direction_mean_deg: null, preferred_direction_agreement: null });
    expect(circularMean([])).toBeNull();
    expect(circularMean([90, 270])!.resultant).toBeCloseTo(0, 12);
  });

  it('counts the known T4/T5 directions predicted within 45°', () => {
    const k = knownDirectionCount([
      { cell_type: 'T4a', intensity: 1, preferred_direction_deg: 170 },
      { cell_type: 'T4b', intensity: 1, preferred_direction_deg: 60 },
      { cell_type: 'T5a', intensity: 0, preferred_direction_deg: null },
      { cell_type: 'T5d', intensity: 0, preferred_direction_deg: 300 },
      { cell_type: 'T4a', intensity: 0, preferred_direction_deg: 0 }, // T4 with OFF edges: no known direction
      { cell_type: 'Mi1', intensity: 1, preferred_direction_deg: 0 },
    ])!;
    expect(k.n_known).toBe(4);
    expect(k.n_predicted).toBe(2);
    expect(k.types.map((t) => [t.cell_type, t.error_deg])).toEqual([['T4a', 10], ['T4b', 60], ['T5a', null], ['T5d', 30]]);
    expect(knownDirectionCount([{ cell_type: 'Mi1', intensity: 1, preferred_direction_deg: 0 }])).toBeNull();
  });

  it('takes the median of the normalised tuning curves per direction', () => {
    const t = (model: string, angle: number, normalized: number) => ({ model, cell_type: 'T4a', intensity: 1, angle, peak_response: normalized * 2, normalized });
    expect(medianTuning([t('a', 0, 1), t('b', 0, 0.5), t('c', 0, 0.2), t('a', 90, 0), t('b', 90, 1), t('c', 90, 1)])).toEqual([
      { cell_type: 'T4a', intensity: 1, angle: 0, peak_response: 1, normalized: 0.5 },
      { cell_type: 'T4a', intensity: 1, angle: 90, peak_response: 2, normalized: 1 },
    ]);
  });
});

describe('ensemble plots', () => {
  const types = ['Mi2', 'L1', 'R1'];
  const models = ['m0', 'm1', 'm2'];
  const friRows = models.flatMap((model, i) => types.map((cell_type, j) => ({ model, cell_type, radius: 6, fri: (j - 1) * 0.3 + i * 0.05 })));

  it('draws the FRI of every member per cell type, known ON first, coloured by the known polarity, with the count in the subtitle', async () => {
    const summary = friSummary(friRows.map((r) => ({ ...r, u: 0, v: 0, on_peak: 0, off_peak: 0 })));
    const spec = friDistribution(friRows, summary, types, { known: { n_known: 2, n_predicted: 1 }, ensemble: 'opticflow/000' }) as unknown as {
      layer: { encoding?: { x?: { sort?: string[] } } }[]; title: { text: string; subtitle: string[] };
    };
    expect(spec.layer[0]!.encoding!.x!.sort).toEqual(['R1', 'L1', 'Mi2']);
    expect(spec.title.text).toBe('Flash response index across 3 networks of opticflow/000 (central cells)');
    expect(spec.title.subtitle.join(' ')).toMatch(/matches 1 of 2 known polarities/);
    const svg = await renderSVG(spec as never);
    expectValidSVG(svg);
    expect(countMarks(svg, 'circle')).toBe(9); // a dot per member and cell type
    expect(countMarks(svg, 'bar')).toBe(3); // a box per cell type
    expect(countMarks(svg, 'tick')).toBe(3); // its median
    expect(svg).toContain('flash response index (FRI)');
    expect(svg).toContain(`fill="${ON_COLOR}"`); // R1's box and label
    expect(svg).toContain(`fill="${OFF_COLOR}"`); // L1's
    expect(svg).toContain('known ON');
  });

  it('draws DSI distributions for ON and OFF edges with the threshold, and the T4/T5 preferred directions per member', async () => {
    const rows = models.flatMap((model, i) => [
      { model, cell_type: 'T4a', intensity: 1, dsi: 0.5, preferred_direction_deg: 170 + 10 * i },
      { model, cell_type: 'T4a', intensity: 0, dsi: 0.02, preferred_direction_deg: 30 },
      { model, cell_type: 'T5c', intensity: 0, dsi: 0.4 + 0.1 * i, preferred_direction_deg: i === 2 ? null : 80 },
      { model, cell_type: 'T5c', intensity: 1, dsi: 0.005, preferred_direction_deg: null },
    ]);
    const summary = dsiSummary(rows.map((r) => ({ ...r, u: 0, v: 0, dsi_below_threshold: r.preferred_direction_deg === null })));
    const svg = await renderSVG(dsiDistribution(rows, summary, ['T4a', 'T5c']));
    expectValidSVG(svg);
    expect(svg).toContain('DSI, ON edges');
    expect(svg).toContain('DSI, OFF edges');
    expect(countMarks(svg, 'rule mark')).toBeGreaterThanOrEqual(2); // whiskers and thresholds
    const polar = preferredDirectionsPolar(rows) as unknown as { facet: { sort: string[] } };
    expect(polar.facet.sort).toEqual(['T4a, ON edges', 'T5c, OFF edges']); // only the types present, with their edge polarity
    const psvg = await renderSVG(polar as never);
    expectValidSVG(psvg);
    expect(psvg).toContain('known: 180°');
    expect(psvg).toContain('3/3 with DSI ≥ 0.01');
    expect(psvg).toContain('2/3 with DSI ≥ 0.01'); // T5c: one member below the threshold has no direction
  });
});
