// `flyvis optimal-stimulus [--params CKPT] --cell-type T4a --out DIR [--mode artificial|natural|regularized] ...`:
// flyvis's optimal stimuli (flyvis/analysis/optimal_stimuli.py) for a cell type's central cell.
//   artificial (default): GenerateOptimalStimuli.artificial_optimal_stimuli, gradient ascent
//     from uniform noise (src/analysis/optimal-stimulus.ts).
//   natural: FindOptimalStimuli.optimal_stimuli, the movie of a dataset (--dataset procedural |
//     sintel:PATH, with AugmentedSintel's flips and rotations) that most excites the cell.
//   regularized: FindOptimalStimuli.regularized_optimal_stimuli, the natural one regularised
//     towards grey while keeping the central response (src/analysis/optimal-stimulus-natural.ts).
// Writes into DIR: stimulus.npy (float32 (frames, hexals)), response.npy (float32 (frames, cells
// of the type)), summary.json, stimulus.png (flyvis's stimulus-and-response picture), and
//   artificial: losses.csv (iteration, loss, central, mei);
//   natural: peaks.csv (each movie's peak central response);
//   regularized: natural_stimulus.npy, natural_response.npy, peaks.csv, losses.csv (iteration,
//     loss, act, stim).
// DIR and its files are checked before any work and written together at the end (src/io/output.ts).
// Progress lines on stderr (unless --quiet). Bad input: one line on stderr, exit 2, nothing written.
import { resolve } from 'node:path';
import { AnalysisError } from '../analysis/errors.ts';
import { optimalStimulus } from '../analysis/optimal-stimulus.ts';
import { type NaturalisticMovies, naturalOptimalStimulus, naturalisticMovies, regularizedOptimalStimulus } from '../analysis/optimal-stimulus-natural.ts';
import { type StimulusResponseRow, optimalStimulusFigureSpec } from '../analysis/optimal-stimulus-plot.ts';
import { FlowDatasetError } from '../datasets/flow/errors.ts';
import { flowDatasetFromSpec } from '../datasets/flow/spec.ts';
import { encodeNpy } from '../io/npy.ts';
import { OutputPathError, type Outputs, openOutputs } from '../io/output.ts';
import type { Network } from '../network/network.ts';
import { PlotError, renderSVG, svgToPNG } from '../plot/render.ts';
import { type OptionSpecs, type ParsedOptions, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, connectomeInputs, networkFromOptions, paramsOption } from './common.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption(),
  'cell-type': { type: 'string', metavar: 'TYPE', help: "the cell type whose central cell to excite, e.g. T4a" },
  out: { type: 'string', metavar: 'DIR', help: 'folder for stimulus.npy, response.npy, summary.json, stimulus.png and the mode\'s other files (created)' },
  mode: {
    type: 'string', metavar: 'MODE', default: 'artificial',
    help: "artificial (gradient ascent from noise), natural (the dataset's movie that most excites the cell) or regularized (the natural one, regularised towards grey)",
  },
  dataset: { type: 'string', metavar: 'SPEC', help: "natural/regularized: the movies, 'procedural' (rendered scenes) or 'sintel:PATH' (MPI Sintel at PATH) (default: procedural)" },
  items: { type: 'integer', metavar: 'N', min: 1, help: 'natural/regularized with --dataset procedural: number of scenes (default: 32)' },
  'flip-axes': { type: 'string', metavar: 'LIST', help: "natural/regularized: hex axes each movie is also mirrored across, 0 for none (flyvis's AugmentedSintel: 0,1)" },
  rotations: { type: 'string', metavar: 'LIST', help: "natural/regularized: rotations by n x 60 degrees each movie is also shown at (AugmentedSintel: 0,1,2,3,4,5)" },
  'batch-size': { type: 'integer', metavar: 'B', min: 1, help: 'natural/regularized: movies simulated together in the search (flyvis: 4)' },
  iterations: { type: 'integer', metavar: 'N', min: 0, help: 'Adam steps (flyvis: 200 artificial, 100 regularized)' },
  lr: { type: 'number', metavar: 'LR', min: 0, default: 1e-2, help: 'learning rate (flyvis: 1e-2)' },
  't-stim': { type: 'number', metavar: 'SECONDS', min: 0, help: 'artificial: stimulus duration (flyvis: 49/200)' },
  dt: { type: 'dt', metavar: 'DT', default: 1 / 100, help: 'integration time step and frame interval (flyvis: 1/100)' },
  'weight-central': { type: 'number', metavar: 'W', help: "artificial: weight of -mean(exp(central activity)) (flyvis: 1)" },
  'weight-mei': { type: 'number', metavar: 'W', min: 0, help: 'artificial: weight of mean((stimulus - 0.5)^2), the pull to grey (flyvis: 3000)' },
  'all-frames': { type: 'boolean', help: "artificial: optimise every frame's response (flyvis's default: the last frame only)" },
  'l2-act': { type: 'number', metavar: 'W', min: 0, help: "regularized: weight of the central response's squared deviation from the natural one (flyvis: 1)" },
  'l2-stim': { type: 'number', metavar: 'W', min: 0, help: "regularized: weight of the stimulus's squared deviation from grey (flyvis: 1)" },
  seed: { type: 'integer', metavar: 'S', min: 0, help: 'artificial: seed of the initial uniform noise; natural/regularized with --dataset procedural: seed of the scenes (default: 0)' },
  quiet: { type: 'boolean', help: 'no progress lines on stderr' },
} as const satisfies OptionSpecs;

type Options = ParsedOptions<typeof OPTIONS>;
type Mode = 'artificial' | 'natural' | 'regularized';

const SUMMARY =
  "flyvis's optimal stimuli for a cell type's central cell (flyvis/analysis/optimal_stimuli.py): the\n" +
  'artificial one (gradient ascent on a movie from uniform noise, regularised towards grey), the\n' +
  "natural one (the dataset's movie that most excites the cell) or the regularised natural one\n" +
  '(gradient descent from it that keeps the central response and pulls the movie to grey).';

const ONLY: Record<Mode, readonly (keyof Options)[]> = {
  artificial: ['t-stim', 'weight-central', 'weight-mei', 'all-frames'],
  natural: ['dataset', 'items', 'flip-axes', 'rotations', 'batch-size'],
  regularized: ['l2-act', 'l2-stim'],
};

const FILES: Record<Mode, readonly string[]> = {
  artificial: ['stimulus.npy', 'response.npy', 'losses.csv', 'summary.json', 'stimulus.png'],
  natural: ['stimulus.npy', 'response.npy', 'peaks.csv', 'summary.json', 'stimulus.png'],
  regularized: ['stimulus.npy', 'response.npy', 'natural_stimulus.npy', 'natural_response.npy', 'peaks.csv', 'losses.csv', 'summary.json', 'stimulus.png'],
};

function intList(flag: string, text: string, allowed: readonly number[]): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const values = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (parts.length === 0 || values.some((x) => !allowed.includes(x)) || new Set(values).size !== values.length) {
    throw new UsageError(`--${flag}: expected a comma-separated list of distinct values from ${allowed.join(', ')}, got '${text}'`);
  }
  return values;
}

/** Checks the flags against the mode (before any work). */
function checkFlags(o: Options): Mode {
  const mode = o.mode as Mode;
  if (!(mode in ONLY)) throw new UsageError(`--mode: expected artificial, natural or regularized, got '${o.mode}'`);
  for (const required of ['cell-type', 'out'] as const) {
    if (o[required] === undefined) throw new UsageError(`--${required} is required`);
  }
  const allowed = new Set<keyof Options>(mode === 'artificial' ? ONLY.artificial : mode === 'natural' ? ONLY.natural : [...ONLY.natural, ...ONLY.regularized]);
  for (const m of Object.keys(ONLY) as Mode[]) {
    for (const flag of ONLY[m]) {
      const given = o[flag] !== undefined && o[flag] !== false;
      if (given && !allowed.has(flag)) {
        const modes = m === 'natural' ? 'natural or regularized' : m;
        throw new UsageError(`--${flag}: applies to --mode ${modes}, got --mode ${mode}`);
      }
    }
  }
  if (!(o.lr > 0)) throw new UsageError(`--lr: expected a positive number, got '${o.lr}'`);
  if (mode === 'natural' && o.iterations !== undefined) throw new UsageError('--iterations: applies to --mode artificial or regularized, got --mode natural');
  const dataset = o.dataset ?? 'procedural';
  if (mode !== 'artificial') {
    if (dataset !== 'procedural' && !/^sintel:./.test(dataset)) {
      throw new FlowDatasetError(`--dataset: expected 'procedural' or 'sintel:PATH' (an MPI Sintel folder), got '${dataset}'`);
    }
    if (dataset !== 'procedural' && o.items !== undefined) throw new UsageError(`--items: applies to --dataset procedural only (Sintel's scenes decide), got --dataset ${dataset}`);
    if (dataset !== 'procedural' && o.seed !== undefined) throw new UsageError(`--seed: applies to --mode artificial or --dataset procedural, got --dataset ${dataset}`);
  }
  return mode;
}

const csv = (header: string, rows: readonly (readonly (number | string)[])[]): string => [header, ...rows.map((r) => r.join(','))].join('\n') + '\n';

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'optimal-stimulus',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('optimal-stimulus', SUMMARY, OPTIONS));
        return 0;
      }
      const mode = checkFlags(o);
      const flipAxes = o['flip-axes'] === undefined ? undefined : intList('flip-axes', o['flip-axes'], [0, 1, 2, 3]);
      const rotations = o.rotations === undefined ? undefined : intList('rotations', o.rotations, [0, 1, 2, 3, 4, 5]);
      const outs = openOutputs('optimal-stimulus', [{ flag: 'out', path: o.out, kind: 'dir', files: FILES[mode] }], [
        ...connectomeInputs(o),
        ...(o.dataset?.startsWith('sintel:') ? [{ flag: 'dataset', path: o.dataset.slice('sintel:'.length) }] : []),
      ]);
      try {
        const written = mode === 'artificial' ? await artificial(o, outs) : await natural(o, outs, mode, flipAxes, rotations);
        process.stdout.write(`${written}; wrote ${o.out}/${FILES[mode].join(', ')}\n`);
        return 0;
      } finally {
        outs.release();
      }
    },
    [...BAD_INPUT, OutputPathError, AnalysisError, PlotError],
  );
}

/** Every few seconds (and at the end), unless --quiet. */
function progress(o: Options): (line: string, last: boolean) => void {
  let at = performance.now();
  return (line, last) => {
    const now = performance.now();
    if (o.quiet || (!last && now - at < 2000)) return;
    at = now;
    process.stderr.write(`flyvis optimal-stimulus: ${line}\n`);
  };
}

async function picture(outs: Outputs, net: Network, cellType: string, rows: StimulusResponseRow[], dt: number, title: string): Promise<void> {
  const svg = await renderSVG(optimalStimulusFigureSpec(net.connectome, cellType, rows, { dt, title }));
  outs.stage('out', await svgToPNG(svg), 'stimulus.png');
}

async function artificial(o: Options, outs: Outputs): Promise<string> {
  const iterations = o.iterations ?? 200;
  const tStim = o['t-stim'] ?? 49 / 200;
  const weightCentral = o['weight-central'] ?? 1;
  const weightMei = o['weight-mei'] ?? 3000;
  const seed = o.seed ?? 0;
  const net = await networkFromOptions(o);
  const started = performance.now();
  const say = progress(o);
  const r = optimalStimulus(net, o['cell-type']!, {
    iterations,
    lr: o.lr,
    tStim,
    dt: o.dt,
    weightCentral,
    weightMei,
    lastOnly: !o['all-frames'],
    seed,
    onIteration: (i, l) =>
      say(`iteration ${i}/${iterations}  loss ${l.loss.toPrecision(6)} (central ${l.central.toPrecision(6)}, mei ${l.mei.toPrecision(6)})`, i === iterations),
  });
  outs.stage('out', encodeNpy(r.stimulus, r.shape), 'stimulus.npy');
  outs.stage('out', encodeNpy(r.response, r.responseShape), 'response.npy');
  outs.stage('out', csv('iteration,loss,central,mei', r.losses.map((l, i) => [i + 1, l.loss, l.central, l.mei])), 'losses.csv');
  await picture(outs, net, r.cellType, [{ label: 'artificial', ...r }], r.dt, `${r.cellType}: artificial optimal stimulus`);
  const summary = {
    producer: 'flyvis optimal-stimulus',
    mode: 'artificial',
    cell_type: r.cellType,
    central_node: r.centralNode,
    params: o.params === undefined ? null : resolve(o.params),
    extent: o.extent,
    dt: r.dt,
    frames: r.shape[0],
    hexals: r.shape[1],
    iterations,
    lr: o.lr,
    weight_central: weightCentral,
    weight_mei: weightMei,
    last_only: !o['all-frames'],
    seed,
    central_response_initial: r.initialCentral,
    central_response_final: r.finalCentral,
    seconds: (performance.now() - started) / 1000,
  };
  outs.stage('out', JSON.stringify(summary, null, 2) + '\n', 'summary.json');
  outs.commit();
  return `flyvis optimal-stimulus: ${r.cellType}: central response ${r.initialCentral.toPrecision(6)} (noise) -> ${r.finalCentral.toPrecision(6)}`;
}

async function natural(o: Options, outs: Outputs, mode: 'natural' | 'regularized', flipAxes: number[] | undefined, rotations: number[] | undefined): Promise<string> {
  const spec = o.dataset ?? 'procedural';
  const procedural = spec === 'procedural';
  const net = await networkFromOptions(o);
  const cellType = o['cell-type']!;
  if (!net.connectome.layerIndex.has(cellType)) {
    throw new AnalysisError(`optimal stimulus: unknown cell type '${cellType}' (expected one of ${net.connectome.uniqueCellTypes.join(', ')})`);
  }
  const seed = o.seed ?? 0;
  const items = o.items ?? 32;
  // the movies at the network's eye and time step, without the training's random augmentation
  const source = flowDatasetFromSpec(spec, {
    dt: o.dt,
    extent: o.extent,
    augment: false,
    ...(procedural ? { split: 'validation' as const, nSequences: items, seed } : {}),
  });
  if (source.length === 0) throw new FlowDatasetError(`--dataset ${spec}: no movies`);
  const movies: NaturalisticMovies = naturalisticMovies(source, { ...(flipAxes ? { flipAxes } : {}), ...(rotations ? { rotations } : {}) });
  const started = performance.now();
  const say = progress(o);
  const nat = naturalOptimalStimulus(net, cellType, movies, {
    dt: o.dt,
    ...(o['batch-size'] !== undefined ? { batchSize: o['batch-size'] } : {}),
    onProgress: (done, total) => say(`searched ${done}/${total} movies`, done === total),
  });
  const best = movies.describe(nat.index);
  const peaks = csv(
    'index,item,flip_axis,rotation,peak_response,peak_frame',
    Array.from(nat.indices, (i, k) => {
      const d = movies.describe(i);
      return [i, d.item, d.flipAxis, d.rotation, nat.peaks[k]!, nat.peakFrames[k]!];
    }),
  );
  const common = {
    producer: 'flyvis optimal-stimulus',
    mode,
    cell_type: cellType,
    central_node: nat.centralNode,
    params: o.params === undefined ? null : resolve(o.params),
    extent: o.extent,
    dt: nat.dt,
    dataset: procedural ? 'procedural' : `sintel:${resolve(spec.slice('sintel:'.length))}`,
    dataset_items: source.length,
    ...(procedural ? { seed } : {}),
    flip_axes: movies.flipAxes,
    rotations: movies.rotations,
    movies: movies.length,
    t_pre: 0,
    t_fade_in: 2,
    natural: { index: nat.index, item: best.item, flip_axis: best.flipAxis, rotation: best.rotation, peak_frame: nat.frame, peak_response: nat.peak, frames: nat.shape[0], hexals: nat.shape[1] },
  };
  outs.stage('out', peaks, 'peaks.csv');
  if (mode === 'natural') {
    outs.stage('out', encodeNpy(nat.stimulus, nat.shape), 'stimulus.npy');
    outs.stage('out', encodeNpy(nat.response, nat.responseShape), 'response.npy');
    await picture(outs, net, cellType, [{ label: 'natural', ...nat }], nat.dt, `${cellType}: natural optimal stimulus (movie ${nat.index})`);
    outs.stage('out', JSON.stringify({ ...common, seconds: (performance.now() - started) / 1000 }, null, 2) + '\n', 'summary.json');
    outs.commit();
    return `flyvis optimal-stimulus: ${cellType}: movie ${nat.index} of ${movies.length} (item ${best.item}, flip ${best.flipAxis}, rotation ${best.rotation}), peak central response ${nat.peak.toPrecision(6)} at frame ${nat.frame}`;
  }
  const iterations = o.iterations ?? 100;
  const l2Act = o['l2-act'] ?? 1;
  const l2Stim = o['l2-stim'] ?? 1;
  const reg = regularizedOptimalStimulus(net, cellType, nat, {
    iterations,
    lr: o.lr,
    l2Act,
    l2Stim,
    onIteration: (i, l) => say(`iteration ${i}/${iterations}  loss ${l.loss.toPrecision(6)} (act ${l.act.toPrecision(6)}, stim ${l.stim.toPrecision(6)})`, i === iterations),
  });
  outs.stage('out', encodeNpy(reg.stimulus, reg.shape), 'stimulus.npy');
  outs.stage('out', encodeNpy(reg.response, reg.responseShape), 'response.npy');
  outs.stage('out', encodeNpy(nat.stimulus, nat.shape), 'natural_stimulus.npy');
  outs.stage('out', encodeNpy(nat.response, nat.responseShape), 'natural_response.npy');
  outs.stage('out', csv('iteration,loss,act,stim', reg.losses.map((l, i) => [i + 1, l.loss, l.act, l.stim])), 'losses.csv');
  const rows: StimulusResponseRow[] = [{ label: 'natural', ...nat }, { label: 'regularized', ...reg }];
  await picture(outs, net, cellType, rows, reg.dt, `${cellType}: regularized natural optimal stimulus (movie ${nat.index})`);
  const first = reg.losses[0];
  const summary = {
    ...common,
    iterations,
    lr: o.lr,
    l2_act: l2Act,
    l2_stim: l2Stim,
    frames: reg.shape[0],
    loss_initial: first ? { loss: first.loss, act: first.act, stim: first.stim } : null,
    loss_final: reg.finalLoss,
    central_response_peak_natural: Math.max(...reg.centralTarget),
    central_response_peak_regularized: Math.max(...reg.centralResponse),
    seconds: (performance.now() - started) / 1000,
  };
  outs.stage('out', JSON.stringify(summary, null, 2) + '\n', 'summary.json');
  outs.commit();
  return (
    `flyvis optimal-stimulus: ${cellType}: movie ${nat.index} of ${movies.length}, regularized: stimulus term ${first ? first.stim.toPrecision(6) : '-'} -> ${reg.finalLoss.stim.toPrecision(6)}, ` +
    `activity term ${reg.finalLoss.act.toPrecision(6)}`
  );
}
