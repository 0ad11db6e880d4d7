// The analyses on hand-made responses, against values computed by hand from flyvis's
// definitions; and the result tables' CSV / JSON round trips.
import { describe, expect, it } from 'vitest';
import { flashResponseIndex } from '../../src/analysis/fri.ts';
import { DSI_THRESHOLD, directionSelectivityIndex, peakResponses, timeWindow } from '../../src/analysis/dsi.ts';
import { progressBar } from '../../src/analysis/progress.ts';
import { ResponsesInterrupted, computeResponses, computeResponsesAsync, planBatches } from '../../src/analysis/responses.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { Network } from '../../src/network/network.ts';
import { MovingEdge } from '../../src/stimuli/datasets.ts';
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
    neurons: fns.map((_, k) => ({ cell_type: `N${k}`, u: 0, v: 0, node: k })),
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
    const r0 = rows.find((r) => r.cell_type === 'N0' && r.radius === -1)!;
    // min = -0.5 -> shift 0.5: on peak 1.3, off peak -0.2 + 0.5 = 0.3
    expect(r0.on_peak).toBeCloseTo(1.3, 6);
    expect(r0.off_peak).toBeCloseTo(0.3, 6);
    expect(r0.fri).toBeCloseTo(1.0 / 1.6, 6);
    const r1 = rows.find((r) => r.cell_type === 'N1' && r.radius === 6)!;
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
    expect(on.preferred_direction_deg!).toBeCloseTo(60, 3);
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

describe('direction selectivity below the threshold', () => {
  const angles = [0, 90, 180, 270];
  const params = angles.flatMap((angle) => [0, 1].map((intensity) => ({ angle, width: 80, intensity, t_stim: 0, speed: 9.7 })));
  const cfg = { offsets: [-10, 11] };
  // the same peak in every direction, plus a modulation of `depth` towards 90°
  const tuned = (depth: number) => (p: ItemParams, t: number) => (t >= 0.05 && t <= 0.5 ? 1 + depth * Math.sin((p.angle! * Math.PI) / 180) : 0);

  it('has no preferred direction (null, flagged) where DSI < 0.01, and one where it is above', () => {
    const r = responses(params, 300, 0.005, 1, [tuned(1e-5), tuned(0.1)], cfg);
    const { dsi } = directionSelectivityIndex(r);
    const flat = dsi.filter((x) => x.cell_type === 'N0');
    const weak = dsi.filter((x) => x.cell_type === 'N1');
    for (const x of flat) {
      expect(x.dsi).toBeGreaterThan(0);
      expect(x.dsi).toBeLessThan(DSI_THRESHOLD);
      expect(x.preferred_direction_deg).toBeNull();
      expect(x.dsi_below_threshold).toBe(true);
    }
    // Σ (1 + 0.1 sin θ) e^{iθ} over 0, 90, 180, 270 = 0.2 i; Σ |r| = 4
    expect(weak.find((x) => x.intensity === 1)!.dsi).toBeCloseTo(0.05, 5);
    expect(weak.find((x) => x.intensity === 1)!.preferred_direction_deg).toBeCloseTo(90, 6);
    expect(weak.every((x) => !x.dsi_below_threshold)).toBe(true);
    // a threshold of the caller's choosing
    const strict = directionSelectivityIndex(r, { threshold: 0.06 }).dsi.find((x) => x.cell_type === 'N1' && x.intensity === 1)!;
    expect(strict.preferred_direction_deg).toBeNull();
    expect(() => directionSelectivityIndex(r, { threshold: NaN })).toThrow(/threshold: expected a finite number >= 0, got NaN/);
  });

  it('takes angles modulo 360 (720° is 0°)', () => {
    const shifted = params.map((p) => ({ ...p, angle: p.angle! + 720 }));
    const a = directionSelectivityIndex(responses(params, 300, 0.005, 1, [tuned(0.1)], cfg)).dsi;
    const b = directionSelectivityIndex(responses(shifted, 300, 0.005, 1, [tuned(0.1)], cfg)).dsi;
    expect(b.map((x) => x.dsi)).toEqual(a.map((x) => x.dsi));
    expect(b[1]!.preferred_direction_deg).toBeCloseTo(90, 6);
  });
});

describe('responses that are not finite are refused, not reported', () => {
  it('FRI names the cell type, the flash and the time', () => {
    const params = [-1].flatMap((radius) => [0, 1].map((intensity) => ({ baseline: 0.5, intensity, radius })));
    const nan = (p: ItemParams, t: number) => (p.intensity === 1 && t > 0.5 ? NaN : 0.1);
    expect(() => flashResponseIndex(responses(params, 200, 0.01, 1, [() => 0, nan], { t_stim: 1, alternations: [0, 1, 0] }))).toThrow(
      /test \(baseline 0\.5, intensity 1, radius -1\): the activity of N1 \(u 0, v 0\) is NaN at t = 0\.51 s; the network diverged/,
    );
  });

  it('DSI too, even where rectification would hide it', () => {
    const params = [0, 180].flatMap((angle) => [0, 1].map((intensity) => ({ angle, width: 80, intensity, t_stim: 0, speed: 9.7 })));
    const inf = (p: ItemParams, t: number) => (p.angle === 180 && t > 0.1 ? -Infinity : 0.2);
    expect(() => directionSelectivityIndex(responses(params, 300, 0.005, 1, [inf], { offsets: [-10, 11] }))).toThrow(/\(angle 180, width 80, intensity [01], t_stim 0, speed 9\.7\): the activity of N0 \(u 0, v 0\) is -Infinity at t = 0\.10?5? s/);
  });
});

describe('computing responses in batches, resumably', () => {
  const net = Network.fromConnectome(demoConnectome(2));
  const edges = new MovingEdge({ extent: 2, speeds: [9.7, 25], angles: [0, 180] });
  const dt = 1 / 100;

  it('plans batches by movie length, the same whatever is done; completed batches are not simulated again and give the same result', () => {
    const plan = planBatches(edges, dt, 3);
    expect(plan.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const batch of plan) expect(new Set(batch.map((i) => edges.frameCount(i))).size).toBe(1);
    const seen: number[][] = [];
    const saved = new Map<number, Float32Array>();
    const full = computeResponses(net, edges, { dt, batchSize: 3, onBatch: (items, traces) => {
      seen.push([...items]);
      items.forEach((i, b) => saved.set(i, traces[b]!));
    } });
    expect(seen).toEqual(plan);
    // resume with the first two batches done: only the others are simulated, the result is identical
    const done = new Map([...plan[0]!, ...plan[1]!].map((i) => [i, saved.get(i)!]));
    const again: number[][] = [];
    const resumed = computeResponses(net, edges, { dt, batchSize: 3, completed: done, onBatch: (items) => again.push([...items]) });
    expect(again).toEqual(plan.slice(2));
    resumed.traces.forEach((t, i) => expect(t).toEqual(full.traces[i]));
  });

  it('stops between batches when interrupted, saying how many movies are done', async () => {
    let batches = 0;
    await expect(computeResponsesAsync(net, edges, { dt, batchSize: 2, onBatch: () => batches++, interrupted: () => batches === 1 })).rejects.toThrow(
      ResponsesInterrupted,
    );
    await expect(computeResponsesAsync(net, edges, { dt, batchSize: 2, interrupted: () => true })).rejects.toMatchObject({ done: 0, total: 8 });
  });
});

describe('progress bar', () => {
  it('shows what is being done before the first batch, then the bar; time left leaves out skipped work', () => {
    const lines: string[] = [];
    let now = 0;
    const p = progressBar('edges (8 movies)', 100, { write: (t: string) => lines.push(t.trim()) }, () => now);
    p.status!('building the network');
    expect(lines).toEqual(['edges (8 movies) [..............................]   0% 0s elapsed (building the network)']);
    p.skip!(50); // read back: no time spent
    now = 10_000;
    p.tick(25); // 25 frames in 10 s: 25 more take 10 s
    expect(lines.at(-1)).toBe('edges (8 movies) [#######################.......]  75% 10s elapsed, ~10s left (building the network)');
    p.done();
    expect(lines.at(-1)).toBe('edges (8 movies) [##############################] 100% 10s elapsed');
  });
});
