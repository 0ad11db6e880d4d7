// `flyvis run [--connectome FILE] [--extent N] [--params CKPT] [--kernel NAME] [--out-dir DIR]`: the
// main job in one command. Simulates a full-field flash as flyvis's flash stimuli do (grey 0.5, then 1.0,
// then 0.0, after t-pre seconds of grey) and writes DIR/activity.npy (1, frames, n_nodes) and
// DIR/responses.svg (central-cell traces), with DIR/activity.npy.json describing the activity
// (connectome, extent, dt, frame times, ...; flyvis plot reads it), printing where they are.
// DIR and its files are checked before the simulation and written together at the end; a
// missing DIR is created only then, so a failure leaves no empty folder. Simulates through the
// network's asynchronous methods, so every --kernel works, webgpu included.
import { basename, join, resolve } from 'node:path';
import { connectomeFileOf } from '../graph/paths.ts';
import { encodeNpy } from '../io/npy.ts';
import { openOutputs } from '../io/output.ts';
import { describeActivity, encodeSidecar } from '../io/sidecar.ts';
import { PlotError, centralTracesSpec } from '../plot/index.ts';
import { checkSimulation } from '../budget.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, KERNEL_OPTION, connectomeInputs, networkFromOptions, paramsOption } from './common.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';
import { defaultCellTypes, plotBytes } from './plot.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  dt: { type: 'dt', metavar: 'DT', default: 0.01, help: 'integration time step in seconds, e.g. 0.01 or 1/100' },
  't-pre': { type: 'number', metavar: 'SECONDS', min: 0, default: 1, help: 'seconds of grey before the movie (steady state)' },
  grey: { type: 'number', metavar: 'SECONDS', min: 0, default: 0.2, help: 'grey (0.5) at the start of the movie' },
  on: { type: 'number', metavar: 'SECONDS', min: 0, default: 0.5, help: 'flash at intensity 1.0' },
  off: { type: 'number', metavar: 'SECONDS', min: 0, default: 0.5, help: 'then intensity 0.0' },
  types: { type: 'string', metavar: 'T1,T2,...', help: 'cell types to plot (default: a few from input to output)' },
  'out-dir': { type: 'string', metavar: 'DIR', default: 'flyvis-run', help: 'where to write activity.npy and responses.svg' },
  ...KERNEL_OPTION,
} as const satisfies OptionSpecs;

const SUMMARY =
  'Simulates a full-field flash (grey 0.5, then 1.0, then 0.0) and writes the activity of every\n' +
  "node (activity.npy) and a plot of the central cells' responses (responses.svg).";

/** The flash movie (1, frames, 1, hexals): grey, on, off, each the given number of frames. */
export function flashMovie(hexals: number, frames: { grey: number; on: number; off: number }): { data: Float32Array; shape: number[] } {
  const T = frames.grey + frames.on + frames.off;
  const data = new Float32Array(T * hexals);
  for (let t = 0; t < T; t++) data.fill(t < frames.grey ? 0.5 : t < frames.grey + frames.on ? 1 : 0, t * hexals, (t + 1) * hexals);
  return { data, shape: [1, T, 1, hexals] };
}

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'run',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('run', SUMMARY, OPTIONS));
        return 0;
      }
      const frames = { grey: Math.round(o.grey / o.dt), on: Math.round(o.on / o.dt), off: Math.round(o.off / o.dt) };
      if (frames.grey + frames.on + frames.off === 0) throw new UsageError('--grey, --on, --off: expected at least one frame in total');
      const files = ['activity.npy', 'activity.npy.json', 'responses.svg'];
      const outs = openOutputs('run', [{ flag: 'out-dir', path: o['out-dir'], kind: 'dir', files }], connectomeInputs(o));
      try {
        const net = await networkFromOptions(o, { kernel: o.kernel });
        const types = o.types === undefined ? defaultCellTypes(net.connectome) : o.types.split(',').map((t) => t.trim()).filter((t) => t !== '');
        const T = frames.grey + frames.on + frames.off;
        // The movie and its activity are allocated here, before the library's own checks.
        checkSimulation(`flash (${T} frames at dt ${o.dt} s)`, { batch: 1, steps: T, nodes: net.nNodes, records: 4 });
        const movie = flashMovie(net.stimulus.nInputElements, frames);
        const warn = (m: string): void => void process.stderr.write(`flyvis run: warning: ${m}\n`);
        const initialState = await net.steadyStateAsync(o['t-pre'], o.dt, 1);
        const activity = (await net.simulateAsync(movie, o.dt, { initialState, onWarning: warn })) as { data: Float32Array; shape: readonly number[] };
        const connectomeFile = connectomeFileOf(o.connectome);
        const name = basename(connectomeFile).replace(/\.json$/i, '');
        const title = `Flash responses (${name}, extent ${o.extent}; on at ${o.grey} s, off at ${o.grey + o.on} s)`;
        const spec = centralTracesSpec(net.connectome, activity, {
          cellTypes: types,
          dt: o.dt,
          title,
          markers: [{ time: o.grey, label: 'on' }, { time: o.grey + o.on, label: 'off' }],
        });
        const sidecar = describeActivity({
          producer: 'flyvis run',
          connectomeFile,
          connectome: net.connectome,
          extent: o.extent,
          nSynFill: o['n-syn-fill'],
          params: o.params === undefined ? undefined : resolve(o.params),
          dt: o.dt,
          tPre: o['t-pre'],
          shape: activity.shape,
          extra: { stimulus: { type: 'flash', grey_s: o.grey, on_s: o.on, off_s: o.off, frames } },
        });
        outs.stage('out-dir', encodeNpy(activity.data, activity.shape), 'activity.npy');
        outs.stage('out-dir', encodeSidecar(sidecar), 'activity.npy.json');
        outs.stage('out-dir', await plotBytes('responses.svg', spec), 'responses.svg');
        outs.commit();
        const dir = resolve(o['out-dir']);
        const [npy, json, svg] = files.map((f) => join(dir, f));
        process.stdout.write(
          `activity: ${npy} (float32, shape (${activity.shape.join(', ')}), dt ${o.dt} s)\nresponses: ${svg} (${types.join(', ')})\ndescription: ${json}\n`,
        );
      } finally {
        outs.release();
      }
      return 0;
    },
    [...BAD_INPUT, PlotError],
  );
}
