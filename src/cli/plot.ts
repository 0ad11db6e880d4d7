// `flyvis plot --activity ACTIVITY.npy [--connectome FILE] [--extent N] [--dt DT]
//  [--types T1,T2,...] [--traces OUT.svg] [--frame-type TYPE] [--frame F] [--frame-out OUT.svg]`
//
// Renders activity written by `flyvis simulate` / `flyvis run` ((batch, frames, n_nodes) float32):
// the central cells' traces of the chosen cell types over time, and one frame of a cell type's
// activity on the hexagonal lattice. .svg (vega), or .png (rasterised by resvg).
//
// The activity's sidecar (ACTIVITY.npy.json, written beside it by simulate, run and fit) is the
// truth: connectome, extent, n_syn_fill, dt and the frame times come from it, and a flag that
// contradicts it is refused, naming the run that wrote the file. Without a sidecar the flags
// are used, and the defaults (extent 15, dt 0.02) with a warning.
import { existsSync } from 'node:fs';
import { nodesDigest } from '../graph/digest.ts';
import { DEFAULT_CONNECTOME_FILE, connectomeFileOf } from '../graph/paths.ts';
import type { Connectome } from '../graph/types.ts';
import { readNpy } from '../io/npy.ts';
import { openOutputs } from '../io/output.ts';
import { type ActivitySidecar, SidecarError, describeProducer, readSidecar, sidecarPath } from '../io/sidecar.ts';
import { PlotError, centralTracesSpec, hexFrameSpec, renderSVG, svgToPNG, type TopLevelSpec } from '../plot/index.ts';
import { BAD_INPUT, connectomeFromOptions } from './common.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

const DEFAULT_EXTENT = 15;
const DEFAULT_DT = 0.02;
const DEFAULT_N_SYN_FILL = 1;

const OPTIONS = {
  activity: { type: 'string', metavar: 'ACTIVITY.npy', help: 'activity (batch, frames, n_nodes) or (frames, n_nodes), as flyvis simulate writes' },
  connectome: { type: 'string', metavar: 'FILE', help: "connectome description (default: from ACTIVITY.npy.json, else flyvis's fib25-fib19_v2.2.json; 'demo': the synthetic demo)" },
  extent: { type: 'integer', metavar: 'N', min: 0, help: `lattice radius the activity was simulated at (default: from ACTIVITY.npy.json, else ${DEFAULT_EXTENT})` },
  'n-syn-fill': { type: 'number', metavar: 'X', min: 0, max: 3.4e38, help: `as given to simulate (default: from ACTIVITY.npy.json, else ${DEFAULT_N_SYN_FILL})` },
  dt: { type: 'dt', metavar: 'DT', help: `seconds per frame, e.g. 0.01 or 1/100 (default: from ACTIVITY.npy.json, else ${DEFAULT_DT})` },
  sample: { type: 'integer', metavar: 'I', min: 0, default: 0, help: 'which sample of the batch' },
  types: { type: 'string', metavar: 'T1,T2,...', help: 'cell types whose central cells to trace (default: a few from input to output)' },
  traces: { type: 'string', metavar: 'OUT.svg', help: 'write the traces plot here (.svg or .png)' },
  'frame-type': { type: 'string', metavar: 'TYPE', help: 'cell type for the lattice plot (default: the first of --types)' },
  frame: { type: 'string', metavar: 'F', default: '-1', help: 'frame index for the lattice plot (negative counts from the end)' },
  'frame-out': { type: 'string', metavar: 'OUT.svg', help: 'write the lattice plot here (.svg or .png)' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Plots activity: the central cells' traces of chosen cell types over time (--traces) and one\n" +
  "frame of a cell type's activity on the hexagonal lattice (--frame-out). SVG, or PNG by extension.\n" +
  'Connectome, extent and dt come from the activity\'s sidecar (ACTIVITY.npy.json) when there is one.';

const PREFERRED = ['R1', 'L1', 'L2', 'L3', 'Mi1', 'Tm3', 'Mi4', 'Mi9', 'T4a', 'T5a'];

/** A few cell types from input to output: flyvis's usual ones where present, otherwise the first six. */
export function defaultCellTypes(connectome: Connectome): string[] {
  const have = PREFERRED.filter((t) => connectome.layerIndex.has(t));
  return have.length >= 2 ? have : connectome.uniqueCellTypes.slice(0, 6);
}

/** Bytes of a plot: PNG when the name ends in .png, SVG otherwise. */
export async function plotBytes(file: string, spec: TopLevelSpec): Promise<string | Uint8Array> {
  const svg = await renderSVG(spec);
  return file.toLowerCase().endsWith('.png') ? svgToPNG(svg) : svg;
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

interface Resolved {
  readonly connectome: Connectome;
  readonly dt: number;
  readonly t0: number | undefined;
  /** What was assumed for lack of a sidecar (printed once the plots are written). */
  readonly warning?: string | undefined;
}

/**
 * Connectome, dt and first frame time for plotting `o.activity`: from its sidecar when there is
 * one (a contradicting flag is refused, naming the run that wrote the file), else from the
 * flags and the defaults (with a warning on stderr).
 */
export function plotSettings(
  o: { connectome?: string | undefined; extent?: number | undefined; 'n-syn-fill'?: number | undefined; dt?: number | undefined; activity: string },
  sidecar: ActivitySidecar | undefined,
): Resolved {
  if (sidecar === undefined) {
    const assumed = [
      ...(o.connectome === undefined ? [`--connectome ${DEFAULT_CONNECTOME_FILE}`] : []),
      ...(o.extent === undefined ? [`--extent ${DEFAULT_EXTENT}`] : []),
      ...(o.dt === undefined ? [`--dt ${DEFAULT_DT}`] : []),
    ];
    const warning = assumed.length === 0
      ? undefined
      : `${o.activity} has no sidecar (${sidecarPath(o.activity)}); assuming ${assumed.join(' and ')} (give them to silence this)`;
    const connectome = connectomeFromOptions({ connectome: o.connectome, extent: o.extent ?? DEFAULT_EXTENT, 'n-syn-fill': o['n-syn-fill'] ?? DEFAULT_N_SYN_FILL });
    return { connectome, dt: o.dt ?? DEFAULT_DT, t0: undefined, warning };
  }
  const from = `${o.activity} was written by ${describeProducer(sidecar)}`;
  const contradicts = (flag: string, given: number, recorded: number): void => {
    if (!close(given, recorded)) throw new UsageError(`--${flag} ${given} contradicts ${sidecarPath(o.activity)}: ${from}; drop --${flag} or pass ${recorded}`);
  };
  if (o.extent !== undefined) contradicts('extent', o.extent, sidecar.extent);
  if (o['n-syn-fill'] !== undefined) contradicts('n-syn-fill', o['n-syn-fill'], sidecar.n_syn_fill);
  if (o.dt !== undefined) contradicts('dt', o.dt, sidecar.dt);
  let file = o.connectome;
  if (file === undefined) {
    file = connectomeFileOf(sidecar.connectome); // an absolute path ('demo' in older sidecars)
    if (!existsSync(file)) {
      throw new UsageError(`${sidecarPath(o.activity)}: the connectome ${sidecar.connectome} it names is missing; pass --connectome`);
    }
  }
  const connectome = connectomeFromOptions({ connectome: file, extent: sidecar.extent, 'n-syn-fill': sidecar.n_syn_fill });
  if (o.connectome !== undefined && nodesDigest(connectome) !== sidecar.node_order.nodes_sha256) {
    const found = connectomeFileOf(o.connectome);
    throw new UsageError(`--connectome ${o.connectome} contradicts ${sidecarPath(o.activity)}: ${from}, and ${found} gives other nodes; drop --connectome`);
  }
  return { connectome, dt: sidecar.dt, t0: sidecar.frame_times.first_s, warning: undefined };
}

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'plot',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('plot', SUMMARY, OPTIONS));
        return 0;
      }
      if (o.activity === undefined) throw new UsageError('--activity is required');
      if (o.traces === undefined && o['frame-out'] === undefined) throw new UsageError('expected --traces and/or --frame-out (where to write the plots)');
      const frame = /^-?\d+$/.test(o.frame) ? Number(o.frame) : NaN;
      if (!Number.isSafeInteger(frame)) throw new UsageError(`--frame: expected an integer, got '${o.frame}'`);
      const ext = ['.svg', '.png'];
      const outs = openOutputs(
        'plot',
        [
          { flag: 'traces', path: o.traces, extensions: ext },
          { flag: 'frame-out', path: o['frame-out'], extensions: ext },
        ],
        [{ flag: 'activity', path: o.activity }, { flag: 'connectome', path: o.connectome }],
      );
      try {
        const activity = readNpy(o.activity);
        const sidecar = readSidecar(o.activity, activity.shape);
        const { connectome, dt, t0, warning } = plotSettings({ ...o, activity: o.activity }, sidecar);
        if (activity.shape.length >= 2 && activity.shape[activity.shape.length - 2] === 0) {
          throw new UsageError(`--activity ${o.activity}: has shape (${activity.shape.join(', ')}), expected at least one frame`);
        }
        const types = o.types === undefined ? defaultCellTypes(connectome) : o.types.split(',').map((t) => t.trim()).filter((t) => t !== '');
        // Build and render every plot before writing anything, so bad input leaves no files.
        const traces = { cellTypes: types, dt, sample: o.sample, ...(t0 === undefined ? {} : { t0 }) };
        if (o.traces !== undefined) outs.stage('traces', await plotBytes(o.traces, centralTracesSpec(connectome, activity, traces)));
        if (o['frame-out'] !== undefined) {
          const cellType = o['frame-type'] ?? types[0]!;
          outs.stage('frame-out', await plotBytes(o['frame-out'], hexFrameSpec(connectome, activity, { cellType, frame, sample: o.sample, dt, ...(t0 === undefined ? {} : { t0 }) })));
        }
        const written = outs.commit();
        if (warning !== undefined) process.stderr.write(`flyvis plot: warning: ${warning}\n`);
        for (const file of written) process.stdout.write(`${file}\n`);
        return 0;
      } finally {
        outs.release();
      }
    },
    [...BAD_INPUT, PlotError, SidecarError],
  );
}
