// `flyvis simulate --connectome FILE --extent N --params CKPT.json --movie MOVIE.npy --dt DT
//  [--t-pre SECONDS] --out ACTIVITY.npy` (a contract other checks rely on).
//
// Movie: float32 (batch, frames, 1, hexals). Initial state: int(t_pre / dt) Euler steps of
// uniform 0.5 input from v = bias (t_pre = 0: v = bias). Output: activity float32
// (batch, frames, n_nodes) as .npy, written atomically. Bad input: one line on stderr, exit 2,
// no output file. Without --connectome / --params: the demo connectome, default parameters.
import { resolve } from 'node:path';
import { compileConnectome } from '../graph/compile.ts';
import { demoConnectomePath } from '../graph/demo.ts';
import { ConnectomeError, loadConnectomeSpec } from '../graph/load.ts';
import { CheckpointError, ParameterConfigError } from '../init/index.ts';
import { JsonFileError } from '../io/json.ts';
import { NpyError, readNpy, writeNpy } from '../io/npy.ts';
import { Network, NetworkError } from '../network/network.ts';
import { StimulusError } from '../network/stimulus.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

const OPTIONS = {
  connectome: { type: 'string', metavar: 'FILE', help: "connectome description in flyvis's JSON schema (default: the built-in synthetic demo)" },
  extent: { type: 'integer', metavar: 'N', min: 0, default: 15, help: 'lattice radius, in columns' },
  'n-syn-fill': { type: 'number', metavar: 'X', min: 0, default: 1, help: 'synapse count given to offsets filled into the convex hull' },
  params: { type: 'string', metavar: 'CKPT.json', help: "checkpoint in flyvis's state_dict naming (default: flyvis's initialization)" },
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
      const net = Network.fromConnectome(compileConnectome(loadConnectomeSpec(o.connectome ?? demoConnectomePath), o.extent, o['n-syn-fill']));
      if (o.params !== undefined) net.loadCheckpoint(o.params);
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
    [ConnectomeError, JsonFileError, NpyError, CheckpointError, ParameterConfigError, NetworkError, StimulusError],
  );
}
