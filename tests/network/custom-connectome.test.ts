// A user's own connectome type that provides only node indices and edge endpoints (flyvis's
// Connectome protocol), with the user's own parameter type: the network simulates and
// differentiates it like any other.
import { describe, expect, it } from 'vitest';
import { type Tensor, sum, tensor, valueAndGrad } from '../../src/autograd/index.ts';
import { makeTable, registerConnectome, type ConnectomeProtocol } from '../../src/graph/index.ts';
import { registerParameterType } from '../../src/init/index.ts';
import { Network } from '../../src/network/network.ts';

registerConnectome('SelfLoops', (o): ConnectomeProtocol => {
  const index = Int32Array.from({ length: o.n as number }, (_, i) => i);
  return { nodes: makeTable('nodes', { index }), edges: makeTable('edges', { source_index: index.slice(), target_index: index.slice() }) };
});
registerParameterType('EdgeConstant', { table: 'edges' });

const value = (type: string, v: number, groupby: string[], requires_grad = false) => ({ type, initial_dist: 'Value', value: v, groupby, requires_grad });

describe('a user-registered connectome with only indices', () => {
  const config = {
    connectome: { type: 'SelfLoops', n: 4 },
    node_config: { bias: value('RestingPotential', 0.5, ['index'], true), time_const: value('TimeConstant', 0.05, ['index'], true) },
    edge_config: {
      sign: value('EdgeConstant', 1, ['source_index']),
      syn_count: value('EdgeConstant', 2, ['source_index']),
      syn_strength: value('EdgeConstant', 0.1, ['source_index'], true),
    },
  };

  it('simulates: each node excites itself (w = 1 * 2 * 0.1)', () => {
    const net = new Network(config);
    expect(net.nNodes).toBe(4);
    expect(net.stimulus.nInputElements).toBe(0);
    const x = { data: Float32Array.of(0, 0.1, -0.2, 1), shape: [1, 1, 4] };
    const v = net.forward(x, 0.02).data;
    const r = 0.02 / 0.05;
    [0, 0.1, -0.2, 1].forEach((xi, n) => expect(v[n]).toBeCloseTo(0.5 + r * (0.5 - 0.5 + 0.2 * 0.5 + xi), 6));
  });

  it('differentiates with respect to its parameters, keyed by flyvis names', () => {
    const net = new Network(config);
    const x = tensor(new Float32Array(3 * 4).fill(0.1), [1, 3, 4]);
    const { grads } = valueAndGrad((p: Record<string, Tensor>) => sum(net.forward(x, 0.02, { params: p })))(net.trainableParams());
    expect(Object.keys(grads).sort()).toEqual(['edges_syn_strength', 'nodes_bias', 'nodes_time_const']);
    expect(grads.edges_syn_strength!.data.every((g) => g > 0)).toBe(true); // more self-excitation, more activity
  });

  it('names a missing column when a default parameter type needs one', () => {
    expect(() => new Network({ connectome: { type: 'SelfLoops', n: 4 } })).toThrow(/node_config\.bias\.groupby\[0\]: unknown nodes column 'type' \(available: index\)/);
  });
});
