// The property-check kit for new dynamics: the default dynamics pass it, and broken dynamics
// (impure, wrong shapes, wrong gradients, non-finite) are caught with a message saying what.
import { describe, expect, it } from 'vitest';
import { Tensor, add, defineOp, div, maximum, mul, neg } from '../../src/autograd/index.ts';
import { PPNeuronIGRSynapses } from '../../src/dynamics/ppneuron.ts';
import type { NetworkDynamics } from '../../src/dynamics/types.ts';
import { checkDynamics } from '../../src/testing/check-dynamics.ts';

const base = PPNeuronIGRSynapses();

/** PPNeuronIGRSynapses with its velocity rewritten by `velocity` (and no fused step). */
function variant(velocity: NetworkDynamics['writeStateVelocity']): NetworkDynamics {
  const { writeNextState: _fused, ...rest } = base;
  return { ...rest, type: 'Broken', writeStateVelocity: velocity };
}

describe('checkDynamics', () => {
  it('passes PPNeuronIGRSynapses with every activation', () => {
    for (const type of ['relu', 'elu', 'softplus', 'leakyrelu', 'sigmoid', 'tanh']) {
      expect(() => checkDynamics(PPNeuronIGRSynapses({ activation: { type } }), { numRuns: 4, seed: 7 })).not.toThrow();
    }
  });

  it('catches a dynamics that writes into its state', () => {
    const impure = variant((state, params, ctx) => {
      (state.nodes.activity!.data as Float64Array)[0]! += 1;
      return base.writeStateVelocity(state, params, ctx);
    });
    expect(() => checkDynamics(impure, { numRuns: 3, seed: 1 })).toThrow(/Broken: a function wrote into the state/);
  });

  it('catches velocities missing a state variable or of the wrong shape', () => {
    const missing = variant(() => ({ nodes: {}, edges: {} }));
    expect(() => checkDynamics(missing, { numRuns: 2, seed: 1 })).toThrow(/velocity nodes keys \[\] differ from state keys \[activity\]/);
    const wrongShape = variant((state) => ({ nodes: { activity: new Tensor(new Float64Array(1), [1]) }, edges: {} }));
    expect(() => checkDynamics(wrongShape, { numRuns: 2, seed: 1 })).toThrow(/velocity of nodes state 'activity' has shape \[1\]/);
  });

  it('catches a wrong gradient (an op whose VJP is off by a factor)', () => {
    const badTanh = defineOp({
      name: 'badTanh',
      forward: ([x]) => ({ out: new Tensor(x!.data.map(Math.tanh), x!.shape) }),
      vjp: (g, { out }) => [new Tensor(g.data.map((gi, i) => 1.5 * gi * (1 - out.data[i]! ** 2)), g.shape)],
    });
    const wrong = variant((state, params, { synapticInput, x_t, dt }) => {
      const v = state.nodes.activity!;
      const drive = add(add(add(neg(badTanh([v], undefined)), params.nodes.bias!), synapticInput(params.edges.weight!, v)), x_t);
      return { nodes: { activity: mul(div(1, maximum(params.nodes.time_const!, dt)), drive) }, edges: {} };
    });
    expect(() => checkDynamics(wrong, { numRuns: 5, seed: 3 })).toThrow(/Broken: gradient of nodes_(bias|time_const)\[\d+\] is .*finite differences give/);
  });

  it('catches a fused writeNextState that is not the Euler step of the velocity', () => {
    const offByDt: NetworkDynamics = {
      ...base,
      type: 'Broken',
      writeNextState: (state, params, ctx) => base.writeNextState!(state, params, { ...ctx, dt: ctx.dt * 1.01 }),
    };
    expect(() => checkDynamics(offByDt, { numRuns: 3, seed: 2 })).toThrow(/Broken: writeNextState's nodes state 'activity'\[\d+\] is .*state \+ dt \* velocity gives/);
  });

  it('catches non-finite velocities', () => {
    const blowUp = variant((state) => ({ nodes: { activity: div(state.nodes.activity!, 0) }, edges: {} }));
    expect(() => checkDynamics(blowUp, { numRuns: 2, seed: 1 })).toThrow(/velocity of nodes state 'activity' is not finite/);
  });
});
