// The explorer's simulation worker: builds flyvis's default network at extent 15 on the wasm
// backend (the page never blocks on it), renders the chosen stimulus with the library's datasets
// and steps the network through it on request, posting each batch of frames' activity.
import { hexLattice, loadWasmKernel, readTorchFile, registerConnectomeDescription, stateDictFromTorch } from '../../src/core.ts';
import { DEFAULT_MODEL, type FromWorker, type ToWorker } from './protocol.ts';
import { CONNECTOME, DT, EXTENT, Stepper, connectivity, defaultNetwork, movieFromNpy, stimulusMovie } from './sim.ts';
import type { Frames } from '../../src/core.ts';

/** Marks this module for the type check (tests/browser/explorer.test.ts imports the type). */
export type WorkerModule = 'flyvis-explorer-worker';
import type { Network } from '../../src/core.ts';
import { optimalStimulus } from '../../src/analysis/optimal-stimulus.ts';

let net: Network | null = null;
let stepper: Stepper | null = null;
/** Loaded models by name: their state_dicts (the first is the network's initial parameters). */
const models = new Map<string, Readonly<Record<string, unknown>>>();
/** Uploaded movies by name. */
const movies = new Map<string, Frames>();

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

// The worker's global scope, typed here so that this file type-checks without the DOM library
// (it is checked with the library's sources, tsconfig.json, through tests/browser/explorer.test.ts).
const scope = globalThis as unknown as { postMessage(m: FromWorker, transfer: ArrayBuffer[]): void; onmessage: ((e: { data: ToWorker }) => void) | null };
const post = (m: FromWorker, transfer: ArrayBuffer[] = []): void => scope.postMessage(m, transfer);

async function init(wasmUrl: string, connectomeUrl: string): Promise<void> {
  await loadWasmKernel(wasmUrl);
  const response = await fetch(connectomeUrl);
  if (!response.ok) throw new Error(`fetching ${connectomeUrl}: HTTP ${response.status}`);
  registerConnectomeDescription(CONNECTOME, await response.json());
  net = defaultNetwork('wasm');
  models.set(DEFAULT_MODEL, net.stateDict());
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
      backend: net.kernel.name,
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
}

function onMessage(m: ToWorker): void {
  if (m.type === 'init') {
    init(m.wasmUrl, m.connectomeUrl).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }));
    return;
  }
  if (net === null) throw new Error('the network is not built yet');
  if (m.type === 'checkpoint') {
    try {
      const sd = parseCheckpoint(m.name, new Uint8Array(m.bytes));
      net.loadCheckpoint(sd, { onWarning: (w) => console.warn(w) }); // checks everything; changes nothing on a problem
      models.set(m.name, sd);
    } catch (e) {
      post({ type: 'checkpoint-error', name: m.name, message: e instanceof Error ? e.message : String(e) });
      return;
    }
    post({ type: 'model', name: m.name, models: [...models.keys()] });
    return;
  }
  if (m.type === 'movie') {
    try {
      const movie = movieFromNpy(new Uint8Array(m.bytes), m.name, net.stimulus.nInputElements);
      movies.set(m.name, movie);
      post({ type: 'movie', name: m.name, frames: movie.shape[0] });
    } catch (e) {
      post({ type: 'movie-error', name: m.name, message: e instanceof Error ? e.message : String(e) });
    }
    return;
  }
  if (m.type === 'model') {
    const sd = models.get(m.name);
    if (sd === undefined) throw new Error(`no model named ${m.name}`);
    net.loadCheckpoint(sd);
    post({ type: 'model', name: m.name, models: [...models.keys()] });
    return;
  }
  if (m.type === 'optimal') {
    const t0 = performance.now();
    let last = t0;
    const r = optimalStimulus(net, m.cellType, {
      iterations: m.iterations,
      lr: m.lr,
      weightMei: m.weightMei,
      onIteration: (iteration, l) => {
        const now = performance.now();
        if (now - last < 250) return;
        last = now;
        post({ type: 'optimal-progress', iteration, loss: l.loss });
      },
    });
    const losses = Float32Array.from(r.losses, (l) => l.loss);
    post(
      { type: 'optimal', cellType: r.cellType, frames: r.shape[0], stimulus: r.stimulus, initialCentral: r.initialCentral, finalCentral: r.finalCentral, losses, ms: performance.now() - t0 },
      [r.stimulus.buffer as ArrayBuffer, losses.buffer as ArrayBuffer],
    );
    return;
  }
  if (m.type === 'stimulus') {
    const spec = m.spec;
    let movie: Frames;
    if (spec.kind === 'movie') {
      const uploaded = movies.get(spec.name);
      if (uploaded === undefined) throw new Error(`no uploaded movie named ${spec.name}`);
      movie = uploaded;
    } else movie = stimulusMovie(spec);
    stepper = new Stepper(net, movie);
    // the grey steady state's activity: the baseline the maps show differences from
    const s = new Stepper(net, { data: new Float32Array(stepper.movie.shape[1]).fill(0.5), shape: [1, stepper.movie.shape[1]] });
    const baseline = s.step(1);
    post({ type: 'stimulus', frames: stepper.frames, hexals: stepper.movie.shape[1], baseline }, [baseline.buffer as ArrayBuffer]);
    return;
  }
  if (stepper === null) throw new Error('no stimulus');
  const first = stepper.frame;
  const H = stepper.movie.shape[1];
  const t0 = performance.now();
  const activity = stepper.step(m.frames);
  const count = stepper.frame - first;
  const stimulus = stepper.movie.data.slice(first * H, (first + count) * H);
  post({ type: 'frames', first, count, activity, stimulus, ms: performance.now() - t0 }, [activity.buffer as ArrayBuffer, stimulus.buffer as ArrayBuffer]);
}

scope.onmessage = (e) => {
  try {
    onMessage(e.data);
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};
