// Dynamics with an edge state variable: depressing synapses, whose resource per edge decays
// with presynaptic activity. The solver integrates node and edge states alike, and the
// property-check kit accepts it.
import { describe, expect, it } from 'vitest';
import { add, div, maximum, mul, neg, ones, relu, sub } from '../../src/autograd/index.ts';
import { demoConnectome } from '../../src/graph/index.ts';
import { PPNeuronIGRSynapses } from '../../src/dynamics/ppneuron.ts';
import type { NetworkDynamics } from '../../src/dynamics/types.ts';
import { Network } from '../../src/network/network.ts';
import { checkDynamics } from '../../src/testing/check-dynamics.ts';

const base = PPNeuronIGRSynapses();
const { writeNextState: _fused, ...pp } = base;
const depressing: NetworkDynamics = {
  ...pp,
  type: 'DepressingSynapses',
  writeInitialState(params) {
    const w = params.edges.weight!;
    return { nodes: { activity: params.nodes.bias! }, edges: { resource: ones([w.size], w.dtype) } };
  },
  writeStateVelocity(state, params, { targetSum, x_t, dt }) {
    const v = state.nodes.activity!;
    const pre = relu(state.sources.activity!);
    const current = mul(mul(params.edges.weight!, state.edges.resource!), pre);
    const drive = add(add(add(neg(v), params.nodes.bias!), targetSum(current)), x_t);
    return {
      nodes: { activity: div(drive, maximum(params.nodes.time_const!, dt)) },
      edges: { resource: sub(mul(sub(1, state.edges.resource!), 0.5), mul(state.edges.resource!, pre)) },
    };
  },
};

describe('edge state variables', () => {
  it('are initialised per edge, broadcast to the batch and integrated by the solver', () => {
    const net = Network.fromConnectome(demoConnectome(1), {}, { dynamics: depressing });
    const N = net.nNodes;
    const x = { data: new Float32Array(2 * 3 * N).fill(0.5), shape: [2, 3, N] };
    const states = net.forward(x, 0.02, { asStates: true });
    const r1 = states[0]!.edges.resource!;
    expect(r1.shape).toEqual([2, net.nEdges]);
    const bias = net.paramApi().nodes.bias!.data;
    const src = net.connectome.edges.columns.source_index as Int32Array;
    for (const e of [0, 7, net.nEdges - 1]) {
      // one Euler step from resource 1: 1 + dt * (0.5 * (1 - 1) - 1 * relu(bias[source]))
      expect(r1.data[e]).toBeCloseTo(1 - 0.02 * Math.max(0, bias[src[e]!]!), 6);
    }
    expect(states[2]!.edges.resource!.data[0]).toBeLessThan(r1.data[0]!);
  });

  it('pass the property-check kit', () => {
    expect(() => checkDynamics(depressing, { numRuns: 5, seed: 11 })).not.toThrow();
  });
});
