// The report of a `flyvis train --task flow` run (issue 15's "training works on CPU"): how the
// validation EPE went, and what flow training did to the network's cell types, next to flyvis's
// trained ensemble:
//
//   - validation EPE over the checkpoints against predicting zero, and the training loss
//     (bench/flow-train-figure.ts's reading and panels);
//   - the flash response index (FRI, flash radius 6) of every cell type, and how many of the 32
//     experimentally known ON/OFF polarities its sign predicts (src/analysis/groundtruth.ts);
//   - the direction selectivity index (DSI) and preferred direction of T4a-d (ON edges) and
//     T5a-d (OFF edges), against their known preferred directions;
//
// each for the run's checkpoint 0 (flyvis's initialisation), its best checkpoint (lowest
// validation loss, validation/loss.h5, as the solver's best_chkpt_index.h5) and its last one,
// and for every member of the ensemble (its best checkpoint, built at the run's extent), all
// through the same function
// (`analyseNetwork`: the library's Flashes and MovingEdge stimuli, computeResponses,
// flashResponseIndex, directionSelectivityIndex, as `flyvis analyze` runs them), so the numbers
// compare like with like.
//
//   npx tsx bench/flow-train-report.ts RUN_DIR --out PREFIX [--ensemble DIR] [--members K]
//     [--speeds S,...] [--angles A,...] [--dt DT] [--window W] [--cache FILE]
//
// --ensemble defaults to ../shared/flyvis/pretrained-v0.1.0/opticflow/000 beside the project.
//
// Writes PREFIX.svg (the figure), PREFIX.json (every number) and PREFIX.md (the tables).
// Cost: moving edges are the expensive part, so the default is one edge speed (13 columns/s;
// flyvis's analysis averages 6 speeds) with flyvis's 12 directions, both intensities, dt 1/200,
// and only the central T4/T5 cells are recorded; flashes are flyvis's 4 movies. On 2 busy cores
// a network at extent 15 takes about 30 s of CPU. The ensemble's results are kept per member in
// --cache (default PREFIX.ensemble.json) and reused while the stimuli, dt and each member's
// checkpoint (its SHA-256) are unchanged, so only the first report pays for the ensemble (50 networks) and a
// report interrupted during it resumes where it stopped.
import '../src/platform-node.ts';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { DSI_THRESHOLD, directionSelectivityIndex } from '../src/analysis/dsi.ts';
import {
  FLYVIS_FRI_RADIUS, type KnownDirectionCount, type KnownPolarityCount, type SampleSummary, circularMean, knownDirectionCount, knownPolarityCount, summarize,
} from '../src/analysis/ensemble.ts';
import { flashResponseIndex } from '../src/analysis/fri.ts';
import { KNOWN_POLARITY, OFF_MOTION_TUNING, ON_MOTION_TUNING, PREFERRED_DIRECTIONS, angularDistance, knownDirectionIntensity, polarityOf, sortOnOffUnknown } from '../src/analysis/groundtruth.ts';
import { computeResponses, selectNeurons } from '../src/analysis/responses.ts';
import { readHdf5Dataset } from '../src/io/hdf5.ts';
import type { Network } from '../src/network/network.ts';
import { renderSVG } from '../src/plot/render.ts';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { loadEnsembleDir } from '../src/results/ensemble-dir.ts';
import { type LoadedNetworkDir, loadNetworkDir } from '../src/results/network-dir.ts';
import { Flashes, MovingEdge } from '../src/stimuli/datasets.ts';
import { type TrainingCurves, epePanel, lossPanel, readTrainingCurves } from './flow-train-figure.ts';

/** The motion-tuned types, each with the edge intensity its known direction refers to. */
export const MOTION_TYPES: readonly string[] = [...ON_MOTION_TUNING, ...OFF_MOTION_TUNING];

export interface StimulusSettings {
  readonly dt: number;
  /** Edge speeds in columns/s. */
  readonly speeds: readonly number[];
  /** Edge directions in degrees (default flyvis's 12: 0, 30, ..., 330). */
  readonly angles?: readonly number[];
}

const edgeOptions = (extent: number, s: StimulusSettings) => ({ extent, dt: s.dt, speeds: [...s.speeds], ...(s.angles ? { angles: [...s.angles] } : {}) });

/** What the report keeps of one network's analysis. */
export interface NetworkNumbers {
  /** FRI at flash radius 6 per cell type (central cell), the connectome's type order. */
  readonly fri: Readonly<Record<string, number>>;
  /** T4a-d with ON edges, T5a-d with OFF edges: DSI and preferred direction (null below the DSI threshold). */
  readonly motion: readonly { readonly cell_type: string; readonly intensity: number; readonly dsi: number; readonly preferred_direction_deg: number | null }[];
}

/** The extent of a network's lattice, from its receptor hexals (3 e (e + 1) + 1). */
export function extentOf(net: Network): number {
  const n = net.stimulus.nInputElements;
  const e = Math.round((-3 + Math.sqrt(9 + 12 * (n - 1))) / 6);
  if (3 * e * (e + 1) + 1 !== n) throw new Error(`the network's ${n} input hexals are no hexagonal lattice`);
  return e;
}

/** The stimuli's configs (what the ensemble cache is keyed by). */
export function stimulusConfigs(extent: number, s: StimulusSettings): { flashes: Record<string, unknown>; edges: Record<string, unknown> } {
  return { flashes: new Flashes({ extent, dt: s.dt }).config, edges: new MovingEdge(edgeOptions(extent, s)).config };
}

/**
 * FRI of every cell type (flyvis's Flashes: ON and OFF, full field and radius 6; the radius-6
 * FRI kept) and DSI / preferred direction of T4a-d and T5a-d (MovingEdge at the given speeds,
 * flyvis's 12 directions, ON and OFF; each type at its known intensity), as `flyvis analyze`
 * computes them.
 */
export function analyseNetwork(net: Network, s: StimulusSettings): NetworkNumbers {
  const extent = extentOf(net);
  const flashes = computeResponses(net, new Flashes({ extent, dt: s.dt }), { dt: s.dt, cells: 'central' });
  const fri: Record<string, number> = {};
  for (const row of flashResponseIndex(flashes, { radii: [FLYVIS_FRI_RADIUS] })) fri[row.cell_type] = row.fri;
  const motionNodes = selectNeurons(net, 'central').filter((n) => MOTION_TYPES.includes(n.cell_type)).map((n) => n.node);
  const edges = computeResponses(net, new MovingEdge(edgeOptions(extent, s)), { dt: s.dt, cells: motionNodes });
  const { dsi } = directionSelectivityIndex(edges, { threshold: DSI_THRESHOLD });
  const motion = MOTION_TYPES.map((type) => {
    const intensity = knownDirectionIntensity(type)!;
    const row = dsi.find((r) => r.cell_type === type && r.intensity === intensity);
    if (row === undefined) throw new Error(`no ${type} DSI for intensity ${intensity} in the moving-edge responses`);
    return { cell_type: type, intensity, dsi: row.dsi, preferred_direction_deg: row.preferred_direction_deg };
  });
  return { fri, motion };
}

// ---- the ensemble, cached per member -----------------------------------------------------------

const CACHE_FORMAT = 'flyvis-ts.flow-train-report-ensemble';

interface CachedMember extends NetworkNumbers {
  readonly name: string;
  readonly checkpoint: string;
  /** The checkpoint file's SHA-256: a changed file is analysed again. */
  readonly checkpoint_sha256: string;
  readonly validation_loss: number | null;
}

interface EnsembleCache {
  readonly format: string;
  readonly inputs: Record<string, unknown>;
  members: CachedMember[];
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function writeJsonAtomic(file: string, value: unknown, indent?: number): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, indent) + '\n');
  renameSync(tmp, file);
}

export interface EnsembleOptions {
  /** Only the K members of lowest validation loss (default all). */
  readonly members?: number;
  /** Build the members at this extent (default: their config's). */
  readonly extent?: number;
  readonly log?: (m: string) => void;
}

/**
 * Each member's numbers (the `members` best by validation loss, default all), from `cacheFile`
 * where its inputs and the member's checkpoint are unchanged, else analysed (and the cache
 * rewritten after each member).
 */
export async function ensembleNumbers(dir: string, s: StimulusSettings, cacheFile: string, options: EnsembleOptions = {}): Promise<CachedMember[]> {
  const log = options.log ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const view = await loadEnsembleDir(dir);
  const members = view.bestMembers(options.members);
  let cache: EnsembleCache | null = null;
  let reuse: Network | undefined;
  const out: CachedMember[] = [];
  for (const [i, m] of members.entries()) {
    const started = Date.now();
    const info = await loadNetworkDir(m.dir, { ...(options.extent !== undefined ? { extent: options.extent } : {}), ...(reuse ? { reuse } : {}) });
    reuse = info.network;
    if (cache === null) {
      // the ensemble by flyvis's name (its last two path components), so the cache holds wherever the data lies
      const inputs = { ensemble: view.name, ...stimulusConfigs(extentOf(info.network), s), dsi_threshold: DSI_THRESHOLD };
      cache = readCache(cacheFile, inputs, log) ?? { format: CACHE_FORMAT, inputs, members: [] };
    }
    const digest = sha256(info.checkpointFile);
    const hit = cache.members.find((c) => c.name === info.name && c.checkpoint_sha256 === digest);
    if (hit !== undefined) {
      out.push(hit);
      continue;
    }
    const numbers = analyseNetwork(info.network, s);
    const entry: CachedMember = { name: info.name, checkpoint: info.checkpointFile, checkpoint_sha256: digest, validation_loss: info.validationLoss, ...numbers };
    cache.members = [...cache.members.filter((c) => c.name !== info.name), entry];
    writeJsonAtomic(cacheFile, cache);
    out.push(entry);
    log(`ensemble member ${i + 1}/${members.length} (${info.name}) analysed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return out;
}

function readCache(file: string, inputs: Record<string, unknown>, log: (m: string) => void): EnsembleCache | null {
  if (!existsSync(file)) return null;
  let c: EnsembleCache;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as EnsembleCache;
  } catch (e) {
    log(`${file}: unreadable (${(e as Error).message}); analysing the ensemble again`);
    return null;
  }
  if (c.format !== CACHE_FORMAT || JSON.stringify(c.inputs) !== JSON.stringify(inputs) || !Array.isArray(c.members)) {
    log(`${file}: made for other stimuli or another ensemble; analysing the ensemble again`);
    return null;
  }
  return c;
}

// ---- the summary ---------------------------------------------------------------------------------

export interface StateNumbers extends NetworkNumbers {
  /** 'initialisation', 'best' or 'last'. */
  readonly state: string;
  readonly checkpoint: string;
  readonly checkpoint_index: number;
  readonly iteration: number;
  readonly val_loss: number;
  readonly val_epe: number;
  readonly known_polarity: KnownPolarityCount;
  readonly known_directions: KnownDirectionCount;
}

const friRows = (fri: Readonly<Record<string, number>>) => Object.entries(fri).map(([cell_type, v]) => ({ cell_type, radius: FLYVIS_FRI_RADIUS, fri: v }));

export function stateNumbers(state: string, info: { checkpointFile: string; checkpointIndex: number | null }, position: number, curves: TrainingCurves, n: NetworkNumbers): StateNumbers {
  return {
    state,
    checkpoint: info.checkpointFile,
    checkpoint_index: info.checkpointIndex ?? position,
    iteration: curves.iterations[position]!,
    val_loss: curves.valLoss[position]!,
    val_epe: curves.epe[position]!,
    ...n,
    known_polarity: knownPolarityCount(friRows(n.fri))!,
    known_directions: knownDirectionCount(n.motion)!,
  };
}

export interface EnsembleSummary {
  readonly n_members: number;
  /** Per cell type: the FRI's median, quartiles and range over the members. */
  readonly fri: Readonly<Record<string, SampleSummary>>;
  /** The known polarities the median FRI predicts. */
  readonly known_polarity: KnownPolarityCount;
  /** How many known polarities each member predicts, summarised. */
  readonly known_polarity_per_member: SampleSummary;
  readonly motion: readonly {
    readonly cell_type: string;
    readonly intensity: number;
    readonly dsi: SampleSummary;
    /** Circular mean of the members' preferred directions where defined, and their agreement (mean resultant length). */
    readonly preferred_direction_mean_deg: number | null;
    readonly preferred_direction_agreement: number | null;
    readonly n_direction_selective: number;
  }[];
  readonly known_directions: KnownDirectionCount;
}

export function summarizeEnsemble(members: readonly NetworkNumbers[]): EnsembleSummary {
  const types = Object.keys(members[0]!.fri);
  const fri = Object.fromEntries(types.map((t) => [t, summarize(members.map((m) => m.fri[t]!))]));
  const known = knownPolarityCount(types.map((t) => ({ cell_type: t, radius: FLYVIS_FRI_RADIUS, fri: fri[t]!.median })))!;
  const perMember = summarize(members.map((m) => knownPolarityCount(friRows(m.fri))!.n_predicted));
  const motion = MOTION_TYPES.map((type, k) => {
    const rows = members.map((m) => m.motion[k]!);
    const defined = rows.map((r) => r.preferred_direction_deg).filter((d): d is number => d !== null);
    const pd = circularMean(defined);
    return {
      cell_type: type, intensity: rows[0]!.intensity, dsi: summarize(rows.map((r) => r.dsi)),
      preferred_direction_mean_deg: pd?.mean ?? null, preferred_direction_agreement: pd?.resultant ?? null, n_direction_selective: defined.length,
    };
  });
  const directions = knownDirectionCount(motion.map((m) => ({ cell_type: m.cell_type, intensity: m.intensity, preferred_direction_deg: m.preferred_direction_mean_deg })))!;
  return { n_members: members.length, fri, known_polarity: known, known_polarity_per_member: perMember, motion, known_directions: directions };
}

// ---- figure and tables ---------------------------------------------------------------------------

const STATE_COLORS = { initialisation: '#8c8c8c', best: '#4c72b0', last: '#dd8452' } as Record<string, string>;

export function reportFigure(curves: TrainingCurves, states: readonly StateNumbers[], ens: EnsembleSummary, window: number): TopLevelSpec {
  const types = sortOnOffUnknown(Object.keys(ens.fri));
  const stateLabel = (s: StateNumbers): string => `${s.state} (chkpt ${s.checkpoint_index}, iteration ${s.iteration})`;
  const domain = states.map(stateLabel);
  const range = states.map((s) => STATE_COLORS[s.state] ?? 'black');
  const color = { field: 'state', type: 'nominal', title: null, scale: { domain, range }, legend: { orient: 'top', labelLimit: 400, direction: 'horizontal' } };
  const xOffset = { field: 'state', type: 'nominal', scale: { domain } };
  const friPoints = states.flatMap((s) => types.map((t) => ({ cell_type: t, state: stateLabel(s), fri: s.fri[t]! })));
  const friEnsemble = types.map((t) => ({ cell_type: t, ...ens.fri[t]!, known: polarityOf(t) === 1 ? '+' : polarityOf(t) === -1 ? '−' : '' }));
  const xTypes = { field: 'cell_type', type: 'nominal', sort: types, title: null, axis: { labelAngle: -90, labelFontSize: 9 } };
  const friPanel = {
    title: `FRI (flash radius ${FLYVIS_FRI_RADIUS}) per cell type: the run's checkpoints (dots) and flyvis's ensemble of ${ens.n_members} (median, quartile bar); + / − known ON / OFF`,
    width: 980,
    height: 220,
    layer: [
      { data: { values: [{ y: 0 }] }, mark: { type: 'rule', color: '#bbbbbb' }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      {
        data: { values: friEnsemble },
        mark: { type: 'bar', width: 6, color: '#d9d9d9' },
        encoding: { x: xTypes, y: { field: 'q1', type: 'quantitative', title: 'FRI', scale: { domain: [-1.15, 1.15] } }, y2: { field: 'q3' } },
      },
      { data: { values: friEnsemble }, mark: { type: 'tick', color: 'black', thickness: 2, size: 10 }, encoding: { x: xTypes, y: { field: 'median', type: 'quantitative' } } },
      {
        data: { values: friEnsemble.map((r) => ({ ...r, top: 1.08 })) },
        mark: { type: 'text', fontSize: 11, fontWeight: 'bold' },
        encoding: { x: xTypes, y: { field: 'top', type: 'quantitative' }, text: { field: 'known' } },
      },
      { data: { values: friPoints }, mark: { type: 'point', filled: true, size: 24, opacity: 0.9 }, encoding: { x: xTypes, xOffset, y: { field: 'fri', type: 'quantitative' }, color } },
    ],
  };
  const motionTypes = ens.motion.map((m) => m.cell_type);
  const xMotion = { field: 'cell_type', type: 'nominal', sort: motionTypes, title: null, axis: { labelAngle: 0 } };
  const motionEnsemble = ens.motion.map((m) => ({ cell_type: m.cell_type, ...m.dsi }));
  const motionPoints = states.flatMap((s) => s.motion.map((m) => ({ cell_type: m.cell_type, state: stateLabel(s), dsi: m.dsi })));
  const dsiPanel = {
    title: 'DSI of T4a-d (ON edges) and T5a-d (OFF edges): the run (dots), the ensemble (median, quartiles, range)',
    width: 380,
    height: 220,
    layer: [
      { data: { values: motionEnsemble }, mark: { type: 'rule', color: '#999999' }, encoding: { x: xMotion, y: { field: 'min', type: 'quantitative', title: 'DSI' }, y2: { field: 'max' } } },
      { data: { values: motionEnsemble }, mark: { type: 'bar', width: 14, color: '#d9d9d9' }, encoding: { x: xMotion, y: { field: 'q1', type: 'quantitative' }, y2: { field: 'q3' } } },
      { data: { values: motionEnsemble }, mark: { type: 'tick', color: 'black', thickness: 2, size: 18 }, encoding: { x: xMotion, y: { field: 'median', type: 'quantitative' } } },
      { data: { values: motionPoints }, mark: { type: 'point', filled: true, size: 40, opacity: 0.9 }, encoding: { x: xMotion, xOffset, y: { field: 'dsi', type: 'quantitative' }, color } },
    ],
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    background: 'white',
    config: { font: 'sans-serif', view: { stroke: null } },
    vconcat: [{ hconcat: [epePanel(curves), lossPanel(curves, window)] }, friPanel, { hconcat: [dsiPanel] }],
  } as unknown as TopLevelSpec;
}

const f = (x: number | null | undefined, d = 2): string => (x === null || x === undefined ? '–' : x.toFixed(d));
/** d decimals, or 2 significant digits where that would show 0 (an untrained network's FRIs are near 0, and only their sign counts). */
const g = (x: number, d = 2): string => (x === 0 || Math.abs(x) >= 0.5 * 10 ** -d ? x.toFixed(d) : x.toExponential(1));
const deg = (x: number | null): string => (x === null ? 'undefined' : `${x.toFixed(0)}°`);

export function reportMarkdown(r: Report): string {
  const { states, ensemble: ens, curves } = r;
  const L: string[] = [];
  const head = (cols: string[]): void => void L.push(`| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`);
  L.push(`Run \`${r.run}\`: ${curves.iterations.length} checkpoints, iterations ${curves.iterations[0]} to ${curves.iterations.at(-1)}; ensemble \`${r.ensemble_dir}\` (${ens.n_members} networks, each its best checkpoint). ` +
    `Stimuli: flyvis's flashes (radius ${FLYVIS_FRI_RADIUS} FRI) and moving edges at ${r.stimuli.speeds.join(', ')} columns/s in ${r.stimuli.angles?.length ?? 12} directions, dt ${+r.stimuli.dt.toPrecision(6)} s.`, '');
  head(['', 'checkpoint', 'iteration', 'val. loss', 'val. EPE', 'EPE / zero', 'known polarities predicted', 'T4/T5 directions predicted']);
  for (const s of states) {
    L.push(`| ${s.state} | ${s.checkpoint_index} | ${s.iteration} | ${f(s.val_loss, 3)} | ${f(s.val_epe, 4)} | ${f(s.val_epe / curves.zeroEpe, 3)} | ${s.known_polarity.n_predicted} of ${s.known_polarity.n_known} | ${s.known_directions.n_predicted} of ${s.known_directions.n_known} |`);
  }
  const pm = ens.known_polarity_per_member;
  L.push(`| ensemble (median FRI / circular mean direction) | | | | | | ${ens.known_polarity.n_predicted} of ${ens.known_polarity.n_known} (members: median ${pm.median}, ${pm.min} to ${pm.max}) | ${ens.known_directions.n_predicted} of ${ens.known_directions.n_known} |`);
  L.push('', `Predicting zero: EPE ${f(curves.zeroEpe, 4)} on the same ${curves.nValidation} validation scenes.` +
    (r.seconds_per_iteration === null ? '' : ` Training took ${f(r.seconds_per_iteration)} s per iteration (time_trained.h5: checkpoints and their validation included).`), '');
  L.push('FRI (flash radius 6) of the cell types with a known polarity; ✓ where its sign matches the known polarity (flyvis counts the sign alone, so an FRI near 0 counts too):', '');
  head(['cell type', 'known', ...states.map((s) => s.state), `ensemble median [q1, q3]`]);
  const mark = (v: number, known: number): string => `${g(v)} ${Math.sign(v) === known ? '✓' : '✗'}`;
  for (const t of sortOnOffUnknown(Object.keys(KNOWN_POLARITY)).filter((t) => t in ens.fri)) {
    const known = KNOWN_POLARITY[t]!;
    const e = ens.fri[t]!;
    L.push(`| ${t} | ${known > 0 ? 'ON' : 'OFF'} | ${states.map((s) => mark(s.fri[t]!, known)).join(' | ')} | ${mark(e.median, known)} [${f(e.q1)}, ${f(e.q3)}] |`);
  }
  L.push('', `T4/T5 direction selectivity (DSI; preferred direction, undefined below DSI ${DSI_THRESHOLD}; known: ${MOTION_TYPES.map((t) => `${t} ${PREFERRED_DIRECTIONS[t]}°`).join(', ')}):`, '');
  head(['cell type', 'edges', ...states.map((s) => `${s.state} DSI`), 'ensemble DSI median [q1, q3]', ...states.map((s) => `${s.state} direction`), 'ensemble direction (agreement)']);
  ens.motion.forEach((m, k) => {
    const known = PREFERRED_DIRECTIONS[m.cell_type]!;
    const dir = (d: number | null): string => (d === null ? 'undefined' : `${deg(d)} (${f(angularDistance(d, known), 0)}° off)`);
    L.push(`| ${m.cell_type} | ${m.intensity === 1 ? 'ON' : 'OFF'} | ${states.map((s) => g(s.motion[k]!.dsi, 3)).join(' | ')} | ${f(m.dsi.median, 3)} [${f(m.dsi.q1, 3)}, ${f(m.dsi.q3, 3)}] | ${states.map((s) => dir(s.motion[k]!.preferred_direction_deg)).join(' | ')} | ${dir(m.preferred_direction_mean_deg)} (${f(m.preferred_direction_agreement)}) |`);
  });
  return L.join('\n') + '\n';
}

export interface Report {
  readonly run: string;
  readonly ensemble_dir: string;
  readonly stimuli: StimulusSettings & { readonly configs: Record<string, unknown> };
  readonly curves: TrainingCurves;
  readonly states: readonly StateNumbers[];
  readonly ensemble: EnsembleSummary;
  /** The checkpoint of lowest validation EPE (flyvis's loaders' 'best'), for comparison with the one of lowest loss. */
  readonly best_by_epe: { readonly checkpoint_index: number; readonly iteration: number; readonly val_epe: number };
  /** Seconds trained per iteration (checkpoints and their validation included), from time_trained.h5. */
  readonly seconds_per_iteration: number | null;
}

/** numpy's argmin: the first of equal minima. */
const argmin = (xs: readonly number[]): number => xs.reduce((best, x, i) => (x < xs[best]! ? i : best), 0);

/** The report of run `run` against ensemble `ensembleDir` (the run's analyses computed here; the ensemble's from the cache where it can). */
export async function flowTrainReport(run: string, ensembleDir: string, s: StimulusSettings, cacheFile: string, options: Omit<EnsembleOptions, 'extent'> = {}): Promise<Report> {
  const log = options.log ?? ((m: string) => void process.stderr.write(`${m}\n`));
  const curves = await readTrainingCurves(run);
  const n = curves.iterations.length;
  const positions: [string, number][] = [['initialisation', 0], ['best', argmin(curves.valLoss)], ['last', n - 1]];
  const analysed = new Map<number, { info: LoadedNetworkDir; numbers: NetworkNumbers }>();
  let reuse: Network | undefined;
  const states: StateNumbers[] = [];
  for (const [state, position] of positions) {
    let a = analysed.get(position);
    if (a === undefined) {
      const started = Date.now();
      const info = await loadNetworkDir(run, { checkpoint: position, ...(reuse ? { reuse } : {}) });
      reuse = info.network;
      a = { info, numbers: analyseNetwork(info.network, s) };
      analysed.set(position, a);
      log(`${state}: checkpoint ${info.checkpointIndex} analysed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    states.push(stateNumbers(state, a.info, position, curves, a.numbers));
  }
  // the ensemble's members built at the run's extent (flyvis's are at 15, as flyvis trains)
  const extent = extentOf(analysed.get(0)!.info.network);
  const members = await ensembleNumbers(ensembleDir, s, cacheFile, { ...options, extent, log });
  const ensemble = summarizeEnsemble(members);
  const e = argmin(curves.epe);
  // time_trained.h5: the seconds trained (a scalar, flyvis's solver; or one value per checkpoint)
  let secondsPerIteration: number | null = null;
  try {
    const t = (await readHdf5Dataset(`${run}/time_trained.h5`)).values;
    const last = curves.iterations[n - 1]!;
    if (last > 0 && t.length === 1) secondsPerIteration = t[0]! / last;
    else if (last > 0 && t.length === n) secondsPerIteration = (t[n - 1]! - t[0]!) / last;
  } catch {
    // no time_trained.h5: left out
  }
  return {
    run: resolve(run),
    ensemble_dir: resolve(ensembleDir),
    stimuli: { ...s, configs: stimulusConfigs(extent, s) },
    curves,
    states,
    ensemble,
    best_by_epe: { checkpoint_index: e, iteration: curves.iterations[e]!, val_epe: curves.epe[e]! },
    seconds_per_iteration: secondsPerIteration,
  };
}

if (import.meta.filename === process.argv[1]) {
  const args = process.argv.slice(2);
  const usage = 'usage: flow-train-report.ts RUN_DIR --out PREFIX [--ensemble DIR] [--members K] [--speeds S,...] [--angles A,...] [--dt DT] [--window W] [--cache FILE]\n';
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) {
      process.stderr.write(`--${name}: expected a value\n${usage}`);
      process.exit(2);
    }
    args.splice(i, 2);
    return v;
  };
  const number = (name: string, text: string | undefined, fallback: number, ok: (x: number) => boolean): number => {
    if (text === undefined) return fallback;
    const x = text.includes('/') ? Number(text.split('/')[0]) / Number(text.split('/')[1]) : Number(text);
    if (!ok(x)) {
      process.stderr.write(`--${name}: '${text}' is not a valid value\n${usage}`);
      process.exit(2);
    }
    return x;
  };
  const out = flag('out');
  const ensembleDir = flag('ensemble') ?? resolve(import.meta.dirname, '..', '..', 'shared', 'flyvis', 'pretrained-v0.1.0', 'opticflow', '000');
  const membersText = flag('members');
  const members = membersText === undefined ? undefined : number('members', membersText, 0, (x) => Number.isInteger(x) && x >= 1);
  const speedsText = flag('speeds');
  const speeds = speedsText === undefined ? [13] : speedsText.split(',').map((t) => number('speeds', t, 0, (x) => x > 0 && Number.isFinite(x)));
  const anglesText = flag('angles');
  const angles = anglesText?.split(',').map((t) => number('angles', t, 0, (x) => Number.isFinite(x)));
  const dt = number('dt', flag('dt'), 1 / 200, (x) => x > 0 && x <= 0.05);
  const window = number('window', flag('window'), 25, (x) => Number.isInteger(x) && x >= 1);
  const cacheText = flag('cache');
  const run = args[0];
  if (run === undefined || out === undefined || args.length !== 1) {
    process.stderr.write(usage);
    process.exit(2);
  }
  for (const [what, p] of [['RUN_DIR', run], ['--ensemble', ensembleDir]] as const) {
    if (!existsSync(p)) {
      process.stderr.write(`${what}: ${p} does not exist\n`);
      process.exit(2);
    }
  }
  const cacheFile = cacheText ?? `${out}.ensemble.json`;
  const settings: StimulusSettings = { dt, speeds, ...(angles ? { angles } : {}) };
  const report = await flowTrainReport(run, ensembleDir, settings, cacheFile, members === undefined ? {} : { members });
  // everything rendered first, then the three files written, so a failed report writes none
  const svg = await renderSVG(reportFigure(report.curves, report.states, report.ensemble, window));
  const md = reportMarkdown(report);
  writeFileAtomic(`${out}.svg`, svg);
  writeJsonAtomic(`${out}.json`, report, 1);
  writeFileAtomic(`${out}.md`, md);
  process.stdout.write(md);
  process.stderr.write(`wrote ${out}.svg, ${out}.json, ${out}.md (ensemble cache ${cacheFile})\n`);
}
