// flyvis's parameter API (`Network._param_api`) and state API (`_state_api`), built as pure
// functions of raw parameter tensors and state tensors. Node parameters are read per node
// (nodes), per edge at its source (sources) and target (targets); edge parameters per edge.
// Per-edge entries are computed only when a dynamics reads them.
import { type Tensor, exp, indexSelect } from '../autograd/index.ts';
import type { NetworkDynamics, ParamApi, StateApi, StateVars, TensorRecord } from '../dynamics/types.ts';
import { extendRecord, lazyRecord } from '../dynamics/types.ts';
import type { Parameter, ParameterSet, Refinement } from '../init/index.ts';

/** The gather indices of a graph: each edge's source and target node. */
export interface GraphIndex {
  readonly nNodes: number;
  readonly source: Int32Array;
  readonly target: Int32Array;
  /** Edge groups on which every edge parameter is constant (see commonRefinement). */
  readonly groups?: Refinement;
}

/** Composed gather indices (parameter group of each edge's source / target), cached per parameter. */
const composed = new WeakMap<Int32Array, WeakMap<Int32Array, Int32Array>>();
function compose(outer: Int32Array, inner: Int32Array): Int32Array {
  let byInner = composed.get(outer);
  if (byInner === undefined) composed.set(outer, (byInner = new WeakMap()));
  let out = byInner.get(inner);
  if (out === undefined) {
    out = new Int32Array(inner.length);
    for (let i = 0; i < inner.length; i++) out[i] = outer[inner[i]!]!;
    byInner.set(inner, out);
  }
  return out;
}

/** Semantic values of a parameter from its raw tensor: raw, or exp(raw) for Lognormal. */
export function semantic(p: Parameter, raw: Tensor): Tensor {
  return p.transform === 'exp' ? exp(raw) : raw;
}

/**
 * The parameter API for raw parameter tensors (keyed by state_dict name), augmented by the
 * dynamics' derived parameters; node parameters the dynamics derived are readable at sources
 * and targets too, as in flyvis.
 */
export function buildParamApi(
  set: ParameterSet,
  raw: Readonly<Record<string, Tensor>>,
  graph: GraphIndex,
  dynamics: NetworkDynamics,
): ParamApi {
  const nodes: Record<string, () => Tensor> = {};
  const edges: Record<string, () => Tensor> = {};
  const groupValues: Record<string, () => Tensor> = {};
  const sources: Record<string, () => Tensor> = {};
  const targets: Record<string, () => Tensor> = {};
  for (const p of set.parameters) {
    const r = raw[p.stateDictName];
    if (r === undefined) throw new Error(`parameter API: no values for ${p.stateDictName}`);
    let sem: Tensor | undefined;
    const values = (): Tensor => (sem ??= semantic(p, r));
    if (p.route === 'nodes') {
      nodes[p.name] = () => indexSelect(values(), p.indices);
      sources[p.name] = () => indexSelect(values(), compose(p.indices, graph.source));
      targets[p.name] = () => indexSelect(values(), compose(p.indices, graph.target));
    } else {
      edges[p.name] = () => indexSelect(values(), p.indices);
      if (graph.groups) groupValues[p.name] = () => indexSelect(values(), compose(p.indices, graph.groups!.representative));
    }
  }
  const base: ParamApi = {
    nodes: lazyRecord(nodes),
    edges: lazyRecord(edges),
    sources: lazyRecord(sources),
    targets: lazyRecord(targets),
    ...(graph.groups ? { edgeGroups: { index: graph.groups.index, values: lazyRecord(groupValues) } } : {}),
  };
  const derived = dynamics.writeDerivedParams(base);
  const extraSources: Record<string, () => Tensor> = {};
  const extraTargets: Record<string, () => Tensor> = {};
  for (const key of Object.keys(derived.nodes)) {
    if (key in derived.sources) continue;
    extraSources[key] = () => indexSelect(derived.nodes[key]!, graph.source);
    extraTargets[key] = () => indexSelect(derived.nodes[key]!, graph.target);
  }
  return Object.freeze({
    nodes: derived.nodes,
    edges: derived.edges,
    sources: extendRecord(derived.sources, lazyRecord(extraSources)),
    targets: extendRecord(derived.targets, lazyRecord(extraTargets)),
    ...(derived.edgeGroups ? { edgeGroups: derived.edgeGroups } : {}),
  });
}

/** The state API: node states readable per edge at its source and target (computed on read). */
export function buildStateApi(state: StateVars, graph: GraphIndex): StateApi {
  const gather = (index: Int32Array): TensorRecord =>
    lazyRecord(Object.fromEntries(Object.keys(state.nodes).map((k) => [k, () => indexSelect(state.nodes[k]!, index)])));
  return Object.freeze({ nodes: state.nodes, edges: state.edges, sources: gather(graph.source), targets: gather(graph.target) });
}
