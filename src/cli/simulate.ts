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
// (which reads back only asynchronously) included (src/cli/movie-stream.ts, shared with
// predict-flow).
import { resolve } from 'node:path';
import { connectomeFileOf } from '../graph/paths.ts';
import { describeActivity } from '../io/sidecar.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions, paramsOption } from './common.ts';
import { MOVIE_OPTIONS, checkMovie, commitMovie, isDeviceOrPipe, openMovieOutputs, readMovie, streamMovie } from './movie-stream.ts';

export { isDeviceOrPipe };

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  ...MOVIE_OPTIONS,
} as const satisfies OptionSpecs;

const SUMMARY =
  "Simulates the network on a movie as flyvis's Network.simulate does, starting from the state\n" +
  'after --t-pre seconds of grey, and writes the activity of every node after each frame, with a\n' +
  'JSON sidecar (ACTIVITY.npy.json) describing it for flyvis plot.';

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
      const outs = openMovieOutputs('simulate', o, 'activity.npy');
      try {
        const movie = readMovie(o.movie!);
        const net = await networkFromOptions(o, { kernel: o.kernel });
        const [B, T] = checkMovie(movie, o.movie!, net, o.extent, 'batch');
        const N = net.nNodes;
        const shape = [B, T, N];
        await streamMovie(outs, {
          command: 'simulate', net, movie, dt, tPre: o['t-pre'], chunkFrames: o['chunk-frames'], quiet: o.quiet, shape,
          progressNote: (mb) => ` (${mb.toFixed(0)} MB of activity), streamed to disk in chunks`,
          // the activity (B, C, N) of a chunk
          values: (states, B, C) => {
            const block = new Float32Array(B * C * N);
            for (let b = 0; b < B; b++) {
              for (let c = 0; c < C; c++) block.set(states[c]!.nodes.activity!.data.subarray(b * N, (b + 1) * N), (b * C + c) * N);
            }
            return block;
          },
        });
        commitMovie(outs, { command: 'simulate', out, shape, dt, tPre: o['t-pre'] }, () => describeActivity({
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
        }));
        return 0;
      } finally {
        outs.release();
      }
    },
    BAD_INPUT,
  );
}
