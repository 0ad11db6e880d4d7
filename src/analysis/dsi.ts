// flyvis's direction selectivity (analysis/moving_bar_responses.py):
//   peak(θ, width, intensity, speed) = max over the frames while the edge crosses the offsets
//     (flyvis `time_window` from offsets[0] to offsets[-1] + 1 LED) of max(0, response);
//   DSI(width, intensity, speed) = |Σ_θ peak e^{iθ}| / (max over intensity of Σ_θ |peak| + 1e-15),
//     then averaged over widths and speeds;
//   preferred direction(intensity) = arg Σ_{θ, width, speed} peak e^{iθ}.
import { LED_DEG, OMMATIDIUM_DEG } from '../stimuli/hex-eye.ts';
import { AnalysisError, frameWindow } from './fri.ts';
import type { Responses } from './responses.ts';

export interface PeakOptions {
  /** Window start and end in degrees along the path (default: the first and last offset). */
  readonly fromDegree?: number;
  readonly toDegree?: number;
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

export interface DsiRow {
  readonly cellType: string;
  readonly u: number;
  readonly v: number;
  readonly intensity: number;
  readonly dsi: number;
  /** Preferred direction in degrees, [0, 360). */
  readonly preferredDirection: number;
}

export interface TuningRow {
  readonly cellType: string;
  readonly intensity: number;
  readonly angle: number;
  /** Peak response averaged over speeds and widths. */
  readonly response: number;
  /** The same, divided by its maximum over angles (flyvis plot_angular_tuning). */
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

export function directionSelectivityIndex(r: Responses, o: PeakOptions = {}): { dsi: DsiRow[]; tuning: TuningRow[] } {
  const peak = peakResponses(r, o);
  const g = grid(r);
  const K = r.neurons.length;
  const rad = g.angles.map((a) => (a * Math.PI) / 180);
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
      const pd = ((Math.atan2(im, re) * 180) / Math.PI + 360) % 360;
      dsi.push({ cellType: n.cellType, u: n.u, v: n.v, intensity, dsi: dsiSum / (g.widths.length * g.speeds.length), preferredDirection: pd });
      const avg = g.angles.map((_a, a) => {
        let sum = 0;
        for (let w = 0; w < g.widths.length; w++) for (let s = 0; s < g.speeds.length; s++) sum += at(a, w, i, s);
        return sum / (g.widths.length * g.speeds.length);
      });
      const mx = Math.max(...avg);
      g.angles.forEach((angle, a) => tuning.push({ cellType: n.cellType, intensity, angle, response: avg[a]!, normalized: mx > 0 ? avg[a]! / mx : 0 }));
    });
  }
  return { dsi, tuning };
}
