// Responses of a network to a stimulus dataset, per neuron (by default each cell type's
// central cell, as flyvis's `compute_responses(cell_index='central')`), labelled by the
// dataset's item parameters. Items are simulated through Network.stimulusResponse in batches
// of equally long movies (lengths differ, e.g. by edge speed); each batch starts from the
// state after tPre seconds of grey, as flyvis's stimulus_response. Written once as a plan
// (src/train/plan.ts): computeResponses runs it synchronously, computeResponsesAsync on the
// network's asynchronous methods (every backend, webgpu included).
import { cellValue } from '../graph/types.ts';
import { type Tensor, tensor } from '../autograd/index.ts';
import type { Network, State } from '../network/network.ts';
import type { ItemParams, StimulusDataset } from '../stimuli/datasets.ts';
import { AnalysisError, describeItem } from './errors.ts';
import { silentProgress, type Progress } from './progress.ts';
import { type Plan, planPause, planResponses, planSteadyState, runPlan, runPlanAsync } from '../train/plan.ts';

export interface Neuron {
  readonly cell_type: string;
  readonly u: number;
  readonly v: number;
  /** Node index in the connectome. */
  readonly node: number;
}

export interface Responses {
  readonly stimulus: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly neurons: readonly Neuron[];
  readonly params: readonly ItemParams[];
  readonly dt: number;
  /** Frame k of every trace is at time k dt - tPre (stimulus onset at 0). */
  readonly tPre: number;
  /** Per sample: (frames, neurons), row-major. */
  readonly traces: readonly Float32Array[];
  readonly nFrames: readonly number[];
}

export type CellSelection = 'central' | 'all' | readonly number[];

export interface ResponseOptions {
  readonly dt: number;
  /** Items per simulated batch (default 4, as flyvis). */
  readonly batchSize?: number;
  /** Seconds of grey before every batch (default 1). */
  readonly tPre?: number;
  readonly cells?: CellSelection;
  /** Only these items (default all). */
  readonly indices?: readonly number[];
  readonly progress?: Progress;
  /**
   * Traces of items already simulated (e.g. by an interrupted run, read back from disk), by item
   * index: a batch whose items are all here is not simulated again.
   */
  readonly completed?: ReadonlyMap<number, Float32Array>;
  /** Called after each simulated batch with its items and their traces, e.g. to persist them. */
  readonly onBatch?: (items: readonly number[], traces: readonly Float32Array[]) => void;
}

/** The neurons a selection names: central cells in cell-type order, or every node. */
export function selectNeurons(network: Network, cells: CellSelection = 'central'): Neuron[] {
  const c = network.connectome;
  const u = c.nodes.columns.u as Int32Array;
  const v = c.nodes.columns.v as Int32Array;
  const typeCol = c.nodes.columns.type;
  if (typeCol === undefined || u === undefined || v === undefined) throw new RangeError('connectome: nodes need type, u and v columns for per-cell-type analyses');
  const typeOf = (n: number): string => String(cellValue(typeCol, n));
  const nodes = cells === 'central' ? Array.from(c.centralCellsIndex) : cells === 'all' ? Array.from({ length: network.nNodes }, (_, i) => i) : [...cells];
  return nodes.map((n) => {
    if (!Number.isInteger(n) || n < 0 || n >= network.nNodes) throw new RangeError(`cells: node index ${n} is outside the network (${network.nNodes} nodes)`);
    return { cell_type: typeOf(n), u: u[n]!, v: v[n]!, node: n };
  });
}

/**
 * The batches a run simulates, in order: items grouped by frame count (groups in order of first
 * appearance; lengths differ, e.g. by edge speed), each group cut into batches of batchSize.
 * The plan does not depend on what is already done, so a resumed run simulates exactly the
 * batches an uninterrupted one would have.
 */
export function planBatches(dataset: StimulusDataset, dt: number, batchSize: number, indices?: readonly number[]): number[][] {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch_size: expected a positive integer, got ${batchSize}`);
  dataset.dt = dt;
  const groups = new Map<number, number[]>();
  for (const i of indices ?? Array.from({ length: dataset.length }, (_, k) => k)) {
    const n = dataset.frameCount(i);
    const g = groups.get(n);
    if (g) g.push(i);
    else groups.set(n, [i]);
  }
  const batches: number[][] = [];
  for (const g of groups.values()) for (let i = 0; i < g.length; i += batchSize) batches.push(g.slice(i, i + batchSize));
  return batches;
}

/** Throws AnalysisError at the first value of `trace` (frames, neurons) that is not finite. */
function assertFiniteTrace(trace: Float32Array, neurons: readonly Neuron[], what: string, dt: number, tPre: number): void {
  const K = neurons.length;
  for (let i = 0; i < trace.length; i++) {
    const x = trace[i]!;
    if (x - x !== 0) {
      const n = neurons[i % K]!;
      const t = Math.floor(i / K) * dt - tPre;
      throw new AnalysisError(
        `${what}: the activity of ${n.cell_type} (u ${n.u}, v ${n.v}) is ${x} at t = ${+t.toFixed(6)} s; ` +
          'the network diverged (check --params and --dt), so no result is reported',
      );
    }
  }
}

/** Throws AnalysisError naming the cell type, stimulus and time of the first non-finite response. */
export function assertFiniteResponses(r: Responses): void {
  r.traces.forEach((tr, s) => assertFiniteTrace(tr, r.neurons, `${r.stimulus} (${describeItem(r.params[s]!)})`, r.dt, r.tPre));
}

/**
 * `state` of batch 1 repeated to batch B. The backend's primitive takes one initial state per
 * sample; a batch-1 state under a batch of B movies would take the generic (host) path instead.
 */
function tileState(state: State | null, B: number): State | null {
  if (state === null || B === 1) return state;
  const tile = (r: Readonly<Record<string, Tensor>>): Record<string, Tensor> =>
    Object.fromEntries(Object.entries(r).map(([k, t]) => {
      if (t.shape[0] !== 1) return [k, t];
      const data = t.dtype === 'float64' ? new Float64Array(B * t.size) : new Float32Array(B * t.size);
      for (let b = 0; b < B; b++) data.set(t.data, b * t.size);
      return [k, tensor(data, [B, ...t.shape.slice(1)])];
    }));
  return { nodes: tile(state.nodes), edges: tile(state.edges) };
}

/** Stops computeResponsesAsync between two batches. */
export class ResponsesInterrupted extends Error {
  override name = 'ResponsesInterrupted';
  constructor(
    /** Items whose traces are complete (including those given as completed). */
    readonly done: number,
    readonly total: number,
  ) {
    super(`interrupted after ${done} of ${total} stimuli`);
  }
}

/**
 * The responses as a plan (src/train/plan.ts): the grey steady state, then each batch through
 * stimulusResponse; `check` runs before each batch (and before the first: computeResponsesAsync
 * stops there on an interrupt) with the number of items done.
 */
export function* responsesPlan(network: Network, dataset: StimulusDataset, options: ResponseOptions, check?: (done: number) => void): Plan<Responses> {
  yield* planPause(() => check?.(options.completed?.size ?? 0));
  const dt = options.dt;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new RangeError(`dt: expected a positive finite number, got ${dt}`);
  const batchSize = options.batchSize ?? 4;
  if (dataset.nHexals !== network.stimulus.nInputElements) {
    throw new RangeError(`${dataset.name}: stimuli have ${dataset.nHexals} hexals but the network has ${network.stimulus.nInputElements} (render for the network's extent)`);
  }
  const neurons = selectNeurons(network, options.cells);
  const nodeIdx = Int32Array.from(neurons.map((n) => n.node));
  const indices = options.indices ?? Array.from({ length: dataset.length }, (_, i) => i);
  const batches = planBatches(dataset, dt, batchSize, indices);
  const progress = options.progress ?? silentProgress;
  const traces = new Map<number, Float32Array>();
  const N = network.nNodes;
  const K = nodeIdx.length;
  const todo: number[][] = [];
  if ((options.completed?.size ?? 0) > 0) progress.status?.('reading back the responses of an interrupted run');
  for (const batch of batches) {
    const known = batch.map((i) => options.completed?.get(i));
    if (known.every((t, b) => t !== undefined && t.length === dataset.frameCount(batch[b]!) * K)) {
      batch.forEach((i, b) => traces.set(i, known[b]!));
      const frames = known.reduce((s, t) => s + t!.length / K, 0);
      if (progress.skip) progress.skip(frames);
      else progress.tick(frames);
    } else todo.push(batch);
  }
  if (todo.length > 0) {
    progress.status?.(`grey steady state (${options.tPre ?? 1} s)`);
    // One grey steady state for every batch (flyvis computes the same state per call).
    const initialState = yield* planSteadyState(network, options.tPre ?? 1, dt, 1, { value: 0.5 });
    for (const batch of todo) {
      yield* planPause(() => check?.(traces.size));
      progress.status?.(`simulating ${batch.length} stimuli of ${dataset.frameCount(batch[0]!)} frames`);
      // the grey state per sample: a batch runs as one simulation on the backend's primitive
      const start = tileState(initialState, batch.length);
      for (const { response } of yield* planResponses(network, dataset, dt, { indices: batch, batchSize: batch.length, initialState: start })) {
        const [B, T] = response.shape as [number, number];
        const out: Float32Array[] = [];
        for (let b = 0; b < B; b++) {
          const tr = new Float32Array(T * K);
          for (let t = 0; t < T; t++) {
            const base = (b * T + t) * N;
            for (let k = 0; k < K; k++) tr[t * K + k] = response.data[base + nodeIdx[k]!]!;
          }
          assertFiniteTrace(tr, neurons, `${dataset.name} (${describeItem(dataset.params[batch[b]!]!)})`, dt, dataset.tPre);
          out.push(tr);
        }
        batch.forEach((i, b) => traces.set(i, out[b]!));
        options.onBatch?.(batch, out);
        progress.tick(B * T);
      }
    }
  }
  progress.done();
  return {
    stimulus: dataset.name,
    config: dataset.config,
    neurons,
    params: indices.map((i) => dataset.params[i]!),
    dt,
    tPre: dataset.tPre,
    traces: indices.map((i) => traces.get(i)!),
    nFrames: indices.map((i) => traces.get(i)!.length / K),
  };
}

/**
 * Responses of the selected neurons (default: each cell type's central cell) to the dataset's
 * items, simulated in batches from one grey steady state. Items in `completed` are not simulated
 * again; `onBatch` sees every simulated batch. Non-finite activity is refused (AnalysisError).
 * Synchronous: backends that read back synchronously (js, wasm, gpujs); computeResponsesAsync
 * runs on every backend and gives the same values.
 */
export function computeResponses(network: Network, dataset: StimulusDataset, options: ResponseOptions): Responses {
  return runPlan(responsesPlan(network, dataset, options));
}

/**
 * computeResponses on the network's asynchronous methods (every backend, webgpu included), returning
 * to the event loop between batches (so signals are handled) and stopping with
 * ResponsesInterrupted when `interrupted()` turns true (the finished batches have been passed to
 * onBatch).
 */
export function computeResponsesAsync(
  network: Network,
  dataset: StimulusDataset,
  options: ResponseOptions & { readonly interrupted?: () => boolean },
): Promise<Responses> {
  const total = options.indices?.length ?? dataset.length;
  return runPlanAsync(responsesPlan(network, dataset, options, (done) => {
    if (options.interrupted?.()) throw new ResponsesInterrupted(done, total);
  }));
}

/** Total sample-frames a run simulates (for progress bars and run-time estimates). */
export function workOf(dataset: StimulusDataset, dt: number, indices?: readonly number[]): number {
  dataset.dt = dt;
  const idx = indices ?? Array.from({ length: dataset.length }, (_, i) => i);
  return idx.reduce((s, i) => s + dataset.frameCount(i), 0);
}

/** The trace of neuron k in sample s (a view, frames long, strided copy). */
export function trace(r: Responses, sample: number, neuron: number): Float32Array {
  const K = r.neurons.length;
  const T = r.nFrames[sample]!;
  const src = r.traces[sample]!;
  const out = new Float32Array(T);
  for (let t = 0; t < T; t++) out[t] = src[t * K + neuron]!;
  return out;
}
