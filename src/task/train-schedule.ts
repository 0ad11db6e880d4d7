// flyvis's HyperParamScheduler (flyvis/solver.py): each scheduled hyper-parameter (lr_net, lr_dec,
// lr_pen, dt, ...) is an array over iterations computed once from its config {function, start,
// stop, steps}, and the value at an iteration is array[iteration] (array[-1] past the end when
// the iteration is at or beyond the schedule's stop_iter). The solver applies the scheduler at
// the start, after every epoch but the last, and at every checkpoint: so within an epoch every
// iteration uses the value of the epoch's first iteration (`epochValue`).
//
// The arrays follow numpy exactly: np.linspace (i * step + start, the last entry set to stop),
// ndarray.repeat with a float count (truncated to an integer, as numpy 1.x casts it) and np.pad
// with the stop value up to n_iterations + 1 entries.

export class ScheduleConfigError extends Error {
  override name = 'ScheduleConfigError';
}

/** One scheduled value's config, flyvis's SchedulerFunction. */
export interface SchedulerFunctionConfig {
  readonly function: string;
  readonly start: number;
  readonly stop: number;
  readonly steps: number;
}

/** np.linspace(start, stop, num) (endpoint included). */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(Math.max(0, num));
  if (num <= 0) return out;
  const div = num - 1;
  const delta = stop - start;
  if (div === 0) {
    out[0] = start;
    return out;
  }
  const step = delta / div;
  for (let i = 0; i < num; i++) out[i] = step === 0 ? ((i / div) * delta) + start : i * step + start;
  out[num - 1] = stop;
  return out;
}

/** values.repeat(count) with numpy's truncation of a float count. */
function repeat(values: ArrayLike<number>, count: number): Float64Array {
  const n = Math.trunc(count);
  if (!(n >= 0)) throw new ScheduleConfigError(`schedule: negative repeat count ${count}`);
  const out = new Float64Array(values.length * n);
  for (let i = 0; i < values.length; i++) out.fill(values[i]!, i * n, (i + 1) * n);
  return out;
}

/** np.pad(f, (before, after), constant_values=value). */
function pad(f: Float64Array, before: number, after: number, value: number): Float64Array {
  if (before < 0 || after < 0) {
    throw new ScheduleConfigError(`schedule: the schedule has ${f.length} entries, more than the ${f.length + before + after} (n_iters + 1) it is padded to`);
  }
  const out = new Float64Array(before + f.length + after).fill(value);
  out.set(f, before);
  return out;
}

const arange = (n: number): Float64Array => Float64Array.from({ length: Math.max(0, n) }, (_, i) => i);

type ScheduleFunction = (stopIter: number, nIterations: number, start: number, stop: number, steps: number) => Float64Array;

/** flyvis's decay options (HyperParamScheduler's static methods), by name. */
export const SCHEDULE_FUNCTIONS: Readonly<Record<string, ScheduleFunction>> = {
  linear: (stopIter, n, start, stop) => {
    const f = linspace(start, stop, stopIter);
    return pad(f, 0, n - f.length + 1, stop);
  },
  stepwise: (stopIter, n, start, stop, steps) => {
    const f = repeat(linspace(start, stop, steps), stopIter / steps);
    return pad(f, 0, n - f.length + 1, stop);
  },
  stepwise_2ndhalf: (stopIter, n, start, stop, steps) => {
    const f = repeat(linspace(start, stop, steps), stopIter / 2 / steps);
    return pad(f, n - f.length + 1, 0, start);
  },
  stepwise_half: (stopIter, n, start, stop, steps) => {
    const f = repeat(linspace(start, stop, steps), stopIter / 2 / steps);
    return pad(f, 0, n - f.length + 1, stop);
  },
  steponential: (stopIter, n, start, stop, steps) => {
    const x = (1 / stop) ** (1 / steps);
    const values = arange(steps).map((k) => start / x ** k);
    const f = repeat(values, stopIter / steps);
    return pad(f, 0, n - f.length + 1, values[values.length - 1]!);
  },
  exponential: (stopIter, n, start, stop) => {
    const tau = -stopIter / (Math.log(stop + 1e-15) - Math.log(start));
    const f = arange(stopIter).map((i) => start * Math.exp(-i / tau));
    return pad(f, 0, n - f.length + 1, stop);
  },
  exponential_half: (stopIter, n, start, stop) => {
    const half = Math.trunc(stopIter / 2);
    const tau = -half / (Math.log(stop) - Math.log(start));
    const f = arange(half).map((i) => start * Math.exp(-i / tau));
    return pad(f, 0, n - f.length + 1, stop);
  },
};

/** A scheduled value: its array over iterations and the iteration its schedule stops at. */
export interface ScheduledValue {
  readonly name: string;
  readonly config: SchedulerFunctionConfig;
  readonly array: Float64Array;
  readonly stopIter: number;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * The arrays of a scheduler config (flyvis's `scheduler` section) for a run of nIters iterations:
 * every entry that is a SchedulerFunction ({function, start, stop, steps}); other entries (such
 * as chkpt_every_epoch) are skipped, as flyvis skips them. `sched_stop_iter` (default nIters)
 * ends the schedules early. Errors name the entry.
 */
export function buildSchedules(scheduler: Readonly<Record<string, unknown>>, nIters: number): Record<string, ScheduledValue> {
  if (!Number.isSafeInteger(nIters) || nIters < 0) throw new ScheduleConfigError(`n_iters: expected an integer >= 0, got ${nIters}`);
  const stopIter = scheduler.sched_stop_iter === undefined ? nIters : Number(scheduler.sched_stop_iter);
  if (!Number.isSafeInteger(stopIter) || stopIter < 0) throw new ScheduleConfigError(`scheduler.sched_stop_iter: expected an integer >= 0, got ${String(scheduler.sched_stop_iter)}`);
  const out: Record<string, ScheduledValue> = {};
  for (const [name, c] of Object.entries(scheduler)) {
    if (!isRecord(c)) continue;
    const keys = Object.keys(c).sort().join(',');
    if (keys !== 'function,start,steps,stop') continue; // not a SchedulerFunction (flyvis skips it)
    const where = `scheduler.${name}`;
    if (typeof c.function !== 'string' || !(c.function in SCHEDULE_FUNCTIONS)) {
      throw new ScheduleConfigError(`${where}.function: expected one of ${Object.keys(SCHEDULE_FUNCTIONS).join(', ')}, got ${JSON.stringify(c.function)}`);
    }
    for (const k of ['start', 'stop'] as const) {
      if (typeof c[k] !== 'number' || !Number.isFinite(c[k])) throw new ScheduleConfigError(`${where}.${k}: expected a finite number, got ${JSON.stringify(c[k])}`);
    }
    if (!Number.isSafeInteger(c.steps) || (c.steps as number) < 1) throw new ScheduleConfigError(`${where}.steps: expected a positive integer, got ${JSON.stringify(c.steps)}`);
    const config = { function: c.function, start: c.start as number, stop: c.stop as number, steps: c.steps as number };
    const array = SCHEDULE_FUNCTIONS[config.function]!(stopIter, nIters, config.start, config.stop, config.steps);
    if (array.some((x) => !Number.isFinite(x))) throw new ScheduleConfigError(`${where}: the schedule has non-finite values (start ${config.start}, stop ${config.stop})`);
    out[name] = { name, config, array, stopIter };
  }
  return out;
}

/** flyvis's scheduler lookup: array[iteration], or the last value at or past stop_iter. */
export function scheduledAt(s: ScheduledValue, iteration: number): number {
  if (iteration < s.array.length) return s.array[iteration]!;
  if (iteration >= s.stopIter) return s.array[s.array.length - 1]!;
  throw new ScheduleConfigError(`scheduler.${s.name}: no value for iteration ${iteration} (the schedule has ${s.array.length})`);
}

/** The value used throughout the epoch holding `iteration` (epochs of `epochLength` iterations). */
export function epochValue(s: ScheduledValue, iteration: number, epochLength: number): number {
  return scheduledAt(s, epochLength * Math.floor(iteration / epochLength));
}
