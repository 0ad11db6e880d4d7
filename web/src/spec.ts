// The explorer's stimuli and constants, free of the library (the page's main thread imports this;
// the worker and the tests build the movies from it in web/src/sim.ts).
export const CONNECTOME = 'fib25-fib19_v2.2.json';
export const EXTENT = 15;
export const DT = 1 / 50;

/** A full-field (radius -1) or disc flash: grey 0.5 for tPre, ON (1) or OFF (0) for tStim, grey again. */
export interface FlashSpec {
  readonly kind: 'flash';
  readonly intensity: 0 | 1;
  readonly radius: number;
  readonly tPre: number;
  readonly tStim: number;
}

/** flyvis's moving edge: direction (degrees), speed (columns/s), ON (1) or OFF (0), grey before and after. */
export interface EdgeSpec {
  readonly kind: 'edge';
  readonly angle: number;
  readonly speed: number;
  readonly intensity: 0 | 1;
  readonly tPre: number;
  readonly tPost: number;
}

/** flyvis's moving bar: width in LEDs (2.25°), height 9 LEDs, direction, speed, ON/OFF on grey. */
export interface BarSpec {
  readonly kind: 'bar';
  readonly angle: number;
  readonly speed: number;
  readonly width: number;
  readonly intensity: 0 | 1;
  readonly tPre: number;
  readonly tPost: number;
}

/** flyvis's drifting square-wave grating: direction, spatial period (°), temporal frequency (Hz). */
export interface GratingSpec {
  readonly kind: 'grating';
  readonly angle: number;
  readonly period: number;
  readonly temporalFrequency: number;
  readonly tPre: number;
  readonly tStim: number;
}

/** A movie the user uploaded (.npy, one frame per step of dt 1/50), held by the worker under `name`. */
export interface MovieSpec {
  readonly kind: 'movie';
  readonly name: string;
}

/**
 * flyvis's Dots dataset, one item: a dot (the column at u, v, or the disc of `radius` columns
 * around it), ON (1) or OFF (0) on grey 0.5, held for tStim ('sustained') or flashed for tImpulse
 * ('impulse'), after tPre of grey and before tPost of grey.
 */
export interface DotsSpec {
  readonly kind: 'dots';
  readonly u: number;
  readonly v: number;
  readonly radius: number;
  readonly intensity: 0 | 1;
  readonly mode: 'sustained' | 'impulse';
  /** Seconds the dot is shown in 'impulse' mode (at least one step). */
  readonly tImpulse: number;
  readonly tPre: number;
  readonly tStim: number;
  readonly tPost: number;
}

/**
 * A stimulus drawn on the eye: grey 0.5 everywhere but the painted hexals, each at its intensity.
 * Grey for tPre, then the drawing for tStim; 'flash' then returns to grey for tPre, 'hold' ends
 * with the drawing.
 */
export interface DrawnSpec {
  readonly kind: 'drawn';
  /** Painted hexals (receptor lattice index) and their intensity in [0, 1]. */
  readonly paint: readonly (readonly [number, number])[];
  readonly mode: 'hold' | 'flash';
  readonly tPre: number;
  readonly tStim: number;
}

/** The stimuli rendered from the library's datasets (and the drawn one, from its hexals). */
export type DatasetSpec = FlashSpec | EdgeSpec | BarSpec | GratingSpec | DotsSpec | DrawnSpec;
export type StimulusSpec = DatasetSpec | MovieSpec;

export const DEFAULT_FLASH: FlashSpec = { kind: 'flash', intensity: 1, radius: -1, tPre: 0.5, tStim: 0.5 };
export const DEFAULT_EDGE: EdgeSpec = { kind: 'edge', angle: 0, speed: 19, intensity: 1, tPre: 0.5, tPost: 0.5 };
export const DEFAULT_BAR: BarSpec = { kind: 'bar', angle: 0, speed: 19, width: 4, intensity: 1, tPre: 0.5, tPost: 0.5 };
export const DEFAULT_GRATING: GratingSpec = { kind: 'grating', angle: 0, period: 20, temporalFrequency: 2, tPre: 0.5, tStim: 1 };
export const DEFAULT_DOTS: DotsSpec = { kind: 'dots', u: 0, v: 0, radius: 0, intensity: 1, mode: 'sustained', tImpulse: 0.02, tPre: 0.5, tStim: 0.5, tPost: 0.5 };
export const DEFAULT_DRAWN: DrawnSpec = { kind: 'drawn', paint: [], mode: 'flash', tPre: 0.5, tStim: 0.5 };

/** Intensities a drawing may use (and the URL encodes): black, grey, white and steps between. */
export const PAINT_LEVELS = [0, 0.25, 0.5, 0.75, 1] as const;

/**
 * A drawing as text for the URL: per intensity, its hexals as ranges of consecutive indices,
 * e.g. '1:12-15,20;0:33' (hexals 12 to 15 and 20 white, 33 black). Later entries win.
 */
export function encodeDrawing(paint: readonly (readonly [number, number])[]): string {
  const by = new Map<number, number[]>();
  const last = new Map<number, number>();
  for (const [h, x] of paint) last.set(h, x);
  for (const [h, x] of last) {
    const list = by.get(x);
    if (list) list.push(h);
    else by.set(x, [h]);
  }
  const parts: string[] = [];
  for (const [x, hs] of [...by].sort((a, b) => a[0] - b[0])) {
    hs.sort((a, b) => a - b);
    const ranges: string[] = [];
    for (let i = 0; i < hs.length; ) {
      let j = i;
      while (j + 1 < hs.length && hs[j + 1] === hs[j]! + 1) j++;
      ranges.push(j > i ? `${hs[i]}-${hs[j]}` : `${hs[i]}`);
      i = j + 1;
    }
    parts.push(`${x}:${ranges.join(',')}`);
  }
  return parts.join(';');
}

/** The drawing of encodeDrawing's text; hexals outside 0..hexals-1 and malformed parts are refused (null). */
export function decodeDrawing(text: string, hexals: number): [number, number][] | null {
  if (text === '') return [];
  const out: [number, number][] = [];
  for (const part of text.split(';')) {
    const m = /^(0|1|0?\.\d+):((?:\d+(?:-\d+)?)(?:,\d+(?:-\d+)?)*)$/.exec(part);
    if (m === null) return null;
    const x = Number(m[1]);
    if (!(x >= 0 && x <= 1)) return null;
    for (const r of m[2]!.split(',')) {
      const [a, b] = r.split('-').map(Number) as [number, number | undefined];
      const to = b ?? a;
      if (to < a || to >= hexals) return null;
      for (let h = a; h <= to; h++) out.push([h, x]);
    }
  }
  return out;
}

// -- the in-page analyses' settings (web/src/analyses.ts runs them) --

export const ALL_SPEEDS = [2.4, 4.8, 9.7, 13, 19, 25] as const;
export const ALL_ANGLES = [0, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 330] as const;

export interface FriSettings {
  readonly kind: 'fri';
  readonly dt: number;
  readonly radii: readonly number[];
  readonly tPre: number;
  readonly tStim: number;
}

export interface DsiSettings {
  readonly kind: 'dsi';
  readonly dt: number;
  readonly speeds: readonly number[];
  readonly angles: readonly number[];
}

export type AnalysisSettings = FriSettings | DsiSettings;

export const DEFAULT_FRI: FriSettings = { kind: 'fri', dt: 1 / 50, radii: [-1, 6], tPre: 1, tStim: 1 };
export const DEFAULT_DSI: DsiSettings = { kind: 'dsi', dt: 1 / 50, speeds: [19], angles: [...ALL_ANGLES] };

/** One cell type's FRI for one flash radius (the library's FriRow, src/analysis/fri.ts). */
export interface FriRowView {
  readonly cell_type: string;
  readonly u: number;
  readonly v: number;
  readonly radius: number;
  readonly fri: number;
  readonly on_peak: number;
  readonly off_peak: number;
}

/** One cell type's DSI for one edge intensity (the library's DsiRow, src/analysis/dsi.ts). */
export interface DsiRowView {
  readonly cell_type: string;
  readonly u: number;
  readonly v: number;
  readonly intensity: number;
  readonly dsi: number;
  readonly preferred_direction_deg: number | null;
  readonly dsi_below_threshold: boolean;
}

/** One point of a tuning curve (the library's TuningRow). */
export interface TuningRowView {
  readonly cell_type: string;
  readonly intensity: number;
  readonly angle: number;
  readonly peak_response: number;
  readonly normalized: number;
}

export interface FriResult {
  readonly kind: 'fri';
  readonly settings: FriSettings;
  readonly rows: readonly FriRowView[];
}

export interface DsiResult {
  readonly kind: 'dsi';
  readonly settings: DsiSettings;
  readonly dsi: readonly DsiRowView[];
  readonly tuning: readonly TuningRowView[];
}

export type AnalysisResult = FriResult | DsiResult;

// -- backends (web/src/engines.ts runs them) --

export type EngineName = 'wasm' | 'gpujs' | 'webgpu';

/** What the probe found for one backend. */
export interface EngineReport {
  readonly name: EngineName;
  /** Whether it was probed (a backend the link did not ask for is probed when it is chosen). */
  readonly probed: boolean;
  /** Probed: whether the browser offers it and it ran. */
  readonly available: boolean;
  /** Why it is not available, or what it runs on. */
  readonly detail: string;
  /** Largest difference from wasm over the probe's flash (0 for wasm). */
  readonly maxDiff?: number;
  readonly correct?: boolean;
  /** Milliseconds per frame in the probe (the best of two runs of PROBE_FLASH.length frames). */
  readonly msPerFrame?: number;
}

/** A connection of a cell type's central cell: the other cell type, its sign, the synapses summed over edges. */
export interface Link {
  readonly type: string;
  readonly sign: number;
  readonly synapses: number;
}
