// flyvis's direction selectivity (analysis/moving_bar_responses.py):
//   peak(θ, width, intensity, speed) = max over the frames while the edge crosses the offsets
//     (flyvis `time_window` from offsets[0] to offsets[-1] + 1 LED) of max(0, response);
//   DSI(width, intensity, speed) = |Σ_θ peak e^{iθ}| / (max over intensity of Σ_θ |peak| + 1e-15),
//     then averaged over widths and speeds;
//   preferred direction(intensity) = arg Σ_{θ, width, speed} peak e^{iθ}.
// Below DSI_THRESHOLD the preferred direction is undefined (null): the argument of a vector
// that is ~0 is rounding and lattice noise, not a direction (see docs/analysis.md).
import { LED_DEG, OMMATIDIUM_DEG } from '../stimuli/hex-eye.ts';
import { AnalysisError, describeItem } from './errors.ts';
import { frameWindow } from './fri.ts';
import { assertFiniteResponses, type Responses } from './responses.ts';

/**
 * DSI below which the preferred direction is undefined: 1 %. Untrained networks (flyvis's
 * initialization) give DSIs of 1e-17 to 5e-4 (rounding, the lattice's and the connectome's
 * slight asymmetries); the T4 and T5 cells of flyvis's trained networks 0.08 to 0.8.
 */
export const DSI_THRESHOLD = 0.01;

export interface PeakOptions {
  /** Window start and end in degrees along the path (default: the first and last offset). */
  readonly fromDegree?: number;
  readonly toDegree?: number;
}

export interface DsiOptions extends PeakOptions {
  /** DSI below which preferred_direction_deg is null (default DSI_THRESHOLD). */
  readonly threshold?: number;
}

/** flyvis `time_window`: when the edge passes from_column and to_column (+1 LED), in seconds. */
export function timeWindow(speed: number, fromColumn: number, toColumn: number, start: number, end: number): [number, number] {
  const startInColumns = (start * LED_DEG) / OMMATIDIUM_DEG;
  const endInColumns = (end * LED_DEG) / OMMATIDIUM_DEG;
  const to = toColumn + LED_DEG / OMMATIDIUM_DEG;
  if (Math.abs(startInColumns) < Math.abs(fromColumn) - 1e-9 || Math.abs(endInColumns) < Math.abs(to) - 1e-9) {
    throw new AnalysisError(`time window: columns ${fromColumn}..${toColumn} lie outside the offsets ${start}..${end}`);
  }
  const tStart = (Math.abs(startInColumns) - Math.abs(fromColumn)) / speed;
  return [tStart, tStart + (to - fromColumn) / speed];
}

function offsetsOf(r: Responses): [number, number] {
  const off = r.config.offsets;
  if (!Array.isArray(off) || off.length !== 2) throw new AnalysisError(`${r.stimulus}: responses lack config.offsets (moving edge or bar responses expected)`);
  return [off[0] as number, off[1] as number];
}

/** Rectified peak response per sample and neuron: (samples, neurons). */
export function peakResponses(r: Responses, o: PeakOptions = {}): Float64Array {
  const [start, end] = offsetsOf(r);
  const from = o.fromDegree ?? start * LED_DEG;
  const to = o.toDegree ?? (end - 1) * LED_DEG;
  const K = r.neurons.length;
  const out = new Float64Array(r.params.length * K);
  r.params.forEach((p, s) => {
    const speed = p.speed;
    if (speed === undefined) throw new AnalysisError(`${r.stimulus}: sample ${s} has no speed`);
    const [t0, t1] = timeWindow(speed, from / OMMATIDIUM_DEG, to / OMMATIDIUM_DEG, start, end);
    const [a, b] = frameWindow(r.nFrames[s]!, r.dt, r.tPre, t0, t1);
    const tr = r.traces[s]!;
    for (let k = 0; k < K; k++) {
      let mx = 0; // masked frames count as 0, then rectified
      for (let t = a; t < b; t++) mx = Math.max(mx, tr[t * K + k]!);
      out[s * K + k] = mx;
    }
  });
  return out;
}

/** One cell type's DSI for one edge intensity; the fields are the columns of dsi.csv (u, v aside). */
export interface DsiRow {
  readonly cell_type: string;
  readonly u: number;
  readonly v: number;
  readonly intensity: number;
  readonly dsi: number;
  /** Preferred direction in degrees, [0, 360); null when dsi < the threshold (undefined). */
  readonly preferred_direction_deg: number | null;
  /** dsi < the threshold: no direction selectivity, the preferred direction is undefined. */
  readonly dsi_below_threshold: boolean;
}

/** One point of a tuning curve; the fields are the columns of tuning.csv. */
export interface TuningRow {
  readonly cell_type: string;
  readonly intensity: number;
  readonly angle: number;
  /** Peak response averaged over speeds and widths. */
  readonly peak_response: number;
  /** The same, divided by its maximum over angles (flyvis plot_angular_tuning; 0 without response). */
  readonly normalized: number;
}

interface Grid {
  readonly angles: number[];
  readonly widths: number[];
  readonly intensities: number[];
  readonly speeds: number[];
  /** sample index of (angle, width, intensity, speed). */
  readonly index: (a: number, w: number, i: number, s: number) => number;
}

function grid(r: Responses): Grid {
  const uniq = (key: string): number[] => [...new Set(r.params.map((p) => p[key]!))];
  const angles = uniq('angle');
  const widths = r.params.every((p) => p.width !== undefined) ? uniq('width') : [NaN];
  const intensities = uniq('intensity');
  const speeds = uniq('speed');
  const map = new Map<string, number>();
  r.params.forEach((p, s) => map.set(`${p.angle}/${p.width ?? NaN}/${p.intensity}/${p.speed}`, s));
  for (const a of angles)
    for (const w of widths)
      for (const i of intensities)
        for (const s of speeds)
          if (!map.has(`${a}/${w}/${i}/${s}`)) throw new AnalysisError(`${r.stimulus}: no sample for angle ${a}, width ${w}, intensity ${i}, speed ${s} (DSI needs the full grid)`);
  return { angles, widths, intensities, speeds, index: (a, w, i, s) => map.get(`${angles[a]}/${widths[w]}/${intensities[i]}/${speeds[s]}`)! };
}

/**
 * DSI and preferred direction per neuron and intensity, and the tuning curves. Refuses
 * (AnalysisError) responses that are not finite, naming the cell type and the stimulus.
 */
export function directionSelectivityIndex(r: Responses, o: DsiOptions = {}): { dsi: DsiRow[]; tuning: TuningRow[] } {
  const threshold = o.threshold ?? DSI_THRESHOLD;
  if (!(threshold >= 0) || !Number.isFinite(threshold)) throw new AnalysisError(`threshold: expected a finite number >= 0, got ${threshold}`);
  assertFiniteResponses(r);
  const peak = peakResponses(r, o);
  const g = grid(r);
  const K = r.neurons.length;
  const rad = g.angles.map((a) => ((a % 360) * Math.PI) / 180);
  const dsi: DsiRow[] = [];
  const tuning: TuningRow[] = [];
  for (let k = 0; k < K; k++) {
    const n = r.neurons[k]!;
    const at = (a: number, w: number, i: number, s: number): number => peak[g.index(a, w, i, s) * K + k]!;
    // normalisation: max over intensity of Σ_θ |peak|, per (width, speed)
    const norm = (w: number, s: number): number => Math.max(...g.intensities.map((_, i) => g.angles.reduce((acc, _a, a) => acc + Math.abs(at(a, w, i, s)), 0)));
    g.intensities.forEach((intensity, i) => {
      let dsiSum = 0;
      let re = 0;
      let im = 0;
      for (let w = 0; w < g.widths.length; w++)
        for (let s = 0; s < g.speeds.length; s++) {
          let vr = 0;
          let vi = 0;
          g.angles.forEach((_a, a) => {
            const x = at(a, w, i, s);
            vr += x * Math.cos(rad[a]!);
            vi += x * Math.sin(rad[a]!);
          });
          dsiSum += Math.hypot(vr, vi) / (norm(w, s) + 1e-15);
          re += vr;
          im += vi;
        }
      const value = dsiSum / (g.widths.length * g.speeds.length);
      if (!Number.isFinite(value)) {
        const s = r.params.findIndex((p) => p.intensity === intensity);
        throw new AnalysisError(`${n.cell_type}: the DSI is ${value} (intensity ${intensity}; stimuli like ${describeItem(r.params[s]!)})`);
      }
      const below = value < threshold;
      const pd = below ? null : ((Math.atan2(im, re) * 180) / Math.PI + 360) % 360;
      dsi.push({ cell_type: n.cell_type, u: n.u, v: n.v, intensity, dsi: value, preferred_direction_deg: pd, dsi_below_threshold: below });
      const avg = g.angles.map((_a, a) => {
        let sum = 0;
        for (let w = 0; w < g.widths.length; w++) for (let s = 0; s < g.speeds.length; s++) sum += at(a, w, i, s);
        return sum / (g.widths.length * g.speeds.length);
      });
      const mx = Math.max(...avg);
      g.angles.forEach((angle, a) => tuning.push({ cell_type: n.cell_type, intensity, angle, peak_response: avg[a]!, normalized: mx > 0 ? avg[a]! / mx : 0 }));
    });
  }
  return { dsi, tuning };
}
