// `flyvis predict-flow --params CKPT_OR_DIR --movie MOVIE.npy --dt DT [--t-pre SECONDS]
//  --out FLOW.npy` (a contract other checks rely on).
//
// A trained flyvis network and its flow decoder, both from CKPT_OR_DIR (a flyvis checkpoint with
// `network` and `decoder.flow`, or a flyvis network directory: its best checkpoint and the decoder
// config of its _meta.yaml), predict the optic flow of a movie as flyvis's validation does
// (Solver.test): the state after t_pre seconds of grey 0.5 from v = bias (flyvis's
// steady_state(t_pre, dt, batch_size, value=0.5); t_pre 0.25 s by default, Solver.test's), then one
// Euler step per movie frame, and the decoder in evaluation mode on the state after every frame.
// Movie: float32 (samples, frames, 1, hexals). Output: float32 (samples, frames, 2, hexals),
// component 0 = x (rightward), 1 = y (upward), in flyvis's flow units (docs/flow.md), and a
// sidecar FLOW.npy.json like simulate's. Frames are simulated and decoded in chunks (the state
// carried over; evaluation mode treats every frame alone, so chunks change nothing) and streamed
// into the output's temporary file, renamed into place when every frame is done. Bad input: one
// line on stderr, exit 2, nothing written.
import { resolve } from 'node:path';
import { type Tensor, noGrad, stack } from '../autograd/index.ts';
import { connectomeFileOf } from '../graph/paths.ts';
import { npyHeader } from '../io/npy-stream.ts';
import { npyToFloat32, readNpy } from '../io/npy.ts';
import { openOutputs } from '../io/output.ts';
import { describeActivity, encodeSidecar, sidecarPath } from '../io/sidecar.ts';
import { NetworkError, type State } from '../network/network.ts';
import { decode } from '../task/decoder.ts';
import { loadFlowDecoder } from '../task/decoder-source.ts';
import { DecoderError } from '../task/hex-map.ts';
import { formatDuration } from '../train/progress.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand, setInterruptNote } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, connectomeInputs, networkFromOptions, paramsOption } from './common.ts';
import { isDeviceOrPipe } from './simulate.ts';

/** flyvis's Solver.test: steady_state(t_pre=0.25, ...) before every validation movie. */
export const VALIDATION_T_PRE = 0.25;

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption('CKPT_OR_DIR', 'the trained network and its flow decoder: a flyvis checkpoint (network + decoder.flow) or a flyvis network directory (its best checkpoint)'),
  movie: { type: 'string', metavar: 'MOVIE.npy', help: 'float32 movie of shape (samples, frames, 1, hexals)' },
  dt: { type: 'dt', metavar: 'DT', help: 'integration time step in seconds, one movie frame per step, e.g. 0.02 or 1/50' },
  't-pre': { type: 'number', metavar: 'SECONDS', min: 0, default: VALIDATION_T_PRE, help: "seconds of grey 0.5 from v = bias before the movie (flyvis's validation: 0.25)" },
  out: { type: 'string', metavar: 'FLOW.npy', help: 'where to write the flow, float32 (samples, frames, 2, hexals); its description goes to FLOW.npy.json' },
  'chunk-frames': { type: 'integer', metavar: 'F', min: 1, help: 'frames simulated and decoded per chunk (default: about 64 MB of activity per chunk)' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Predicts the optic flow of a movie with a trained flyvis network and its decoder, as flyvis's\n" +
  'validation does: the state after --t-pre seconds of grey, then the decoder (evaluation mode) on\n' +
  'the network after every frame. Writes (samples, frames, 2, hexals): x rightward, y upward.';

/** Activity values per chunk by default: 16 M floats (64 MB). */
const CHUNK_VALUES = 16 * 1024 * 1024;

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'predict-flow',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('predict-flow', SUMMARY, OPTIONS));
        return 0;
      }
      for (const required of ['params', 'movie', 'dt', 'out'] as const) {
        if (o[required] === undefined) {
          throw new UsageError(`--${required} is required${required === 'params' ? ' (a trained flyvis checkpoint or network directory with a flow decoder)' : ''}`);
        }
      }
      const dt = o.dt!;
      const out = o.out!;
      const special = isDeviceOrPipe(out);
      const outs = openOutputs(
        'predict-flow',
        [{ flag: 'out', path: out, example: 'flow.npy' }, ...(special ? [] : [{ id: 'sidecar', flag: 'out', path: sidecarPath(out) }])],
        [{ flag: 'movie', path: o.movie }, ...connectomeInputs(o)],
      );
      try {
        const read = readNpy(o.movie!);
        const movie = { shape: read.shape, data: npyToFloat32(read, o.movie!) };
        const net = await networkFromOptions(o);
        const source = await loadFlowDecoder(o.params!, net.connectome);
        const H = net.stimulus.nInputElements;
        const hexals = source.decoder.geometry.nHexals;
        if (movie.shape.length !== 4 || movie.shape[2] !== 1 || movie.shape[3] !== H) {
          throw new NetworkError(`${o.movie}: movie has shape (${movie.shape.join(', ')}), expected (samples, frames, 1, ${H}) for extent ${o.extent}`);
        }
        const [B, T] = movie.shape as [number, number];
        if (B === 0 || T === 0) {
          throw new NetworkError(`${o.movie}: movie has shape (${movie.shape.join(', ')}), expected at least one sample and one frame`);
        }
        const N = net.nNodes;
        const shape = [B, T, 2, hexals];
        const chunk = Math.min(T, o['chunk-frames'] ?? Math.max(1, Math.floor(CHUNK_VALUES / (B * N))));
        const chunks = Math.ceil(T / chunk);
        const progress = !o.quiet && chunks > 1 ? frameProgress(B * T) : undefined;
        const stream = outs.stream('out');
        const header = npyHeader(shape);
        stream.write(header, 0);
        const warn = (m: string): void => void process.stderr.write(`flyvis predict-flow: warning: ${m}\n`);
        let state: State | null = net.steadyState(o['t-pre'], dt, B);
        const frameValues = 2 * hexals;
        for (let t0 = 0; t0 < T; t0 += chunk) {
          const C = Math.min(chunk, T - t0);
          const part = new Float32Array(B * C * H);
          for (let b = 0; b < B; b++) part.set(movie.data.subarray((b * T + t0) * H, (b * T + t0 + C) * H), b * C * H);
          const states = net.simulate({ data: part, shape: [B, C, 1, H] }, dt, {
            initialState: state,
            asStates: true,
            ...(t0 === 0 ? { onWarning: warn } : { onWarning: () => undefined }),
          }) as State[];
          state = states[C - 1]!;
          const activity = noGrad(() => stack(states.map((s) => s.nodes.activity!), 1)); // (B, C, N)
          states.length = 0;
          const flow = noGrad(() => decode(source.decoder, source.params, activity).output) as Tensor; // (B, C, 2, hexals)
          const data = flow.data as Float32Array;
          for (let b = 0; b < B; b++) {
            const block = data.subarray(b * C * frameValues, (b + 1) * C * frameValues);
            stream.write(new Uint8Array(block.buffer, block.byteOffset, block.byteLength), header.length + (b * T + t0) * frameValues * 4);
          }
          progress?.(B * (t0 + C));
          if (chunks > 1) await new Promise((r) => setImmediate(r)); // let Ctrl-C through between chunks
        }
        if (outs.has('sidecar')) {
          const base = describeActivity({
            producer: 'flyvis predict-flow',
            connectomeFile: connectomeFileOf(o.connectome),
            connectome: net.connectome,
            extent: o.extent,
            nSynFill: o['n-syn-fill'],
            params: resolve(o.params!),
            dt,
            tPre: o['t-pre'],
            shape: [B, T, N],
          });
          outs.stage(
            'sidecar',
            encodeSidecar({
              ...base,
              shape,
              axes: ['samples', 'frames', 'components', 'hexals'],
              movie: resolve(o.movie!),
              checkpoint: source.file,
              decoder: { type: 'DecoderGAVP', config: source.decoder.config, config_from: source.configFrom, mode: 'eval' },
              components: ['x: rightward (increasing v)', 'y: upward'],
              units: "flyvis's flow units (Sintel pixels per Sintel frame / 436, summed over each hexal's 13 x 13 pixels; docs/flow.md)",
              hexal_order: `get_hex_coords(${source.decoder.geometry.extent}): u from -extent to extent, v ascending within`,
            }),
          );
        }
        setInterruptNote('nothing was written');
        outs.commit();
        const sidecar = outs.has('sidecar') ? `; description in ${sidecarPath(out)}` : '';
        process.stdout.write(`flyvis predict-flow: wrote ${out} (float32, shape (${shape.join(', ')}), dt ${dt} s, t_pre ${o['t-pre']} s)${sidecar}\n`);
        return 0;
      } finally {
        outs.release();
      }
    },
    [...BAD_INPUT, DecoderError],
  );
}

/** Progress lines on stderr for a long movie: at the start, then at most every 2 s. */
function frameProgress(total: number): (done: number) => void {
  const started = performance.now();
  let last = started;
  process.stderr.write(`flyvis predict-flow: ${total} frames, decoded in chunks\n`);
  return (done) => {
    const now = performance.now();
    if (done < total && now - last < 2000) return;
    last = now;
    const s = (now - started) / 1000;
    const left = done > 0 ? (s / done) * (total - done) : NaN;
    process.stderr.write(`flyvis predict-flow: ${done}/${total} frames (${((100 * done) / total).toFixed(1)}%)  left ${done >= total ? '0.0s' : formatDuration(left)}\n`);
  };
}
