// `flyvis simulate --connectome FILE --extent N --params CKPT.json --movie MOVIE.npy --dt DT
//  [--t-pre SECONDS] [--kernel NAME] --out ACTIVITY.npy` (a contract other checks rely on).
//
// Movie: float32 (batch, frames, 1, hexals). Initial state: int(t_pre / dt) Euler steps of
// uniform 0.5 input from v = bias (t_pre = 0: v = bias). Output: activity float32
// (batch, frames, n_nodes) as .npy, and its sidecar ACTIVITY.npy.json (connectome, extent, dt,
// t_pre, params, frame times, node order). The movie is simulated in chunks of frames (the
// state carried from one chunk to the next, bit for bit the same as one pass) and each chunk is
// streamed into the output's temporary file, so memory stays near one chunk however long the
// movie; the file is renamed into place only when every frame is done. Outputs are checked
// before any work. Bad input: one line on stderr, exit 2, no output file. Prints what it wrote.
// Simulations run through the network's asynchronous methods, so every backend works, 'webgpu'
// (which reads back only asynchronously) included.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { connectomeFileOf } from '../graph/paths.ts';
import { npyHeader } from '../io/npy-stream.ts';
import { npyToFloat32, readNpy } from '../io/npy.ts';
import { openOutputs } from '../io/output.ts';
import { describeActivity, encodeSidecar, sidecarPath } from '../io/sidecar.ts';
import { NetworkError, type State } from '../network/network.ts';
import { formatDuration } from '../train/progress.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand, setInterruptNote } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, connectomeInputs, networkFromOptions, paramsOption } from './common.ts';
import { acceptedNames } from '../backends/registry.ts';
import { prepareKernel } from './webgpu.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  movie: { type: 'string', metavar: 'MOVIE.npy', help: 'float32 movie of shape (batch, frames, 1, hexals)' },
  dt: { type: 'dt', metavar: 'DT', help: 'integration time step in seconds, e.g. 0.02 or 1/50 (flyvis warns above 1/50)' },
  't-pre': { type: 'number', metavar: 'SECONDS', min: 0, default: 1, help: 'seconds of uniform 0.5 input before the movie, from v = bias' },
  out: { type: 'string', metavar: 'ACTIVITY.npy', help: 'where to write the activity, float32 (batch, frames, n_nodes); its description goes to ACTIVITY.npy.json' },
  'chunk-frames': { type: 'integer', metavar: 'F', min: 1, help: 'frames simulated per chunk (default: about 64 MB of activity per chunk)' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
  kernel: { type: 'string', metavar: 'NAME', default: 'auto', help: `backend or synapse kernel (${acceptedNames().join(', ')}; webgpu: Dawn in Node, the webgpu package)` },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Simulates the network on a movie as flyvis's Network.simulate does, starting from the state\n" +
  'after --t-pre seconds of grey, and writes the activity of every node after each frame, with a\n' +
  'JSON sidecar (ACTIVITY.npy.json) describing it for flyvis plot.';

/** Activity values per chunk by default: 16 M floats (64 MB). */
const CHUNK_VALUES = 16 * 1024 * 1024;

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'simulate',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('simulate', SUMMARY, OPTIONS));
        return 0;
      }
      for (const required of ['movie', 'dt', 'out'] as const) {
        if (o[required] === undefined) throw new UsageError(`--${required} is required`);
      }
      const dt = o.dt!;
      const out = o.out!;
      // A device or pipe (/dev/null, a FIFO) is written in place and gets no sidecar beside it.
      const special = isDeviceOrPipe(out);
      const outs = openOutputs(
        'simulate',
        [{ flag: 'out', path: out, example: 'activity.npy' }, ...(special ? [] : [{ id: 'sidecar', flag: 'out', path: sidecarPath(out) }])],
        [{ flag: 'movie', path: o.movie }, ...connectomeInputs(o)],
      );
      try {
        const read = readNpy(o.movie!);
        const movie = { shape: read.shape, data: npyToFloat32(read, o.movie!) }; // finite after the float32 cast
        await prepareKernel(o.kernel);
        const net = await networkFromOptions(o, { kernel: o.kernel });
        const H = net.stimulus.nInputElements;
        if (movie.shape.length !== 4 || movie.shape[2] !== 1 || movie.shape[3] !== H) {
          throw new NetworkError(
            `${o.movie}: movie has shape (${movie.shape.join(', ')}), expected (batch, frames, 1, ${H}) for extent ${o.extent}`,
          );
        }
        const [B, T] = movie.shape as [number, number];
        if (B === 0 || T === 0) {
          throw new NetworkError(`${o.movie}: movie has shape (${movie.shape.join(', ')}), expected at least one sample and one frame`);
        }
        const N = net.nNodes;
        const shape = [B, T, N];
        const chunk = Math.min(T, o['chunk-frames'] ?? Math.max(1, Math.floor(CHUNK_VALUES / (B * N))));
        const chunks = Math.ceil(T / chunk);
        const progress = !o.quiet && chunks > 1 ? frameProgress(B * T, (B * T * N * 4) / 1e6) : undefined;

        const stream = outs.stream('out');
        const header = npyHeader(shape);
        stream.write(header, 0);
        const warn = (m: string): void => void process.stderr.write(`flyvis simulate: warning: ${m}\n`);
        let state: State | null = await net.steadyStateAsync(o['t-pre'], dt, B);
        for (let t0 = 0; t0 < T; t0 += chunk) {
          const C = Math.min(chunk, T - t0);
          const part = new Float32Array(B * C * H);
          for (let b = 0; b < B; b++) part.set(movie.data.subarray((b * T + t0) * H, (b * T + t0 + C) * H), b * C * H);
          const states = await net.simulateAsync({ data: part, shape: [B, C, 1, H] }, dt, {
            initialState: state,
            asStates: true,
            ...(t0 === 0 ? { onWarning: warn } : { onWarning: () => undefined }),
          }) as State[];
          // Activity (B, C, N) of this chunk, written where it belongs in (B, T, N).
          const block = new Float32Array(C * N);
          for (let b = 0; b < B; b++) {
            for (let c = 0; c < C; c++) block.set(states[c]!.nodes.activity!.data.subarray(b * N, (b + 1) * N), c * N);
            stream.write(new Uint8Array(block.buffer), header.length + (b * T + t0) * N * 4);
          }
          state = states[C - 1]!;
          progress?.(B * (t0 + C));
          if (chunks > 1) await new Promise((r) => setImmediate(r)); // let Ctrl-C through between chunks
        }
        if (outs.has('sidecar')) {
          outs.stage(
            'sidecar',
            encodeSidecar(
              describeActivity({
                producer: 'flyvis simulate',
                connectomeFile: connectomeFileOf(o.connectome),
                connectome: net.connectome,
                extent: o.extent,
                nSynFill: o['n-syn-fill'],
                params: o.params === undefined ? undefined : resolve(o.params),
                dt,
                tPre: o['t-pre'],
                shape,
                extra: { movie: resolve(o.movie!) },
              }),
            ),
          );
        }
        setInterruptNote('nothing was written');
        outs.commit();
        const sidecar = outs.has('sidecar') ? `; description in ${sidecarPath(out)}` : '';
        process.stdout.write(`flyvis simulate: wrote ${out} (float32, shape (${shape.join(', ')}), dt ${dt} s, t_pre ${o['t-pre']} s)${sidecar}\n`);
        return 0;
      } finally {
        outs.release();
      }
    },
    BAD_INPUT,
  );
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

/** Progress lines on stderr for a long simulation: at the start, then at most every 2 s. */
function frameProgress(total: number, megabytes: number): (done: number) => void {
  const started = performance.now();
  let last = started;
  process.stderr.write(`flyvis simulate: ${total} frames (${megabytes.toFixed(0)} MB of activity), streamed to disk in chunks\n`);
  return (done) => {
    const now = performance.now();
    if (done < total && now - last < 2000) return;
    last = now;
    const s = (now - started) / 1000;
    const left = done > 0 ? (s / done) * (total - done) : NaN;
    process.stderr.write(`flyvis simulate: ${done}/${total} frames (${((100 * done) / total).toFixed(1)}%)  left ${done >= total ? '0.0s' : formatDuration(left)}\n`);
  };
}
