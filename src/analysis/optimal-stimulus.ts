// flyvis's artificial optimal stimulus (flyvis/analysis/optimal_stimuli.py,
// GenerateOptimalStimuli.artificial_optimal_stimuli): gradient ascent on a movie, from uniform
// noise in [0, 1], for the response of one cell type's central cell. The loss is flyvis's:
//   - weight_central * mean(exp(central activity at the optimised frames))   (the last frame by default)
//   + weight_mei * mean((stimulus - 0.5)^2)                                   (the pull towards grey)
// minimised with Adam (torch's update), the stimulus clamped to [0, 1] after every step, each
// simulation starting from the 1 s grey steady state. flyvis's defaults: t_stim 49/200 s at dt
// 1/100 (24 frames), lr 1e-2, weight_central 1, weight_mei 3000, 200 iterations. The noise comes
// from a seeded generator of its own (torch.rand's stream is not reproduced). Platform-neutral.
import { Tensor, add, exp, indexSelect, mean, mul, noGrad, scatterSum, square, sub, valueAndGrad } from '../autograd/index.ts';
import type { Network, State } from '../network/network.ts';
import { AnalysisError } from './errors.ts';

export interface OptimalStimulusOptions {
  /** Stimulus duration in seconds (default 49/200); frames = trunc(tStim / dt). */
  readonly tStim?: number;
  readonly dt?: number;
  readonly lr?: number;
  readonly weightCentral?: number;
  readonly weightMei?: number;
  readonly iterations?: number;
  readonly seed?: number;
  /** Optimise the last frame's response only (flyvis's default), else every frame's. */
  readonly lastOnly?: boolean;
  /** Called after every iteration (e.g. progress, or to stop early by throwing). */
  readonly onIteration?: (iteration: number, loss: OptimalStimulusLoss) => void;
}

export interface OptimalStimulusLoss {
  readonly loss: number;
  readonly central: number;
  readonly mei: number;
}

export interface OptimalStimulusResult {
  readonly cellType: string;
  /** The central cell's node index. */
  readonly centralNode: number;
  readonly dt: number;
  /** The optimised stimulus (frames, hexals), values in [0, 1]. */
  readonly stimulus: Float32Array;
  readonly shape: readonly [number, number];
  /** The cell type's response to it (frames, cells of the type), in the type's node order. */
  readonly response: Float32Array;
  readonly responseShape: readonly [number, number];
  /** The central cell's activity at the optimised frames (mean), for the initial noise and for the result. */
  readonly initialCentral: number;
  readonly finalCentral: number;
  readonly losses: readonly OptimalStimulusLoss[];
}

/** A small seeded generator (mulberry32): uniform floats in [0, 1). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function positive(name: string, x: number, integer = false): number {
  if (!(Number.isFinite(x) && x > 0) || (integer && !Number.isInteger(x))) throw new AnalysisError(`optimal stimulus: ${name} must be a positive ${integer ? 'integer' : 'number'}, got ${x}`);
  return x;
}

/**
 * The map of a movie (1, frames, hexals) onto the network's input (1, frames, nodes), as flyvis's
 * Stimulus.add_input: every photoreceptor type at a hexal receives the hexal's value. Differentiable.
 */
export function movieToNodes(net: Network): (movie: Tensor) => Tensor {
  const H = net.stimulus.nInputElements;
  const inputs = net.stimulus.inputIndex;
  const tile = new Int32Array(inputs.length * H);
  const target = new Int32Array(inputs.length * H);
  inputs.forEach((idx, r) => {
    for (let h = 0; h < H; h++) {
      tile[r * H + h] = h;
      target[r * H + h] = idx[h]!;
    }
  });
  return (movie) => scatterSum(indexSelect(movie, tile, 2), target, net.nNodes, 2);
}

/**
 * torch.optim.Adam on the values `x` in place (betas 0.9, 0.999, eps 1e-8, no weight decay):
 * each call takes the gradient and makes one step, the moments kept in float64.
 */
export function adamOptimizer(x: Float32Array | Float64Array, lr: number): (grad: ArrayLike<number>) => void {
  const m1 = new Float64Array(x.length);
  const m2 = new Float64Array(x.length);
  let i = 0;
  return (g) => {
    i++;
    const c1 = 1 - 0.9 ** i;
    const c2 = 1 - 0.999 ** i;
    for (let k = 0; k < x.length; k++) {
      m1[k] = 0.9 * m1[k]! + 0.1 * g[k]!;
      m2[k] = 0.999 * m2[k]! + 0.001 * g[k]! * g[k]!;
      x[k] = x[k]! - (lr * (m1[k]! / c1)) / (Math.sqrt(m2[k]! / c2) + 1e-8);
    }
  };
}

/** flyvis's artificial optimal stimulus for `cellType`'s central cell (see the file's comment). */
export function optimalStimulus(net: Network, cellType: string, options: OptimalStimulusOptions = {}): OptimalStimulusResult {
  const dt = positive('dt', options.dt ?? 1 / 100);
  const tStim = positive('t_stim', options.tStim ?? 49 / 200);
  const lr = positive('lr', options.lr ?? 1e-2);
  const iterations = options.iterations ?? 200;
  if (!Number.isInteger(iterations) || iterations < 0) throw new AnalysisError(`optimal stimulus: iterations must be an integer >= 0, got ${iterations}`);
  const weightCentral = options.weightCentral ?? 1;
  const weightMei = options.weightMei ?? 600 * 5;
  const T = Math.trunc(tStim / dt);
  if (T < 1) throw new AnalysisError(`optimal stimulus: t_stim ${tStim} s is shorter than one step of ${dt} s`);
  const types = net.connectome.uniqueCellTypes;
  const t = types.indexOf(cellType);
  if (t < 0) throw new AnalysisError(`optimal stimulus: unknown cell type '${cellType}' (expected one of ${types.join(', ')})`);
  const centralNode = net.connectome.centralCellsIndex[t]!;
  const layer = net.connectome.layerIndex.get(cellType)!;
  const H = net.stimulus.nInputElements;
  const toNodes = movieToNodes(net);
  const frames = options.lastOnly === false ? Int32Array.from({ length: T }, (_, i) => i) : Int32Array.of(T - 1);
  const initial: State | null = noGrad(() => net.steadyState(1.0, dt, 1));
  const simulate = (mei: Tensor): Tensor => net.forward(toNodes(mei), dt, { state: initial });
  const central = (activity: Tensor): Tensor => indexSelect(indexSelect(activity, Int32Array.of(centralNode), 2), frames, 1);
  const lossOf = (p: { mei: Tensor }): Tensor => {
    const c = mul(mean(exp(central(simulate(p.mei)))), -weightCentral);
    const m = mul(mean(square(sub(p.mei, 0.5))), weightMei);
    parts = { central: c.data[0]!, mei: m.data[0]! };
    return add(c, m);
  };
  let parts = { central: 0, mei: 0 };
  const next = uniform(options.seed ?? 0);
  const x = Float32Array.from({ length: T * H }, () => next());
  const centralMean = (): number => noGrad(() => mean(central(simulate(new Tensor(x, [1, T, H])))).data[0]!);
  const initialCentral = centralMean();
  const adam = adamOptimizer(x, lr);
  const losses: OptimalStimulusLoss[] = [];
  const step = valueAndGrad(lossOf);
  for (let i = 1; i <= iterations; i++) {
    const { value, grads } = step({ mei: new Tensor(x, [1, T, H]) });
    adam(grads.mei.data);
    for (let k = 0; k < x.length; k++) x[k] = Math.min(1, Math.max(0, x[k]!)); // mei.data.clamp_(0, 1)
    const loss = { loss: value.data[0]!, ...parts };
    losses.push(loss);
    options.onIteration?.(i, loss);
  }
  const response = noGrad(() => {
    const a = simulate(new Tensor(x, [1, T, H]));
    return indexSelect(a, layer, 2).data;
  });
  return {
    cellType,
    centralNode,
    dt,
    stimulus: x,
    shape: [T, H],
    response: Float32Array.from(response),
    responseShape: [T, layer.length],
    initialCentral,
    finalCentral: centralMean(),
    losses,
  };
}
