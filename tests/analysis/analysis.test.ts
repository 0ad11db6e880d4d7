// The analyses on hand-made responses, against values computed by hand from flyvis's
// definitions; and the result tables' CSV / JSON round trips.
import { describe, expect, it } from 'vitest';
import { flashResponseIndex } from '../../src/analysis/fri.ts';
import { directionSelectivityIndex, peakResponses, timeWindow } from '../../src/analysis/dsi.ts';
import { spatialReceptiveFields, temporalReceptiveFields } from '../../src/analysis/receptive-fields.ts';
import type { Responses } from '../../src/analysis/responses.ts';
import { parseCsv, tableOf, toCsv, toJson } from '../../src/analysis/table.ts';
import type { ItemParams } from '../../src/stimuli/datasets.ts';

/** Responses of one neuron per trace function: traces[s](t) at frame times k dt - tPre. */
function responses(params: ItemParams[], nFrames: number, dt: number, tPre: number, fns: ((p: ItemParams, t: number) => number)[], config: Record<string, unknown>): Responses {
  const K = fns.length;
  return {
    stimulus: 'test',
    config,
    neurons: fns.map((_, k) => ({ cellType: `N${k}`, u: 0, v: 0, node: k })),
    params,
    dt,
    tPre,
    traces: params.map((p) => {
      const a = new Float32Array(nFrames * K);
      for (let t = 0; t < nFrames; t++) fns.forEach((f, k) => (a[t * K + k] = f(p, t * dt - tPre)));
      return a;
    }),
    nFrames: params.map(() => nFrames),
  };
}

describe('flash response index', () => {
  const params = [-1, 6].flatMap((radius) => [0, 1].map((intensity) => ({ baseline: 0.5, intensity, radius })));
  const cfg = { t_stim: 1, alternations: [0, 1, 0] };
  it('follows flyvis: shift by |min| over the window, peaks, (on - off) / (on + off)', () => {
    // ON cell: -0.2 at rest, rises to 0.8 during the ON flash, drops to -0.5 during OFF
    const on = (p: ItemParams, t: number) => (t >= 0 && t < 1 ? (p.intensity === 1 ? 0.8 : -0.5) : -0.2);
    // a response outside the window (t > t_stim) must not count
    const late = (p: ItemParams, t: number) => (t > 1.2 ? 100 : p.intensity === 0 ? 0.3 : 0.1);
    const rows = flashResponseIndex(responses(params, 300, 0.01, 1, [on, late], cfg));
    const r0 = rows.find((r) => r.cellType === 'N0' && r.radius === -1)!;
    // min = -0.5 -> shift 0.5: on peak 1.3, off peak -0.2 + 0.5 = 0.3
    expect(r0.onPeak).toBeCloseTo(1.3, 6);
    expect(r0.offPeak).toBeCloseTo(0.3, 6);
    expect(r0.fri).toBeCloseTo(1.0 / 1.6, 6);
    const r1 = rows.find((r) => r.cellType === 'N1' && r.radius === 6)!;
    expect(r1.fri).toBeCloseTo((0.2 - 0.4) / (0.6), 5); // shift |0.1|: 0.2 vs 0.4
    expect(rows).toHaveLength(4);
  });

  it('needs both flashes and a flash config', () => {
    expect(() => flashResponseIndex(responses(params.slice(0, 1), 10, 0.01, 0, [() => 0], cfg))).toThrow(/intensity 1/);
    expect(() => flashResponseIndex(responses(params, 10, 0.01, 0, [() => 0], {}))).toThrow(/t_stim/);
  });
});

describe('direction selectivity index', () => {
  const angles = [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330];
  const speeds = [2.4, 9.7];
  const params = angles.flatMap((angle) => [0, 1].flatMap((intensity) => speeds.map((speed) => ({ angle, width: 80, intensity, t_stim: 0, speed }))));
  const cfg = { offsets: [-10, 11] };
  const tStim = (speed: number) => (21 * 2.25) / (speed * 5.8);

  it('is |Σ r e^{iθ}| / max over intensity Σ |r|, averaged over speeds, with the preferred direction', () => {
    // peak inside the window: ON 1 + cos(θ - 60°); OFF half that; outside the window: huge
    const f = (p: ItemParams, t: number) => {
      const inside = t >= 0.01 && t <= tStim(p.speed!) - 0.01;
      if (!inside) return t < 0 ? -3 : t > tStim(p.speed!) + 0.05 ? 50 : 0;
      const r = 1 + Math.cos(((p.angle! - 60) * Math.PI) / 180);
      return (p.intensity === 1 ? r : r / 2) * Math.min(1, t * 20);
    };
    const r = responses(params, 600, 0.005, 1, [f], cfg);
    const { dsi, tuning } = directionSelectivityIndex(r);
    const on = dsi.find((x) => x.intensity === 1)!;
    const off = dsi.find((x) => x.intensity === 0)!;
    // Σ (1 + cos(θ - 60°)) e^{iθ} = 6 e^{i60°}; Σ |r| = 12
    expect(on.dsi).toBeCloseTo(0.5, 4);
    expect(off.dsi).toBeCloseTo(0.25, 4); // normalised by the ON sum (max over intensity)
    expect(on.preferredDirection).toBeCloseTo(60, 3);
    const t60 = tuning.find((x) => x.intensity === 1 && x.angle === 60)!;
    expect(t60.normalized).toBeCloseTo(1, 5);
    expect(tuning.find((x) => x.intensity === 1 && x.angle === 240)!.normalized).toBeCloseTo(0, 4);
  });

  it('windows the peak to the edge passing the offsets, and rectifies', () => {
    expect(timeWindow(2.4, (-10 * 2.25) / 5.8, (10 * 2.25) / 5.8, -10, 11)[1]).toBeCloseTo(tStim(2.4), 9);
    const r = responses(params, 600, 0.005, 1, [(_p, t) => (t < 0 ? 7 : -1)], cfg);
    for (const x of peakResponses(r)) expect(x).toBe(0);
  });

  it('needs the full grid', () => {
    const r = responses(params.slice(1), 100, 0.005, 1, [() => 1], cfg);
    expect(() => directionSelectivityIndex(r)).toThrow(/full grid/);
  });
});

describe('receptive fields', () => {
  const positions = [[0, 0], [0, 1], [1, 0], [-1, 0]] as const;
  const params = positions.flatMap(([u, v]) => [0, 1].map((intensity) => ({ u, v, offset: 0, dot: 0, intensity, t_impulse: 0.005 })));
  // neuron: baseline 0.3, impulse response exp decay scaled by the column's weight
  const weight = (p: ItemParams) => (p.u === 0 && p.v === 0 ? 1 : p.v === 1 ? -0.5 : 0.25) * (p.intensity === 1 ? 1 : -1);
  const f = (p: ItemParams, t: number) => 0.3 + (t >= 0 ? weight(p) * Math.exp(-t / 0.05) * (t > 0.02 ? 1 : t / 0.02) : 0);
  const r = responses(params, 200, 0.005, 0.5, [f], {});

  it('temporal: the central response after onset minus the baseline', () => {
    const trf = temporalReceptiveFields(r);
    expect(trf).toHaveLength(2);
    const on = trf.find((x) => x.intensity === 1)!;
    expect(on.time[0]).toBeCloseTo(0, 9);
    expect(on.response[0]).toBeCloseTo(0, 6);
    expect(on.response[Math.round(0.025 / 0.005)]).toBeCloseTo(Math.exp(-0.5), 5);
  });

  it('spatial: the map at the time of the largest deviation', () => {
    const srf = spatialReceptiveFields(r);
    const on = srf.find((x) => x.intensity === 1)!;
    expect(on.time).toBeCloseTo(0.02, 6); // the peak of the central response
    const at = (u: number, v: number) => on.response[positions.findIndex(([a, b]) => a === u && b === v)]!;
    expect(at(0, 0)).toBeCloseTo(Math.exp(-0.4), 5);
    expect(at(0, 1)).toBeCloseTo(-0.5 * Math.exp(-0.4), 5);
    expect(at(1, 0)).toBeCloseTo(0.25 * Math.exp(-0.4), 5);
  });
});

describe('result tables', () => {
  it('round-trip through CSV with quoting, and JSON with metadata', () => {
    const t = tableOf([{ a: 'x,"y"', b: 1.5 }, { a: 'plain', b: NaN }], ['a', 'b'], ['name', 'value']);
    const csv = toCsv(t);
    expect(csv).toBe('name,value\n"x,""y""",1.5\nplain,nan\n');
    expect(parseCsv(csv)).toEqual({ columns: ['name', 'value'], rows: [['x,"y"', 1.5], ['plain', 'nan']] });
    const json = JSON.parse(toJson(t, { experiment: 'flashes' }));
    expect(json).toEqual({ experiment: 'flashes', columns: ['name', 'value'], rows: [['x,"y"', 1.5], ['plain', null]] });
  });
});
