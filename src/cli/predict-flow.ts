// `flyvis predict-flow --params CKPT_OR_DIR --movie MOVIE.npy --dt DT [--t-pre SECONDS]
//  [--kernel NAME] --out FLOW.npy` (a contract other checks rely on).
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
// into the output's temporary file, renamed into place when every frame is done
// (src/cli/movie-stream.ts, shared with simulate). Simulations run through the network's
// asynchronous methods: every --kernel works, webgpu included. Bad input: one line on stderr,
// exit 2, nothing written.
import { resolve } from 'node:path';
import { type Tensor, noGrad, stack } from '../autograd/index.ts';
import { connectomeFileOf } from '../graph/paths.ts';
import { describeActivity } from '../io/sidecar.ts';
import { decode } from '../task/decoder.ts';
import { loadFlowDecoder } from '../task/decoder-source.ts';
import { DecoderError } from '../task/hex-map.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions, paramsOption } from './common.ts';
import { MOVIE_OPTIONS, checkMovie, commitMovie, openMovieOutputs, readMovie, streamMovie } from './movie-stream.ts';

/** flyvis's Solver.test: steady_state(t_pre=0.25, ...) before every validation movie. */
export const VALIDATION_T_PRE = 0.25;

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption('CKPT_OR_DIR', 'the trained network and its flow decoder: a flyvis checkpoint (network + decoder.flow) or a flyvis network directory (its best checkpoint)'),
  ...MOVIE_OPTIONS,
  movie: { ...MOVIE_OPTIONS.movie, help: 'float32 movie of shape (samples, frames, 1, hexals)' },
  dt: { ...MOVIE_OPTIONS.dt, help: 'integration time step in seconds, one movie frame per step, e.g. 0.02 or 1/50' },
  't-pre': { ...MOVIE_OPTIONS['t-pre'], default: VALIDATION_T_PRE, help: "seconds of grey 0.5 from v = bias before the movie (flyvis's validation: 0.25)" },
  out: { ...MOVIE_OPTIONS.out, metavar: 'FLOW.npy', help: 'where to write the flow, float32 (samples, frames, 2, hexals); its description goes to FLOW.npy.json' },
  'chunk-frames': { ...MOVIE_OPTIONS['chunk-frames'], help: 'frames simulated and decoded per chunk (default: about 64 MB of activity per chunk)' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Predicts the optic flow of a movie with a trained flyvis network and its decoder, as flyvis's\n" +
  'validation does: the state after --t-pre seconds of grey, then the decoder (evaluation mode) on\n' +
  'the network after every frame. Writes (samples, frames, 2, hexals): x rightward, y upward.';

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
      const outs = openMovieOutputs('predict-flow', o, 'flow.npy');
      try {
        const movie = readMovie(o.movie!);
        const net = await networkFromOptions(o, { kernel: o.kernel });
        const source = await loadFlowDecoder(o.params!, net.connectome);
        const hexals = source.decoder.geometry.nHexals;
        const [B, T] = checkMovie(movie, o.movie!, net, o.extent, 'samples');
        const shape = [B, T, 2, hexals];
        await streamMovie(outs, {
          command: 'predict-flow', net, movie, dt, tPre: o['t-pre'], chunkFrames: o['chunk-frames'], quiet: o.quiet, shape,
          progressNote: () => ', decoded in chunks',
          // the decoder (evaluation mode) on every frame's activity: (B, C, 2, hexals)
          values: (states) => {
            const activity = noGrad(() => stack(states.map((s) => s.nodes.activity!), 1)); // (B, C, N)
            states.length = 0;
            return (noGrad(() => decode(source.decoder, source.params, activity).output) as Tensor).data as Float32Array;
          },
        });
        commitMovie(outs, { command: 'predict-flow', out, shape, dt, tPre: o['t-pre'] }, () => ({
          ...describeActivity({
            producer: 'flyvis predict-flow',
            connectomeFile: connectomeFileOf(o.connectome),
            connectome: net.connectome,
            extent: o.extent,
            nSynFill: o['n-syn-fill'],
            params: resolve(o.params!),
            dt,
            tPre: o['t-pre'],
            shape: [B, T, net.nNodes],
          }),
          shape,
          axes: ['samples', 'frames', 'components', 'hexals'],
          movie: resolve(o.movie!),
          checkpoint: source.file,
          decoder: { type: 'DecoderGAVP', config: source.decoder.config, config_from: source.configFrom, mode: 'eval' },
          components: ['x: rightward (increasing v)', 'y: upward'],
          units: "flyvis's flow units (Sintel pixels per Sintel frame / 436, summed over each hexal's 13 x 13 pixels; docs/flow.md)",
          hexal_order: `get_hex_coords(${source.decoder.geometry.extent}): u from -extent to extent, v ascending within`,
        }));
        return 0;
      } finally {
        outs.release();
      }
    },
    [...BAD_INPUT, DecoderError],
  );
}
