// `flyvis plot --activity ACTIVITY.npy [--connectome FILE] [--extent N] [--dt DT]
//  [--types T1,T2,...] [--traces OUT.svg] [--frame-type TYPE] [--frame F] [--frame-out OUT.svg]`
//
// Renders activity written by `flyvis simulate` / `flyvis run` ((batch, frames, n_nodes) float32):
// the central cells' traces of the chosen cell types over time, and one frame of a cell type's
// activity on the hexagonal lattice. .svg (vega), or .png (rasterised by resvg).
import { resolve } from 'node:path';
import { ConnectomeError } from '../graph/load.ts';
import type { Connectome } from '../graph/types.ts';
import { NpyError, readNpy } from '../io/npy.ts';
import { PlotError, centralTracesSpec, hexFrameSpec, writePlot } from '../plot/index.ts';
import { connectomeFromOptions } from './common.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

const OPTIONS = {
  activity: { type: 'string', metavar: 'ACTIVITY.npy', help: 'activity (batch, frames, n_nodes) or (frames, n_nodes), as flyvis simulate writes' },
  connectome: { type: 'string', metavar: 'FILE', help: "connectome description in flyvis's JSON schema (default: the built-in synthetic demo)" },
  extent: { type: 'integer', metavar: 'N', min: 0, default: 15, help: 'lattice radius the activity was simulated at' },
  'n-syn-fill': { type: 'number', metavar: 'X', min: 0, default: 1, help: 'as given to simulate' },
  dt: { type: 'number', metavar: 'DT', default: 0.02, help: 'seconds per frame (time axis)' },
  sample: { type: 'integer', metavar: 'I', min: 0, default: 0, help: 'which sample of the batch' },
  types: { type: 'string', metavar: 'T1,T2,...', help: 'cell types whose central cells to trace (default: a few from input to output)' },
  traces: { type: 'string', metavar: 'OUT.svg', help: 'write the traces plot here (.svg or .png)' },
  'frame-type': { type: 'string', metavar: 'TYPE', help: 'cell type for the lattice plot (default: the first of --types)' },
  frame: { type: 'string', metavar: 'F', default: '-1', help: 'frame index for the lattice plot (negative counts from the end)' },
  'frame-out': { type: 'string', metavar: 'OUT.svg', help: 'write the lattice plot here (.svg or .png)' },
} as const satisfies OptionSpecs;

const SUMMARY =
  "Plots activity: the central cells' traces of chosen cell types over time (--traces) and one\n" +
  "frame of a cell type's activity on the hexagonal lattice (--frame-out). SVG, or PNG by extension.";

const PREFERRED = ['R1', 'L1', 'L2', 'L3', 'Mi1', 'Tm3', 'Mi4', 'Mi9', 'T4a', 'T5a'];

/** A few cell types from input to output: flyvis's usual ones where present, otherwise the first six. */
export function defaultCellTypes(connectome: Connectome): string[] {
  const have = PREFERRED.filter((t) => connectome.layerIndex.has(t));
  return have.length >= 2 ? have : connectome.uniqueCellTypes.slice(0, 6);
}

const checkOut = (flag: string, file: string): string => {
  if (!/\.(svg|png)$/i.test(file)) throw new UsageError(`--${flag}: expected a file name ending in .svg or .png, got '${file}'`);
  return resolve(file);
};

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
      if (!(o.dt > 0)) throw new UsageError(`--dt: expected a positive number, got '${o.dt}'`);
      const frame = /^-?\d+$/.test(o.frame) ? Number(o.frame) : NaN;
      if (!Number.isSafeInteger(frame)) throw new UsageError(`--frame: expected an integer, got '${o.frame}'`);
      const traces = o.traces === undefined ? undefined : checkOut('traces', o.traces);
      const frameOut = o['frame-out'] === undefined ? undefined : checkOut('frame-out', o['frame-out']);
      const connectome = connectomeFromOptions(o);
      const activity = readNpy(o.activity);
      const types = o.types === undefined ? defaultCellTypes(connectome) : o.types.split(',').map((t) => t.trim()).filter((t) => t !== '');
      // Build every spec before writing anything, so bad input leaves no files.
      const specs: [string, Parameters<typeof writePlot>[1]][] = [];
      if (traces !== undefined) specs.push([traces, centralTracesSpec(connectome, activity, { cellTypes: types, dt: o.dt, sample: o.sample })]);
      if (frameOut !== undefined) {
        const cellType = o['frame-type'] ?? types[0]!;
        specs.push([frameOut, hexFrameSpec(connectome, activity, { cellType, frame, sample: o.sample })]);
      }
      for (const [file, spec] of specs) {
        await writePlot(file, spec);
        process.stdout.write(`${file}\n`);
      }
      return 0;
    },
    [ConnectomeError, NpyError, PlotError],
  );
}
