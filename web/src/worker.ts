// The explorer's simulation worker: builds flyvis's default network at extent 15 on the wasm
// backend (the page never blocks on it), probes the other backends the browser offers
// (web/src/engines.ts) and simulates on the fastest correct one, renders the chosen stimulus with
// the library's datasets and steps the network through it on request, posting each batch of
// frames' activity. It also loads checkpoints and results directories, runs the in-page analyses
// (web/src/analyses.ts) and the optimal stimulus. Messages are handled one at a time, in order
// (some engines answer asynchronously); only 'cancel-analysis' acts at once.
import { Tensor, hexLattice, loadWasmKernel, noGrad, readTorchFile, registerConnectomeDescription, stateDictFromTorch, Network, ResponsesInterrupted } from '../../src/core.ts';
import type { ConnectomeSpec, Frames } from '../../src/core.ts';
import { optimalStimulus } from '../../src/analysis/optimal-stimulus.ts';
import { naturalOptimalStimulus, naturalisticMovies, regularizedOptimalStimulus } from '../../src/analysis/optimal-stimulus-natural.ts';
import { ProceduralFlow } from '../../src/datasets/flow/procedural.ts';
import { DEFAULT_MODEL, type FromWorker, type ToWorker } from './protocol.ts';
import { CONNECTOME, DT, EXTENT, connectivity, defaultNetwork, movieFromNpy, stimulusMovie } from './sim.ts';
import { ENGINE_NAMES, PROBE_FLASH, PROBE_TOLERANCE, createEngine, fastestCorrect, offered, probeEngines, wasmEngine, type Engine, type EngineName, type EngineReport } from './engines.ts';
import { runAnalysis } from './analyses.ts';
import { readZipArchive } from './zip.ts';
import { readNetworkDirFiles, type DirFile } from './results-dir.ts';

/** The optimal stimuli's time step (flyvis's: 1/100). */
const OPTIMAL_DT = 1 / 100;

/** Marks this module for the type check (tests/browser/explorer.test.ts imports the type). */
export type WorkerModule = 'flyvis-explorer-worker';

/** The network the page shows (its parameters are the current model's). */
let net: Network | null = null;
/** Networks by config: 'default' (flyvis's default config), else a results directory's config (canonical JSON). */
const networks = new Map<string, Network>();
/** Loaded models by name: their network's key and state_dict (the first is the default network's initial parameters). */
const models = new Map<string, { key: string; stateDict: Readonly<Record<string, unknown>>; detail?: string }>();
/** Uploaded movies by name. */
const movies = new Map<string, Frames>();
let spec: ConnectomeSpec | null = null;
let engine: Engine | null = null;
let engineName: EngineName = 'wasm';
let reports: EngineReport[] = [];
let chosenBy: 'probe' | 'url' | 'user' = 'probe';
let analysing: { cancelled: boolean } | null = null;
let currentModel = DEFAULT_MODEL;

// The worker's global scope, typed here so that this file type-checks without the DOM library
// (it is checked with the library's sources, tsconfig.json, through tests/browser/explorer.test.ts).
const scope = globalThis as unknown as { postMessage(m: FromWorker, transfer: ArrayBuffer[]): void; onmessage: ((e: { data: ToWorker }) => void) | null };
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => scope.postMessage(m, transfer);
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A checkpoint's state_dict: a flyvis torch file (a zip archive) or state_dict JSON. */
function parseCheckpoint(name: string, bytes: Uint8Array): Readonly<Record<string, unknown>> {
  if (bytes.length >= 2 && bytes[0] === 0x50 && bytes[1] === 0x4b) return stateDictFromTorch(readTorchFile(bytes, name), name);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${name}: neither a torch file (torch.save) nor JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${name}: expected a state_dict (an object of parameter arrays)`);
  return json as Record<string, unknown>;
}

// -- stepping ------------------------------------------------------------------------------------

/** Steps the network through a movie a few frames at a time from the grey steady state, on the engine in use. */
class Stepper {
  private v: Float32Array;
  private t = 0;
  constructor(
    readonly movie: Frames,
    /** The grey steady state's activity (1 s of grey, on the reference wasm network). */
    readonly baseline: Float32Array,
  ) {
    this.v = baseline.slice();
  }

  get frame(): number {
    return this.t;
  }

  get frames(): number {
    return this.movie.shape[0];
  }

  /** The next n frames' activity, (n, nodes) row-major, n clipped to the frames left. */
  async step(n: number): Promise<Float32Array> {
    const H = this.movie.shape[1];
    const N = net!.nNodes;
    const k = Math.max(0, Math.min(n, this.frames - this.t));
    if (k === 0) return new Float32Array(0);
    const x = nodeInput(this.movie.data.subarray(this.t * H, (this.t + k) * H), k);
    const out = await engine!.run(this.v, x, k, DT);
    this.v = out.slice((k - 1) * N, k * N);
    this.t += k;
    return out;
  }
}
let stepper: Stepper | null = null;

/** The node input (k, N) of k frames of hexal values (the network's stimulus mapping), a copy. */
function nodeInput(frames: Float32Array, k: number): Float32Array {
  const H = net!.stimulus.nInputElements;
  return noGrad(() => {
    net!.stimulus.zero(1, k);
    net!.stimulus.addInput({ data: frames, shape: [1, k, 1, H] });
    return Float32Array.from(net!.stimulus.call().data);
  });
}

/** The grey steady state's activity on the reference network (1 s of grey 0.5 at dt). */
function greySteadyState(): Float32Array {
  const s = noGrad(() => net!.steadyState(1.0, DT, 1));
  return Float32Array.from((s!.nodes.activity as Tensor).data.subarray(0, net!.nNodes));
}

// -- backends ------------------------------------------------------------------------------------

/** Builds the engine for `name` on the current network (the wasm engine is the network itself). */
async function useEngine(name: EngineName): Promise<void> {
  const next = await createEngine(name, net!);
  if (engine !== null && engine !== next) engine.dispose();
  engine = next;
  engineName = name;
}

/**
 * Probes `names` (each against wasm) on the current network and merges the reports; wasm is timed
 * too. Backends not probed keep their report (or get one saying so).
 */
async function probeSome(names: readonly EngineName[]): Promise<void> {
  const engines: Engine[] = [wasmEngine(net!)];
  const found: EngineReport[] = [];
  for (const name of names) {
    if (name === 'wasm') continue;
    const o = await offered(name);
    if (!o.ok) {
      found.push({ name, probed: true, available: false, detail: o.reason });
      continue;
    }
    try {
      engines.push(await createEngine(name, net!));
    } catch (e) {
      found.push({ name, probed: true, available: false, detail: message(e) });
    }
  }
  const H = net!.stimulus.nInputElements;
  const movie = new Float32Array(PROBE_FLASH.length * H);
  PROBE_FLASH.forEach((x, t) => movie.fill(x, t * H, (t + 1) * H));
  const probed = await probeEngines(engines, greySteadyState(), nodeInput(movie, PROBE_FLASH.length), DT);
  for (const e of engines) e.dispose();
  reports = ENGINE_NAMES.map(
    (n) => probed.find((r) => r.name === n) ?? found.find((r) => r.name === n) ?? reports.find((r) => r.name === n) ?? { name: n, probed: false, available: false, detail: 'not probed' },
  );
}

/**
 * On load: probes every backend the browser offers and uses the fastest that agrees with wasm; a
 * backend named in the link is probed alone (the others when chosen) and used when it agrees.
 */
async function probe(asked: string | undefined): Promise<void> {
  const named = ENGINE_NAMES.find((n) => n === asked);
  reports = ENGINE_NAMES.map((n) => ({ name: n, probed: false, available: false, detail: `not probed (the link asked for ${named}): choosing it probes it` }));
  await probeSome(named === undefined ? ENGINE_NAMES : [named]);
  const ask = reports.find((r) => r.name === named && r.available && r.correct);
  chosenBy = ask ? 'url' : 'probe';
  await useEngine(ask ? ask.name : fastestCorrect(reports));
  post({ type: 'backends', reports, active: engineName, chosenBy });
}

// -- models --------------------------------------------------------------------------------------

/** Canonical JSON (keys sorted): two configs with the same content have the same key. */
function canonical(x: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sort) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sort(x));
}

/** Makes `key`'s network (with `sd` loaded) the page's network; the engine follows it. */
async function activate(key: string, sd: Readonly<Record<string, unknown>>): Promise<void> {
  const target = networks.get(key)!;
  target.loadCheckpoint(sd, { onWarning: (w) => console.warn(w) });
  const changed = target !== net;
  net = target;
  if (changed || engine === null) await useEngine(engineName);
}

async function h5Values(bytes: Uint8Array, file: string): Promise<Float64Array> {
  const h5 = await import('h5wasm');
  const module = await h5.ready;
  const path = `/flyvis-${Math.random().toString(36).slice(2)}.h5`;
  module.FS.writeFile(path, bytes);
  let f: InstanceType<typeof h5.File> | null = null;
  try {
    f = new h5.File(path, 'r');
    const d = f.get('data');
    if (!(d instanceof h5.Dataset)) throw new Error(`no dataset "data" (the file holds ${f.keys().map((k) => `"${k}"`).join(', ') || 'nothing'})`);
    const v = d.value;
    if (typeof v === 'number') return Float64Array.of(v);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Float64Array.from(v as unknown as ArrayLike<number>, Number);
    throw new Error(`dataset "data" holds ${String(d.dtype)}, expected numbers`);
  } catch (e) {
    throw new Error(`${file}: cannot read as HDF5 (${message(e).split('\n')[0]})`);
  } finally {
    try {
      f?.close();
    } catch {
      // a read-only file: closing frees memory only
    }
    module.FS.unlink(path);
  }
}

/** Loads a results directory's best checkpoint as a model (building its network when its config differs). */
async function loadResults(m: Extract<ToWorker, { type: 'results' }>): Promise<void> {
  let files: DirFile[];
  if (m.zip !== undefined) files = await readZipArchive(new Uint8Array(m.zip), m.name);
  else files = (m.files ?? []).map((f) => ({ path: f.path, bytes: new Uint8Array(f.bytes) }));
  const dir = await readNetworkDirFiles(files, m.name, {
    extent: EXTENT,
    readH5: h5Values,
    edgeTypes: () => (spec?.edges ?? []).map((e) => e.raw.edge_type as string | undefined),
  });
  const key = canonical(dir.networkConfig);
  let built = networks.get(key);
  if (built === undefined) {
    try {
      built = new Network(dir.networkConfig, { kernel: 'wasm' });
    } catch (e) {
      throw new Error(`${m.name}/${dir.dir ? `${dir.dir}/` : ''}_meta.yaml: config.network: cannot build the network: ${message(e)}`);
    }
    networks.set(key, built);
  }
  try {
    built.loadCheckpoint(dir.stateDict); // checks sizes and values; changes nothing on a problem
  } catch (e) {
    throw new Error(`${m.name}/${dir.checkpoint}: does not fit the network of its _meta.yaml: ${message(e)}`);
  }
  // the model's name: the network directory's path in the upload (a zip's folder), else the upload's name
  const name = dir.dir !== '' ? dir.dir : m.name.replace(/\.zip$/i, '');
  const detail = `${dir.summary}${dir.configChanges.length > 0 ? `; config: ${dir.configChanges.join('; ')}` : ''}`;
  models.set(name, { key, stateDict: dir.stateDict, detail });
  await activate(key, dir.stateDict);
  currentModel = name;
  post({ type: 'model', name, models: [...models.keys()], detail });
}

// -- messages ------------------------------------------------------------------------------------

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  await loadWasmKernel(m.wasmUrl);
  const response = await fetch(m.connectomeUrl);
  if (!response.ok) throw new Error(`fetching ${m.connectomeUrl}: HTTP ${response.status}`);
  spec = registerConnectomeDescription(CONNECTOME, await response.json());
  net = defaultNetwork('wasm');
  networks.set('default', net);
  models.set(DEFAULT_MODEL, { key: 'default', stateDict: net.stateDict() });
  engine = wasmEngine(net);
  const c = net.connectome;
  const u = c.nodes.columns.u as Int32Array | Float32Array;
  const v = c.nodes.columns.v as Int32Array | Float32Array;
  const layers = c.uniqueCellTypes.map((t) => {
    const index = c.layerIndex.get(t)!;
    return { index, u: Int32Array.from(index, (i) => u[i]!), v: Int32Array.from(index, (i) => v[i]!) };
  });
  const lattice = hexLattice(EXTENT);
  const links = connectivity(c);
  post({
    type: 'ready',
    info: {
      backend: 'wasm',
      nodes: net.nNodes,
      cellTypes: [...c.uniqueCellTypes],
      inputTypes: [...c.inputCellTypes],
      outputTypes: [...c.outputCellTypes],
      layers,
      hexU: lattice.u,
      hexV: lattice.v,
      dt: DT,
      inputs: links.inputs,
      outputs: links.outputs,
    },
  });
  await probe(m.backend);
}

async function handle(m: ToWorker): Promise<void> {
  if (m.type === 'init') return init(m);
  if (net === null) throw new Error('the network is not built yet');
  if (m.type === 'checkpoint') {
    try {
      const sd = parseCheckpoint(m.name, new Uint8Array(m.bytes));
      networks.get('default')!.loadCheckpoint(sd, { onWarning: (w) => console.warn(w) }); // checks everything; changes nothing on a problem
      models.set(m.name, { key: 'default', stateDict: sd });
      await activate('default', sd);
    } catch (e) {
      post({ type: 'checkpoint-error', name: m.name, message: message(e) });
      return;
    }
    currentModel = m.name;
    post({ type: 'model', name: m.name, models: [...models.keys()] });
    return;
  }
  if (m.type === 'results') {
    try {
      await loadResults(m);
    } catch (e) {
      post({ type: 'checkpoint-error', name: m.name, message: message(e) });
    }
    return;
  }
  if (m.type === 'movie') {
    try {
      const movie = movieFromNpy(new Uint8Array(m.bytes), m.name, net.stimulus.nInputElements);
      movies.set(m.name, movie);
      post({ type: 'movie', name: m.name, frames: movie.shape[0] });
    } catch (e) {
      post({ type: 'movie-error', name: m.name, message: message(e) });
    }
    return;
  }
  if (m.type === 'model') {
    const model = models.get(m.name);
    if (model === undefined) throw new Error(`no model named ${m.name}`);
    await activate(model.key, model.stateDict);
    currentModel = m.name;
    post({ type: 'model', name: m.name, models: [...models.keys()], ...(model.detail !== undefined ? { detail: model.detail } : {}) });
    return;
  }
  if (m.type === 'backend') {
    if (!ENGINE_NAMES.includes(m.name)) {
      post({ type: 'backend-error', name: m.name, message: `no backend named ${m.name} (expected ${ENGINE_NAMES.join(', ')})` });
      return;
    }
    if (!reports.find((x) => x.name === m.name)?.probed) await probeSome([m.name]); // chosen before it was probed: probed now
    const r = reports.find((x) => x.name === m.name)!;
    if (!r.available || !r.correct) {
      post({ type: 'backends', reports, active: engineName, chosenBy });
      const why = !r.available ? `is not available here: ${r.detail}` : `disagrees with wasm: its activity in the probe differs by ${r.maxDiff} (more than ${PROBE_TOLERANCE})`;
      post({ type: 'backend-error', name: m.name, message: `backend ${m.name} ${why}` });
      return;
    }
    try {
      await useEngine(m.name);
    } catch (e) {
      post({ type: 'backend-error', name: m.name, message: message(e) });
      return;
    }
    chosenBy = 'user';
    post({ type: 'backends', reports, active: engineName, chosenBy });
    return;
  }
  if (m.type === 'analysis') {
    const kind = m.settings.kind;
    const run = { cancelled: false };
    analysing = run;
    const t0 = performance.now();
    let last = 0;
    try {
      const result = await runAnalysis(net, m.settings, {
        interrupted: () => run.cancelled,
        progress: (done, total) => {
          const now = performance.now();
          if (now - last < 200 && done < total) return;
          last = now;
          post({ type: 'analysis-progress', kind, done, total });
        },
      });
      post({ type: 'analysis', result, model: currentModel, ms: performance.now() - t0 });
    } catch (e) {
      post({ type: 'analysis-error', kind, message: message(e), cancelled: e instanceof ResponsesInterrupted });
    } finally {
      analysing = null;
    }
    return;
  }
  if (m.type === 'optimal') {
    const t0 = performance.now();
    let last = t0;
    const every = (f: () => void): void => {
      const now = performance.now();
      if (now - last < 250) return;
      last = now;
      f();
    };
    if (m.mode === 'regularized') {
      // flyvis's regularized_optimal_stimuli on the library's procedural scenes, as
      // `flyvis optimal-stimulus --mode regularized --dataset procedural` reads them
      const source = new ProceduralFlow({ dt: OPTIMAL_DT, extent: EXTENT, augment: false, split: 'validation', nSequences: m.scenes ?? 1, seed: 0 });
      const movies = naturalisticMovies(source);
      const nat = naturalOptimalStimulus(net, m.cellType, movies, {
        dt: OPTIMAL_DT,
        onProgress: (done, total) => every(() => post({ type: 'optimal-progress', iteration: 0, loss: NaN, searched: [done, total] })),
      });
      const reg = regularizedOptimalStimulus(net, m.cellType, nat, {
        iterations: m.iterations,
        lr: m.lr,
        l2Stim: m.l2Stim ?? 1,
        onIteration: (iteration, l) => every(() => post({ type: 'optimal-progress', iteration, loss: l.loss })),
      });
      const losses = Float32Array.from(reg.losses, (l) => l.loss);
      const d = movies.describe(nat.index);
      const first = reg.losses[0];
      const shown = Math.max(0, reg.frames.indexOf(nat.frame));
      post(
        {
          type: 'optimal', mode: 'regularized', cellType: reg.cellType, frames: reg.shape[0], stimulus: reg.stimulus, showFrame: shown,
          initialCentral: Math.max(...reg.centralTarget), finalCentral: Math.max(...reg.centralResponse), losses, ms: performance.now() - t0,
          natural: { index: nat.index, movies: movies.length, peak: nat.peak, frame: nat.frame, item: d.item, flipAxis: d.flipAxis, rotation: d.rotation },
          ...(first ? { firstLoss: { ...first } } : {}),
          finalLoss: { ...reg.finalLoss },
        },
        [reg.stimulus.buffer as ArrayBuffer, losses.buffer as ArrayBuffer],
      );
      return;
    }
    const r = optimalStimulus(net, m.cellType, {
      iterations: m.iterations,
      lr: m.lr,
      weightMei: m.weightMei,
      onIteration: (iteration, l) => every(() => post({ type: 'optimal-progress', iteration, loss: l.loss })),
    });
    const losses = Float32Array.from(r.losses, (l) => l.loss);
    post(
      {
        type: 'optimal', mode: 'artificial', cellType: r.cellType, frames: r.shape[0], stimulus: r.stimulus, showFrame: r.shape[0] - 1,
        initialCentral: r.initialCentral, finalCentral: r.finalCentral, losses, ms: performance.now() - t0,
      },
      [r.stimulus.buffer as ArrayBuffer, losses.buffer as ArrayBuffer],
    );
    return;
  }
  if (m.type === 'stimulus') {
    const s = m.spec;
    let movie: Frames;
    if (s.kind === 'movie') {
      const uploaded = movies.get(s.name);
      if (uploaded === undefined) throw new Error(`no uploaded movie named ${s.name}`);
      movie = uploaded;
    } else movie = stimulusMovie(s);
    // the grey steady state's activity: where every movie starts, and the baseline the maps show differences from
    const baseline = greySteadyState();
    stepper = new Stepper(movie, baseline);
    const copy = baseline.slice();
    post({ type: 'stimulus', frames: stepper.frames, hexals: movie.shape[1], baseline: copy, backend: engineName }, [copy.buffer as ArrayBuffer]);
    return;
  }
  if (m.type === 'cancel-analysis') return;
  if (stepper === null) throw new Error('no stimulus');
  const first = stepper.frame;
  const H = stepper.movie.shape[1];
  const t0 = performance.now();
  const activity = await stepper.step(m.frames);
  const count = stepper.frame - first;
  const stimulus = stepper.movie.data.slice(first * H, (first + count) * H);
  post({ type: 'frames', first, count, activity, stimulus, ms: performance.now() - t0 }, [activity.buffer as ArrayBuffer, stimulus.buffer as ArrayBuffer]);
}

let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === 'cancel-analysis') {
    if (analysing) analysing.cancelled = true;
    return;
  }
  queue = queue.then(() =>
    handle(m).catch((err: unknown) => {
      post({ type: 'error', message: message(err) });
    }),
  );
};
