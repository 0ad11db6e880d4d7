// `flyvis analyze flashes|moving-edges [--connectome FILE] [--extent N] [--params CKPT.json]
//  [--dt DT] [--batch-size B] [--speeds S,...] [--angles A,...] --out DIR`
//
// Renders flyvis's standard stimuli onto the network's eye, simulates them through
// Network.stimulusResponse (a progress bar on stderr) and writes, per cell type (central
// cell), the flash response index (fri.csv, fri.json, fri.svg) or the direction selectivity
// index and preferred direction (dsi.csv, dsi.json, dsi.svg, tuning.csv, tuning.svg).
// Output is all-or-nothing: a new DIR is filled in a temporary directory and renamed; into an
// existing DIR every file is written atomically and removed again if a later one fails.
// Bad input: one line on stderr, exit 2, no output.
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.ts';
import { Network } from '../network/network.ts';
import { AnalysisError, flashResponseIndex, type FriRow } from '../analysis/fri.ts';
import { directionSelectivityIndex } from '../analysis/dsi.ts';
import { dsiBarChart, friBarChart, polarTuning } from '../analysis/plots.ts';
import { renderSVG } from '../plot/render.ts';
import { progressBar, silentProgress } from '../analysis/progress.ts';
import { computeResponses, workOf } from '../analysis/responses.ts';
import { tableOf, toCsv, toJson } from '../analysis/table.ts';
import { Flashes, MovingEdge, type StimulusDataset } from '../stimuli/datasets.ts';
import { StimulusParamError } from '../stimuli/errors.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions, paramsOption } from './common.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

/** Default integration step: flyvis's 1/200 for both analyses (see docs/analysis.md for timings). */
export const DEFAULT_DT = { flashes: 1 / 200, 'moving-edges': 1 / 200 } as const;

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  dt: { type: 'string', metavar: 'DT', help: "integration time step in seconds, e.g. 0.005 or 1/100 (default: flyvis's 1/200)" },
  'batch-size': { type: 'integer', metavar: 'B', min: 1, default: 4, help: 'movies simulated together' },
  speeds: { type: 'string', metavar: 'S,...', help: 'moving-edges: edge speeds in columns/s (default 2.4,4.8,9.7,13,19,25)' },
  angles: { type: 'string', metavar: 'A,...', help: 'moving-edges: directions in degrees (default 0,30,...,330)' },
  quiet: { type: 'boolean', help: 'no progress bar' },
  out: { type: 'string', metavar: 'DIR', help: 'directory for the result tables (CSV, JSON) and plots (SVG)' },
} as const satisfies OptionSpecs;

const SUMMARY =
  'Runs a standard experiment on the network and writes per-cell-type results:\n' +
  '  flashes       ON/OFF flashes (full field and radius 6), flash response index FRI\n' +
  '  moving-edges  ON/OFF edges in 12 directions at 6 speeds, direction selectivity index DSI\n' +
  '                and preferred direction';

const KINDS = ['flashes', 'moving-edges'] as const;
type Kind = (typeof KINDS)[number];

function parseDt(text: string | undefined, kind: Kind): number {
  if (text === undefined) return DEFAULT_DT[kind];
  const m = /^\s*([0-9.eE+-]+)\s*(?:\/\s*([0-9.eE+-]+)\s*)?$/.exec(text);
  const value = m ? Number(m[1]) / (m[2] === undefined ? 1 : Number(m[2])) : NaN;
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`--dt: expected a positive number such as 0.005 or 1/200, got '${text}'`);
  return value;
}

function parseList(name: string, text: string | undefined, positive: boolean): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map(Number);
  if (parts.some((p) => p === '') || values.some((v) => !Number.isFinite(v) || (positive && !(v > 0)))) {
    throw new UsageError(`--${name}: expected a comma-separated list of ${positive ? 'positive ' : ''}numbers, got '${text}'`);
  }
  if (new Set(values).size !== values.length) throw new UsageError(`--${name}: repeated value in '${text}'`);
  return values;
}

/** Writes name -> contents into dir, all or nothing. */
export function writeOutputs(dir: string, files: ReadonlyMap<string, string>): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--out: ${dir} exists and is not a directory`);
    const written: string[] = [];
    try {
      for (const [name, text] of files) {
        writeFileAtomic(join(dir, name), text);
        written.push(name);
      }
    } catch (e) {
      for (const name of written) rmSync(join(dir, name), { force: true });
      throw e;
    }
    return;
  }
  const parent = dirname(dir);
  if (!existsSync(parent)) throw new UsageError(`--out: parent directory ${parent} does not exist`);
  const tmp = join(parent, `.${basename(dir)}.${process.pid}.${Date.now()}.tmp`);
  try {
    mkdirSync(tmp);
    for (const [name, text] of files) writeFileAtomic(join(tmp, name), text);
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'analyze',
    async () => {
      const { options: o, positionals, help } = parseArgs(argv, OPTIONS, { maxPositionals: 1 });
      if (help) {
        process.stdout.write(formatHelp('analyze flashes|moving-edges', SUMMARY, OPTIONS));
        return 0;
      }
      const kind = positionals[0] as Kind | undefined;
      if (kind === undefined || !KINDS.includes(kind)) {
        throw new UsageError(`expected an experiment, one of ${KINDS.join(', ')}${kind === undefined ? '' : `; got '${kind}'`}`);
      }
      if (o.out === undefined) throw new UsageError('--out is required');
      const dt = parseDt(o.dt, kind);
      const speeds = parseList('speeds', o.speeds, true);
      const angles = parseList('angles', o.angles, false);
      if (kind === 'flashes' && (speeds || angles)) throw new UsageError('--speeds and --angles apply to moving-edges only');
      const out = resolve(o.out);
      if (existsSync(out) && !statSync(out).isDirectory()) throw new UsageError(`--out: ${out} exists and is not a directory`);
      if (!existsSync(dirname(out))) throw new UsageError(`--out: parent directory ${dirname(out)} does not exist`);

      const started = Date.now();
      const net = networkFromOptions(o);
      const extent = o.extent;
      const dataset: StimulusDataset =
        kind === 'flashes'
          ? new Flashes({ extent, dt })
          : new MovingEdge({ extent, dt, ...(speeds ? { speeds } : {}), ...(angles ? { angles } : {}) });
      if (dt > 1 / 50) process.stderr.write(`flyvis analyze: warning: dt=${dt} is very large for integration (flyvis warns above 1/50)\n`);
      const total = workOf(dataset, dt);
      const progress = o.quiet ? silentProgress : progressBar(`${kind} (${dataset.length} movies)`, total);
      const responses = computeResponses(net, dataset, { dt, batchSize: o['batch-size'], progress });
      const cellTypes = net.connectome.uniqueCellTypes;
      const meta = {
        experiment: kind,
        dt,
        extent,
        connectome: o.connectome ?? 'demo (synthetic)',
        params: o.params ?? 'flyvis initialization',
        n_cell_types: cellTypes.length,
        stimulus_config: dataset.config,
        cells: 'central',
      };
      const files = new Map<string, string>();
      if (kind === 'flashes') {
        const rows: FriRow[] = flashResponseIndex(responses);
        const table = tableOf(rows, ['cellType', 'radius', 'fri', 'onPeak', 'offPeak'], ['cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
        files.set('fri.csv', toCsv(table));
        files.set('fri.json', toJson(table, { ...meta, definition: 'FRI = (r_on - r_off) / (r_on + r_off), peaks over -dt <= t <= t_stim after shifting by |min| (flyvis flash_response_index)' }));
        files.set('fri.svg', await renderSVG(friBarChart(rows, cellTypes)));
      } else {
        const { dsi, tuning } = directionSelectivityIndex(responses);
        const table = tableOf(dsi, ['cellType', 'intensity', 'dsi', 'preferredDirection'], ['cell_type', 'intensity', 'dsi', 'preferred_direction_deg']);
        files.set('dsi.csv', toCsv(table));
        files.set('dsi.json', toJson(table, { ...meta, definition: 'DSI = |sum_theta r e^{i theta}| / max_intensity sum_theta |r|, peak rectified responses, averaged over speeds (flyvis direction_selectivity_index)' }));
        files.set('dsi.svg', await renderSVG(dsiBarChart(dsi, cellTypes)));
        files.set('tuning.csv', toCsv(tableOf(tuning, ['cellType', 'intensity', 'angle', 'response', 'normalized'], ['cell_type', 'intensity', 'angle', 'peak_response', 'normalized'])));
        files.set('tuning.svg', await renderSVG(polarTuning(tuning, cellTypes)));
      }
      writeOutputs(out, files);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`flyvis analyze ${kind}: ${cellTypes.length} cell types, ${dataset.length} movies at dt=${dt}; wrote ${[...files.keys()].join(', ')} to ${out} in ${seconds} s\n`);
      return 0;
    },
    [...BAD_INPUT, StimulusParamError, AnalysisError],
  );
}
