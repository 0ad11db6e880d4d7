// Analyses over a flyvis ensemble (many trained networks of one task): the per-member result rows
// with a leading `model` column, ensemble summaries per cell type (median, quartiles, range),
// how many experimentally known facts the ensemble predicts (the ON/OFF polarity of 32 cell
// types from the sign of the median FRI; the preferred directions of T4a-d / T5a-d), and a pool
// of worker threads that analyses the members in parallel (one network per thread).
//
// As flyvis: its EnsembleView plots the FRI of flash radius 6 (`flash_response_index(responses,
// radius=6)`), known cell types first (ON, then OFF, then unknown), and the DSI of ON and OFF
// edges per cell type; quartiles here are numpy's default (linear interpolation).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DsiRow, TuningRow } from './dsi.ts';
import type { FriRow } from './fri.ts';
import { KNOWN_POLARITY, PREFERRED_DIRECTIONS, angularDistance, knownDirectionIntensity, polarityOf, type Polarity } from './groundtruth.ts';

/** The flash radius flyvis's ensemble analyses use for the FRI (EnsembleView.flash_response_index). */
export const FLYVIS_FRI_RADIUS = 6;

/** A known preferred direction counts as predicted when the predicted one is nearer to it than to
 * any other of the four cardinal directions flyvis's table uses (less than 45° away). */
export const DIRECTION_TOLERANCE_DEG = 45;

export type EnsembleFriRow = FriRow & { readonly model: string };
export type EnsembleDsiRow = DsiRow & { readonly model: string };
export type EnsembleTuningRow = TuningRow & { readonly model: string };

/** Median, quartiles and range of a sample (numpy's default linear interpolation). */
export interface SampleSummary {
  readonly n: number;
  readonly median: number;
  readonly q1: number;
  readonly q3: number;
  readonly min: number;
  readonly max: number;
}

/** The p-quantile (0..1) of ascending `sorted` values, numpy.quantile's default ('linear'). */
export function quantileSorted(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** n, median, quartiles, min and max of finite values (a non-finite value is a bug upstream: RangeError). */
export function summarize(values: readonly number[]): SampleSummary {
  if (values.length === 0) throw new RangeError('summarize: no values');
  const bad = values.find((x) => !Number.isFinite(x));
  if (bad !== undefined) throw new RangeError(`summarize: ${bad} is not a finite number`);
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, median: quantileSorted(s, 0.5), q1: quantileSorted(s, 0.25), q3: quantileSorted(s, 0.75), min: s[0]!, max: s.at(-1)! };
}

/** Groups rows by a key, in the order keys first appear. */
function groupBy<T>(rows: readonly T[], key: (r: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k);
    if (g === undefined) groups.set(k, [r]);
    else g.push(r);
  }
  return groups;
}

const sign = (x: number): Polarity => (x > 0 ? 1 : x < 0 ? -1 : 0);

/** One cell type's FRI across the members for one flash radius; the columns of fri_summary.csv. */
export interface FriSummaryRow {
  readonly cell_type: string;
  readonly radius: number;
  readonly n_models: number;
  readonly fri_median: number;
  readonly fri_q1: number;
  readonly fri_q3: number;
  readonly fri_min: number;
  readonly fri_max: number;
  /** flyvis's experimentally known polarity: 1 ON, -1 OFF, 0 unknown. */
  readonly known_polarity: Polarity;
  /** The sign of the median FRI: 1 ON, -1 OFF, 0 when the median is 0. */
  readonly predicted_polarity: Polarity;
}

export const FRI_SUMMARY_COLUMNS = [
  'cell_type', 'radius', 'n_models', 'fri_median', 'fri_q1', 'fri_q3', 'fri_min', 'fri_max', 'known_polarity', 'predicted_polarity',
] as const satisfies readonly (keyof FriSummaryRow)[];

/** FRI per cell type and radius across the members (rows in the order they first appear). */
export function friSummary(rows: readonly EnsembleFriRow[]): FriSummaryRow[] {
  return [...groupBy(rows, (r) => `${r.cell_type}\u0000${r.radius}`).values()].map((g) => {
    const s = summarize(g.map((r) => r.fri));
    const { cell_type, radius } = g[0]!;
    return {
      cell_type, radius, n_models: s.n,
      fri_median: s.median, fri_q1: s.q1, fri_q3: s.q3, fri_min: s.min, fri_max: s.max,
      known_polarity: polarityOf(cell_type), predicted_polarity: sign(s.median),
    };
  });
}

/** A mismatch between a known polarity and the sign of the FRI. */
export interface PolarityMismatch {
  readonly cell_type: string;
  readonly known: 1 | -1;
  readonly fri: number;
}

/** How many experimentally known polarities the FRIs predict (`known_polarity` in fri.json). */
export interface KnownPolarityCount {
  /** The flash radius whose FRI is compared (flyvis's ensemble analyses: 6). */
  readonly radius: number;
  /** Cell types with a known polarity present in the results. */
  readonly n_known: number;
  /** Of those, how many have an FRI of the known sign. */
  readonly n_predicted: number;
  /** Those that do not (an FRI of 0 predicts neither). */
  readonly mismatches: readonly PolarityMismatch[];
  /** Cell types with a known polarity that the results lack (not in the connectome). */
  readonly absent: readonly string[];
}

/**
 * Compares the sign of each cell type's FRI at `radius` with flyvis's known polarity (ON > 0,
 * OFF < 0). Takes one FRI per cell type and radius: a single network's rows, or an ensemble's
 * medians (`friSummary(...).map((r) => ({ ...r, fri: r.fri_median }))`). Null when no row has
 * that radius.
 */
export function knownPolarityCount(rows: readonly { readonly cell_type: string; readonly radius: number; readonly fri: number }[], radius = FLYVIS_FRI_RADIUS): KnownPolarityCount | null {
  const at = rows.filter((r) => r.radius === radius);
  if (at.length === 0) return null;
  const fri = new Map<string, number>();
  for (const r of at) {
    if (fri.has(r.cell_type)) throw new RangeError(`knownPolarityCount: ${r.cell_type} has more than one FRI at radius ${radius} (summarize an ensemble first)`);
    fri.set(r.cell_type, r.fri);
  }
  const mismatches: PolarityMismatch[] = [];
  const absent: string[] = [];
  let n = 0;
  for (const [cell_type, known] of Object.entries(KNOWN_POLARITY)) {
    const f = fri.get(cell_type);
    if (f === undefined) {
      absent.push(cell_type);
      continue;
    }
    n++;
    if (sign(f) !== known) mismatches.push({ cell_type, known, fri: f });
  }
  return { radius, n_known: n, n_predicted: n - mismatches.length, mismatches, absent };
}

/** One line saying how many known polarities are predicted, for stdout. */
export function describeKnownPolarity(k: KnownPolarityCount, what: string): string {
  const wrong = k.mismatches.map((m) => `${m.cell_type} (${m.known > 0 ? 'ON' : 'OFF'}, FRI ${m.fri.toFixed(2)})`);
  return `${what} predicts ${k.n_predicted} of ${k.n_known} known ON/OFF polarities (sign of the FRI, flash radius ${k.radius})` +
    (wrong.length > 0 ? `; not: ${wrong.join(', ')}` : '');
}

/** Circular mean direction (degrees, [0, 360)) and mean resultant length (0..1) of directions; null without any. */
export function circularMean(degrees: readonly number[]): { mean: number; resultant: number } | null {
  if (degrees.length === 0) return null;
  let c = 0;
  let s = 0;
  for (const d of degrees) {
    c += Math.cos((d * Math.PI) / 180);
    s += Math.sin((d * Math.PI) / 180);
  }
  c /= degrees.length;
  s /= degrees.length;
  const mean = (((Math.atan2(s, c) * 180) / Math.PI) + 360) % 360;
  return { mean: +mean.toPrecision(12) % 360, resultant: Math.hypot(c, s) };
}

/** One cell type's DSI across the members for one edge intensity; the columns of dsi_summary.csv. */
export interface DsiSummaryRow {
  readonly cell_type: string;
  readonly intensity: number;
  readonly n_models: number;
  readonly dsi_median: number;
  readonly dsi_q1: number;
  readonly dsi_q3: number;
  readonly dsi_min: number;
  readonly dsi_max: number;
  /** Members whose preferred direction is defined (DSI at or above the threshold). */
  readonly n_direction_selective: number;
  /** Circular mean of those members' preferred directions (degrees), null when none. */
  readonly preferred_direction_mean_deg: number | null;
  /** Their mean resultant length: 1 when all agree, near 0 when spread around the circle; null when none. */
  readonly preferred_direction_agreement: number | null;
  /** flyvis's known preferred direction (T4a-d for ON edges, T5a-d for OFF edges), else null. */
  readonly known_preferred_direction_deg: number | null;
  /** Angle between the mean and the known direction (0..180), null when either is undefined. */
  readonly preferred_direction_error_deg: number | null;
}

export const DSI_SUMMARY_COLUMNS = [
  'cell_type', 'intensity', 'n_models', 'dsi_median', 'dsi_q1', 'dsi_q3', 'dsi_min', 'dsi_max', 'n_direction_selective',
  'preferred_direction_mean_deg', 'preferred_direction_agreement', 'known_preferred_direction_deg', 'preferred_direction_error_deg',
] as const satisfies readonly (keyof DsiSummaryRow)[];

/** The known preferred direction of a cell type for edges of this intensity, or null. */
export function knownDirectionOf(cellType: string, intensity: number): number | null {
  const i = knownDirectionIntensity(cellType);
  if (i === null) return null;
  return (i === 1) === (intensity >= 0.5) ? PREFERRED_DIRECTIONS[cellType]! : null;
}

/** DSI and preferred directions per cell type and intensity across the members. */
export function dsiSummary(rows: readonly EnsembleDsiRow[]): DsiSummaryRow[] {
  return [...groupBy(rows, (r) => `${r.cell_type}\u0000${r.intensity}`).values()].map((g) => {
    const s = summarize(g.map((r) => r.dsi));
    const { cell_type, intensity } = g[0]!;
    const defined = g.map((r) => r.preferred_direction_deg).filter((d): d is number => d !== null);
    const pd = circularMean(defined);
    const known = knownDirectionOf(cell_type, intensity);
    return {
      cell_type, intensity, n_models: s.n,
      dsi_median: s.median, dsi_q1: s.q1, dsi_q3: s.q3, dsi_min: s.min, dsi_max: s.max,
      n_direction_selective: defined.length,
      preferred_direction_mean_deg: pd?.mean ?? null,
      preferred_direction_agreement: pd?.resultant ?? null,
      known_preferred_direction_deg: known,
      preferred_direction_error_deg: known !== null && pd !== null ? angularDistance(pd.mean, known) : null,
    };
  });
}

/** One motion-tuned type's known and predicted preferred direction. */
export interface DirectionCheck {
  readonly cell_type: string;
  readonly intensity: number;
  readonly known_deg: number;
  /** The predicted direction (a single network's, or the ensemble's circular mean), null when undefined. */
  readonly predicted_deg: number | null;
  readonly error_deg: number | null;
}

/** How many of flyvis's known T4/T5 preferred directions are predicted (`known_preferred_directions` in dsi.json). */
export interface KnownDirectionCount {
  readonly n_known: number;
  /** Predicted within DIRECTION_TOLERANCE_DEG (nearer to the known direction than to any other cardinal one). */
  readonly n_predicted: number;
  readonly tolerance_deg: number;
  readonly types: readonly DirectionCheck[];
}

/**
 * Compares predicted preferred directions with flyvis's known ones (T4a-d with ON edges, T5a-d
 * with OFF edges). Takes one direction per cell type and intensity: a single network's DSI rows,
 * or an ensemble summary mapped to `{ preferred_direction_deg: preferred_direction_mean_deg }`.
 * Null when none of those types is in the rows.
 */
export function knownDirectionCount(rows: readonly { readonly cell_type: string; readonly intensity: number; readonly preferred_direction_deg: number | null }[]): KnownDirectionCount | null {
  const types: DirectionCheck[] = [];
  for (const r of rows) {
    const known = knownDirectionOf(r.cell_type, r.intensity);
    if (known === null) continue;
    const error = r.preferred_direction_deg === null ? null : angularDistance(r.preferred_direction_deg, known);
    types.push({ cell_type: r.cell_type, intensity: r.intensity, known_deg: known, predicted_deg: r.preferred_direction_deg, error_deg: error });
  }
  if (types.length === 0) return null;
  const n_predicted = types.filter((t) => t.error_deg !== null && t.error_deg < DIRECTION_TOLERANCE_DEG).length;
  return { n_known: types.length, n_predicted, tolerance_deg: DIRECTION_TOLERANCE_DEG, types };
}

/** One line for stdout. */
export function describeKnownDirections(k: KnownDirectionCount, what: string): string {
  const wrong = k.types.filter((t) => !(t.error_deg !== null && t.error_deg < DIRECTION_TOLERANCE_DEG))
    .map((t) => `${t.cell_type} (known ${t.known_deg}°, ${t.predicted_deg === null ? 'undefined' : `${t.predicted_deg.toFixed(0)}°`})`);
  return `${what} predicts ${k.n_predicted} of ${k.n_known} known T4/T5 preferred directions (within ${k.tolerance_deg}°)` +
    (wrong.length > 0 ? `; not: ${wrong.join(', ')}` : '');
}

/** The members' tuning curves as one curve per cell type, intensity and angle: the median of the normalised responses. */
export function medianTuning(rows: readonly EnsembleTuningRow[]): TuningRow[] {
  return [...groupBy(rows, (r) => `${r.cell_type}\u0000${r.intensity}\u0000${r.angle}`).values()].map((g) => {
    const { cell_type, intensity, angle } = g[0]!;
    return {
      cell_type, intensity, angle,
      peak_response: summarize(g.map((r) => r.peak_response)).median,
      normalized: summarize(g.map((r) => r.normalized)).median,
    };
  });
}

// ---- worker pool ----------------------------------------------------------------------------

/** What every member is asked to do (passed to each worker). */
export interface EnsembleJob {
  readonly kind: 'flashes' | 'moving-edges';
  readonly dt: number;
  readonly batchSize: number;
  readonly speeds?: readonly number[] | undefined;
  readonly angles?: readonly number[] | undefined;
  /** Build each member at this extent instead of its config's. */
  readonly extent?: number | undefined;
  /** DSI threshold (moving edges). */
  readonly threshold: number;
  /** The process's input budget, applied in each worker. */
  readonly budget?: { readonly maxMemoryBytes?: number; readonly maxSteps?: number };
  /** The backend (or synapse kernel) each member runs on (default 'auto'); 'webgpu' starts Dawn in each worker. */
  readonly kernel?: string | undefined;
}

/** A member to analyse: its position in the run and its network directory. */
export interface MemberTask {
  readonly index: number;
  readonly dir: string;
}

/** What a worker reports for one member. */
export interface MemberResult {
  readonly index: number;
  /** flyvis's name of the member ('opticflow/000/0000'). */
  readonly name: string;
  readonly checkpoint: string;
  readonly validation_loss: number | null;
  readonly config_changes: readonly string[];
  readonly extent: number;
  readonly n_cell_types: number;
  readonly cell_types: readonly string[];
  readonly fri?: FriRow[];
  readonly dsi?: DsiRow[];
  readonly tuning?: TuningRow[];
}

/** Messages from a worker. */
export type WorkerMessage =
  | { readonly type: 'tick'; readonly n: number }
  | { readonly type: 'status'; readonly index: number; readonly text: string }
  | { readonly type: 'result'; readonly result: MemberResult }
  | { readonly type: 'error'; readonly index: number; readonly name: string; readonly message: string };

/** A member failed in its worker; `errorName` is the class of the error there (ResultsError, AnalysisError, ...). */
export class EnsembleMemberError extends Error {
  override name = 'EnsembleMemberError';
  constructor(
    readonly index: number,
    readonly dir: string,
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export interface EnsemblePoolOptions {
  /** Worker threads (at most one per member). */
  readonly workers: number;
  /** Simulated sample-frames, as they finish. */
  readonly onTick?: (n: number) => void;
  /** A member was started on a worker. */
  readonly onStart?: (task: MemberTask) => void;
  /** What a member's worker is doing (building the network, steady state, ...). */
  readonly onStatus?: (index: number, text: string) => void;
  /** A member's result (in the order members finish). */
  readonly onResult: (result: MemberResult) => void;
}

export interface EnsemblePool {
  /** Resolves when every member is done; rejects with the first failure (the other workers are stopped). */
  readonly done: Promise<void>;
  /** Members started and not finished. */
  running(): number;
  /** Stops every worker now (their members' work is lost); `done` then rejects with EnsemblePoolStopped. */
  terminate(): Promise<void>;
}

/** `done` of a pool stopped by terminate(). */
export class EnsemblePoolStopped extends Error {
  override name = 'EnsemblePoolStopped';
}

/** The worker entry beside this module (src: .ts, run through tsx's loader; dist: .js), and whether it needs tsx. */
function workerEntry(): { url: URL; typescript: boolean } {
  // '../analysis/' also finds it from dist/cjs/index.js (the CommonJS bundle) as dist/analysis/.
  for (const name of ['ensemble-worker.ts', 'ensemble-worker.js']) {
    const url = new URL(`../analysis/${name}`, import.meta.url);
    if (existsSync(fileURLToPath(url))) return { url, typescript: name.endsWith('.ts') };
  }
  throw new Error(`the ensemble worker (ensemble-worker.ts or .js) is missing beside ${fileURLToPath(import.meta.url)}`);
}

/** Starts a worker on the entry; a TypeScript entry (a clone's src/) is loaded through tsx's loader, as bin/flyvis.mjs does. */
function startWorker(job: EnsembleJob): Worker {
  const { url, typescript } = workerEntry();
  if (!typescript) return new Worker(url, { workerData: job });
  let api: string;
  try {
    // tsx's ESM entry (its CommonJS one cannot register the loader inside a worker).
    api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  } catch {
    throw new Error('running the ensemble worker from src/ needs tsx (npm ci installs it), or build dist/ first (npm run build)');
  }
  const code = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(code, { eval: true, workerData: job });
}

/**
 * Analyses the members in `workers` worker threads, one member at a time per worker, in the
 * order given. Each worker loads the member's network (its own config, best checkpoint),
 * simulates the job's stimuli and posts the result rows back.
 */
export function runEnsemblePool(members: readonly MemberTask[], job: EnsembleJob, options: EnsemblePoolOptions): EnsemblePool {
  const queue = [...members];
  const workers: Worker[] = [];
  const current = new Map<Worker, MemberTask>();
  let settled = false;
  let stopped = false;
  let resolveDone!: () => void;
  let rejectDone!: (e: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  const stopAll = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.terminate()));
  };
  const fail = (e: Error): void => {
    if (settled) return;
    settled = true;
    void stopAll().then(() => rejectDone(e), () => rejectDone(e));
  };
  const next = (w: Worker): void => {
    const task = queue.shift();
    if (task === undefined) {
      current.delete(w);
      void w.terminate();
      if (current.size === 0 && !settled) {
        settled = true;
        resolveDone();
      }
      return;
    }
    current.set(w, task);
    options.onStart?.(task);
    w.postMessage({ type: 'member', index: task.index, dir: task.dir });
  };
  const n = Math.max(1, Math.min(options.workers, members.length));
  if (members.length === 0) {
    settled = true;
    resolveDone();
  }
  for (let i = 0; i < n && members.length > 0; i++) {
    let w: Worker;
    try {
      w = startWorker(job);
    } catch (e) {
      fail(e as Error);
      break;
    }
    workers.push(w);
    w.on('message', (m: WorkerMessage) => {
      if (settled) return;
      if (m.type === 'tick') options.onTick?.(m.n);
      else if (m.type === 'status') options.onStatus?.(m.index, m.text);
      else if (m.type === 'result') {
        try {
          options.onResult(m.result);
        } catch (e) {
          fail(e as Error);
          return;
        }
        next(w);
      } else if (m.type === 'error') {
        const task = current.get(w);
        fail(new EnsembleMemberError(m.index, task?.dir ?? '', m.name, m.message));
      }
    });
    w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => {
      if (!settled && current.has(w)) fail(stopped ? new EnsemblePoolStopped('stopped') : new Error(`an ensemble worker stopped (exit code ${code}) while analysing ${current.get(w)!.dir}`));
    });
    next(w);
  }
  return {
    done,
    running: () => current.size,
    async terminate() {
      stopped = true;
      if (!settled) {
        settled = true;
        rejectDone(new EnsemblePoolStopped('stopped'));
      }
      await stopAll();
    },
  };
}
