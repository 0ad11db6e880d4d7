// `flyvis analyze flashes|moving-edges [--connectome FILE] [--extent N] [--params CKPT.json]
//  [--dt DT] [--batch-size B] [--speeds S,...] [--angles A,...] [--dsi-threshold X] [--resume]
//  [--kernel NAME] [--quiet] --out DIR`
//
// Renders flyvis's standard stimuli onto the network's eye, simulates them (a progress bar on
// stderr from the start) and writes, per cell type (central cell), the flash response index
// (fri.csv, fri.json, fri.svg) or the direction selectivity index and preferred direction
// (dsi.csv, dsi.json, dsi.svg, tuning.csv, tuning.svg). Simulations run through the network's
// asynchronous methods (computeResponsesAsync), so every --kernel works, webgpu included.
//
// Truthful results: without --params the network is untrained (flyvis's initialization) and
// every output says so; a DSI below --dsi-threshold has no preferred direction (empty in CSV,
// null in JSON, flagged, marked in the plots, counted on stdout); a result that is not finite
// is refused (exit 2), never reported.
//
// Resumable: the responses of each finished batch are kept in a hidden folder beside DIR
// (.DIR.partial, keyed by a digest of every input), so Ctrl-C (which says what was kept) or a
// failed write loses no simulation; --resume continues from there, a partial result of other
// inputs is refused, and a finished run removes it.
//
// Output is all or nothing: the new result files are written into a temporary sibling folder
// and swapped in at the end (the old folder renamed aside, the new one renamed in, the old one
// removed; other files in DIR are carried over), so on any failure an earlier result in DIR is
// untouched. Missing parent folders of DIR are created, and removed again if the run fails.
// Bad input: one line on stderr, exit 2, nothing written.
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, statSync, writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { connectomeFileOf } from '../graph/paths.ts';
import { encodeNpy, readNpy } from '../io/npy.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { OutputPathError, openOutputs } from '../io/output.ts';
import { onInterrupt } from '../io/interrupt.ts';
import { AnalysisError } from '../analysis/errors.ts';
import { flashResponseIndex, type FriRow } from '../analysis/fri.ts';
import { DSI_THRESHOLD, directionSelectivityIndex } from '../analysis/dsi.ts';
import { dsiBarChart, dsiDistribution, friBarChart, friDistribution, polarTuning, preferredDirectionsPolar } from '../analysis/plots.ts';
import {
  DSI_SUMMARY_COLUMNS, EnsembleMemberError, EnsemblePoolStopped, FLYVIS_FRI_RADIUS, FRI_SUMMARY_COLUMNS, type EnsembleDsiRow, type EnsembleFriRow,
  type EnsembleJob, type EnsembleTuningRow, type KnownDirectionCount, type MemberResult, describeKnownDirections,
  describeKnownPolarity, dsiSummary, friSummary, knownDirectionCount, knownPolarityCount, medianTuning, runEnsemblePool,
} from '../analysis/ensemble.ts';
import { availableParallelism } from 'node:os';
import { resolveBudget } from '../budget.ts';
import { applyBudgetOptions } from './budget.ts';
import { Hdf5Error } from '../io/hdf5.ts';
import { ResultsError } from '../results/rules.ts';
import { type EnsembleMember, loadEnsembleDir } from '../results/ensemble-dir.ts';
import { readMeta } from '../results/meta.ts';
import { renderSVG } from '../plot/render.ts';
import { progressBar, silentProgress } from '../analysis/progress.ts';
import { type Responses, ResponsesInterrupted, computeResponsesAsync, selectNeurons, workOf } from '../analysis/responses.ts';
import { tableOf, toCsv, toJson } from '../analysis/table.ts';
import { Flashes, MovingEdge, type StimulusDataset } from '../stimuli/datasets.ts';
import { StimulusParamError } from '../stimuli/errors.ts';
import { LED_DEG, OMMATIDIUM_DEG } from '../stimuli/hex-eye.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, KERNEL_OPTION, networkFromOptions, paramsOption } from './common.ts';
import { prepareKernel } from './webgpu.ts';
import { type OptionSpecs, type ParsedOptions, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

/** Default integration step: flyvis's 1/200 for both analyses (see docs/analysis.md for timings). */
export const DEFAULT_DT = { flashes: 1 / 200, 'moving-edges': 1 / 200 } as const;

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  dt: { type: 'dt', metavar: 'DT', help: "integration time step in seconds, e.g. 0.005 or 1/100 (default: flyvis's 1/200)" },
  'batch-size': { type: 'integer', metavar: 'B', min: 1, default: 4, help: 'movies simulated together' },
  speeds: { type: 'string', metavar: 'S,...', help: 'moving-edges: edge speeds in columns/s (default 2.4,4.8,9.7,13,19,25)' },
  angles: { type: 'string', metavar: 'A,...', help: 'moving-edges: directions in degrees, taken modulo 360 (default 0,30,...,330)' },
  'dsi-threshold': {
    type: 'number', metavar: 'X', min: 0, default: DSI_THRESHOLD,
    help: 'moving-edges: DSI below which the preferred direction is undefined (empty in dsi.csv, null in dsi.json)',
  },
  ensemble: {
    type: 'string', metavar: 'DIR',
    help: "a flyvis ensemble directory (e.g. .../opticflow/000): analyse every member, each built from its own _meta.yaml config with its best checkpoint; writes a leading model column, per-cell-type summaries and ensemble plots (not with --params, --connectome, --n-syn-fill; --extent builds the members at that extent instead of their config's)",
  },
  best: { type: 'integer', metavar: 'K', min: 1, help: '--ensemble: only the K members with the lowest validation loss' },
  workers: { type: 'integer', metavar: 'N', min: 1, help: '--ensemble: worker threads, one member each at a time (default: the available cores)' },
  resume: { type: 'boolean', help: 'continue an interrupted run of the same inputs from the responses kept beside --out' },
  quiet: { type: 'boolean', help: 'no progress bar' },
  out: { type: 'string', metavar: 'DIR', help: 'directory for the result tables (CSV, JSON) and plots (SVG); missing parents are created' },
  ...KERNEL_OPTION,
} as const satisfies OptionSpecs;

const SUMMARY =
  'Runs a standard experiment on the network and writes per-cell-type results:\n' +
  '  flashes       ON/OFF flashes (full field and radius 6), flash response index FRI\n' +
  '  moving-edges  ON/OFF edges in 12 directions at 6 speeds, direction selectivity index DSI\n' +
  '                and preferred direction\n' +
  'An interrupted run (Ctrl-C) keeps the responses simulated so far beside --out; --resume\n' +
  'continues it. --ensemble DIR analyses every member of a flyvis ensemble in parallel worker\n' +
  'threads (--best K: the K best by validation loss) and adds ensemble summaries and plots.';

const KINDS = ['flashes', 'moving-edges'] as const;
type Kind = (typeof KINDS)[number];

const PARTIAL_FORMAT = 'flyvis-ts.analyze-partial';
const PARTIAL_VERSION = 1;

/** Numbers of a comma-separated list, each finite (and positive when asked), none repeated. */
function parseList(name: string, text: string | undefined, positive: boolean): number[] | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(',').map((s) => s.trim());
  const bad = parts.find((p) => p === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(p) || !Number.isFinite(Number(p)) || (positive && !(Number(p) > 0)));
  if (bad !== undefined) {
    throw new UsageError(`--${name}: expected a comma-separated list of ${positive ? 'positive ' : ''}finite numbers, got '${bad}' in '${text}'`);
  }
  return parts.map(Number);
}

/** Directions reduced modulo 360 into [0, 360); a direction given twice (0 and 720) is refused. */
export function parseAngles(text: string | undefined): number[] | undefined {
  const values = parseList('angles', text, false);
  if (values === undefined) return undefined;
  const reduced = values.map((a) => {
    const r = ((a % 360) + 360) % 360;
    return r === 360 ? 0 : +r.toPrecision(12);
  });
  reduced.forEach((r, i) => {
    const j = reduced.indexOf(r);
    if (j < i) throw new UsageError(`--angles: ${values[i]} and ${values[j]} are the same direction (${r}° modulo 360); expected distinct directions`);
  });
  return reduced;
}

/** Edge speeds: positive, finite, distinct, and slow enough to take at least one time step across the stimulus. */
export function parseSpeeds(text: string | undefined, dt: number): number[] | undefined {
  const values = parseList('speeds', text, true);
  if (values === undefined) return undefined;
  values.forEach((s, i) => {
    const j = values.indexOf(s);
    if (j < i) throw new UsageError(`--speeds: ${s} is given twice; expected distinct speeds`);
  });
  // The edge crosses 21 LEDs (offsets -10..10) = 21 x 2.25° / 5.8° columns (flyvis's MovingEdge).
  const columns = (21 * LED_DEG) / OMMATIDIUM_DEG;
  const fastest = columns / dt;
  const tooFast = values.find((s) => s > fastest);
  if (tooFast !== undefined) {
    throw new UsageError(`--speeds: ${tooFast} columns/s crosses the ${columns.toFixed(1)} columns of the stimulus in less than one time step (dt ${+dt.toPrecision(6)} s); expected at most ${Math.floor(fastest)}`);
  }
  return values;
}

/** A file's digest; a network directory (--params DIR) by its path. */
const sha = (file: string): string =>
  statSync(file).isDirectory() ? `dir ${resolve(file)}` : createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

/** The folders from `dir` upwards that do not exist, outermost first. */
function missingParents(dir: string): string[] {
  const missing: string[] = [];
  for (let d = dir; !existsSync(d); d = dirname(d)) {
    missing.unshift(d);
    if (dirname(d) === d) break;
  }
  return missing;
}

/** File operations of writeOutputs (replaceable in tests to inject failures). */
export interface OutputIo {
  writeFile(path: string, data: string): void;
  rename(from: string, to: string): void;
}

const fsIo: OutputIo = { writeFile: (p, d) => writeFileSync(p, d), rename: (a, b) => renameSync(a, b) };

const WRITE_REASONS: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device', EDQUOT: 'disk quota exceeded', EIO: 'input/output error', EACCES: 'permission denied',
  EROFS: 'the file system is read-only', EFBIG: 'file too large',
};

/** Removes the folders this run created (innermost first), where they are empty. */
function removeCreated(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // not empty: something else was written there meanwhile
    }
  }
}

/**
 * Writes name -> contents as the folder `dir`, all or nothing: into a temporary sibling folder
 * first, then swapped in (an existing `dir` is renamed aside, the new folder renamed in, files
 * of `dir` that this run does not write are moved over, the old folder removed). On failure the
 * temporary folder and any parent folders created here are removed and an existing `dir` is
 * left as it was. Returns the parent folders it created.
 */
export function writeOutputs(dir: string, files: ReadonlyMap<string, string>, io: OutputIo = fsIo): string[] {
  let target = resolve(dir);
  if (existsSync(target) && lstatSync(target).isSymbolicLink()) target = realpathSync(target);
  if (existsSync(target) && !statSync(target).isDirectory()) throw new UsageError(`--out: ${dir} exists and is not a directory`);
  const parent = dirname(target);
  const created = missingParents(parent);
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(target)}.new-${tag}`);
  let current = '';
  try {
    for (const d of created) mkdirSync(d);
    mkdirSync(tmp);
    for (const [name, text] of files) {
      current = name;
      io.writeFile(join(tmp, name), text);
    }
    current = '';
    if (!existsSync(target)) {
      io.rename(tmp, target);
      return created;
    }
    const aside = join(parent, `.${basename(target)}.old-${tag}`);
    io.rename(target, aside);
    try {
      io.rename(tmp, target);
    } catch (e) {
      renameSync(aside, target);
      throw e;
    }
    // Files of the earlier folder that this run does not replace (other results, notes) stay.
    for (const entry of readdirSync(aside)) {
      if (!files.has(entry)) renameSync(join(aside, entry), join(target, entry));
    }
    rmSync(aside, { recursive: true, force: true });
    return created;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    removeCreated(created);
    const code = (e as NodeJS.ErrnoException).code;
    const what = current === '' ? dir : join(dir, current);
    const why = code !== undefined ? (WRITE_REASONS[code] ?? code) : (e as Error).message;
    const kept = existsSync(target) ? `; the earlier results in ${dir} are unchanged` : '';
    throw new Error(`cannot write ${what}: ${why}${kept}`);
  }
}

/** The hidden folder beside DIR holding the responses of finished batches. */
export const partialDir = (out: string): string => join(dirname(out), `.${basename(out)}.partial`);

/** The parts of a partial-results folder common to one network's run and an ensemble's. */
interface PartialFolder {
  readonly dir: string;
  /** Folders created for it (removed again when the run fails). */
  readonly created: string[];
  /** Creates the folder (and missing parents) with its run.json, once, before the first result is saved. */
  prepare(): void;
  /** Removes the folder (after a finished run). */
  remove(): void;
  /** Removes the folder and the parent folders created for it (after a failed run). */
  discard(): void;
}

/** What a partial-results folder of one kind of run holds. */
interface PartialKind {
  readonly format: string;
  readonly version: number;
  /** Whether a run.json read back is of this kind. */
  valid(saved: { format?: unknown; version?: unknown }): boolean;
  /** The --resume refusal when the folder holds no partial of this kind. */
  refusal(dir: string, runFile: string): string;
}

/**
 * Opens the partial results beside `out` of a run described by `inputs` (keyed by their digest):
 * with `resume`, refuses a folder of another kind or of other inputs (naming what differs), then
 * `readBack` reads the finished results; without, discards an earlier folder (saying so).
 * Nothing is created until `prepare`.
 */
function openPartialFolder(
  out: string,
  inputs: Readonly<Record<string, unknown>>,
  resume: boolean,
  note: (m: string) => void,
  kind: PartialKind,
  readBack: (dir: string) => void,
): PartialFolder {
  const dir = partialDir(out);
  const digest = createHash('sha256').update(JSON.stringify(inputs)).digest('hex');
  const created: string[] = [];
  const runFile = join(dir, 'run.json');
  if (existsSync(dir)) {
    if (resume) {
      let saved: { format?: unknown; version?: unknown; digest?: unknown; inputs?: Record<string, unknown> } | undefined;
      try {
        saved = JSON.parse(readFileSync(runFile, 'utf8'));
      } catch {
        saved = undefined;
      }
      if (saved === undefined || !kind.valid(saved)) throw new UsageError(kind.refusal(dir, runFile));
      if (saved.digest !== digest) {
        throw new UsageError(
          `--resume: the partial results in ${dir} are of a different run (${describeDiffs(inputs, saved.inputs ?? {}) || 'another version of flyvis-ts'}); run without --resume to start over (this discards them)`,
        );
      }
      readBack(dir);
    } else {
      note(`discarding the partial results of an earlier run in ${dir} (pass --resume to continue such a run)`);
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (resume) {
    note(`--resume: no partial results in ${dir}; starting from the beginning`);
  }
  let ready = existsSync(dir);
  return {
    dir,
    created,
    prepare() {
      if (ready) return;
      const missing = missingParents(dir);
      for (const d of missing) mkdirSync(d);
      created.push(...missing);
      writeFileAtomic(runFile, `${JSON.stringify({ format: kind.format, version: kind.version, digest, inputs }, null, 1)}\n`);
      ready = true;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
    discard() {
      rmSync(dir, { recursive: true, force: true });
      removeCreated(created);
    },
  };
}

/** What differs between the inputs of a partial run and now, for the --resume refusal. */
function describeDiffs(now: Readonly<Record<string, unknown>>, was: Readonly<Record<string, unknown>>): string {
  return [...new Set([...Object.keys(now), ...Object.keys(was)])]
    .filter((k) => JSON.stringify(now[k]) !== JSON.stringify(was[k]))
    .map((k) => `${k}: ${JSON.stringify(was[k]) ?? 'absent'} there, ${JSON.stringify(now[k]) ?? 'absent'} now`.slice(0, 160))
    .join('; ');
}

interface PartialRun extends PartialFolder {
  /** Traces read back, by item index. */
  readonly completed: Map<number, Float32Array>;
  save(items: readonly number[], traces: readonly Float32Array[]): void;
  /** Items whose responses are on disk. */
  savedCount(): number;
}

const SINGLE_PARTIAL: PartialKind = {
  format: PARTIAL_FORMAT,
  version: PARTIAL_VERSION,
  valid: (saved) => saved.format === PARTIAL_FORMAT && saved.version === PARTIAL_VERSION,
  refusal: (dir, runFile) => `--resume: ${dir} holds no readable partial results (${runFile} is missing or not from flyvis analyze); remove it, or run without --resume`,
};

/**
 * Opens the partial results for a run described by `inputs`: with `resume`, reads the finished
 * items back (refusing a partial of other inputs, naming what differs); without, discards an
 * earlier partial (saying so). Nothing is created until the first batch is saved.
 */
function openPartial(out: string, inputs: Readonly<Record<string, unknown>>, resume: boolean, K: number, note: (m: string) => void): PartialRun {
  const completed = new Map<number, Float32Array>();
  const folder = openPartialFolder(out, inputs, resume, note, SINGLE_PARTIAL, (dir) => {
    for (const name of readdirSync(dir)) {
      const m = /^item-(\d+)\.npy$/.exec(name);
      if (m === null) continue;
      const a = readNpy(join(dir, name));
      if (a.data instanceof Float32Array && a.shape.length === 2 && a.shape[1] === K) completed.set(Number(m[1]), a.data);
    }
  });
  let saved = completed.size;
  return {
    ...folder,
    completed,
    save(items, traces) {
      folder.prepare();
      items.forEach((i, b) => {
        const t = traces[b]!;
        writeFileAtomic(join(folder.dir, `item-${i}.npy`), encodeNpy(t, [t.length / K, K]));
      });
      saved += items.length;
    },
    savedCount: () => saved,
  };
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
      if (o.out === '') throw new UsageError("--out: expected a folder name, got ''");
      const dt = o.dt ?? DEFAULT_DT[kind];
      const angles = parseAngles(o.angles);
      const speeds = parseSpeeds(o.speeds, dt);
      if (kind === 'flashes' && (speeds || angles)) throw new UsageError('--speeds and --angles apply to moving-edges only');
      const threshold = o['dsi-threshold'];
      if (!(threshold <= 1)) throw new UsageError(`--dsi-threshold: expected a number from 0 to 1, got '${threshold}'`);
      const out = resolve(o.out);
      if (o.ensemble === undefined) {
        for (const f of ['best', 'workers'] as const) if (o[f] !== undefined) throw new UsageError(`--${f} applies to --ensemble only`);
      } else {
        if (o.ensemble === '') throw new UsageError("--ensemble: expected a flyvis ensemble directory, got ''");
        if (o.params !== undefined) throw new UsageError('--ensemble and --params: give one (--ensemble analyses each member with its own best checkpoint)');
        if (o.connectome !== undefined) throw new UsageError("--ensemble and --connectome: give one (each member is built from its own _meta.yaml config, connectome included)");
        if (flagGiven(argv, 'n-syn-fill')) throw new UsageError("--ensemble and --n-syn-fill: give one (each member is built from its own _meta.yaml config)");
        return await analyzeEnsemble({ kind, o, out, dt, angles, speeds, threshold }, flagGiven(argv, 'extent') ? o.extent : undefined);
      }
      // Checks DIR and the files it will hold before any work (not a file, a writable ancestor,
      // not an input, not being written by another flyvis process) and locks them.
      const names = kind === 'flashes' ? ['fri.csv', 'fri.json', 'fri.svg'] : ['dsi.csv', 'dsi.json', 'dsi.svg', 'tuning.csv', 'tuning.svg'];
      const outputs = openOutputs('analyze', [{ flag: 'out', path: o.out, kind: 'dir', files: names }], [
        { flag: 'connectome', path: o.connectome },
        { flag: 'params', path: o.params },
      ]);
      try {
        return await analyze({ kind, o, out, dt, angles, speeds, threshold });
      } finally {
        outputs.release();
      }
    },
    [...BAD_INPUT, OutputPathError, StimulusParamError, AnalysisError, ResultsError, Hdf5Error],
  );
}

/** What `flyvis analyze` was asked for, checked: the experiment, the options, the output folder and the stimulus settings. */
interface AnalyzeRequest {
  readonly kind: Kind;
  readonly o: ParsedOptions<typeof OPTIONS>;
  readonly out: string;
  readonly dt: number;
  readonly angles: number[] | undefined;
  readonly speeds: number[] | undefined;
  readonly threshold: number;
}

async function analyze({ kind, o, out, dt, angles, speeds, threshold }: AnalyzeRequest): Promise<number> {
  const started = Date.now();
  const extent = o.extent;
  const dataset: StimulusDataset =
    kind === 'flashes'
      ? new Flashes({ extent, dt })
      : new MovingEdge({ extent, dt, ...(speeds ? { speeds } : {}), ...(angles ? { angles } : {}) });
  const warn = (m: string): void => void process.stderr.write(`flyvis analyze: ${m}\n`);
  if (dt > 1 / 50) warn(`warning: dt=${dt} is very large for integration (flyvis warns above 1/50)`);
  const total = workOf(dataset, dt);
  const progress = o.quiet ? silentProgress : progressBar(`${kind} (${dataset.length} movies)`, total);
  progress.status?.(`building the network (${basename(connectomeFileOf(o.connectome))}, extent ${extent})`);
  const net = await networkFromOptions(o, { kernel: o.kernel });
  const untrained = o.params === undefined;
  const neurons = selectNeurons(net, 'central');
  const inputs = {
    experiment: kind,
    connectome: sha(connectomeFileOf(o.connectome)),
    extent,
    n_syn_fill: o['n-syn-fill'],
    params: o.params === undefined ? 'flyvis initialization' : sha(o.params),
    dt,
    batch_size: o['batch-size'],
    stimulus_config: dataset.config,
    cells: neurons.map((n) => n.node),
  };
  const partial = openPartial(out, inputs, o.resume, neurons.length, warn);
  // Ctrl-C: while batches run, stop after the current one (its responses are kept);
  // otherwise stop at once, saying what stays on disk.
  let simulating = false;
  let stop = false;
  const keptNote = (done: number, total: number): string =>
    done === 0
      ? 'nothing was kept (no batch had finished)'
      : `the responses to ${done} of ${total} movies are kept in ${partial.dir} (continue with --resume; the same command without it starts over)`;
  const release = onInterrupt(() => {
    if (simulating) {
      stop = true;
      if (!o.quiet) process.stderr.write('\nflyvis analyze: stopping after the current batch (Ctrl-C again to stop at once, losing it)\n');
      return;
    }
    process.stderr.write(`flyvis analyze: interrupted; ${keptNote(partial.savedCount(), dataset.length)}\n`);
    process.exit(130);
  });
  try {
    let responses;
    try {
      simulating = true;
      responses = await computeResponsesAsync(net, dataset, {
        dt, batchSize: o['batch-size'], progress, completed: partial.completed, interrupted: () => stop,
        onBatch: (items, traces) => partial.save(items, traces),
      });
    } catch (e) {
      if (e instanceof ResponsesInterrupted) {
        process.stderr.write(`flyvis analyze: interrupted; ${keptNote(e.done, e.total)}\n`);
        if (e.done === 0) partial.discard();
        return 130;
      }
      partial.discard();
      throw e;
    } finally {
      simulating = false;
    }
    return await finish(responses);
  } finally {
    release();
  }

  async function finish(responses: Responses): Promise<number> {
    const cellTypes = net.connectome.uniqueCellTypes;
    const meta = {
      experiment: kind,
      dt,
      extent,
      connectome: connectomeFileOf(o.connectome),
      params: o.params ?? 'flyvis initialization',
      untrained,
      n_cell_types: cellTypes.length,
      stimulus_config: dataset.config,
      cells: 'central',
    };
    const notes: string[] = [];
    if (untrained) notes.push("no --params: these are the responses of an untrained network (flyvis's initialization)");
    const kept = `the simulated responses are kept in ${partial.dir}: rerun with --resume to write the results without simulating again`;
    return writeResults(kind, out, partial, started, kept, notes, async (files, lines) => {
      if (kind === 'flashes') {
        const rows: FriRow[] = flashResponseIndex(responses);
        const table = tableOf(rows, ['cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
        // Which of flyvis's 32 experimentally known polarities the sign of the FRI gets right (radius 6, as flyvis).
        const known = knownPolarityCount(rows, FLYVIS_FRI_RADIUS);
        if (known !== null && known.n_known > 0) lines.push(describeKnownPolarity(known, untrained ? 'this untrained network' : 'this network'));
        files.set('fri.csv', toCsv(table));
        files.set('fri.json', toJson(table, { ...meta, known_polarity: known, notes, definition: 'FRI = (r_on - r_off) / (r_on + r_off), peaks over -dt <= t <= t_stim after shifting by |min| (flyvis flash_response_index)' }));
        files.set('fri.svg', await renderSVG(friBarChart(rows, cellTypes, { untrained })));
      } else {
        const { dsi, tuning } = directionSelectivityIndex(responses, { threshold });
        const below = dsi.filter((r) => r.dsi_below_threshold).length;
        const where = 'empty in dsi.csv, null in dsi.json, hollow circles in dsi.svg';
        if (below === dsi.length) {
          const largest = Math.max(...dsi.map((r) => r.dsi));
          notes.push(`every DSI is below ${threshold} (largest ${largest.toPrecision(2)}): no cell type is direction selective, and no preferred direction is defined (${where})`);
        } else if (below > 0) {
          notes.push(`${below} of ${dsi.length} DSIs are below ${threshold}: their preferred direction is undefined (${where})`);
        }
        const table = tableOf(dsi, ['cell_type', 'intensity', 'dsi', 'preferred_direction_deg', 'dsi_below_threshold']);
        const knownDirections = knownDirectionCount(dsi);
        if (knownDirections !== null) lines.push(describeKnownDirections(knownDirections, untrained ? 'this untrained network' : 'this network'));
        files.set('dsi.csv', toCsv(table));
        files.set('dsi.json', toJson(table, {
          ...meta, dsi_threshold: threshold, known_preferred_directions: knownDirections, notes,
          definition: 'DSI = |sum_theta r e^{i theta}| / max_intensity sum_theta |r|, peak rectified responses, averaged over speeds (flyvis direction_selectivity_index); preferred direction = arg sum_theta r e^{i theta}, undefined (null) where DSI < dsi_threshold',
        }));
        files.set('dsi.svg', await renderSVG(dsiBarChart(dsi, cellTypes, { untrained, threshold })));
        files.set('tuning.csv', toCsv(tableOf(tuning, ['cell_type', 'intensity', 'angle', 'peak_response', 'normalized'])));
        files.set('tuning.svg', await renderSVG(polarTuning(tuning, cellTypes, { untrained, threshold, dsi })));
      }
      return `${cellTypes.length} cell types, ${dataset.length} movies at dt=${dt}`;
    });
  }
}

/**
 * Builds the result files (`build` fills `files` and the stdout `lines`, adds to `notes`, and
 * returns what the last stdout line says the run was; if it fails the partial results are
 * discarded), writes them as DIR all or nothing (if that fails the partial results stay, `kept`
 * saying so, for --resume), removes the partial results and prints the notes, the lines and the
 * summary line. One network's run and an ensemble's end here.
 */
async function writeResults(
  kind: Kind,
  out: string,
  partial: PartialFolder,
  started: number,
  kept: string,
  notes: string[],
  build: (files: Map<string, string>, lines: string[]) => Promise<string>,
): Promise<number> {
  const files = new Map<string, string>();
  const lines: string[] = [];
  let what: string;
  try {
    what = await build(files, lines);
  } catch (e) {
    partial.discard();
    throw e;
  }
  try {
    writeOutputs(out, files);
  } catch (e) {
    throw new Error(`${(e as Error).message}${existsSync(partial.dir) ? ` (${kept})` : ''}`);
  }
  partial.remove();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  for (const n of notes) process.stdout.write(`flyvis analyze ${kind}: note: ${n}\n`);
  for (const line of lines) process.stdout.write(`flyvis analyze ${kind}: ${line}\n`);
  process.stdout.write(`flyvis analyze ${kind}: ${what}; wrote ${[...files.keys()].join(', ')} to ${out} in ${seconds} s\n`);
  return 0;
}

// ---- ensembles ------------------------------------------------------------------------------

/** Whether `--name` was given on the command line (flags with a default are always in the parsed options). */
function flagGiven(argv: readonly string[], name: string): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
}

/** Error classes of a member's worker that mean bad input (its files), not a failure of the program: exit 2. */
const BAD_MEMBER_ERRORS = new Set([
  'ResultsError', 'Hdf5Error', 'TorchFileError', 'CheckpointError', 'ParameterConfigError', 'ConnectomeError', 'JsonFileError',
  'NetworkError', 'StimulusError', 'StimulusParamError', 'NonFiniteError', 'AnalysisError', 'BudgetError',
]);

const ENSEMBLE_PARTIAL_FORMAT = 'flyvis-ts.analyze-ensemble-partial';

interface EnsemblePartial extends PartialFolder {
  /** Results read back, by member name. */
  readonly completed: Map<string, MemberResult>;
  save(id: string, result: MemberResult): void;
  savedCount(): number;
}

const ENSEMBLE_PARTIAL: PartialKind = {
  format: ENSEMBLE_PARTIAL_FORMAT,
  version: 1,
  valid: (saved) => saved.format === ENSEMBLE_PARTIAL_FORMAT,
  refusal: (dir, runFile) => `--resume: ${dir} holds no partial results of an ensemble analysis (${runFile} is missing or of another run); remove it, or run without --resume`,
};

/**
 * The results of finished members of an interrupted ensemble run, kept beside DIR as
 * `.DIR.partial/run.json` (the inputs and their digest) and `member-<id>.json` (a member's result
 * rows with the digest of the checkpoint it came from). With `resume`, members whose checkpoint
 * is unchanged are read back; a partial of other inputs is refused naming what differs.
 */
function openEnsemblePartial(out: string, inputs: Readonly<Record<string, unknown>>, resume: boolean, note: (m: string) => void): EnsemblePartial {
  const completed = new Map<string, MemberResult>();
  const folder = openPartialFolder(out, inputs, resume, note, ENSEMBLE_PARTIAL, (dir) => {
    for (const name of readdirSync(dir)) {
      if (!/^member-.+\.json$/.test(name)) continue;
      try {
        const kept = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { checkpoint_sha?: unknown; result?: MemberResult };
        const r = kept.result;
        if (r === undefined || typeof r.checkpoint !== 'string' || !existsSync(r.checkpoint)) continue;
        if (kept.checkpoint_sha !== sha(r.checkpoint)) {
          note(`--resume: the checkpoint of ${r.name} changed since it was analysed; analysing it again`);
          continue;
        }
        completed.set(r.name, r);
      } catch {
        note(`--resume: ${join(dir, name)} is unreadable; analysing that network again`);
      }
    }
  });
  let saved = completed.size;
  return {
    ...folder,
    completed,
    save(id, result) {
      folder.prepare();
      writeFileAtomic(join(folder.dir, `member-${id}.json`), JSON.stringify({ checkpoint_sha: sha(result.checkpoint), result }));
      saved++;
    },
    savedCount: () => saved,
  };
}

/** The lattice extent a member's _meta.yaml config builds (flyvis's default 15 when it names none). */
function configExtent(member: EnsembleMember): number {
  const network = readMeta(member.dir)?.config.network as { connectome?: { extent?: unknown } } | undefined;
  const e = network?.connectome?.extent;
  return typeof e === 'number' && Number.isInteger(e) && e >= 0 ? e : 15;
}

/**
 * `flyvis analyze KIND --ensemble DIR`: loads the ensemble (refusing an empty or foreign
 * directory and a --best beyond its members, before anything is written), analyses the chosen
 * members in a pool of worker threads with one progress bar for the whole ensemble, and writes
 * the per-member rows (a leading model column), the summaries per cell type and the ensemble
 * plots, all or nothing. Ctrl-C stops the workers and keeps the finished members beside DIR.
 */
async function analyzeEnsemble({ kind, o, out, dt, angles, speeds, threshold }: AnalyzeRequest, extentOverride: number | undefined): Promise<number> {
  const started = Date.now();
  const warn = (m: string): void => void process.stderr.write(`flyvis analyze: ${m}\n`);
  if (dt > 1 / 50) warn(`warning: dt=${dt} is very large for integration (flyvis warns above 1/50)`);
  applyBudgetOptions(o);
  // Refuses a --kernel the members could not run on before anything is written (webgpu: Dawn
  // starts here, and its environment is the workers' too).
  await prepareKernel(o.kernel);
  const view = await loadEnsembleDir(o.ensemble!, { onWarning: (m) => warn(`warning: ${m}`) });
  const n = view.members.length;
  if (o.best !== undefined && o.best > n) {
    throw new UsageError(`--best: ${o.best} is more than the ${n} member${n === 1 ? '' : 's'} of ${o.ensemble}; expected 1 to ${n}`);
  }
  const ranked = view.bestMembers();
  const rankOf = new Map(ranked.map((m, i) => [m.id, i + 1]));
  const chosen = new Set((o.best !== undefined ? ranked.slice(0, o.best) : ranked).map((m) => m.id));
  const selected = view.members.filter((m) => chosen.has(m.id)); // folder order, as flyvis lists them
  const names = kind === 'flashes'
    ? ['fri.csv', 'fri.json', 'fri.svg', 'fri_summary.csv', 'fri_summary.json']
    : ['dsi.csv', 'dsi.json', 'dsi.svg', 'dsi_summary.csv', 'dsi_summary.json', 'tuning.csv', 'tuning.svg', 'preferred_directions.svg'];
  const outputs = openOutputs('analyze', [{ flag: 'out', path: o.out!, kind: 'dir', files: names }], [{ flag: 'ensemble', path: o.ensemble }]);
  try {
    return await ensembleRun();
  } finally {
    outputs.release();
  }

  async function ensembleRun(): Promise<number> {
    const extent = extentOverride ?? configExtent(selected[0]!);
    const dataset: StimulusDataset =
      kind === 'flashes'
        ? new Flashes({ extent, dt })
        : new MovingEdge({ extent, dt, ...(speeds ? { speeds } : {}), ...(angles ? { angles } : {}) });
    const perMember = workOf(dataset, dt);
    const workers = Math.max(1, Math.min(o.workers ?? availableParallelism(), selected.length));
    const inputs = {
      experiment: kind,
      ensemble: view.dir,
      members: selected.map((m) => m.name),
      extent: extentOverride ?? 'config',
      dt,
      batch_size: o['batch-size'],
      stimulus_config: dataset.config,
      ...(kind === 'moving-edges' ? { dsi_threshold: threshold } : {}),
    };
    const partial = openEnsemblePartial(out, inputs, o.resume, warn);
    const results = new Map<number, MemberResult>();
    selected.forEach((m, i) => {
      const kept = partial.completed.get(m.name);
      if (kept !== undefined) results.set(i, { ...kept, index: i });
    });
    const N = selected.length;
    const progress = o.quiet ? silentProgress : progressBar(`${kind}, ${N} networks of ${view.name}`, N * perMember);
    if (results.size > 0) progress.skip?.(results.size * perMember);
    const tasks = selected.map((m, index) => ({ index, dir: m.dir })).filter((t) => !results.has(t.index));
    let running = 0;
    const state = (): string => `${results.size} of ${N} networks done, ${running} running on ${workers} worker${workers === 1 ? '' : 's'}`;
    const job: EnsembleJob = {
      kind, dt, batchSize: o['batch-size'], speeds, angles, extent: extentOverride, threshold, budget: resolveBudget(), kernel: o.kernel,
    };
    progress.status?.(`starting ${Math.min(workers, Math.max(1, tasks.length))} worker thread${workers === 1 ? '' : 's'}${results.size > 0 ? ` (${results.size} networks read back)` : ''}`);
    let interrupted = false;
    const pool = runEnsemblePool(tasks, job, {
      workers,
      onTick: (frames) => progress.tick(frames),
      onStart: () => {
        running++;
        progress.status?.(state());
      },
      onResult: (r) => {
        running--;
        const id = selected[r.index]!.id;
        results.set(r.index, r);
        partial.save(id, r);
        progress.status?.(state());
      },
    });
    const keptNote = (): string => {
      const k = partial.savedCount();
      return k === 0
        ? 'nothing was kept (no network had finished)'
        : `the results of ${k} of ${N} networks are kept in ${partial.dir} (continue with --resume; the same command without it starts over)`;
    };
    const release = onInterrupt(() => {
      interrupted = true;
      if (!o.quiet) process.stderr.write('\nflyvis analyze: stopping the workers (the networks being analysed are lost; finished ones are kept)\n');
      void pool.terminate();
    });
    try {
      try {
        await pool.done;
      } catch (e) {
        if (interrupted) {
          process.stderr.write(`flyvis analyze: interrupted; ${keptNote()}\n`);
          if (partial.savedCount() === 0) partial.discard();
          return 130;
        }
        if (e instanceof EnsembleMemberError) {
          const member = selected[e.index]?.name ?? e.dir;
          if (BAD_MEMBER_ERRORS.has(e.errorName)) {
            partial.discard();
            throw new UsageError(`network ${member}: ${e.message}`);
          }
          throw new Error(`network ${member}: ${e.errorName}: ${e.message}; ${keptNote()}`);
        }
        if (e instanceof EnsemblePoolStopped) throw new Error(`the workers stopped; ${keptNote()}`);
        throw new Error(`${(e as Error).message}; ${keptNote()}`);
      }
      progress.done();
      return await finishEnsemble([...results.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r), partial, dataset, workers);
    } finally {
      release();
    }
  }

  async function finishEnsemble(results: readonly MemberResult[], partial: EnsemblePartial, dataset: StimulusDataset, workers: number): Promise<number> {
    const cellTypes = [...new Set(results.flatMap((r) => r.cell_types))];
    const extents = [...new Set(results.map((r) => r.extent))];
    // What reading flyvis 0.1 configs changed (the same for every member of an ensemble, as a rule).
    const configChanges = [...new Set(results.flatMap((r) => r.config_changes))];
    const models = results.map((r) => ({
      model: r.name,
      validation_loss: r.validation_loss,
      rank: rankOf.get(selected[r.index]!.id) ?? null,
      checkpoint: r.checkpoint,
    }));
    const meta = {
      experiment: kind,
      ensemble: view.name,
      ensemble_dir: view.dir,
      n_models: results.length,
      selection: o.best !== undefined ? `the ${o.best} of ${n} members with the lowest validation loss` : `all ${n} members`,
      dt,
      extent: extents.length === 1 ? extents[0] : extents,
      extent_from: extentOverride !== undefined ? '--extent' : "each member's _meta.yaml",
      untrained: false,
      n_cell_types: cellTypes.length,
      stimulus_config: dataset.config,
      cells: 'central',
      config_changes: configChanges,
    };
    const notes: string[] = [];
    if (view.skipped.length > 0) notes.push(`${view.skipped.length} numbered folder(s) without a network were skipped, as flyvis skips them: ${view.skipped.map((s) => `${s.dir} (${s.reason})`).join(', ')}`);
    const who = `the ensemble median FRI of ${results.length} networks`;
    const kept = `the results of every network are kept in ${partial.dir}: rerun with --resume to write them without simulating again`;
    return writeResults(kind, out, partial, started, kept, notes, async (files, lines) => {
      if (kind === 'flashes') {
        const rows: EnsembleFriRow[] = results.flatMap((r) => r.fri!.map((row) => ({ model: r.name, ...row })));
        const summary = friSummary(rows);
        const medians = summary.map((s) => ({ cell_type: s.cell_type, radius: s.radius, fri: s.fri_median }));
        const known = knownPolarityCount(medians, FLYVIS_FRI_RADIUS);
        const byRadius = [...new Set(summary.map((s) => s.radius))].map((radius) => knownPolarityCount(medians, radius)!);
        const perModel = results.map((r) => ({ model: r.name, n_predicted: knownPolarityCount(r.fri!, FLYVIS_FRI_RADIUS)?.n_predicted ?? null }));
        const polarity = { known_polarity: known, known_polarity_by_radius: byRadius };
        const definition = 'FRI = (r_on - r_off) / (r_on + r_off), peaks over -dt <= t <= t_stim after shifting by |min| (flyvis flash_response_index), per network';
        const withModels = models.map((m, i) => ({ ...m, n_known_polarities_predicted: perModel[i]!.n_predicted }));
        const table = tableOf(rows, ['model', 'cell_type', 'radius', 'fri', 'on_peak', 'off_peak']);
        files.set('fri.csv', toCsv(table));
        files.set('fri.json', toJson(table, { ...meta, models: withModels, ...polarity, notes, definition }));
        const sTable = tableOf(summary, [...FRI_SUMMARY_COLUMNS]);
        files.set('fri_summary.csv', toCsv(sTable));
        files.set('fri_summary.json', toJson(sTable, {
          ...meta, models: withModels, ...polarity, notes,
          definition: `per cell type and flash radius over the networks: median, quartiles (numpy's linear interpolation) and range of the FRI; known_polarity: flyvis groundtruth_utils.polarity (1 ON, -1 OFF, 0 unknown); predicted_polarity: the sign of the median`,
        }));
        files.set('fri.svg', await renderSVG(friDistribution(rows, summary, cellTypes, { radius: FLYVIS_FRI_RADIUS, known, ensemble: view.name })));
        if (known !== null) lines.push(describeKnownPolarity(known, who));
      } else {
        const rows: EnsembleDsiRow[] = results.flatMap((r) => r.dsi!.map((row) => ({ model: r.name, ...row })));
        const tuning: EnsembleTuningRow[] = results.flatMap((r) => r.tuning!.map((row) => ({ model: r.name, ...row })));
        const summary = dsiSummary(rows);
        const known: KnownDirectionCount | null = knownDirectionCount(summary.map((s) => ({ cell_type: s.cell_type, intensity: s.intensity, preferred_direction_deg: s.preferred_direction_mean_deg })));
        const below = rows.filter((r) => r.dsi_below_threshold).length;
        if (below > 0) notes.push(`${below} of ${rows.length} DSIs (networks x cell types x edge polarities) are below ${threshold}: their preferred direction is undefined (empty in dsi.csv, null in dsi.json)`);
        const definition = 'DSI = |sum_theta r e^{i theta}| / max_intensity sum_theta |r|, peak rectified responses, averaged over speeds (flyvis direction_selectivity_index), per network; preferred direction = arg sum_theta r e^{i theta}, undefined (null) where DSI < dsi_threshold';
        const extra = { dsi_threshold: threshold, known_preferred_directions: known };
        const table = tableOf(rows, ['model', 'cell_type', 'intensity', 'dsi', 'preferred_direction_deg', 'dsi_below_threshold']);
        files.set('dsi.csv', toCsv(table));
        files.set('dsi.json', toJson(table, { ...meta, models, ...extra, notes, definition }));
        const sTable = tableOf(summary, [...DSI_SUMMARY_COLUMNS]);
        files.set('dsi_summary.csv', toCsv(sTable));
        files.set('dsi_summary.json', toJson(sTable, {
          ...meta, models, ...extra, notes,
          definition: "per cell type and edge polarity over the networks: median, quartiles (numpy's linear interpolation) and range of the DSI; the circular mean of the preferred directions defined (DSI >= dsi_threshold) and their agreement (mean resultant length); the known direction of T4a-d (ON) and T5a-d (OFF) from flyvis groundtruth_utils.preferred_directions and the angle to it",
        }));
        files.set('dsi.svg', await renderSVG(dsiDistribution(rows, summary, cellTypes, { threshold, ensemble: view.name })));
        files.set('tuning.csv', toCsv(tableOf(tuning, ['model', 'cell_type', 'intensity', 'angle', 'peak_response', 'normalized'])));
        files.set('tuning.svg', await renderSVG(polarTuning(medianTuning(tuning), cellTypes, {
          threshold, title: `Direction tuning per cell type: the median over ${results.length} networks of ${view.name} of each network's normalised tuning`,
        })));
        files.set('preferred_directions.svg', await renderSVG(preferredDirectionsPolar(rows, { threshold, ensemble: view.name })));
        if (known !== null) lines.push(describeKnownDirections(known, `the circular mean over ${results.length} networks`));
      }
      return `${results.length} networks of ${view.name} (${meta.selection}), ${cellTypes.length} cell types, ${dataset.length} movies each at dt=${dt}, ${workers} worker${workers === 1 ? '' : 's'}`;
    });
  }
}
