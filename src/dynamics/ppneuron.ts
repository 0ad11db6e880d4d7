// PPNeuronIGRSynapses: passive point neurons with instantaneous graded release synapses
// (flyvis's default dynamics).
//
//   weight   = sign * syn_count * syn_strength                       (per edge)
//   v(0)     = bias
//   dv/dt    = 1 / max(time_const, dt) * (-v + bias + target_sum(weight * f(v[source])) + x_t)
//   currents = weight * f(v[source])                                  (per edge)
//
// writeNextState is the same Euler step fused into one op (v + dt/max(tau, dt) * (...)), and
// `fused` names it as the model 'ppneuron' (ppneuron-step.ts), which backends run as one
// primitive over a whole simulation.
import { type Tensor, add, div, maximum, mul, neg } from '../autograd/index.ts';
import { type ActivationConfig, makeActivation } from '../kernels/activation.ts';
import { activationOp } from './activation-op.ts';
import { PPNEURON_MODEL } from './ppneuron-step.ts';
import { type FusedModelSpec, type NetworkDynamics, type ParamApi, type TensorRecord, lazyRecord, withDerivedParams } from './types.ts';

function need(record: TensorRecord, route: string, name: string): Tensor {
  const t = record[name];
  if (t === undefined) {
    throw new Error(`PPNeuronIGRSynapses: needs the ${route} parameter '${name}' (configure it in ${route === 'nodes' ? 'node' : 'edge'}_config)`);
  }
  return t;
}

/** The synapse weight the solver uses: per edge group when the network has groups, else per edge. */
const solverWeight = (params: ParamApi): Tensor => params.edgeGroups?.values.weight ?? need(params.edges, 'edges', 'weight');

export function PPNeuronIGRSynapses(config: { readonly activation?: ActivationConfig | unknown; readonly [key: string]: unknown } = {}): NetworkDynamics {
  const a = config.activation ?? { type: 'relu' };
  if (typeof a !== 'string' && (a === null || typeof a !== 'object' || typeof (a as { type?: unknown }).type !== 'string')) {
    throw new Error(`dynamics.activation: expected { type: 'relu' | 'elu' | ... } or a name, got ${JSON.stringify(a)}`);
  }
  const activation = makeActivation(a as ActivationConfig | string, 'dynamics.activation');
  const f = activationOp(activation);
  // dt / max(tau, dt) per node, computed once per parameter tensor and dt (params are fixed during a pass).
  const rates = new WeakMap<Tensor, Map<number, Tensor>>();
  const rateOf = (tau: Tensor, dt: number): Tensor => {
    let byDt = rates.get(tau);
    if (byDt === undefined) rates.set(tau, (byDt = new Map()));
    let r = byDt.get(dt);
    if (r === undefined) byDt.set(dt, (r = mul(div(1, maximum(tau, dt)), dt)));
    return r;
  };
  const dynamics: NetworkDynamics = {
    type: 'PPNeuronIGRSynapses',
    activation,
    writeDerivedParams(params: ParamApi): ParamApi {
      const weightOf = (r: ParamApi['edges'], route: string) => mul(mul(need(r, route, 'sign'), need(r, route, 'syn_count')), need(r, route, 'syn_strength'));
      const g = params.edgeGroups;
      return withDerivedParams(params, {
        // Per edge as in flyvis, computed only if read (currents); per edge group for the solver.
        edges: lazyRecord({ weight: () => weightOf(params.edges, 'edges') }),
        ...(g ? { edgeGroups: { weight: weightOf(g.values, 'edge group') } } : {}),
      });
    },
    writeInitialState(params: ParamApi) {
      return { nodes: { activity: need(params.nodes, 'nodes', 'bias') }, edges: {} };
    },
    writeStateVelocity(state, params, { synapticInput, x_t, dt }) {
      const v = state.nodes.activity!;
      const drive = add(add(add(neg(v), need(params.nodes, 'nodes', 'bias')), synapticInput(solverWeight(params), v)), x_t);
      const rate = div(1, maximum(need(params.nodes, 'nodes', 'time_const'), dt));
      return { nodes: { activity: mul(rate, drive) }, edges: {} };
    },
    currents(state, params) {
      return mul(need(params.edges, 'edges', 'weight'), f(state.sources.activity!));
    },
    writeNextState(state, params, { eulerStep, x_t, dt }) {
      const v = state.nodes.activity!;
      const rate = rateOf(need(params.nodes, 'nodes', 'time_const'), dt);
      return { nodes: { activity: eulerStep(v, need(params.nodes, 'nodes', 'bias'), rate, solverWeight(params), x_t) }, edges: {} };
    },
  };
  // The same Euler step as the fused model 'ppneuron' (ppneuron-step.ts): per node bias and
  // rate = dt / max(tau, dt), the synapse weight per edge group (or per edge).
  const fused: FusedModelSpec = {
    model: PPNEURON_MODEL,
    state: 'activity',
    velocity: dynamics.writeStateVelocity,
    inputs: (params, dt) => ({
      bias: need(params.nodes, 'nodes', 'bias'),
      rate: rateOf(need(params.nodes, 'nodes', 'time_const'), dt),
      weight: solverWeight(params),
    }),
  };
  return Object.freeze({ ...dynamics, fused });
}
