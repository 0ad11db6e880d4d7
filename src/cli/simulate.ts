// `flyvis simulate --connectome FILE --extent N --params CKPT.json --movie MOVIE.npy --dt DT
//  [--t-pre SECONDS] --out ACTIVITY.npy` (a contract other checks rely on).
//
// Movie: float32 (batch, frames, 1, hexals). Initial state: int(t_pre / dt) Euler steps of
// uniform 0.5 input from v = bias (t_pre = 0: v = bias). Output: activity float32
// (batch, frames, n_nodes) as .npy, written atomically. Bad input: one line on stderr, exit 2,
// no output file. Without --connectome / --params: the demo connectome, default parameters.
import { resolve } from 'node:path';
import { readNpy, writeNpy } from '../io/npy.ts';
import { Network, NetworkError } from '../network/network.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions, paramsOption } from './common.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  movie: { type: 'string', metavar: 'MOVIE.npy', help: 'float32 movie of shape (batch, frames, 1, hexals)' },
  dt: { type: 'number', metavar: 'DT', help: 'integration time step in seconds (flyvis warns above 1/50)' },
  't-pre': { type: 'number', metavar: 'SECONDS', min: 0, default: 1, help: 'seconds of uniform 0.5 input before the movie, from v = bias' },
  out: { type: 'string', metavar: 'ACTIVITY.npy', help: 'where to write the activity, float32 (batch, frames, n_nodes)' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Simulates the network on a movie as flyvis's Network.simulate does, starting from the state\n" +
  'after --t-pre seconds of grey, and writes the activity of every node after each frame.';

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'simulate',
    () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('simulate', SUMMARY, OPTIONS));
        return 0;
      }
      for (const required of ['movie', 'dt', 'out'] as const) {
        if (o[required] === undefined) throw new UsageError(`--${required} is required`);
      }
      const dt = o.dt!;
      if (!(dt > 0)) throw new UsageError(`--dt: expected a positive number, got '${dt}'`);
      const movie = readNpy(o.movie!);
      const net = networkFromOptions(o);
      if (movie.shape.length !== 4 || movie.shape[2] !== 1 || movie.shape[3] !== net.stimulus.nInputElements) {
        throw new NetworkError(
          `${o.movie}: movie has shape (${movie.shape.join(', ')}), expected (batch, frames, 1, ${net.stimulus.nInputElements}) for extent ${o.extent}`,
        );
      }
      const [B] = movie.shape as [number];
      const initialState = net.steadyState(o['t-pre'], dt, B);
      const activity = net.simulate(movie, dt, {
        initialState,
        onWarning: (m) => process.stderr.write(`flyvis simulate: warning: ${m}\n`),
      }) as { data: Float32Array; shape: readonly number[] };
      writeNpy(resolve(o.out!), activity.data, activity.shape);
      return 0;
    },
    BAD_INPUT,
  );
}
