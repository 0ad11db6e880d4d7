// Receptive fields from impulse responses (flyvis datasets CentralImpulses, SpatialImpulses):
//   temporal RF: the response to an impulse in the central column, from onset (time 0), minus
//     the response in the frame before onset (the grey baseline);
//   spatial RF: for impulses in every column (u, v) around the centre, the baseline-subtracted
//     response at the time where it is largest in magnitude over all columns (one map per
//     neuron, intensity and impulse duration).
import type { ItemParams } from '../stimuli/datasets.ts';
import { AnalysisError, frameWindow } from './fri.ts';
import type { Responses } from './responses.ts';

export interface TemporalRf {
  readonly cell_type: string;
  readonly intensity: number;
  readonly t_impulse: number;
  /** Time of each value, seconds after onset. */
  readonly time: Float64Array;
  readonly response: Float64Array;
}

function baselined(r: Responses, s: number, k: number): { time: Float64Array; value: Float64Array } {
  const T = r.nFrames[s]!;
  const K = r.neurons.length;
  const onset = frameWindow(T, r.dt, r.tPre, 0, Infinity)[0];
  if (onset >= T) throw new AnalysisError(`${r.stimulus}: sample ${s} has no frames after onset`);
  const tr = r.traces[s]!;
  const base = onset > 0 ? tr[(onset - 1) * K + k]! : tr[k]!;
  const n = T - onset;
  const time = new Float64Array(n);
  const value = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    time[t] = (onset + t) * r.dt - r.tPre;
    value[t] = tr[(onset + t) * K + k]! - base;
  }
  return { time, value };
}

const durationOf = (p: ItemParams, dt: number): number => p.t_impulse || dt;

export function temporalReceptiveFields(r: Responses): TemporalRf[] {
  const central = r.params.map((p, s) => (p.u === 0 && p.v === 0 ? s : -1)).filter((s) => s >= 0);
  if (central.length === 0) throw new AnalysisError(`${r.stimulus}: no impulses in the central column (u = v = 0)`);
  const out: TemporalRf[] = [];
  r.neurons.forEach((n, k) => {
    for (const s of central) {
      const p = r.params[s]!;
      const { time, value } = baselined(r, s, k);
      out.push({ cell_type: n.cell_type, intensity: p.intensity!, t_impulse: durationOf(p, r.dt), time, response: value });
    }
  });
  return out;
}

export interface SpatialRf {
  readonly cell_type: string;
  readonly intensity: number;
  readonly t_impulse: number;
  /** Seconds after onset at which the map is read. */
  readonly time: number;
  readonly u: Int32Array;
  readonly v: Int32Array;
  readonly response: Float64Array;
}

export function spatialReceptiveFields(r: Responses): SpatialRf[] {
  const groups = new Map<string, number[]>();
  r.params.forEach((p, s) => {
    if (p.u === undefined || p.v === undefined) throw new AnalysisError(`${r.stimulus}: sample ${s} has no impulse position (u, v)`);
    const key = `${p.intensity}/${durationOf(p, r.dt)}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  });
  const out: SpatialRf[] = [];
  r.neurons.forEach((n, k) => {
    for (const samples of groups.values()) {
      const curves = samples.map((s) => baselined(r, s, k));
      const T = Math.min(...curves.map((c) => c.value.length));
      let best = 0;
      let bestAbs = -1;
      for (let t = 0; t < T; t++)
        for (const c of curves) {
          const a = Math.abs(c.value[t]!);
          if (a > bestAbs) {
            bestAbs = a;
            best = t;
          }
        }
      const p0 = r.params[samples[0]!]!;
      out.push({
        cell_type: n.cell_type,
        intensity: p0.intensity!,
        t_impulse: durationOf(p0, r.dt),
        time: curves[0]!.time[best] ?? 0,
        u: Int32Array.from(samples.map((s) => r.params[s]!.u!)),
        v: Int32Array.from(samples.map((s) => r.params[s]!.v!)),
        response: Float64Array.from(curves.map((c) => c.value[best] ?? 0)),
      });
    }
  });
  return out;
}
