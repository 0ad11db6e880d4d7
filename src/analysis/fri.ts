// flyvis's flash response index (analysis/flash_responses.py `flash_response_index`):
// per neuron and disc radius, over the frames with -dt <= time <= t_stim, the responses to the
// ON and OFF flash are shifted by |min| (over those frames and both flashes) to be
// non-negative, and FRI = (max r_on - max r_off) / (max r_on + max r_off + 1e-16).
// FRI > 0: the neuron prefers increments (ON); FRI < 0: decrements (OFF).
import { AnalysisError } from './errors.ts';
import { assertFiniteResponses, type Responses } from './responses.ts';

export interface FriOptions {
  readonly onIntensity?: number;
  readonly offIntensity?: number;
  /** Shift by |min| first (default true, as flyvis). */
  readonly nonnegative?: boolean;
  /** Radii to report (default: every radius in the responses). */
  readonly radii?: readonly number[];
}

/** One cell type's FRI for one flash radius; the fields are the columns of fri.csv (u, v aside). */
export interface FriRow {
  readonly cell_type: string;
  readonly u: number;
  readonly v: number;
  readonly radius: number;
  readonly fri: number;
  readonly on_peak: number;
  readonly off_peak: number;
}

export { AnalysisError };

function tStimOf(r: Responses): number {
  const t = r.config.t_stim;
  if (typeof t !== 'number') throw new AnalysisError(`${r.stimulus}: responses lack config.t_stim (flash responses expected)`);
  const alt = r.config.alternations;
  if (Array.isArray(alt) && alt.join(',') !== '0,1,0') throw new AnalysisError(`${r.stimulus}: FRI needs alternations (0, 1, 0), got (${alt.join(', ')})`);
  return t;
}

/** Frames with -dt <= k dt - tPre <= tStim (flyvis's time query, with float tolerance). */
export function frameWindow(nFrames: number, dt: number, tPre: number, from: number, to: number): [number, number] {
  const eps = dt * 1e-6;
  let a = nFrames;
  let b = -1;
  for (let k = 0; k < nFrames; k++) {
    const t = k * dt - tPre;
    if (t >= from - eps && t <= to + eps) {
      a = Math.min(a, k);
      b = Math.max(b, k);
    }
  }
  return [a, b + 1];
}

/**
 * FRI per neuron and radius. Refuses (AnalysisError) responses that are not finite, naming the
 * cell type and the flash, instead of reporting NaN.
 */
export function flashResponseIndex(r: Responses, o: FriOptions = {}): FriRow[] {
  const tStim = tStimOf(r);
  assertFiniteResponses(r);
  const on = o.onIntensity ?? 1;
  const off = o.offIntensity ?? 0;
  const radii = o.radii ?? [...new Set(r.params.map((p) => p.radius!))];
  const K = r.neurons.length;
  const rows: FriRow[] = [];
  for (const radius of radii) {
    const find = (intensity: number): number => {
      const s = r.params.findIndex((p) => p.radius === radius && p.intensity === intensity);
      if (s < 0) throw new AnalysisError(`${r.stimulus}: no flash with radius ${radius} and intensity ${intensity} in the responses`);
      return s;
    };
    const samples = r.params.map((p, i) => (p.radius === radius ? i : -1)).filter((i) => i >= 0);
    const sOn = find(on);
    const sOff = find(off);
    for (let k = 0; k < K; k++) {
      let min = Infinity;
      const peak = new Map<number, number>();
      for (const s of samples) {
        const [a, b] = frameWindow(r.nFrames[s]!, r.dt, r.tPre, -r.dt, tStim);
        const tr = r.traces[s]!;
        let mx = -Infinity;
        for (let t = a; t < b; t++) {
          const x = tr[t * K + k]!;
          if (x < min) min = x;
          if (x > mx) mx = x;
        }
        peak.set(s, mx);
      }
      const shift = o.nonnegative === false ? 0 : Math.abs(min);
      const on_peak = peak.get(sOn)! + shift;
      const off_peak = peak.get(sOff)! + shift;
      const n = r.neurons[k]!;
      const fri = (on_peak - off_peak) / (on_peak + off_peak + 1e-16);
      if (!Number.isFinite(fri)) throw new AnalysisError(`${n.cell_type}: the FRI for radius ${radius} is ${fri} (on peak ${on_peak}, off peak ${off_peak})`);
      rows.push({ cell_type: n.cell_type, u: n.u, v: n.v, radius, fri, on_peak, off_peak });
    }
  }
  return rows;
}
