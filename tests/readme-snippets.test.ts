// The README's code, run as written (on the demo connectome instead of flyvis's file).
import { describe, expect, it } from 'vitest';
import {
  Network, PPNeuronIGRSynapses, type Tensor, adam, demoConnectome, makeTrainStep, maskedMSE, mean, mul, networkProjection,
  registerDynamics, simulateActivity, square, sub, valueAndGrad,
} from '../src/index.ts';

describe('README snippets', () => {
  it('compose, simulate, differentiate and train as the README shows', () => {
    registerDynamics('ReadmeLeakyPP', (config) => {
      const base = PPNeuronIGRSynapses(config);
      return { ...base, type: 'ReadmeLeakyPP', writeNextState: undefined,
        writeStateVelocity: (state, params, ctx) => {
          const v = base.writeStateVelocity(state, params, ctx).nodes.activity!;
          return { nodes: { activity: sub(v, mul(state.nodes.activity!, 0.1)) }, edges: {} };
        } };
    });
    const net = Network.fromConnectome(demoConnectome(2), { dynamics: { type: 'ReadmeLeakyPP', activation: { type: 'elu' } } });
    const H = net.stimulus.nInputElements;
    const movie = { data: new Float32Array(1 * 5 * H).fill(0.5), shape: [1, 5, 1, H] };
    const activity = net.simulate(movie, 1 / 50) as Tensor;
    expect(activity.shape).toEqual([1, 5, net.nNodes]);

    const loss = (p: Record<string, Tensor>) => mean(square(net.simulate(movie, 1 / 50, { params: p, grad: true }) as Tensor));
    const { value, grads } = valueAndGrad(loss)(net.trainableParams());
    expect(Object.keys(grads).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);

    const target = Object.assign(new Float32Array(activity.data.length).fill(NaN), {});
    target.set(activity.data.subarray(0, net.nNodes)); // only the first frame recorded
    const batch = { movie, target: { data: target, shape: activity.shape } };
    const optimizer = adam({ lr: 0.01 });
    const step = makeTrainStep({
      loss: (params, b: typeof batch) => maskedMSE(simulateActivity(net, params, b.movie, 1 / 50, { tPre: 1 }), b.target),
      optimizer,
      project: networkProjection(net),
    });
    let params = net.trainableParams();
    let state = optimizer.init(params);
    ({ params, state } = step(params, state, batch));
    expect(Object.keys(params).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
    expect(value.data[0]).toBeGreaterThan(0);
  });
});
