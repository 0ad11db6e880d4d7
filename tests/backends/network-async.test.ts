// A Network's asynchronous methods (simulateAsync, forwardAsync, steadyStateAsync,
// fadeInStateAsync, stimulusResponseAsync, currentResponseAsync; simulateScanAsync underneath,
// differentiated by valueAndGradAsync): on a backend that reads back synchronously (js) they give
// exactly what the synchronous methods give, gradients included; on a backend that reads back only
// asynchronously (here js made so: its output's read() and its backward throw, as webgpu's do;
// tests/backends/gpu-webgpu.test.ts runs webgpu itself) the synchronous methods say which
// asynchronous one to use and the asynchronous ones still give js's results. Also: the generic path
// (state hooks) inside the asynchronous methods, non-finite checks, and one simulation at a time
// per network.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Tensor, indexSelect, mean, square, sum, tensor, valueAndGrad, valueAndGradAsync,
} from '../../src/autograd/index.ts';
import { simulateScan, simulateScanAsync } from '../../src/backends/index.ts';
import { ConnectomeFromAvgFilters, demoConnectome } from '../../src/graph/index.ts';
import { type LayerActivity } from '../../src/network/layer-activity.ts';
import { Network, NetworkError, NonFiniteActivityError, type State } from '../../src/network/network.ts';
import { readBackAsynchronously } from '../helpers/async-readback.ts';
import { PROJECT_DIR } from '../helpers/shared.ts';

const FLYVIS = resolve(PROJECT_DIR, 'data', 'fib25-fib19_v2.2.json');
const DT = 0.02;
const flyvisNet = (extent: number, kernel = 'js'): Network => Network.fromConnectome(ConnectomeFromAvgFilters(FLYVIS, extent, 1), {}, { kernel });

/** A (B, T, 1, hexals) movie of a flash: grey, then bright over a disc-free pattern varying by sample. */
function flashMovie(net: Network, B: number, T: number): { data: Float32Array; shape: number[] } {
  const H = net.stimulus.nInputElements;
  const data = new Float32Array(B * T * H);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < H; h++) data[(b * T + t) * H + h] = t < 3 ? 0.5 : ((h + b) % 3) / 2;
  return { data, shape: [B, T, 1, H] };
}

const same = (a: Tensor, b: Tensor, what: string): void => {
  expect(a.shape, what).toEqual(b.shape);
  expect(a.dtype, what).toBe(b.dtype);
  expect(Array.from(a.data), what).toEqual(Array.from(b.data));
};
const sameState = (a: State | null, b: State | null, what: string): void => {
  expect(a === null, what).toBe(b === null);
  if (a === null || b === null) return;
  expect(Object.keys(a.nodes), what).toEqual(Object.keys(b.nodes));
  for (const k of Object.keys(a.nodes)) same(a.nodes[k]!, b.nodes[k]!, `${what}: ${k}`);
};

describe('Network asynchronous methods on a backend that reads back synchronously (js, flyvis connectome at extent 2)', () => {
  it('give exactly what the synchronous ones give: simulate (activity, states, layer activity), forward, steady state, fade-in, stimulus and current responses', async () => {
    const net = flyvisNet(2);
    const movie = flashMovie(net, 2, 8);
    same((await net.simulateAsync(movie, DT)) as Tensor, net.simulate(movie, DT) as Tensor, 'simulate');
    const statesA = (await net.simulateAsync(movie, DT, { asStates: true, initialState: null })) as State[];
    const statesS = net.simulate(movie, DT, { asStates: true, initialState: null }) as State[];
    expect(statesA.length).toBe(8);
    statesA.forEach((s, t) => sameState(s, statesS[t]!, `state ${t}`));
    const layers = (await net.simulateAsync(movie, DT, { asLayerActivity: true })) as LayerActivity;
    same(layers.layer('T4c'), (net.simulate(movie, DT, { asLayerActivity: true }) as LayerActivity).layer('T4c'), 'layer activity');
    const steadyA = await net.steadyStateAsync(1, DT, 2);
    sameState(steadyA, net.steadyState(1, DT, 2), 'steady state');
    expect(await net.steadyStateAsync(0, DT, 2)).toBeNull();
    const first = { data: movie.data.subarray(0, 2 * net.stimulus.nInputElements), shape: [2, 1, net.stimulus.nInputElements] };
    sameState(await net.fadeInStateAsync(0.2, DT, first, { state: steadyA }), net.fadeInState(0.2, DT, first, { state: steadyA }), 'fade-in');
    net.stimulus.zero(2, 8);
    net.stimulus.addInput(movie);
    const x = { data: net.stimulus.call().data.slice(), shape: [2, 8, net.nNodes] };
    same(await net.forwardAsync(x, DT, { state: steadyA }), net.forward(x, DT, { state: steadyA }), 'forward');
    const dataset = { length: 3, get: (i: number) => ({ data: movie.data.subarray(i % 2 === 0 ? 0 : 8 * net.stimulus.nInputElements).subarray(0, 8 * net.stimulus.nInputElements), shape: [8, net.stimulus.nInputElements] }) };
    const opts = { tPre: 0.5, tFadeIn: 0.1, batchSize: 2 };
    const asyncResponses: { response: Tensor; indices: number[] }[] = [];
    for await (const r of net.stimulusResponseAsync(dataset, DT, opts)) asyncResponses.push(r);
    const syncResponses = [...net.stimulusResponse(dataset, DT, opts)];
    expect(asyncResponses.map((r) => r.indices)).toEqual([[0, 1], [2]]);
    asyncResponses.forEach((r, i) => same(r.response, syncResponses[i]!.response, `stimulus response ${i}`));
    const currentsA: Tensor[] = [];
    for await (const c of net.currentResponseAsync(dataset, DT, { indices: [1], tPre: 0.5 })) currentsA.push(c.currents, c.activity);
    const [c] = [...net.currentResponse(dataset, DT, { indices: [1], tPre: 0.5 })];
    same(currentsA[0]!, c!.currents, 'currents');
    same(currentsA[1]!, c!.activity, 'current response activity');
    net.dispose();
  });

  it('valueAndGradAsync over simulateAsync(grad) gives valueAndGrad over simulate(grad), steady state included', async () => {
    const net = flyvisNet(2);
    const movie = flashMovie(net, 1, 6);
    const central = Int32Array.from(net.connectome.centralCellsIndex);
    const loss = (a: Tensor): Tensor => mean(square(indexSelect(a, central, 2)));
    const sync = valueAndGrad((p: Record<string, Tensor>) => loss(net.simulate(movie, DT, { params: p, grad: true }) as Tensor))(net.trainableParams());
    const got = await valueAndGradAsync(async (p: Record<string, Tensor>) => loss((await net.simulateAsync(movie, DT, { params: p, grad: true })) as Tensor))(net.trainableParams());
    expect(got.value.item()).toBe(sync.value.item());
    expect(Object.keys(got.grads).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
    for (const k of Object.keys(sync.grads)) same(got.grads[k]!, sync.grads[k]!, k);
    expect(sync.grads.nodes_bias!.data.some((g) => g !== 0)).toBe(true);
    // forwardAsync records when the transform does (no grad flag), as forward does
    net.stimulus.zero(1, 6);
    net.stimulus.addInput(movie);
    const x = { data: net.stimulus.call().data.slice(), shape: [1, 6, net.nNodes] };
    const fSync = valueAndGrad((p: Record<string, Tensor>) => sum(net.forward(x, DT, { params: p })))(net.trainableParams());
    const fAsync = await valueAndGradAsync(async (p: Record<string, Tensor>) => sum(await net.forwardAsync(x, DT, { params: p })))(net.trainableParams());
    for (const k of Object.keys(fSync.grads)) same(fAsync.grads[k]!, fSync.grads[k]!, `forward: ${k}`);
    net.dispose();
  });

  it('run the generic path (a state hook) synchronously inside, with the same results', async () => {
    const net = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'js' });
    let calls = 0;
    net.registerStateHook((s: State) => {
      calls++;
      return s;
    });
    const movie = flashMovie(net, 1, 5);
    const a = (await net.simulateAsync(movie, DT)) as Tensor;
    const asyncCalls = calls;
    same(a, net.simulate(movie, DT) as Tensor, 'hooked simulate');
    // the initial state, 50 steady-state steps, the movie's initial state and 5 steps
    expect(asyncCalls).toBe(1 + 50 + 5);
    expect(calls).toBe(2 * asyncCalls);
    net.dispose();
  });

  it('check for non-finite states as the synchronous ones do', async () => {
    const net = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'js' });
    const p = net.parameters.byName.get('edges_syn_strength')!;
    net.setParams({ edges_syn_strength: tensor(new Float32Array(p.raw.length).fill(1e30)) });
    const movie = flashMovie(net, 1, 5);
    const err = (await net.simulateAsync(movie, DT).then(() => null, (e: unknown) => e)) as NonFiniteActivityError;
    expect(err).toBeInstanceOf(NonFiniteActivityError);
    let syncErr: NonFiniteActivityError | undefined;
    try {
      net.simulate(movie, DT);
    } catch (e) {
      syncErr = e as NonFiniteActivityError;
    }
    expect(err.details).toEqual(syncErr!.details);
    expect(err.message).toBe(syncErr!.message);
    expect(err.details.phase).toBe('steady state');
    const through = (await net.simulateAsync(movie, DT, { allowNonFinite: true })) as Tensor;
    expect(Array.from(through.data).some((v) => !Number.isFinite(v))).toBe(true);
    net.dispose();
  });

  it('run one simulation at a time per network: another call while one is in flight is refused, the running one is unaffected', async () => {
    const net = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'js' });
    readBackAsynchronously(net); // so that a simulation is really in flight across a macrotask
    const movie = flashMovie(net, 1, 4);
    const running = net.simulateAsync(movie, DT, { initialState: null });
    await expect(net.steadyStateAsync(1, DT, 1)).rejects.toThrow(/^steadyState: simulateAsync is still running on this network: await it first/);
    expect(() => net.forward({ data: new Float32Array(net.nNodes), shape: [1, 1, net.nNodes] }, DT)).toThrow(NetworkError);
    const result = (await running) as Tensor;
    const other = Network.fromConnectome(demoConnectome(2), {}, { kernel: 'js' });
    same(result, other.simulate(movie, DT, { initialState: null }) as Tensor, 'the running simulation');
    // free again
    expect(await net.steadyStateAsync(0.1, DT, 1)).not.toBeNull();
    net.dispose();
    other.dispose();
  });
});

describe('a Network on a backend that reads back only asynchronously (js made so)', () => {
  it('refuses the synchronous methods, naming the asynchronous one, and gives js results through the asynchronous ones', async () => {
    const net = flyvisNet(2);
    const calls = readBackAsynchronously(net);
    const ref = flyvisNet(2);
    const movie = flashMovie(net, 1, 6);
    expect(() => net.simulate(movie, DT)).toThrow(NetworkError);
    expect(() => net.simulate(movie, DT)).toThrow(/^simulate: the 'js' backend reads results back asynchronously: use await network\.simulateAsync\(\.\.\.\)/);
    expect(() => net.steadyState(1, DT, 1)).toThrow(/^steadyState: .* use await network\.steadyStateAsync/);
    expect(() => net.fadeInState(0.1, DT, { data: movie.data.subarray(0, net.stimulus.nInputElements), shape: [1, 1, net.stimulus.nInputElements] })).toThrow(/use await network\.fadeInStateAsync/);
    expect(() => net.forward({ data: new Float32Array(net.nNodes), shape: [1, 1, net.nNodes] }, DT)).toThrow(/use await network\.forwardAsync/);
    const dataset = { length: 1, get: () => ({ data: movie.data, shape: [6, net.stimulus.nInputElements] }) };
    expect(() => [...net.stimulusResponse(dataset, DT)]).toThrow(/for await \(const r of network\.stimulusResponseAsync/);
    expect(() => [...net.currentResponse(dataset, DT)]).toThrow(/for await \(const r of network\.currentResponseAsync/);
    same((await net.simulateAsync(movie, DT)) as Tensor, ref.simulate(movie, DT) as Tensor, 'simulateAsync');
    // the primitive itself: the synchronous form refuses such a simulator, naming the asynchronous one
    const sim = net.backend.fused('ppneuron')!;
    const inputs = net.dynamics.fused!.inputs(net.paramApi(), DT);
    const v0 = tensor(inputs.bias!.data.slice(), [1, net.nNodes]);
    const x = tensor(new Float32Array(3 * net.nNodes).fill(0.5), [1, 3, net.nNodes]);
    expect(() => simulateScan(sim, v0, x, inputs, 'last')).toThrow(/reads results back asynchronously: use await simulateScanAsync/);
    same(await simulateScanAsync(sim, v0, x, inputs, 'last'), simulateScan(ref.backend.fused('ppneuron')!, v0, x, inputs, 'last'), 'simulateScanAsync');
    // gradients: the VJP is the simulator's backwardAsync, so only valueAndGradAsync differentiates it
    const central = Int32Array.from(net.connectome.centralCellsIndex);
    const loss = (a: Tensor): Tensor => sum(square(indexSelect(a, central, 2)));
    const before = calls.backwardAsync;
    const got = await valueAndGradAsync(async (p: Record<string, Tensor>) => loss((await net.simulateAsync(movie, DT, { params: p, grad: true })) as Tensor))(net.trainableParams());
    expect(calls.backwardAsync - before).toBe(2); // the steady state's scan and the movie's
    const want = valueAndGrad((p: Record<string, Tensor>) => loss(ref.simulate(movie, DT, { params: p, grad: true }) as Tensor))(ref.trainableParams());
    expect(got.value.item()).toBe(want.value.item());
    for (const k of Object.keys(want.grads)) same(got.grads[k]!, want.grads[k]!, k);
    // the primitive's gradient with respect to its initial state, through backwardAsync
    const gv = await valueAndGradAsync(async (p: { v: Tensor }) => sum(await simulateScanAsync(sim, p.v, x, inputs, 'all')))({ v: v0 });
    same(gv.grads.v, valueAndGrad((p: { v: Tensor }) => sum(simulateScan(ref.backend.fused('ppneuron')!, p.v, x, inputs, 'all')))({ v: v0 }).grads.v, 'd/dv0');
    net.dispose();
    ref.dispose();
  });

  it('leaves float64 (gradient checks) to the host js backend, synchronously', () => {
    const net = flyvisNet(2);
    readBackAsynchronously(net);
    const params = Object.fromEntries(Object.entries(net.trainableParams()).map(([k, t]) => [k, tensor(Float64Array.from(t.data), t.shape, 'float64')]));
    const movie = flashMovie(net, 1, 3);
    const a = net.simulate(movie, DT, { params, initialState: null }) as Tensor;
    expect(a.dtype).toBe('float64');
    expect(() => net.simulate(movie, DT, { initialState: null })).toThrow(/simulateAsync/);
    net.dispose();
  });
});
