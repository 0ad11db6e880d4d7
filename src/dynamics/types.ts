// The `NetworkDynamics` interface: a network's dynamics as pure functions of (state, params,
// input). They never write into their arguments: each returns a new record. The network's
// solver (src/network) integrates them; the same dynamics run under valueAndGrad for training.
import type { Tensor } from '../autograd/index.ts';
import type { Activation } from '../kernels/activation.ts';

/** A record of named tensors (one route of the parameter or state API). */
export type TensorRecord = Readonly<Record<string, Tensor>>;

/**
 * flyvis's parameter API, as the dynamics see it. `nodes.X` has one value per node, `edges.X`
 * one per edge, and `sources.X` / `targets.X` read node parameter X at each edge's source /
 * target node (one value per edge; computed only when read).
 */
export interface ParamApi {
  readonly nodes: TensorRecord;
  readonly edges: TensorRecord;
  readonly sources: TensorRecord;
  readonly targets: TensorRecord;
  /**
   * Edge parameters per edge *group*: groups of edges on which every edge parameter is constant
   * (with flyvis's defaults, the synapse-count groups: source type, target type, du, dv; 2,355 at
   * extent 15 instead of 1.5 M edges). `values.X` is edges.X for each group, `index` maps each
   * edge to its group (edges.X = values.X[index]). Present when the network has edge
   * parameters. A derived edge parameter computed here elementwise (the synapse weight) costs a
   * few thousand operations instead of millions, and synapticInput / eulerStep accept it.
   */
  readonly edgeGroups?: { readonly index: Int32Array; readonly values: TensorRecord };
}

/** State variables: node states shaped (batch, nNodes), edge states (batch, nEdges). */
export interface StateVars {
  readonly nodes: TensorRecord;
  readonly edges: TensorRecord;
}

/** The state API: state variables plus node states read at each edge's source / target (lazy). */
export interface StateApi extends StateVars {
  readonly sources: TensorRecord;
  readonly targets: TensorRecord;
}

/** What write_state_velocity gets besides state and params. */
export interface VelocityContext {
  /** Sums a per-edge tensor (..., nEdges) into its target nodes (..., nNodes). */
  readonly targetSum: (x: Tensor) => Tensor;
  /**
   * Fused targetSum(weight * activation(state.sources[activity])): the synaptic input, computed by
   * the fastest available kernel, keeping no per-edge values for the backward pass.
   * `weight` is per edge (nEdges) or per edge group (params.edgeGroups), `activity` per node
   * (batch, nNodes).
   */
  readonly synapticInput: (weight: Tensor, activity: Tensor) => Tensor;
  /**
   * Fused Euler step of a passive point neuron: v + rate * (bias - v + synapticInput(weight, v) + x),
   * in one op (one pass over the nodes after the synapse kernel; the tape keeps three per-node
   * tensors per step). rate = dt / max(tau, dt) per node. For `writeNextState`.
   */
  readonly eulerStep: (v: Tensor, bias: Tensor, rate: Tensor, weight: Tensor, x: Tensor) => Tensor;
  /** The configured activation as a differentiable op. */
  readonly activation: (x: Tensor) => Tensor;
  /** External input at this time step, (batch, nNodes). */
  readonly x_t: Tensor;
  readonly dt: number;
}

/**
 * flyvis's NetworkDynamics. Names follow flyvis (write_derived_params, write_initial_state,
 * write_state_velocity, currents) in camelCase; each is pure and returns what flyvis writes.
 */
export interface NetworkDynamics {
  /** The registered type name, e.g. 'PPNeuronIGRSynapses'. */
  readonly type: string;
  readonly activation: Activation;
  /** Params augmented with derived parameters (called once per forward pass). */
  writeDerivedParams(params: ParamApi): ParamApi;
  /** Initial state variables, unbatched: node states (nNodes), edge states (nEdges). */
  writeInitialState(params: ParamApi): StateVars;
  /** d(state)/dt for every state variable, shaped like the state. */
  writeStateVelocity(state: StateApi, params: ParamApi, ctx: VelocityContext): StateVars;
  /** The current through every edge, (batch, nEdges). */
  currents(state: StateApi, params: ParamApi): Tensor;
  /**
   * Optional fused solver step: the state after one Euler step, which must equal
   * state + dt * writeStateVelocity(...) (checkDynamics verifies it). The network's solver uses
   * it when present; it exists only to be faster and leaner than the explicit update.
   */
  writeNextState?(state: StateApi, params: ParamApi, ctx: VelocityContext): StateVars;
  /**
   * Optional: these dynamics as an instance of a fused model a backend may run as one primitive
   * (the whole simulation in one call, src/backends), instead of composing the ops above step by
   * step. Used only while `fused.velocity` is this object's own writeStateVelocity: dynamics
   * made by spreading another one and replacing its velocity run through the generic path.
   */
  readonly fused?: FusedModelSpec;
}

/**
 * A dynamics' fused model: its kind (backends register implementations per kind; 'ppneuron' is
 * src/dynamics/ppneuron-step.ts), the node state it integrates, and its inputs computed from the
 * parameters with ops (so gradients flow through them).
 */
export interface FusedModelSpec {
  readonly model: string;
  /** The node state variable the model integrates (its only state), e.g. 'activity'. */
  readonly state: string;
  /** The velocity function this spec stands for (see NetworkDynamics.fused). */
  readonly velocity: NetworkDynamics['writeStateVelocity'];
  /** The model's named inputs for a forward pass with time step dt. */
  inputs(params: ParamApi, dt: number): Readonly<Record<string, Tensor>>;
}

/**
 * A record whose entries are computed on first read (and then kept). Copying entries with
 * `extendRecord` keeps them lazy.
 */
export function lazyRecord(entries: Readonly<Record<string, () => Tensor>>): TensorRecord {
  const out = {};
  for (const [key, compute] of Object.entries(entries)) {
    let value: Tensor | undefined;
    Object.defineProperty(out, key, { enumerable: true, get: () => (value ??= compute()) });
  }
  return Object.freeze(out);
}

/** A new record with the entries of `base` (still lazy where they were) and `extra` added or replaced. */
export function extendRecord(base: TensorRecord, extra: TensorRecord): TensorRecord {
  const out = {};
  const descriptors = Object.getOwnPropertyDescriptors(base);
  for (const key of Object.keys(extra)) delete descriptors[key];
  Object.defineProperties(out, descriptors);
  Object.defineProperties(out, Object.getOwnPropertyDescriptors(extra));
  return Object.freeze(out);
}

/** Params with derived entries added to some routes (for write_derived_params). */
export function withDerivedParams(
  params: ParamApi,
  derived: { readonly nodes?: TensorRecord; readonly edges?: TensorRecord; readonly edgeGroups?: TensorRecord },
): ParamApi {
  const groups = params.edgeGroups;
  return Object.freeze({
    nodes: derived.nodes ? extendRecord(params.nodes, derived.nodes) : params.nodes,
    edges: derived.edges ? extendRecord(params.edges, derived.edges) : params.edges,
    sources: params.sources,
    targets: params.targets,
    ...(groups ? { edgeGroups: { index: groups.index, values: derived.edgeGroups ? extendRecord(groups.values, derived.edgeGroups) : groups.values } } : {}),
  });
}
