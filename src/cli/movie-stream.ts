// What `flyvis simulate` and `flyvis predict-flow` share: their movie options, the movie file and
// its checks, the outputs (a file, or a device or pipe written in place without its sidecar), and
// the chunked streaming: the state after --t-pre seconds of grey, then the movie a chunk of frames
// at a time (the state carried from one chunk to the next, bit for bit the same as one pass), each
// chunk's values written where they belong in the output's temporary file, progress on stderr.
// Simulations run through the network's asynchronous methods, so every backend works, 'webgpu'
// (which reads back only asynchronously) included.
import { statSync } from 'node:fs';
import { npyHeader } from '../io/npy-stream.ts';
import { npyToFloat32, readNpy } from '../io/npy.ts';
import { type Outputs, openOutputs } from '../io/output.ts';
import { type ActivitySidecar, encodeSidecar, sidecarPath } from '../io/sidecar.ts';
import { type Network, NetworkError, type State } from '../network/network.ts';
import { formatDuration } from '../train/progress.ts';
import { type OptionSpecs, setInterruptNote } from './args.ts';
import { KERNEL_OPTION, connectomeInputs } from './common.ts';

/** --movie, --dt, --t-pre, --out, --chunk-frames, --quiet, --kernel (each command words some of them its own way). */
export const MOVIE_OPTIONS = {
  movie: { type: 'string', metavar: 'MOVIE.npy', help: 'float32 movie of shape (batch, frames, 1, hexals)' },
  dt: { type: 'dt', metavar: 'DT', help: 'integration time step in seconds, e.g. 0.02 or 1/50 (flyvis warns above 1/50)' },
  't-pre': { type: 'number', metavar: 'SECONDS', min: 0, default: 1, help: 'seconds of uniform 0.5 input before the movie, from v = bias' },
  out: { type: 'string', metavar: 'ACTIVITY.npy', help: 'where to write the activity, float32 (batch, frames, n_nodes); its description goes to ACTIVITY.npy.json' },
  'chunk-frames': { type: 'integer', metavar: 'F', min: 1, help: 'frames simulated per chunk (default: about 64 MB of activity per chunk)' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
  ...KERNEL_OPTION,
} as const satisfies OptionSpecs;

/** Activity values per chunk by default: 16 M floats (64 MB). */
const CHUNK_VALUES = 16 * 1024 * 1024;

interface MovieFlags {
  readonly movie?: string | undefined;
  readonly out?: string | undefined;
  readonly connectome?: string | undefined;
  readonly params?: string | undefined;
}

/**
 * Checks and locks --out (and its sidecar, unless --out is a device or pipe, written in place)
 * before any work; --movie and the connectome / params files must not be among them.
 */
export function openMovieOutputs(command: string, o: MovieFlags, example: string): Outputs {
  const out = o.out!;
  const special = isDeviceOrPipe(out);
  return openOutputs(
    command,
    [{ flag: 'out', path: out, example }, ...(special ? [] : [{ id: 'sidecar', flag: 'out', path: sidecarPath(out) }])],
    [{ flag: 'movie', path: o.movie }, ...connectomeInputs(o)],
  );
}

/** A movie (batch, frames, 1, hexals), float32. */
export interface Movie {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Reads --movie as float32 (finite after the cast, or refused). */
export function readMovie(file: string): Movie {
  const read = readNpy(file);
  return { shape: read.shape, data: npyToFloat32(read, file) };
}

/** Refuses a movie that is not (B >= 1, T >= 1, 1, the network's hexals); `first` names axis 0 ('batch', 'samples'). */
export function checkMovie(movie: Movie, file: string, net: Network, extent: number, first: string): [number, number] {
  const H = net.stimulus.nInputElements;
  if (movie.shape.length !== 4 || movie.shape[2] !== 1 || movie.shape[3] !== H) {
    throw new NetworkError(`${file}: movie has shape (${movie.shape.join(', ')}), expected (${first}, frames, 1, ${H}) for extent ${extent}`);
  }
  const [B, T] = movie.shape as [number, number];
  if (B === 0 || T === 0) throw new NetworkError(`${file}: movie has shape (${movie.shape.join(', ')}), expected at least one sample and one frame`);
  return [B, T];
}

export interface StreamMovieOptions {
  /** 'simulate', 'predict-flow': names progress lines and warnings. */
  readonly command: string;
  readonly net: Network;
  readonly movie: Movie;
  readonly dt: number;
  readonly tPre: number;
  /** --chunk-frames (default: about 64 MB of activity per chunk). */
  readonly chunkFrames?: number | undefined;
  readonly quiet?: boolean | undefined;
  /** The output's shape: (B, T, ...per frame). */
  readonly shape: readonly number[];
  /** What the first progress line says after '<total> frames' (e.g. ', decoded in chunks'). */
  readonly progressNote: (megabytes: number) => string;
  /** A chunk's values to write, (B, C, ...per frame) in order, from its states (C per sample batch). */
  readonly values: (states: State[], B: number, C: number) => Float32Array;
}

/**
 * Streams a movie's values chunk by chunk into `outs`' 'out' (an .npy of `shape`): the state after
 * `tPre` seconds of grey, then each chunk from the state the last one ended in. Ctrl-C gets
 * through between chunks.
 */
export async function streamMovie(outs: Outputs, o: StreamMovieOptions): Promise<void> {
  const { net, movie, dt } = o;
  const [B, T] = movie.shape as [number, number];
  const H = net.stimulus.nInputElements;
  const N = net.nNodes;
  const perFrame = o.shape.slice(2).reduce((a, b) => a * b, 1);
  const chunk = Math.min(T, o.chunkFrames ?? Math.max(1, Math.floor(CHUNK_VALUES / (B * N))));
  const chunks = Math.ceil(T / chunk);
  const progress = !o.quiet && chunks > 1 ? frameProgress(o.command, B * T, o.progressNote((B * T * N * 4) / 1e6)) : undefined;
  const stream = outs.stream('out');
  const header = npyHeader(o.shape);
  stream.write(header, 0);
  const warn = (m: string): void => void process.stderr.write(`flyvis ${o.command}: warning: ${m}\n`);
  let state: State | null = await net.steadyStateAsync(o.tPre, dt, B);
  for (let t0 = 0; t0 < T; t0 += chunk) {
    const C = Math.min(chunk, T - t0);
    const part = new Float32Array(B * C * H);
    for (let b = 0; b < B; b++) part.set(movie.data.subarray((b * T + t0) * H, (b * T + t0 + C) * H), b * C * H);
    const states = (await net.simulateAsync({ data: part, shape: [B, C, 1, H] }, dt, {
      initialState: state,
      asStates: true,
      onWarning: t0 === 0 ? warn : () => undefined,
    })) as State[];
    state = states[C - 1]!;
    const data = o.values(states, B, C);
    states.length = 0;
    for (let b = 0; b < B; b++) {
      const block = data.subarray(b * C * perFrame, (b + 1) * C * perFrame);
      stream.write(new Uint8Array(block.buffer, block.byteOffset, block.byteLength), header.length + (b * T + t0) * perFrame * 4);
    }
    progress?.(B * (t0 + C));
    if (chunks > 1) await new Promise((r) => setImmediate(r)); // let Ctrl-C through between chunks
  }
}

/**
 * Stages the sidecar (`describe()`, unless --out is a device or pipe), commits every output and
 * prints what was written.
 */
export function commitMovie(outs: Outputs, o: { command: string; out: string; shape: readonly number[]; dt: number; tPre: number }, describe: () => ActivitySidecar): void {
  if (outs.has('sidecar')) outs.stage('sidecar', encodeSidecar(describe()));
  setInterruptNote('nothing was written');
  outs.commit();
  const sidecar = outs.has('sidecar') ? `; description in ${sidecarPath(o.out)}` : '';
  process.stdout.write(`flyvis ${o.command}: wrote ${o.out} (float32, shape (${o.shape.join(', ')}), dt ${o.dt} s, t_pre ${o.tPre} s)${sidecar}\n`);
}

/** True when `file` exists and is a character device or named pipe (written in place, no sidecar). */
export function isDeviceOrPipe(file: string): boolean {
  try {
    const s = statSync(file, { throwIfNoEntry: false });
    return s !== undefined && (s.isCharacterDevice() || s.isFIFO());
  } catch {
    return false; // reported by the output checks
  }
}

/** Progress lines on stderr for a long movie: at the start, then at most every 2 s. */
function frameProgress(command: string, total: number, note: string): (done: number) => void {
  const started = performance.now();
  let last = started;
  process.stderr.write(`flyvis ${command}: ${total} frames${note}\n`);
  return (done) => {
    const now = performance.now();
    if (done < total && now - last < 2000) return;
    last = now;
    const s = (now - started) / 1000;
    const left = done > 0 ? (s / done) * (total - done) : NaN;
    process.stderr.write(`flyvis ${command}: ${done}/${total} frames (${((100 * done) / total).toFixed(1)}%)  left ${done >= total ? '0.0s' : formatDuration(left)}\n`);
  };
}
