// flyvis's naturalistic and regularised optimal stimuli (src/analysis/optimal-stimulus-natural.ts):
// the natural optimum against a brute-force search over the dataset, the dataset's AugmentedSintel
// order of flips and rotations, the regularised loss and its gradient (float64 finite
// differences), the regularisation's effect on the demo connectome and on a trained flyvis
// network (../shared/flyvis, skipped with a reason when absent), and the picture's frames.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  naturalOptimalStimulus, naturalisticMovies, regularizedOptimalStimulus, regularizedOptimalStimulusLoss, type NaturalOptimalStimulusResult,
} from '../../src/analysis/optimal-stimulus-natural.ts';
import { optimalStimulusFigureSpec, stimResponseFrames } from '../../src/analysis/optimal-stimulus-plot.ts';
import { type Tensor, noGrad, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { ConnectomeFromAvgFilters } from '../../src/graph/compile.ts';
import { demoConnectome } from '../../src/graph/demo.ts';
import { ProceduralFlow, flipHexCoords, rotateHexCoords } from '../../src/datasets/index.ts';
import { Network, type MovieDataset } from '../../src/network/network.ts';
import { hexLattice } from '../../src/stimuli/hex.ts';
import { rng } from '../autograd/fd.ts';
import { sharedPath } from '../helpers/shared.ts';

const dt = 1 / 100;

/** Brute force, one movie at a time through the public simulation API: the central cell's peak per movie. */
function bruteForcePeaks(net: Network, movies: MovieDataset, node: number): { peaks: number[]; best: number } {
  const H = net.stimulus.nInputElements;
  const peaks: number[] = [];
  for (let i = 0; i < movies.length; i++) {
    const m = movies.get(i);
    const T = m.shape[0]!;
    const data = Float32Array.from(m.data as ArrayLike<number>);
    const a = noGrad(() => {
      const faded = net.fadeInState(2, dt, { data: data.subarray(0, H), shape: [1, 1, H] }, { state: null });
      return (net.simulate({ data, shape: [1, T, 1, H] }, dt, { initialState: faded }) as Tensor).data;
    });
    let peak = -Infinity;
    for (let t = 0; t < T; t++) peak = Math.max(peak, a[t * net.nNodes + node]!);
    peaks.push(peak);
  }
  return { peaks, best: peaks.indexOf(Math.max(...peaks)) };
}

/** The central cell's activity (frames) for a movie from the 1 s grey steady state. */
function fromGrey(net: Network, movie: Float32Array, T: number, node: number): Float32Array {
  const H = net.stimulus.nInputElements;
  const a = noGrad(() => (net.simulate({ data: movie, shape: [1, T, 1, H] }, dt) as Tensor).data);
  return Float32Array.from({ length: T }, (_, t) => a[t * net.nNodes + node]!);
}

const sumSq = (a: ArrayLike<number>, b: ArrayLike<number> | number): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - (typeof b === 'number' ? b : b[i]!)) ** 2;
  return s;
};

describe('naturalisticMovies: AugmentedSintel order of flips and rotations', () => {
  it('item (scene, flip, rotation) in product order, rotate(flip(lum)): the value at (u, v) moves to rot^r(flip_f(u, v))', () => {
    const source = new ProceduralFlow({ split: 'validation', nSequences: 2, extent: 2, frames: 2, dt });
    const movies = naturalisticMovies(source);
    expect(movies.length).toBe(24);
    expect(movies.describe(0)).toEqual({ item: 0, flipAxis: 0, rotation: 0 });
    expect(movies.describe(7)).toEqual({ item: 0, flipAxis: 1, rotation: 1 });
    expect(movies.describe(17)).toEqual({ item: 1, flipAxis: 0, rotation: 5 });
    const lat = hexLattice(2);
    const at = new Map(Array.from(lat.u, (u, h) => [`${u},${lat.v[h]}`, h]));
    for (const i of [3, 7, 17, 22]) {
      const { item, flipAxis, rotation } = movies.describe(i);
      const src = source.item(item);
      const got = movies.get(i);
      expect(got.shape).toEqual(src.lumShape);
      const T = src.frames;
      for (let h = 0; h < lat.length; h++) {
        const [fu, fv] = flipAxis === 0 ? [lat.u[h]!, lat.v[h]!] : flipHexCoords(lat.u[h]!, lat.v[h]!, flipAxis as 1);
        const [ru, rv] = rotateHexCoords(fu, fv, rotation);
        const j = at.get(`${ru},${rv}`)!;
        for (let t = 0; t < T; t++) expect(got.data[t * lat.length + j]).toBe(src.lum[t * lat.length + h]);
      }
    }
    expect(() => naturalisticMovies(source, { rotations: [6] })).toThrow(/n_rotations: expected a non-empty list of 0 to 5, got \[6\]/);
    expect(() => naturalisticMovies(source, { flipAxes: [] })).toThrow(/flip_axes/);
  });
});

describe('natural and regularised optimal stimuli on the demo connectome', () => {
  const net = Network.fromConnectome(demoConnectome(2));
  const H = net.stimulus.nInputElements;
  const source = new ProceduralFlow({ split: 'validation', nSequences: 2, extent: 2, frames: 3, dt });
  const movies = naturalisticMovies(source, { rotations: [0, 2, 4] });
  const node = net.connectome.centralCellsIndex[net.connectome.uniqueCellTypes.indexOf('T4a')]!;
  let computed: NaturalOptimalStimulusResult | undefined;
  const naturalOf = () => (computed ??= naturalOptimalStimulus(net, 'T4a', movies));

  it('the natural optimum is the argmax of the central response over the dataset (brute force), its response from grey', () => {
    const progress: number[] = [];
    const natural = (computed = naturalOptimalStimulus(net, 'T4a', movies, { onProgress: (done) => progress.push(done) }));
    expect(progress).toEqual([4, 8, 12]); // batches of 4, as flyvis
    const brute = bruteForcePeaks(net, movies, node);
    expect(natural.index).toBe(brute.best);
    expect(Array.from(natural.indices)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    natural.peaks.forEach((p, i) => expect(p).toBeCloseTo(brute.peaks[i]!, 6));
    expect(natural.peak).toBe(natural.peaks[natural.index]);
    // the peaks differ between movies, so the argmax is not a tie
    expect(Math.max(...brute.peaks) - Math.min(...brute.peaks)).toBeGreaterThan(1e-5);
    expect(Array.from(natural.stimulus)).toEqual(Array.from(movies.get(natural.index).data as Float32Array));
    const T = natural.shape[0];
    expect(natural.shape).toEqual([13, H]); // ceil(100 / 24 x 3) frames
    const layer = net.connectome.layerIndex.get('T4a')!;
    expect(natural.responseShape).toEqual([T, layer.length]);
    const grey = fromGrey(net, natural.stimulus, T, node);
    natural.centralResponse.forEach((x, t) => expect(x).toBeCloseTo(grey[t]!, 6));
    const mid = layer.length >> 1; // flyvis's target: the middle cell of the type's layer
    expect(layer[mid]).toBe(node);
    natural.centralResponse.forEach((x, t) => expect(natural.response[t * layer.length + mid]).toBe(x));
    // a subset (flyvis's `indices`) reports dataset indices
    const sub = naturalOptimalStimulus(net, 'T4a', movies, { indices: [11, 3, 5], batchSize: 2 });
    const bestOfSub = [11, 3, 5].reduce((a, b) => (brute.peaks[b]! > brute.peaks[a]! ? b : a));
    expect(sub.index).toBe(bestOfSub);
    expect(Array.from(sub.indices)).toEqual([11, 3, 5]);
  });

  it('regularisation starts at the natural optimum with no activity term, lowers the loss and the pull to grey', () => {
    const natural = naturalOf();
    const losses: number[] = [];
    const reg = regularizedOptimalStimulus(net, 'T4a', natural, { iterations: 12, onIteration: (_, l) => losses.push(l.loss) });
    expect(losses).toHaveLength(12);
    const T = natural.shape[0];
    expect(reg.shape).toEqual([T, H]);
    expect(Array.from(reg.frames)).toEqual(Array.from({ length: T }, (_, t) => t));
    // the first loss is at the natural movie: the target is its own response from grey
    expect(reg.losses[0]!.act).toBeLessThan(1e-10);
    expect(reg.losses[0]!.stim).toBeCloseTo(sumSq(natural.stimulus, 0.5), 3);
    for (let i = 1; i < reg.losses.length; i++) expect(reg.losses[i]!.loss).toBeLessThan(reg.losses[i - 1]!.loss);
    expect(reg.finalLoss.stim).toBeLessThan(0.8 * reg.losses[0]!.stim);
    // the reported final loss and response, recomputed independently
    const central = fromGrey(net, reg.stimulus, T, node);
    central.forEach((x, t) => expect(reg.centralResponse[t]).toBeCloseTo(x, 6));
    expect(reg.finalLoss.act).toBeCloseTo(sumSq(central, reg.centralTarget), 8);
    expect(reg.finalLoss.stim).toBeCloseTo(sumSq(reg.stimulus, 0.5), 3);
    expect(Array.from(reg.centralTarget)).toEqual(Array.from(natural.centralResponse));
    // not clamped as the artificial one is, but pulled to grey: no value strays further from 0.5 than the natural movie's
    const spread = (x: Float32Array) => Math.max(...Array.from(x, (v) => Math.abs(v - 0.5)));
    expect(spread(reg.stimulus)).toBeLessThan(spread(natural.stimulus));
  });

  it('refuses an unknown cell type, a mismatched dataset and bad options, naming them', () => {
    expect(() => naturalOptimalStimulus(net, 'T9', movies)).toThrow(/unknown cell type 'T9'/);
    const big = new ProceduralFlow({ split: 'validation', nSequences: 1, extent: 3, frames: 2, dt });
    expect(() => naturalOptimalStimulus(net, 'T4a', big)).toThrow(/37 hexals \(extent 3\) but the network's eye has 19/);
    const coarse = new ProceduralFlow({ split: 'validation', nSequences: 1, extent: 2, frames: 2, dt: 1 / 50 });
    expect(() => naturalOptimalStimulus(net, 'T4a', coarse, { dt })).toThrow(/frames are 0.02 s apart but the simulation's dt is 0.01 s/);
    expect(() => naturalOptimalStimulus(net, 'T4a', movies, { indices: [12] })).toThrow(/indices: 12 is outside the dataset \(length 12\)/);
    expect(() => regularizedOptimalStimulus(net, 'Mi1', naturalOf())).toThrow(/natural optimum is for T4a, not Mi1/);
    expect(() => regularizedOptimalStimulus(net, 'T4a', naturalOf(), { iterations: -1 })).toThrow(/iterations must be an integer >= 0/);
  });
});

describe("the regularised loss's gradient", () => {
  it('matches float64 central finite differences through the whole simulation', () => {
    const net = Network.fromConnectome(demoConnectome(1));
    const H = net.stimulus.nInputElements;
    const T = 4;
    const next = rng(3);
    const params = Object.fromEntries(Object.entries(net.trainableParams()).map(([k, t]) => [k, tensor(t.data, t.shape, 'float64')]));
    const target = Float64Array.from({ length: T }, () => 0.4 + 0.2 * next());
    const lossOf = regularizedOptimalStimulusLoss(net, 'T4a', target, { params, dt: 1 / 50, l2Act: 50, l2Stim: 0.5 });
    const x0 = Float64Array.from({ length: T * H }, () => next());
    const f = (p: { x: Tensor }) => lossOf(p.x).loss;
    const { value, grads } = valueAndGrad(f)({ x: tensor(x0, [1, T, H], 'float64') });
    expect(value.dtype).toBe('float64');
    const g = grads.x.data;
    const h = 1e-6;
    let largest = 0;
    for (let k = 0; k < x0.length; k++) {
      const at = (d: number) => {
        const x = Float64Array.from(x0);
        x[k]! += d;
        return noGrad(() => f({ x: tensor(x, [1, T, H], 'float64') })).item();
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(g[k]! - fd), `element ${k}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(fd));
      largest = Math.max(largest, Math.abs(fd - 2 * 0.5 * (x0[k]! - 0.5))); // the activity term's share
    }
    expect(largest).toBeGreaterThan(1e-4); // the activity term contributes to the gradient, not only the pull to grey
  });
});

describe('the picture (flyvis plot_stim_response frames)', () => {
  it('picks the 0.2 s before the baseline-subtracted central peak, stimulus and response frames alternating', () => {
    // one cell; response rises to its peak at frame 30
    const T = 40;
    const r = Float32Array.from({ length: T }, (_, t) => (t <= 30 ? t : 60 - t));
    const f = stimResponseFrames(r, T, 1, dt);
    expect(f.peak).toBe(30);
    expect(f.stimulus).toEqual([10, 12, 14, 16, 18, 20, 22, 24, 26, 28]);
    expect(f.response).toEqual([11, 13, 15, 17, 19, 21, 23, 25, 27, 29]);
    // a peak before 0.2 s: the first 0.2 s
    const early = stimResponseFrames(Float32Array.from({ length: T }, (_, t) => (t === 3 ? 1 : 0)), T, 1, dt);
    expect(early.stimulus[0]).toBe(0);
    expect(early.response.at(-1)).toBe(19);
    const net = Network.fromConnectome(demoConnectome(2));
    const H = net.stimulus.nInputElements;
    const stim = new Float32Array(T * H).fill(0.5);
    const layer = net.connectome.layerIndex.get('Mi1')!;
    const resp = new Float32Array(T * layer.length);
    const spec = optimalStimulusFigureSpec(net.connectome, 'Mi1', [{ label: 'x', stimulus: stim, shape: [T, H], response: resp, responseShape: [T, layer.length] }], { dt }) as unknown as { vconcat: { data: { values: unknown[] } }[] };
    expect(spec.vconcat).toHaveLength(2);
    expect(spec.vconcat[0]!.data.values).toHaveLength(10 * H); // 10 stimulus frames of the 19 hexals
    expect(() => optimalStimulusFigureSpec(net.connectome, 'Mi1', [{ label: 'x', stimulus: stim, shape: [T, H], response: resp, responseShape: [T, 3] }], { dt })).toThrow(/x response: expected shape \(40, 19\)/);
  });
});

const member = sharedPath('flyvis', 'pretrained-v0.1.0', 'opticflow', '000', '0000', 'best_chkpt');
const haveTrained = existsSync(member) && existsSync(sharedPath('flyvis', 'fib25-fib19_v2.2.json'));
if (!haveTrained) console.warn(`[optimal-stimulus-natural test] trained-network tests skipped: ${join('..', 'shared', 'flyvis')} (connectome and pretrained networks) is absent`);

describe.skipIf(!haveTrained)("on flyvis's connectome at extent 4 with a trained network (flow/0000/000)", () => {
  it('T4c: the natural optimum is the brute-force argmax; regularisation keeps the response closer to it than grey does while halving the pull to grey', () => {
    const net = Network.fromConnectome(ConnectomeFromAvgFilters(sharedPath('flyvis', 'fib25-fib19_v2.2.json'), 4), {}, { kernel: 'wasm' });
    net.loadCheckpoint(member);
    const source = new ProceduralFlow({ split: 'validation', nSequences: 2, extent: 4, frames: 6, dt });
    const movies = naturalisticMovies(source);
    const node = net.connectome.centralCellsIndex[net.connectome.uniqueCellTypes.indexOf('T4c')]!;
    const natural = naturalOptimalStimulus(net, 'T4c', movies);
    const brute = bruteForcePeaks(net, movies, node);
    expect(natural.index).toBe(brute.best);
    natural.peaks.forEach((p, i) => expect(p).toBeCloseTo(brute.peaks[i]!, 5));
    const sorted = [...brute.peaks].sort((a, b) => b - a);
    expect(sorted[0]! - sorted[1]!).toBeGreaterThan(1e-6); // a clear winner
    const T = natural.shape[0];
    const reg = regularizedOptimalStimulus(net, 'T4c', natural, { iterations: 40 });
    expect(reg.finalLoss.loss).toBeLessThan(0.1 * reg.losses[0]!.loss);
    expect(reg.finalLoss.stim).toBeLessThan(0.5 * reg.losses[0]!.stim);
    // the central response stays nearer the natural one than the grey movie's response is
    const grey = fromGrey(net, new Float32Array(T * net.stimulus.nInputElements).fill(0.5), T, node);
    expect(reg.finalLoss.act).toBeLessThan(0.5 * sumSq(grey, reg.centralTarget));
  });
});
