// Movies on the eye: (samples, frames, 1, hexals) float32 arrays, ready for Network.simulate,
// and flyvis's temporal helpers (rendering/utils.py `resample`, `pad`, `repeat_last`) on
// single movies stored as (frames, hexals).
import { checkPositive, fail } from './errors.ts';

/** One movie: frames x hexals, row-major. */
export interface Frames {
  readonly data: Float32Array;
  readonly shape: readonly [number, number];
}

/** A batch of movies in the layout simulate expects: (samples, frames, 1, hexals). */
export interface Movie {
  readonly data: Float32Array;
  readonly shape: readonly [number, number, 1, number];
}

export const frames = (data: Float32Array, nFrames: number, nHexals: number): Frames => {
  if (data.length !== nFrames * nHexals) fail('frames', `${nFrames * nHexals} values (${nFrames} frames x ${nHexals} hexals)`, data.length);
  return { data, shape: [nFrames, nHexals] };
};

/**
 * flyvis `resample`: int(t_stim / dt) frames, frame k taken from
 * floor(linspace(0, n - 1, int(t_stim / dt))[k]) of the n given frames.
 */
export function resampleIndices(n: number, tStim: number, dt: number): Int32Array {
  checkPositive('dt', dt);
  const m = Math.trunc(tStim / dt);
  const out = new Int32Array(Math.max(0, m));
  for (let k = 0; k < m; k++) out[k] = Math.floor(m === 1 ? 0 : (k * (n - 1)) / (m - 1) + 1e-9);
  return out;
}

export function resample(x: Frames, tStim: number, dt: number): Frames {
  const [n, H] = x.shape;
  const idx = resampleIndices(n, tStim, dt);
  const out = new Float32Array(idx.length * H);
  idx.forEach((i, k) => out.set(x.data.subarray(i * H, (i + 1) * H), k * H));
  return { data: out, shape: [idx.length, H] };
}

export type PadMode = 'value' | 'continue';

/**
 * flyvis `pad`: pads to int(t / dt) frames at the start or end, with `fill` ('value') or by
 * repeating the last frame ('continue'); longer movies are returned unchanged.
 */
export function pad(x: Frames, t: number, dt: number, options: { fill?: number; at?: 'start' | 'end'; mode?: PadMode } = {}): Frames {
  const [n, H] = x.shape;
  const diff = Math.trunc(t / dt) - n;
  if (diff <= 0) return x;
  const out = new Float32Array((n + diff) * H);
  const at = options.at ?? 'end';
  const mode = options.mode ?? 'value';
  if (at === 'start') {
    out.fill(options.fill ?? 0, 0, diff * H);
    out.set(x.data, diff * H);
  } else {
    out.set(x.data, 0);
    if (mode === 'continue' && n > 0) {
      const last = x.data.subarray((n - 1) * H, n * H);
      for (let k = 0; k < diff; k++) out.set(last, (n + k) * H);
    } else out.fill(options.fill ?? 0, n * H);
  }
  return { data: out, shape: [n + diff, H] };
}

/** Constant frames. */
export function constantFrames(nFrames: number, nHexals: number, value: number): Frames {
  return { data: new Float32Array(nFrames * nHexals).fill(value), shape: [nFrames, nHexals] };
}

/** Concatenates movies in time. */
export function concatFrames(parts: readonly Frames[]): Frames {
  const H = parts[0]?.shape[1] ?? 0;
  const n = parts.reduce((s, p) => s + p.shape[0], 0);
  const out = new Float32Array(n * H);
  let off = 0;
  for (const p of parts) {
    if (p.shape[1] !== H) fail('frames', `${H} hexals in every part`, p.shape[1]);
    out.set(p.data, off);
    off += p.data.length;
  }
  return { data: out, shape: [n, H] };
}

/** Stacks equally long movies into (samples, frames, 1, hexals). */
export function stackMovies(items: readonly Frames[]): Movie {
  const [T, H] = items[0]?.shape ?? [0, 0];
  const out = new Float32Array(items.length * T * H);
  items.forEach((m, i) => {
    if (m.shape[0] !== T || m.shape[1] !== H) fail(`movie ${i}`, `shape (${T}, ${H}) like the first`, `(${m.shape.join(', ')})`);
    out.set(m.data, i * T * H);
  });
  return { data: out, shape: [items.length, T, 1, H] };
}
