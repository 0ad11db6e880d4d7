// The Network's simulation API on the synthetic demo connectome: configs, forward, state
// hooks, steady and fade-in states, simulate, stimulus/current responses, gradients, memory.
import { describe, expect, it } from 'vitest';
import { Tensor, graphStats, indexSelect, mul, square, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { demoConnectome, ConnectomeFromAvgFilters } from '../../src/graph/index.ts';
import { defaultEdgeConfig, defaultNodeConfig } from '../../src/init/index.ts';
import { Network, type State } from '../../src/network/network.ts';
import { LayerActivity } from '../../src/network/layer-activity.ts';
import { CONNECTOME_FILE, hasShared } from '../helpers/shared.ts';

const DT = 0.02;
const demo = (extent = 2) => Network.fromConnectome(demoConnectome(extent));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol);
};
const grey = (net: Network, B: number, T: number, value = 0.5) => {
  net.stimulus.zero(B, T);
  net.stimulus.addPreStim(value);
  return { data: net.stimulus.call().data.slice(), shape: [B, T, net.nNodes] };
};
const movie = (B: number, T: number, H: number, f: (b: number, t: number, h: number) => number) => ({
  data: Float32Array.from({ length: B * T * H }, (_, i) => f(Math.floor(i / (T * H)), Math.floor(i / H) % T, i % H)),
  shape: [B, T, 1, H],
});
const deepFreeze = <T>(o: T): T => {
  if (o && typeof o === 'object') {
    Object.values(o).forEach(deepFreeze);
    Object.freeze(o);
  }
  return o;
};

describe('Network construction', () => {
  it('accepts flyvis configs as written, never mutating them, and fills flyvis defaults', () => {
    const config = deepFreeze({
      dynamics: { type: 'PPNeuronIGRSynapses', activation: { type: 'elu', alpha: 0.5 } },
      node_config: defaultNodeConfig(),
      edge_config: defaultEdgeConfig(),
    });
    const snapshot = JSON.stringify(config);
    const net = Network.fromConnectome(demoConnectome(1), config);
    expect(JSON.stringify(config)).toBe(snapshot);
    expect(net.dynamics.activation.type).toBe('elu');
    expect(net.dynamics.activation.kwargs.alpha).toBe(0.5);
    expect(net.config.stimulus_config).toEqual({ type: 'Stimulus', init_buffer: false });
    expect(Object.isFrozen(net.config.dynamics)).toBe(true);
    expect(net.numParameters).toBe(net.parameters.parameters.reduce((n, p) => n + p.raw.length, 0));
    expect(net.numTrainableParameters).toBe(
      net.parameters.parameters.filter((p) => p.trainable).reduce((n, p) => n + p.raw.length, 0),
    );
  });

  it('rejects unknown dynamics, activations and kernels, naming the field', () => {
    const c = demoConnectome(1);
    expect(() => Network.fromConnectome(c, { dynamics: { type: 'Nope' } })).toThrow(/dynamics\.type: unknown dynamics 'Nope' \(registered: PPNeuronIGRSynapses/);
    expect(() => Network.fromConnectome(c, { dynamics: { type: 'PPNeuronIGRSynapses', activation: { type: 'gelu' } } })).toThrow(
      /dynamics\.activation\.type: unknown activation 'gelu'/,
    );
    expect(() => Network.fromConnectome(c, { dynamics: { type: 'PPNeuronIGRSynapses', activation: 5 } })).toThrow(
      /dynamics\.activation: expected \{ type: 'relu' \| 'elu' \| \.\.\. \} or a name, got 5/,
    );
    expect(() => Network.fromConnectome(c, {}, { kernel: 'quantum' })).toThrow(/kernel: .*unknown kernel 'quantum' \(available: auto, (\w+, )*js, (.+, )?scatter, csr/);
  });
});

describe('forward and states', () => {
  it('checks the input shape and dt', () => {
    const net = demo(1);
    expect(() => net.forward({ data: new Float32Array(10), shape: [1, 10] }, DT)).toThrow(/input must have shape \(batch, frames, \d+\), got \(1, 10\)/);
    expect(() => net.forward(grey(net, 1, 2), 0)).toThrow(/dt: expected a positive finite number, got 0/);
  });

  it('returns activity per frame, or every state with asStates', () => {
    const net = demo();
    const x = grey(net, 2, 3);
    const act = net.forward(x, DT);
    expect(act.shape).toEqual([2, 3, net.nNodes]);
    const states = net.forward(x, DT, { asStates: true });
    expect(states).toHaveLength(3);
    const N = net.nNodes;
    states.forEach((s, t) => {
      expect(s.nodes.activity!.shape).toEqual([2, N]);
      for (let b = 0; b < 2; b++) {
        close(s.nodes.activity!.data.subarray(b * N, (b + 1) * N), act.data.subarray((b * 3 + t) * N, (b * 3 + t + 1) * N), 0);
      }
    });
  });

  it('takes one Euler step of the documented velocity from v = bias', () => {
    const net = demo(1);
    const x = grey(net, 1, 1, 0.3);
    const api = net.paramApi();
    const bias = api.nodes.bias!.data;
    const tau = api.nodes.time_const!.data;
    const w = api.edges.weight!.data;
    const src = net.connectome.edges.columns.source_index as Int32Array;
    const tgt = net.connectome.edges.columns.target_index as Int32Array;
    const syn = new Float64Array(net.nNodes);
    for (let e = 0; e < w.length; e++) syn[tgt[e]!]! += w[e]! * Math.max(0, bias[src[e]!]!);
    const expected = Array.from(bias, (b, n) => b + (DT / Math.max(tau[n]!, DT)) * (-b + b + syn[n]! + x.data[n]!));
    close(net.forward(x, DT).data, expected, 1e-5);
  });

  it('runs state hooks on the initial and every next state, with extra arguments, and lets them replace it', () => {
    const net = demo(1);
    const calls: unknown[][] = [];
    net.registerStateHook((s: State, tag: unknown, k: unknown) => {
      calls.push([tag, k]);
    }, 'probe', 7);
    net.forward(grey(net, 1, 4), DT);
    expect(calls).toEqual(Array(5).fill(['probe', 7])); // initial + 4 steps
    const pinned = 3;
    net.registerStateHook((s: State) => {
      const v = Float32Array.from(s.nodes.activity!.data);
      v[pinned] = 42;
      return { nodes: { activity: new Tensor(v, s.nodes.activity!.shape) }, edges: s.edges };
    });
    const act = net.forward(grey(net, 1, 4), DT);
    for (let t = 0; t < 4; t++) expect(act.data[t * net.nNodes + pinned]).toBe(42);
    net.clearStateHooks();
    calls.length = 0;
    const free = net.forward(grey(net, 1, 4), DT);
    expect(calls).toEqual([]);
    expect(free.data[pinned]).not.toBe(42);
  });
});

describe('steady state, fade-in and simulate', () => {
  it('steady state is int(t_pre / dt) steps of grey; t_pre <= 0 returns the given state', () => {
    const net = demo();
    const s = net.steadyState(0.1, DT, 2)!;
    const manual = net.forward(grey(net, 2, 5), DT, { asStates: true });
    close(s.nodes.activity!.data, manual[4]!.nodes.activity!.data, 0);
    expect(net.steadyState(0, DT, 1)).toBeNull();
    expect(net.steadyState(0, DT, 1, { state: s })).toBe(s);
    expect(net.steadyState(1, DT, 1, { value: null })).toBeNull();
  });

  it('fade-in ramps the first frame from grey over int(t_fade_in / dt) frames', () => {
    const net = demo(1);
    const H = net.stimulus.nInputElements;
    const first = Float32Array.from({ length: H }, (_, h) => h / H);
    const s = net.fadeInState(0.08, DT, { data: first, shape: [1, 1, H] })!;
    net.stimulus.zero(1, 4);
    net.stimulus.addInput(movie(1, 4, H, (_b, t, h) => (t / 3) * (first[h]! - 0.5) + 0.5));
    const manual = net.forward(net.stimulus.call(), DT, { asStates: true });
    close(s.nodes.activity!.data, manual[3]!.nodes.activity!.data, 1e-7);
    expect(() => net.fadeInState(0.08, DT, { data: first, shape: [1, H] })).toThrow(/initial_frames must have shape \(batch, 1, hexals\)/);
  });

  it('simulate checks the movie, warns for large dt and starts from the 1 s steady state by default', () => {
    const net = demo(1);
    const H = net.stimulus.nInputElements;
    expect(() => net.simulate({ data: new Float32Array(H), shape: [1, 1, H] }, DT)).toThrow(/requires shape \(sample, frame, 1, hexals\), got \(1, 1, 7\)/);
    expect(() => net.simulate(movie(1, 2, H + 2, () => 0), DT)).toThrow(/this network has 7 hexals: expected \(sample, frame, 1, 7\)/);
    const warnings: string[] = [];
    net.simulate(movie(1, 2, H, () => 0.5), 0.05, { onWarning: (m) => warnings.push(m) });
    expect(warnings[0]).toMatch(/dt=0.05 is very large/);
    const m = movie(1, 3, H, (_b, t, h) => (t + h) % 2);
    const auto = net.simulate(m, DT) as Tensor;
    const steady = net.steadyState(1.0, DT, 1);
    close(auto.data, (net.simulate(m, DT, { initialState: steady }) as Tensor).data, 0);
    const fromBias = net.simulate(m, DT, { initialState: null }) as Tensor;
    expect(fromBias.data.some((x, i) => x !== auto.data[i])).toBe(true);
  });

  it('returns activity per cell type as LayerActivity', () => {
    const net = demo(1);
    const H = net.stimulus.nInputElements;
    const la = net.simulate(movie(2, 3, H, () => 1), DT, { asLayerActivity: true }) as LayerActivity;
    expect(la.cellTypes).toEqual(net.connectome.uniqueCellTypes);
    const l1 = la.layer('L1');
    expect(l1.shape).toEqual([2, 3, H]);
    const c = la.centralCell('T4a');
    const idx = net.connectome.centralCellsIndex[net.connectome.uniqueCellTypes.indexOf('T4a')]!;
    expect(c.shape).toEqual([2, 3]);
    expect(c.data[4]).toBe(la.activity.data[(1 * 3 + 1) * net.nNodes + idx]);
    expect(() => la.layer('Nope')).toThrow(/unknown cell type 'Nope'/);
  });
});

describe('stimulus and current responses', () => {
  const dataset = (H: number) => ({
    length: 3,
    dt: undefined as number | undefined,
    get: (i: number) => ({ data: Float32Array.from({ length: 4 * H }, (_, k) => ((k + i) % 3) / 2), shape: [4, H] }),
  });

  it('batches the dataset and gives the same responses as one movie at a time', () => {
    const net = demo(1);
    const H = net.stimulus.nInputElements;
    const ds = dataset(H);
    const batched = [...net.stimulusResponse(ds, DT, { batchSize: 2, tPre: 0.2 })];
    expect(ds.dt).toBe(DT);
    expect(batched.map((b) => b.indices)).toEqual([[0, 1], [2]]);
    expect(batched[0]!.response.shape).toEqual([2, 4, net.nNodes]);
    const single = [...net.stimulusResponse(ds, DT, { batchSize: 1, tPre: 0.2, indices: [1] })];
    close(single[0]!.response.data, batched[0]!.response.data.subarray(4 * net.nNodes), 1e-6);
    const given = [...net.stimulusResponse(ds, DT, { indices: [1], initialState: net.steadyState(0.2, DT, 1) })];
    close(given[0]!.response.data, single[0]!.response.data, 0);
    expect(() => [...net.stimulusResponse(ds, DT, { indices: [5] })]).toThrow(/indices: 5 is outside the dataset \(length 3\)/);
    expect(() => [...net.stimulusResponse(ds, DT, { batchSize: 0 })]).toThrow(/batch_size: expected a positive integer/);
  });

  it('current responses give weight * relu(source activity) on every edge and frame', () => {
    const net = demo(1);
    const H = net.stimulus.nInputElements;
    const [r] = [...net.currentResponse(dataset(H), DT, { indices: [2], tPre: 0.1 })];
    expect(r!.activity.shape).toEqual([4, net.nNodes]);
    expect(r!.currents.shape).toEqual([4, net.nEdges]);
    const w = net.paramApi().edges.weight!.data;
    const src = net.connectome.edges.columns.source_index as Int32Array;
    for (const e of [0, 5, net.nEdges - 1]) {
      const v = r!.activity.data[2 * net.nNodes + src[e]!]!;
      expect(r!.currents.data[2 * net.nEdges + e]).toBeCloseTo(w[e]! * Math.max(0, v), 6);
    }
  });
});

describe('gradients through a simulation', () => {
  it('are keyed by flyvis names, respect clamp, and match finite differences', () => {
    const net = demo(1);
    const H = net.stimulus.nInputElements;
    const m = movie(1, 5, H, (_b, t, h) => (t * h) % 2);
    const readout = Int32Array.from(net.connectome.centralCellsIndex);
    const loss = (p: Record<string, Tensor>) => sum(square(indexSelect(net.simulate(m, DT, { params: p, grad: true, initialState: null }) as Tensor, readout, 2)));
    const params = net.trainableParams();
    const { value, grads } = valueAndGrad(loss)(params);
    expect(Object.keys(grads).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
    // Finite differences in float32 on a few coordinates (loose but discriminating tolerance).
    for (const [name, i] of [['nodes_bias', 9], ['edges_syn_strength', 2]] as const) {
      const h = name === 'nodes_bias' ? 1e-2 : 1e-4;
      const at = (d: number) => {
        const data = Float32Array.from(params[name]!.data);
        data[i]! += d;
        return loss({ ...params, [name]: tensor(data) }).data[0]!;
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(grads[name]!.data[i]! - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
    // Clamp: a negative synapse strength is projected to 0 before use, as flyvis's clamp does.
    const neg = Float32Array.from(params.edges_syn_strength!.data);
    neg[0] = -5;
    const zero = Float32Array.from(neg);
    zero[0] = 0;
    expect(loss({ ...params, edges_syn_strength: tensor(neg) }).data[0]).toBe(loss({ ...params, edges_syn_strength: tensor(zero) }).data[0]);
    expect(value.data[0]).toBeGreaterThan(0);
    expect(() => net.paramApi({ edges_nope: tensor([1]) })).toThrow(/unknown parameter\(s\) edges_nope/);
    // setParams stores new values (then clamps them) and rejects wrong names, lengths and non-finite values.
    const bias = Float32Array.from(params.nodes_bias!.data, (b) => b + 0.25);
    net.setParams({ nodes_bias: tensor(bias) });
    expect(Array.from(net.trainableParams().nodes_bias!.data)).toEqual(Array.from(bias));
    expect(() => net.setParams({ nodes_bias: tensor([1, 2]) })).toThrow(/nodes_bias: expected \d+ values, got 2/);
    expect(() => net.setParams({ nodes_nope: tensor([1]) })).toThrow(/setParams: unknown parameter\(s\) nodes_nope/);
    bias[3] = NaN;
    expect(() => net.setParams({ nodes_bias: tensor(bias) })).toThrow(/setParams: nodes_bias\[3\] is NaN, expected a finite number/);
  });
});

describe('gradients and the reused stimulus buffer', () => {
  it('simulate (grey phase and movie in the same buffer) gives the gradients of the two phases run on copies', () => {
    const net = demo(2);
    const H = net.stimulus.nInputElements;
    const N = net.nNodes;
    const T = 50; // as many frames as the 1 s grey phase: the stimulus buffer is reused, not reallocated
    const m = movie(1, T, H, (_b, t, h) => ((t + h) % 7) / 7);
    const w = tensor(Float32Array.from({ length: T * N }, (_, i) => ((i * 13) % 5) - 2), [1, T, N]);
    const viaSimulate = valueAndGrad((p: Record<string, Tensor>) => sum(mul(net.simulate(m, DT, { params: p, grad: true }) as Tensor, w)))(
      net.trainableParams(),
    );
    const greyX = grey(net, 1, 50);
    net.stimulus.zero(1, T);
    net.stimulus.addInput(m);
    const x = { data: net.stimulus.call().data.slice(), shape: [1, T, N] };
    const viaCopies = valueAndGrad((p: Record<string, Tensor>) => {
      const s = net.forward(greyX, DT, { params: p, asStates: true });
      return sum(mul(net.forward(x, DT, { params: p, state: s[s.length - 1]! }), w));
    })(net.trainableParams());
    for (const k of Object.keys(viaCopies.grads)) {
      const scale = Math.max(...Array.from(viaCopies.grads[k]!.data, Math.abs));
      close(viaSimulate.grads[k]!.data, viaCopies.grads[k]!.data, 1e-5 * scale);
    }
  });
});

describe.skipIf(!hasShared)('memory of the backward pass at extent 15', () => {
  it('keeps per-node, not per-edge, tensors for each step', () => {
    const net = Network.fromConnectome(ConnectomeFromAvgFilters(CONNECTOME_FILE, 15, 1));
    const bytesFor = (T: number) => {
      let bytes = 0;
      valueAndGrad((p: Record<string, Tensor>) => {
        const out = sum(mul(net.forward(grey(net, 1, T), DT, { params: p }), 1e-3));
        bytes = graphStats(out).bytes;
        return out;
      })(net.trainableParams());
      return bytes;
    };
    const perStep = (bytesFor(8) - bytesFor(4)) / 4;
    const nodeBytes = 4 * net.nNodes;
    const edgeBytes = 4 * net.nEdges;
    expect(perStep).toBeGreaterThan(nodeBytes); // the state of each step is kept
    expect(perStep).toBeLessThan(16 * nodeBytes); // a dozen per-node tensors (the Euler step's terms)...
    expect(perStep).toBeLessThan(edgeBytes / 2); // ...and not a single per-edge one
  });
});
