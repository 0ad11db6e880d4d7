// The public API is importable from one module and wires together: a user's view of the library.
import { describe, expect, it } from 'vitest';
import * as flyvis from '../src/index.ts';

describe('src/index.ts', () => {
  it('exports the main entry points of every folder', () => {
    for (const name of [
      'ConnectomeFromAvgFilters', 'compileConnectome', 'demoConnectome', 'registerConnectome', 'initConnectome',
      'initParameters', 'defaultNodeConfig', 'clampParameters', 'loadCheckpoint', 'saveCheckpoint',
      'Tensor', 'tensor', 'valueAndGrad', 'grad', 'noGrad', 'defineOp', 'indexSelect', 'scatterSum',
      'PPNeuronIGRSynapses', 'registerDynamics', 'Network', 'Stimulus', 'registerStimulus', 'LayerActivity',
      'checkDynamics', 'createSynapseKernel', 'listKernels', 'readNpy', 'writeNpy', 'requireParameterColumn',
      'adam', 'sgd', 'makeTrainStep', 'train', 'maskedMSE', 'simulateActivity', 'Progress', 'renderSVG', 'writePlot',
      'Flashes', 'MovingEdge', 'BoxEye', 'HexEye', 'flashResponseIndex', 'directionSelectivityIndex', 'computeResponses',
    ]) {
      expect(typeof (flyvis as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(flyvis.autograd.valueAndGrad).toBe(flyvis.valueAndGrad);
  });

  it('runs the three researcher workflows end to end on the demo connectome', () => {
    // 1. compose dynamics as pure functions: a leaky variant registered by name
    flyvis.registerDynamics('LeakyPP', (cfg) => {
      const base = flyvis.PPNeuronIGRSynapses(cfg);
      return { ...base, type: 'LeakyPP', writeNextState: undefined,
        writeStateVelocity: (s, p, ctx) => {
          const v = base.writeStateVelocity(s, p, ctx);
          return { nodes: { activity: flyvis.sub(v.nodes.activity!, flyvis.mul(s.nodes.activity!, 0.1)) }, edges: {} };
        } };
    });
    const net = flyvis.Network.fromConnectome(flyvis.demoConnectome(1), { dynamics: { type: 'LeakyPP' } });
    expect(net.dynamics.type).toBe('LeakyPP');
    // 2. train through a custom loss: gradients keyed by flyvis names
    const H = net.stimulus.nInputElements;
    const movie = { data: new Float32Array(3 * H).fill(1), shape: [1, 3, 1, H] };
    const { grads } = flyvis.valueAndGrad((p: Record<string, flyvis.Tensor>) =>
      flyvis.mean(flyvis.square(net.simulate(movie, 0.02, { params: p, grad: true, initialState: null }) as flyvis.Tensor)),
    )(net.trainableParams());
    expect(Object.keys(grads).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
    expect(grads.nodes_bias!.data.some((g) => g !== 0)).toBe(true);
    // 3. property-check the new dynamics
    expect(() => flyvis.checkDynamics(net.dynamics, { numRuns: 3, seed: 5 })).not.toThrow();
  });
});
