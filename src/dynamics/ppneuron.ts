// PPNeuronIGRSynapses: passive point neurons with instantaneous graded release synapses
// (flyvis's default dynamics).
//
//   weight   = sign * syn_count * syn_strength                       (per edge)
//   v(0)     = bias
//   dv/dt    = 1 / max(time_const, dt) * (-v + bias + target_sum(weight * f(v[source])) + x_t)
//   currents = weight * f(v[source])                                  (per edge)
import { add, div, maximum, mul, neg } from '../autograd/index.ts';
import { type ActivationConfig, makeActivation } from '../kernels/activation.ts';
import { activationOp } from './activation-op.ts';
import { type NetworkDynamics, type ParamApi, withDerivedParams } from './types.ts';

function need(params: ParamApi, route: 'nodes' | 'edges', name: string) {
  const t = params[route][name];
  if (t === undefined) {
    throw new Error(`PPNeuronIGRSynapses: needs the ${route} parameter '${name}' (configure it in ${route === 'nodes' ? 'node' : 'edge'}_config)`);
  }
  return t;
}

export function PPNeuronIGRSynapses(config: { readonly activation?: ActivationConfig } = {}): NetworkDynamics {
  const activation = makeActivation(config.activation ?? { type: 'relu' }, 'dynamics.activation');
  const f = activationOp(activation);
  const dynamics: NetworkDynamics = {
    type: 'PPNeuronIGRSynapses',
    activation,
    writeDerivedParams(params: ParamApi): ParamApi {
      const weight = mul(mul(need(params, 'edges', 'sign'), need(params, 'edges', 'syn_count')), need(params, 'edges', 'syn_strength'));
      return withDerivedParams(params, { edges: { weight } });
    },
    writeInitialState(params: ParamApi) {
      return { nodes: { activity: need(params, 'nodes', 'bias') }, edges: {} };
    },
    writeStateVelocity(state, params, { synapticInput, x_t, dt }) {
      const v = state.nodes.activity!;
      const drive = add(add(add(neg(v), need(params, 'nodes', 'bias')), synapticInput(need(params, 'edges', 'weight'), v)), x_t);
      const rate = div(1, maximum(need(params, 'nodes', 'time_const'), dt));
      return { nodes: { activity: mul(rate, drive) }, edges: {} };
    },
    currents(state, params) {
      return mul(need(params, 'edges', 'weight'), f(state.sources.activity!));
    },
  };
  return Object.freeze(dynamics);
}
