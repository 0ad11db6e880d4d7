// flyvis's naturalistic and regularised optimal stimuli (flyvis/analysis/optimal_stimuli.py,
// FindOptimalStimuli.optimal_stimuli and .regularized_optimal_stimuli). Platform-neutral.
//
// naturalOptimalStimulus: the movie of a dataset that most excites a cell type's central cell.
//   As flyvis's naturalistic_stimuli_responses: every movie is simulated after t_pre 0 s (from
//   v = bias) and a 2 s contrast fade-in of its first frame, at dt 1/100, in batches of 4; the
//   optimum is the argmax of the central cell's activity over (movie, frame), the first one on
//   ties. Then, as optimal_stimuli, the chosen movie's response is simulated again from the 1 s
//   grey steady state (no fade-in): that response, of every cell of the type, is the result's
//   `response` and the regularisation's target.
// regularizedOptimalStimulus: from that natural optimum, Adam (lr 1e-2, 100 iterations) on the
//   movie to keep the central cell's response while pulling the movie to grey:
//     loss = l2_act * sum_t (central(t) - target(t))^2  +  l2_stim * sum_{t,h} (stimulus - 0.5)^2
//   (l2_act = l2_stim = 1; flyvis's `((x - 0.5) ** 2).mean(dim=0).sum()` over a batch of one is
//   the sum over frames and hexals), every simulation from the 1 s grey steady state, frames whose
//   central hexal is NaN dropped first, and no clamping (flyvis clamps only the artificial one).
//   `losses` are the losses before each step, as flyvis records them.
//
// Deviations from flyvis, all documented in docs/analysis.md: the dataset is the caller's (flyvis
// fixes AugmentedSintel(tasks=["lum"], dt=1/100, temporal_split=True)); naturalisticMovies gives
// any flow dataset AugmentedSintel's deterministic flips and rotations, not its temporal split.
// flyvis reads the responses from its cache of the default dataset even when another dataset is
// passed; here the search runs on the dataset given. The result reports the central response
// of the final stimulus (flyvis returns the one of the last iteration, one step before).
import { type Tensor, add, indexSelect, mul, noGrad, square, sub, sum, tensor, valueAndGrad } from '../autograd/index.ts';
import { FlowDatasetError } from '../datasets/flow/errors.ts';
import { hexFlip, hexRotate } from '../datasets/flow/augment.ts';
import type { FlowDataset } from '../datasets/flow/types.ts';
import type { ArrayND } from '../network/stimulus.ts';
import type { MovieDataset, Network, ParamTensors, State } from '../network/network.ts';
import { AnalysisError } from './errors.ts';
import { adamOptimizer, movieToNodes } from './optimal-stimulus.ts';

/** Movies to search: a MovieDataset (item i (frames, hexals) or (frames, 1, hexals)) or a flow dataset (its `lum`). */
export type NaturalMovies = MovieDataset | FlowDataset;

export interface NaturalOptimalStimulusOptions {
  /** Integration time step (default: a flow dataset's dt, else 1/100 as flyvis); a flow dataset's frames must be this far apart. */
  readonly dt?: number;
  /** Grey before the fade-in, seconds (flyvis's naturalistic_stimuli_responses: 0, i.e. from v = bias). */
  readonly tPre?: number;
  /** Contrast fade-in of the first frame, seconds (flyvis: 2). */
  readonly tFadeIn?: number;
  /** Movies simulated together (flyvis: 4; the result does not depend on it). */
  readonly batchSize?: number;
  /** Search only these items of the dataset (flyvis's `indices`); default all. */
  readonly indices?: readonly number[];
  /** Called after every batch with the movies searched so far and their total. */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface NaturalOptimalStimulusResult {
  readonly cellType: string;
  /** The central cell's node index. */
  readonly centralNode: number;
  readonly dt: number;
  /** The dataset item of the optimum, and the frame at which its central response peaked in the search. */
  readonly index: number;
  readonly frame: number;
  /** That peak: the central cell's activity (search simulation: fade-in, no grey). */
  readonly peak: number;
  /** The items searched, and each one's peak central activity over its frames and that frame (same order). */
  readonly indices: Int32Array;
  readonly peaks: Float32Array;
  readonly peakFrames: Int32Array;
  /** The optimal movie (frames, hexals). */
  readonly stimulus: Float32Array;
  readonly shape: readonly [number, number];
  /** The cell type's response to it from the 1 s grey steady state (frames, cells of the type), in the type's node order. */
  readonly response: Float32Array;
  readonly responseShape: readonly [number, number];
  /** The central cell's activity in `response` (frames): the regularisation's target. */
  readonly centralResponse: Float32Array;
}

export interface RegularizedOptimalStimulusOptions {
  /** Weight of the squared deviation of the central response from the natural one (flyvis l2_act: 1). */
  readonly l2Act?: number;
  /** Weight of the squared deviation of the stimulus from grey (flyvis l2_stim: 1). */
  readonly l2Stim?: number;
  /** Adam's learning rate (flyvis: 1e-2). */
  readonly lr?: number;
  /** Adam steps (flyvis n_iters: 100). */
  readonly iterations?: number;
  /** Integration time step (default: the natural result's). */
  readonly dt?: number;
  /** Called after every iteration with the loss before its step (e.g. progress, or to stop early by throwing). */
  readonly onIteration?: (iteration: number, loss: RegularizedOptimalStimulusLoss) => void;
}

/** flyvis's regularised loss and its two terms. */
export interface RegularizedOptimalStimulusLoss {
  readonly loss: number;
  /** l2_act * sum of squared deviations of the central response from the target. */
  readonly act: number;
  /** l2_stim * sum of squared deviations of the stimulus from grey 0.5. */
  readonly stim: number;
}

export interface RegularizedOptimalStimulusResult {
  readonly cellType: string;
  readonly centralNode: number;
  readonly dt: number;
  /** The natural optimum it started from. */
  readonly natural: NaturalOptimalStimulusResult;
  /** The natural movie's frames kept (those whose central hexal is not NaN). */
  readonly frames: Int32Array;
  /** The regularised movie (frames kept, hexals). */
  readonly stimulus: Float32Array;
  readonly shape: readonly [number, number];
  /** The cell type's response to it from the 1 s grey steady state (frames, cells of the type). */
  readonly response: Float32Array;
  readonly responseShape: readonly [number, number];
  /** The central cell's activity: the target (the natural response) and the regularised movie's. */
  readonly centralTarget: Float32Array;
  readonly centralResponse: Float32Array;
  /** The loss before each step (flyvis's `losses`), and at the result. */
  readonly losses: readonly RegularizedOptimalStimulusLoss[];
  readonly finalLoss: RegularizedOptimalStimulusLoss;
}

function fail(what: string): never {
  throw new AnalysisError(`optimal stimulus: ${what}`);
}

function positive(name: string, x: number): number {
  if (!(Number.isFinite(x) && x > 0)) fail(`${name} must be a positive number, got ${x}`);
  return x;
}

function nonNegative(name: string, x: number): number {
  if (!(Number.isFinite(x) && x >= 0)) fail(`${name} must be a finite number >= 0, got ${x}`);
  return x;
}

function cellTypeOf(net: Network, cellType: string): { centralNode: number; layer: Int32Array } {
  const types = net.connectome.uniqueCellTypes;
  const t = types.indexOf(cellType);
  if (t < 0) fail(`unknown cell type '${cellType}' (expected one of ${types.join(', ')})`);
  return { centralNode: net.connectome.centralCellsIndex[t]!, layer: net.connectome.layerIndex.get(cellType)! };
}

const isFlowDataset = (d: NaturalMovies): d is FlowDataset => typeof (d as FlowDataset).item === 'function';

/** Frames of item i as (frames, hexals) float32, checked against the network's hexals. */
function movieOf(dataset: NaturalMovies, i: number, H: number): { data: Float32Array; frames: number } {
  let m: ArrayND;
  if (isFlowDataset(dataset)) {
    const item = dataset.item(i);
    m = { data: item.lum, shape: item.lumShape };
  } else {
    m = dataset.get(i);
  }
  const s = m.shape;
  const ok = (s.length === 2 && s[1] === H) || (s.length === 3 && s[1] === 1 && s[2] === H);
  if (!ok || !(s[0]! >= 1)) fail(`dataset item ${i}: expected shape (frames, ${H}) or (frames, 1, ${H}) for this network's ${H} hexals, got (${s.join(', ')})`);
  const data = m.data instanceof Float32Array ? m.data : Float32Array.from(m.data as ArrayLike<number>);
  return { data, frames: s[0]! };
}

/** The activity of `nodes` over a (1, T, N) activity tensor, as (T, nodes.length). */
function take(a: ArrayLike<number>, T: number, N: number, nodes: ArrayLike<number>): Float32Array {
  const out = new Float32Array(T * nodes.length);
  for (let t = 0; t < T; t++) for (let j = 0; j < nodes.length; j++) out[t * nodes.length + j] = a[t * N + nodes[j]!]!;
  return out;
}

/**
 * flyvis FindOptimalStimuli.optimal_stimuli: the movie of `dataset` that most excites
 * `cellType`'s central cell (see the file's comment), with its response from grey.
 */
export function naturalOptimalStimulus(
  net: Network,
  cellType: string,
  dataset: NaturalMovies,
  options: NaturalOptimalStimulusOptions = {},
): NaturalOptimalStimulusResult {
  const { centralNode, layer } = cellTypeOf(net, cellType);
  const flow = isFlowDataset(dataset);
  const dt = positive('dt', options.dt ?? (flow ? dataset.dt : 1 / 100));
  if (flow && Math.abs(dataset.dt - dt) > 1e-9 * dt) {
    fail(`dataset: its frames are ${dataset.dt} s apart but the simulation's dt is ${dt} s; render the dataset at dt ${dt}`);
  }
  const H = net.stimulus.nInputElements;
  const N = net.nNodes;
  if (flow && dataset.hexals !== H) {
    fail(`dataset: its movies have ${dataset.hexals} hexals (extent ${dataset.extent}) but the network's eye has ${H}; render the dataset at the network's extent`);
  }
  const tPre = nonNegative('t_pre', options.tPre ?? 0);
  const tFadeIn = nonNegative('t_fade_in', options.tFadeIn ?? 2);
  const batchSize = options.batchSize ?? 4;
  if (!Number.isInteger(batchSize) || batchSize < 1) fail(`batch_size must be a positive integer, got ${batchSize}`);
  const indices = Int32Array.from(options.indices ?? Array.from({ length: dataset.length }, (_, i) => i));
  if (indices.length === 0) fail('the dataset has no movies to search');
  indices.forEach((i) => {
    if (!Number.isInteger(i) || i < 0 || i >= dataset.length) fail(`indices: ${i} is outside the dataset (length ${dataset.length})`);
  });

  const peaks = new Float32Array(indices.length);
  const peakFrames = new Int32Array(indices.length);
  let best = -1;
  const initial: State | null = noGrad(() => net.steadyState(tPre, dt, 1));
  let done = 0;
  let batch: { data: Float32Array; frames: number }[] = [];
  const flush = (): void => {
    if (batch.length === 0) return;
    const T = batch[0]!.frames;
    const movies: MovieDataset = { length: batch.length, get: (k) => ({ data: batch[k]!.data, shape: [T, H] }) };
    for (const { response } of net.stimulusResponse(movies, dt, { batchSize: batch.length, initialState: initial, tFadeIn })) {
      const a = response.data;
      for (let b = 0; b < batch.length; b++) {
        const k = done + b;
        let peak = NaN;
        let at = -1;
        for (let t = 0; t < T; t++) {
          const x = a[(b * T + t) * N + centralNode]!;
          if (!Number.isNaN(x) && (at < 0 || x > peak)) [peak, at] = [x, t]; // first maximum; NaN skipped (xarray's argmax)
        }
        peaks[k] = peak;
        peakFrames[k] = at;
        if (at >= 0 && (best < 0 || peak > peaks[best]!)) best = k;
      }
    }
    done += batch.length;
    batch = [];
    options.onProgress?.(done, indices.length);
  };
  for (const i of indices) {
    const m = movieOf(dataset, i, H);
    if (batch.length > 0 && (batch.length === batchSize || batch[0]!.frames !== m.frames)) flush();
    batch.push(m);
  }
  flush();
  if (best < 0) fail(`${cellType}: the central cell's response is NaN for every movie`);

  const index = indices[best]!;
  const { data: stimulus, frames: T } = movieOf(dataset, index, H);
  // flyvis: the chosen movie again, from the 1 s grey steady state (Network.simulate's default)
  const activity = noGrad(() => (net.simulate({ data: stimulus, shape: [1, T, 1, H] }, dt, { onWarning: () => undefined }) as Tensor).data);
  return {
    cellType,
    centralNode,
    dt,
    index,
    frame: peakFrames[best]!,
    peak: peaks[best]!,
    indices,
    peaks,
    peakFrames,
    stimulus: Float32Array.from(stimulus),
    shape: [T, H],
    response: take(activity, T, N, layer),
    responseShape: [T, layer.length],
    centralResponse: take(activity, T, N, [centralNode]),
  };
}

export interface RegularizedLossOptions {
  readonly l2Act?: number;
  readonly l2Stim?: number;
  readonly dt?: number;
  /** The state simulations start from (default: after 1 s of grey 0.5, as flyvis). */
  readonly initialState?: State | null;
  /** Parameter values to use instead of the network's (float64 ones run the whole loss in float64, for gradient checks). */
  readonly params?: ParamTensors;
}

/**
 * flyvis's regularised optimal-stimulus loss for `cellType`'s central cell and a target response
 * (frames): a function of the movie (1, frames, hexals) returning the loss and its two terms as
 * differentiable scalars (see the file's comment).
 */
export function regularizedOptimalStimulusLoss(
  net: Network,
  cellType: string,
  target: ArrayLike<number>,
  options: RegularizedLossOptions = {},
): (stimulus: Tensor) => { loss: Tensor; act: Tensor; stim: Tensor } {
  const { centralNode } = cellTypeOf(net, cellType);
  const l2Act = nonNegative('l2_act', options.l2Act ?? 1);
  const l2Stim = nonNegative('l2_stim', options.l2Stim ?? 1);
  const dt = positive('dt', options.dt ?? 1 / 100);
  const params = options.params;
  const initial = options.initialState !== undefined ? options.initialState : noGrad(() => net.steadyState(1.0, dt, 1, params ? { params } : {}));
  const toNodes = movieToNodes(net);
  const T = target.length;
  const H = net.stimulus.nInputElements;
  const targets = new Map<string, Tensor>();
  return (stimulus) => {
    if (stimulus.shape.length !== 3 || stimulus.shape[0] !== 1 || stimulus.shape[1] !== T || stimulus.shape[2] !== H) {
      fail(`stimulus: expected shape (1, ${T}, ${H}) (the target's frames, the network's hexals), got (${stimulus.shape.join(', ')})`);
    }
    let y = targets.get(stimulus.dtype);
    if (y === undefined) targets.set(stimulus.dtype, (y = tensor(Array.from(target), [1, T, 1], stimulus.dtype)));
    const activity = net.forward(toNodes(stimulus), dt, { state: initial, ...(params ? { params } : {}) });
    const central = indexSelect(activity, Int32Array.of(centralNode), 2);
    const act = mul(sum(square(sub(central, y))), l2Act);
    const stim = mul(sum(square(sub(stimulus, 0.5))), l2Stim);
    return { loss: add(act, stim), act, stim };
  };
}

/**
 * flyvis FindOptimalStimuli.regularized_optimal_stimuli: from the natural optimum, gradient
 * descent that keeps the central response while pulling the movie to grey (see the file's comment).
 */
export function regularizedOptimalStimulus(
  net: Network,
  cellType: string,
  natural: NaturalOptimalStimulusResult,
  options: RegularizedOptimalStimulusOptions = {},
): RegularizedOptimalStimulusResult {
  const { centralNode, layer } = cellTypeOf(net, cellType);
  if (natural.cellType !== cellType) fail(`the natural optimum is for ${natural.cellType}, not ${cellType}`);
  const H = net.stimulus.nInputElements;
  const N = net.nNodes;
  const [T0, H0] = natural.shape;
  if (H0 !== H) fail(`the natural optimum has ${H0} hexals but the network's eye has ${H}`);
  if (natural.stimulus.length !== T0 * H || natural.centralResponse.length !== T0) {
    fail(`the natural optimum's stimulus (${natural.stimulus.length} values) and central response (${natural.centralResponse.length}) do not fit its shape (${T0}, ${H0})`);
  }
  const dt = positive('dt', options.dt ?? natural.dt);
  const lr = positive('lr', options.lr ?? 1e-2);
  const iterations = options.iterations ?? 100;
  if (!Number.isInteger(iterations) || iterations < 0) fail(`iterations must be an integer >= 0, got ${iterations}`);
  // flyvis: keep the frames whose central hexal is not NaN
  const centre = H >> 1;
  const frames = Int32Array.from({ length: T0 }, (_, t) => t).filter((t) => !Number.isNaN(natural.stimulus[t * H + centre]!));
  const T = frames.length;
  if (T === 0) fail('the natural optimum has no frame whose central hexal is a number');
  const x = new Float32Array(T * H);
  frames.forEach((t, k) => x.set(natural.stimulus.subarray(t * H, (t + 1) * H), k * H));
  const centralTarget = Float32Array.from(frames, (t) => natural.centralResponse[t]!);
  const lossOf = regularizedOptimalStimulusLoss(net, cellType, centralTarget, { l2Act: options.l2Act ?? 1, l2Stim: options.l2Stim ?? 1, dt });
  const movie = () => tensor(x, [1, T, H]);
  let parts = { act: 0, stim: 0 };
  const step = valueAndGrad((p: { x: Tensor }) => {
    const l = lossOf(p.x);
    parts = { act: l.act.data[0]!, stim: l.stim.data[0]! };
    return l.loss;
  });
  const adam = adamOptimizer(x, lr);
  const losses: RegularizedOptimalStimulusLoss[] = [];
  for (let i = 1; i <= iterations; i++) {
    const { value, grads } = step({ x: movie() });
    adam(grads.x.data);
    const loss = { loss: value.data[0]!, ...parts };
    losses.push(loss);
    options.onIteration?.(i, loss);
  }
  // the result: its loss and the type's response, from the grey steady state
  const { finalLoss, activity } = noGrad(() => {
    const l = lossOf(movie());
    const a = net.simulate({ data: x, shape: [1, T, 1, H] }, dt, { onWarning: () => undefined }) as Tensor;
    return { finalLoss: { loss: l.loss.data[0]!, act: l.act.data[0]!, stim: l.stim.data[0]! }, activity: a.data };
  });
  return {
    cellType,
    centralNode,
    dt,
    natural,
    frames,
    stimulus: x,
    shape: [T, H],
    response: take(activity, T, N, layer),
    responseShape: [T, layer.length],
    centralTarget,
    centralResponse: take(activity, T, N, [centralNode]),
    losses,
    finalLoss,
  };
}

export interface NaturalisticMoviesOptions {
  /** Hex axes to mirror across, 0 for none (AugmentedSintel's flip_axes: [0, 1]). */
  readonly flipAxes?: readonly number[];
  /** Rotations by n x 60 degrees (AugmentedSintel's n_rotations: [0, 1, 2, 3, 4, 5]). */
  readonly rotations?: readonly number[];
}

/** A flow dataset's luminance with AugmentedSintel's deterministic geometric variants. */
export interface NaturalisticMovies extends MovieDataset {
  readonly source: FlowDataset;
  readonly flipAxes: readonly number[];
  readonly rotations: readonly number[];
  /** What item i is: the source item, its flip axis and rotation. */
  describe(i: number): { readonly item: number; readonly flipAxis: number; readonly rotation: number };
}

/**
 * The luminance movies of `source` in flyvis AugmentedSintel's order: for every source item, for
 * every flip axis, for every rotation, rotate(flip(lum)) (hexFlip, hexRotate). With the defaults
 * each item appears 12 times (as AugmentedSintel's flip_axes [0, 1] x n_rotations 0..5).
 */
export function naturalisticMovies(source: FlowDataset, options: NaturalisticMoviesOptions = {}): NaturalisticMovies {
  const flipAxes = [...(options.flipAxes ?? [0, 1])];
  const rotations = [...(options.rotations ?? [0, 1, 2, 3, 4, 5])];
  if (flipAxes.length === 0 || flipAxes.some((a) => ![0, 1, 2, 3].includes(a))) {
    throw new FlowDatasetError(`flip_axes: expected a non-empty list of 0, 1, 2, 3, got [${flipAxes.join(', ')}]`);
  }
  if (rotations.length === 0 || rotations.some((r) => ![0, 1, 2, 3, 4, 5].includes(r))) {
    throw new FlowDatasetError(`n_rotations: expected a non-empty list of 0 to 5, got [${rotations.join(', ')}]`);
  }
  const F = flipAxes.length;
  const R = rotations.length;
  const describe = (i: number) => {
    if (!Number.isInteger(i) || i < 0 || i >= source.length * F * R) throw new FlowDatasetError(`item index: ${i} is outside the dataset (length ${source.length * F * R})`);
    return { item: Math.floor(i / (F * R)), flipAxis: flipAxes[Math.floor(i / R) % F]!, rotation: rotations[i % R]! };
  };
  let last: { item: number; lum: { data: Float32Array; shape: readonly [number, number, number] } } | undefined;
  return {
    source,
    flipAxes,
    rotations,
    length: source.length * F * R,
    describe,
    get(i: number): ArrayND {
      const d = describe(i);
      if (last?.item !== d.item) {
        const it = source.item(d.item);
        last = { item: d.item, lum: { data: it.lum, shape: it.lumShape } };
      }
      const seq = hexRotate(hexFlip(last.lum, d.flipAxis), d.rotation);
      return { data: seq.data, shape: seq.shape };
    },
  };
}
