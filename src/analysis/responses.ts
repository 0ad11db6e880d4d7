// Responses of a network to a stimulus dataset, per neuron (by default each cell type's
// central cell, as flyvis's `compute_responses(cell_index='central')`), labelled by the
// dataset's item parameters. Items are simulated through Network.stimulusResponse in batches
// of equally long movies (lengths differ, e.g. by edge speed); each batch starts from the
// state after tPre seconds of grey, as flyvis's stimulus_response.
import { cellValue } from '../graph/types.ts';
import type { Network } from '../network/network.ts';
import type { ItemParams, StimulusDataset } from '../stimuli/datasets.ts';
import { silentProgress, type Progress } from './progress.ts';

export interface Neuron {
  readonly cellType: string;
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
    return { cellType: typeOf(n), u: u[n]!, v: v[n]!, node: n };
  });
}

/** Samples grouped by frame count, in order of first appearance. */
function groupsByLength(dataset: StimulusDataset, indices: readonly number[]): number[][] {
  const groups = new Map<number, number[]>();
  for (const i of indices) {
    const n = dataset.frameCount(i);
    const g = groups.get(n);
    if (g) g.push(i);
    else groups.set(n, [i]);
  }
  return [...groups.values()];
}

export function computeResponses(network: Network, dataset: StimulusDataset, options: ResponseOptions): Responses {
  const dt = options.dt;
  if (!(dt > 0) || !Number.isFinite(dt)) throw new RangeError(`dt: expected a positive finite number, got ${dt}`);
  const batchSize = options.batchSize ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch_size: expected a positive integer, got ${batchSize}`);
  if (dataset.nHexals !== network.stimulus.nInputElements) {
    throw new RangeError(`${dataset.name}: stimuli have ${dataset.nHexals} hexals but the network has ${network.stimulus.nInputElements} (render for the network's extent)`);
  }
  const neurons = selectNeurons(network, options.cells);
  const nodeIdx = Int32Array.from(neurons.map((n) => n.node));
  dataset.dt = dt;
  const indices = options.indices ?? Array.from({ length: dataset.length }, (_, i) => i);
  const groups = groupsByLength(dataset, indices);
  const progress = options.progress ?? silentProgress;
  const traces = new Map<number, Float32Array>();
  const N = network.nNodes;
  const K = nodeIdx.length;
  const collect = (response: { data: ArrayLike<number>; shape: readonly number[] }, batch: readonly number[]): void => {
    const [B, T] = response.shape as [number, number];
    for (let b = 0; b < B; b++) {
      const out = new Float32Array(T * K);
      for (let t = 0; t < T; t++) {
        const base = (b * T + t) * N;
        for (let k = 0; k < K; k++) out[t * K + k] = response.data[base + nodeIdx[k]!]!;
      }
      traces.set(batch[b]!, out);
    }
    progress.tick(B * T);
  };
  // One stimulusResponse call (one grey steady state) when every group splits into whole
  // batches; otherwise one call per group.
  const uniform = groups.every((g) => g.length % batchSize === 0);
  const calls = uniform ? [groups.flat()] : groups;
  for (const call of calls) {
    for (const { response, indices: batch } of network.stimulusResponse(dataset, dt, { indices: call, batchSize, tPre: options.tPre ?? 1 })) {
      collect(response, batch);
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
