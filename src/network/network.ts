// flyvis's `Network`: a connectome, its parameters and dynamics, integrated by Euler steps.
//
// The class holds what flyvis's nn.Module holds (configs, connectome, parameter values,
// stimulus buffer, state hooks); everything it computes goes through pure functions of raw
// parameter tensors, so `valueAndGrad(p => loss(network.forward(x, dt, { params: p })))`
// differentiates a whole simulation with respect to any parameters.
import { Tensor, add, isRecording, mul, noGrad, reshape, scatterSum, slice, stack, tensor, zeros } from '../autograd/index.ts';
import type { Connectome } from '../graph/types.ts';
import { initDynamics, type DynamicsConfig } from '../dynamics/registry.ts';
import { activationOp } from '../dynamics/activation-op.ts';
import type { NetworkDynamics, ParamApi, StateApi, StateVars } from '../dynamics/types.ts';
import {
  type ParameterSet,
  checkpointToJSON,
  clampParameters,
  defaultEdgeConfig,
  defaultNodeConfig,
  initParameters,
  loadCheckpoint,
  numParameters,
  numTrainableParameters,
  saveCheckpoint,
  withRaw,
  makeParameterSet,
  commonRefinement,
  type Refinement,
  type Parameter,
  type LoadCheckpointOptions,
} from '../init/index.ts';
import type { SynapseKernel } from '../kernels/synapse.ts';
import { createBackend } from '../backends/index.ts';
import type { BackendGraph, BackendInstance, FusedSimulator } from '../backends/types.ts';
import { simulateScanChecked, simulateScanCheckedAsync } from '../backends/scan-op.ts';
import { LayerActivity } from './layer-activity.ts';
import { projectParameter, synapseOps } from './ops.ts';
import { type GraphIndex, buildParamApi, buildStateApi } from './param-api.ts';
import { type ArrayND, Stimulus } from './stimulus.ts';
import { initConnectome } from '../graph/index.ts';
import { cellValue, isCategorical } from '../graph/types.ts';
import { formatKey } from '../init/keys.ts';
import { FLOAT32_MAX, NonFiniteError, allFinite, countNonFinite, firstNonFinite } from '../io/finite.ts';
import { readNetworkConfig } from './config-file.ts';
import { checkSimulation, GRAD_RECORDS, type BudgetOptions } from '../budget.ts';
import { emitWarning } from '../platform.ts';

type Config = Readonly<Record<string, unknown>>;

/** Network configuration in flyvis's schema (snake_case keys, as in flyvis's YAML). */
export interface NetworkConfig {
  readonly connectome?: Config;
  readonly dynamics?: DynamicsConfig;
  /** Node parameter configs (flyvis's node_config), e.g. defaultNodeConfig(). */
  readonly node_config?: object;
  /** Edge parameter configs (flyvis's edge_config), e.g. defaultEdgeConfig(). */
  readonly edge_config?: object;
  readonly stimulus_config?: Config;
}

export interface NetworkOptions {
  /**
   * Where the simulation runs: a backend ('auto' picks the fastest available and
   * `network.backend.backend` says which; 'js', 'wasm', ... see src/backends) or a synapse
   * kernel name a backend runs ('scatter', 'csr', 'runs', 'gpujs' on 'js'; 'wasm-threads').
   */
  readonly kernel?: string;
  /** Dynamics to use instead of the one `config.dynamics` names (e.g. while developing new dynamics). */
  readonly dynamics?: NetworkDynamics;
  /** Threads the backend may use (1 or 2; default 1: the second core is often busy). */
  readonly threads?: number;
  /** Steps per call into a device-resident backend (default: by its memory budget; see src/backends). */
  readonly chunkSteps?: number;
  /**
   * Integrate state + dt * velocity step by step (the generic path) even when the dynamics
   * offers a fused writeNextState or a fused model the backend runs.
   */
  readonly explicitEuler?: boolean;
}

/** A network state: state variables per node and edge, batched (batch, n). */
export type State = StateVars;

/** Raw parameter tensors keyed by flyvis state_dict name ('nodes_bias', ...). */
export type ParamTensors = Readonly<Record<string, Tensor>>;

export type StateHook = (state: State, ...args: readonly unknown[]) => State | void | undefined;

export interface ForwardOptions {
  /** Initial state; default: the dynamics' initial state (v = bias). */
  readonly state?: State | null;
  /** Return every state instead of the activity (batch, frames, nodes). */
  readonly asStates?: boolean;
  /** Parameter values to use instead of the network's own (any subset, by state_dict name). */
  readonly params?: ParamTensors;
  /** Let NaN / ±Infinity input and states through instead of throwing (default false). */
  readonly allowNonFinite?: boolean;
  /** The input budget for this call (src/budget.ts). */
  readonly budget?: BudgetOptions;
}

/** A dataset of movies for stimulusResponse: item i is (frames, hexals) or (frames, 1, hexals). */
export interface MovieDataset {
  readonly length: number;
  get(index: number): ArrayND;
  /** Set by stimulusResponse to the integration time step, as in flyvis. */
  dt?: number;
}

/** Options of steadyState / steadyStateAsync. */
export interface SteadyStateOptions {
  /** The grey level (default 0.5); null returns `state`. */
  readonly value?: number | null;
  readonly state?: State | null;
  /** Record for differentiation (default false). */
  readonly grad?: boolean;
  readonly params?: ParamTensors;
  readonly allowNonFinite?: boolean;
  readonly budget?: BudgetOptions;
}

/** Options of fadeInState / fadeInStateAsync. */
export interface FadeInStateOptions {
  readonly state?: State | null;
  /** Record for differentiation (default false). */
  readonly grad?: boolean;
  readonly params?: ParamTensors;
  readonly allowNonFinite?: boolean;
  readonly budget?: BudgetOptions;
}

/** Options of simulate / simulateAsync. */
export interface SimulationOptions {
  readonly initialState?: State | null | 'auto';
  readonly asStates?: boolean;
  readonly asLayerActivity?: boolean;
  /** Record for differentiation (default false). */
  readonly grad?: boolean;
  readonly params?: ParamTensors;
  readonly onWarning?: (message: string) => void;
  /** Let NaN / ±Infinity states through instead of throwing NonFiniteActivityError (default false). */
  readonly allowNonFinite?: boolean;
  /** The input budget for this call and its steady state (src/budget.ts). */
  readonly budget?: BudgetOptions;
}

/** Options of stimulusResponse / stimulusResponseAsync. */
export interface StimulusResponseOptions {
  readonly indices?: readonly number[];
  readonly tPre?: number;
  readonly tFadeIn?: number;
  readonly grad?: boolean;
  readonly batchSize?: number;
  /** A precomputed grey steady state (batch 1) to start from instead of computing it from tPre. */
  readonly initialState?: State | null;
  /** Let NaN / ±Infinity states through instead of throwing NonFiniteActivityError (default false). */
  readonly allowNonFinite?: boolean;
}

/** What stimulusResponse yields per batch. */
export interface StimulusResponse {
  readonly stimulus: Tensor;
  readonly response: Tensor;
  readonly indices: number[];
}

/** Options of currentResponse / currentResponseAsync. */
export interface CurrentResponseOptions {
  readonly indices?: readonly number[];
  readonly tPre?: number;
  readonly tFadeIn?: number;
  readonly allowNonFinite?: boolean;
}

/** What currentResponse yields per movie. */
export interface CurrentResponse {
  readonly stimulus: Tensor;
  readonly activity: Tensor;
  readonly currents: Tensor;
  readonly index: number;
}

/** One simulation on the backend's primitive, asked for by a plan. */
interface ScanCall {
  readonly sim: FusedSimulator;
  readonly v0: Tensor;
  readonly x: Tensor;
  readonly inputs: Readonly<Record<string, Tensor>>;
  readonly record: 'all' | 'last';
}

/**
 * A simulation method's body, written once for the synchronous and the asynchronous method: a
 * generator that yields each simulation it needs and resumes with its result ({ out, finite });
 * Network.run answers with the synchronous primitive, Network.runAsync awaits the asynchronous one.
 */
type Plan<T> = Generator<ScanCall, T, { out: Tensor; finite: boolean | undefined }>;

export class NetworkError extends Error {
  override name = 'NetworkError';
}

/** Which integration a step belongs to, for error messages. */
export type IntegrationPhase = 'steady state' | 'fade-in' | 'simulation';

/** Where the state first became non-finite (NonFiniteActivityError.details). */
export interface NonFiniteActivityDetails {
  readonly phase: IntegrationPhase;
  /** 1-based Euler step of the phase, and the phase's number of steps. */
  readonly step: number;
  readonly steps: number;
  /** Seconds into the phase at the end of that step (step * dt); 0 for a given initial state. */
  readonly time: number;
  /** The state variable ('activity', ...) and whether it is a node or an edge state. */
  readonly variable: string;
  readonly route: 'nodes' | 'edges';
  readonly sample: number;
  /** The first offending node (for an edge state: the edge's target node). */
  readonly node: number;
  readonly edge?: number;
  readonly cellType?: string;
  readonly u?: number;
  readonly v?: number;
  readonly value: number;
  /** Non-finite values in that state variable at that step (all samples). */
  readonly count: number;
  /** The parameter groups involved, as text ('nodes_bias['T4a'] = 0.5', ...). */
  readonly parameters: readonly string[];
}

/**
 * The network's state became NaN or ±Infinity during integration (the parameters make the
 * dynamics blow up, or the input or initial state was not finite). Bad input: the CLI exits 2.
 */
export class NonFiniteActivityError extends NonFiniteError {
  override name = 'NonFiniteActivityError';
  constructor(
    message: string,
    readonly details: NonFiniteActivityDetails,
  ) {
    super(message);
  }
}

/** What integrate checks and how it names what it finds. */
interface IntegrationCheck {
  readonly phase: IntegrationPhase;
  readonly allowNonFinite: boolean;
  /** Parameters given instead of the network's own (for the error's parameter report). */
  readonly params?: ParamTensors | undefined;
}

/** Integration checks the state for NaN / ±Infinity every this many steps (and after the last). */
const CHECK_EVERY = 8;

const SIMULATION_CHECK: IntegrationCheck = { phase: 'simulation', allowNonFinite: false };
const checkOf = (phase: IntegrationPhase, o: { allowNonFinite?: boolean; params?: ParamTensors }): IntegrationCheck => ({
  phase,
  allowNonFinite: o.allowNonFinite ?? false,
  params: o.params,
});

const DEFAULT_CONNECTOME: Config = { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent: 15, n_syn_fill: 1 };
const DEFAULT_DYNAMICS: DynamicsConfig = { type: 'PPNeuronIGRSynapses', activation: { type: 'relu' } };

function deepFreezeCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value)) return value;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
  for (const [k, v] of Object.entries(value as object)) (copy as Record<string, unknown>)[k] = deepFreezeCopy(v);
  return Object.freeze(copy) as T;
}

const shapeText = (s: readonly number[]): string => `(${s.join(', ')})`;

/** Cell type and lattice coordinates per node, for backends that lay nodes out by them. */
function nodeLayout(connectome: Connectome): { layout?: NonNullable<BackendGraph['layout']> } {
  const { type, u, v } = connectome.nodes.columns;
  if (type === undefined || u === undefined || v === undefined || isCategorical(u) || isCategorical(v)) return {};
  const codes = isCategorical(type) ? type.codes : type;
  return { layout: { type: Int32Array.from(codes), u, v } };
}

export class Network {
  /** The configs the network was built from (frozen deep copies, defaults filled in). */
  readonly config: Required<NetworkConfig>;
  readonly connectome: Connectome;
  readonly dynamics: NetworkDynamics;
  readonly stimulus: Stimulus;
  readonly nNodes: number;
  readonly nEdges: number;
  /** The backend the network's simulations run on (its name, the kernel it runs, its fused models). */
  readonly backend: BackendInstance;
  private paramSet: ParameterSet;
  private stateHooks: readonly ((s: State) => State)[] = [];
  private readonly graph: GraphIndex;
  private readonly weightGroups: Refinement | undefined;
  private readonly backendGraph: BackendGraph;
  private hostBackend: BackendInstance | undefined;
  private readonly explicitEuler: boolean;
  /** The asynchronous method running now (its name), if any: the network runs one at a time. */
  private running: string | null = null;

  constructor(config: NetworkConfig = {}, options: NetworkOptions = {}, connectome?: Connectome) {
    this.config = deepFreezeCopy({
      connectome: config.connectome ?? DEFAULT_CONNECTOME,
      dynamics: config.dynamics ?? DEFAULT_DYNAMICS,
      node_config: config.node_config ?? defaultNodeConfig(),
      edge_config: config.edge_config ?? defaultEdgeConfig(),
      stimulus_config: config.stimulus_config ?? { type: 'Stimulus', init_buffer: false },
    });
    this.connectome = connectome ?? initConnectome(this.config.connectome as never);
    this.dynamics = options.dynamics ?? initDynamics(this.config.dynamics);
    this.paramSet = initParameters(this.connectome, this.config.node_config, this.config.edge_config);
    const source = this.connectome.edges.columns.source_index as Int32Array;
    const target = this.connectome.edges.columns.target_index as Int32Array;
    this.nNodes = this.connectome.nodes.length;
    this.nEdges = this.connectome.edges.length;

    const edgeIndices = this.paramSet.parameters.filter((p) => p.route === 'edges').map((p) => p.indices);
    this.weightGroups = edgeIndices.length > 0 ? commonRefinement(edgeIndices, this.nEdges) : undefined;
    this.graph = { nNodes: this.nNodes, source, target, ...(this.weightGroups ? { groups: this.weightGroups } : {}) };
    this.backendGraph = {
      nNodes: this.nNodes,
      source,
      target,
      ...(this.weightGroups ? { groups: { index: this.weightGroups.index, representative: this.weightGroups.representative } } : {}),
      ...nodeLayout(this.connectome),
      activation: this.dynamics.activation,
    };
    try {
      this.backend = createBackend(options.kernel ?? 'auto', this.backendGraph, {
        ...(options.threads !== undefined ? { threads: options.threads } : {}),
        ...(options.chunkSteps !== undefined ? { chunkSteps: options.chunkSteps } : {}),
      });
    } catch (e) {
      throw new NetworkError(`kernel: ${(e as Error).message}`);
    }
    this.explicitEuler = options.explicitEuler ?? false;
    const sc = this.config.stimulus_config;
    this.stimulus = new Stimulus(this.connectome, 1, 1, (sc.init_buffer as boolean | undefined) ?? false);
  }

  /**
   * Builds a network from a flyvis config file (YAML or JSON, flyvis's schema; the network block
   * or a training config with a `network:` key). `overrides` replace whole top-level entries.
   */
  static fromConfigFile(file: string, overrides: NetworkConfig = {}, options: NetworkOptions = {}): Network {
    return new Network({ ...readNetworkConfig(file), ...overrides }, options);
  }

  /** Builds a network on an already compiled (or user-registered) connectome. */
  static fromConnectome(connectome: Connectome, config: Omit<NetworkConfig, 'connectome'> = {}, options: NetworkOptions = {}): Network {
    return new Network({ ...config, connectome: { type: '<given>' } }, options, connectome);
  }

  /** Releases the backend's worker threads and memory, if any (the network must not be used afterwards). */
  dispose(): void {
    this.backend.dispose();
    this.hostBackend?.dispose();
  }

  /** The synapse kernel the generic path composes dynamics with (the backend's). */
  get kernel(): SynapseKernel {
    return this.backend.synapseKernel();
  }

  // -- parameters ------------------------------------------------------------------------

  get parameters(): ParameterSet {
    return this.paramSet;
  }

  /** flyvis `num_parameters`. */
  get numParameters(): number {
    return numParameters(this.paramSet);
  }

  get numTrainableParameters(): number {
    return numTrainableParameters(this.paramSet);
  }

  /** Copies of all raw parameter values as tensors, keyed by state_dict name. */
  paramTensors(): Record<string, Tensor> {
    return Object.fromEntries(this.paramSet.parameters.map((p) => [p.stateDictName, tensor(p.raw)]));
  }

  /** Copies of the trainable (requires_grad) raw parameters, keyed by state_dict name. */
  trainableParams(): Record<string, Tensor> {
    return Object.fromEntries(this.paramSet.parameters.filter((p) => p.trainable).map((p) => [p.stateDictName, tensor(p.raw)]));
  }

  /** Replaces parameter values (any subset, by state_dict name), then clamps as flyvis does before use. */
  setParams(values: ParamTensors): void {
    const unknown = Object.keys(values).filter((k) => !this.paramSet.byName.has(k));
    if (unknown.length > 0) throw new NetworkError(`setParams: unknown parameter(s) ${unknown.join(', ')} (have ${[...this.paramSet.byName.keys()].join(', ')})`);
    for (const [name, t] of Object.entries(values)) {
      const bad = t.data.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) throw new NetworkError(`setParams: ${name}[${bad}] is ${t.data[bad]}, expected a finite number`);
    }
    this.paramSet = makeParameterSet(this.paramSet.parameters.map((p) => (values[p.stateDictName] ? withRaw(p, values[p.stateDictName]!.data) : p)));
    this.clamp();
  }

  /** flyvis `clamp`: trainable parameters to their range, then symmetry groups to their means. */
  clamp(): void {
    this.paramSet = clampParameters(this.paramSet);
  }

  saveCheckpoint(file: string): void {
    saveCheckpoint(this.paramSet, file);
  }

  /** Loads a state_dict JSON checkpoint (file or object); on any problem throws and changes nothing. */
  /**
   * Loads a state_dict checkpoint (a JSON file path or a parsed object); see `loadCheckpoint` in
   * src/init for the checks and `options` (which extents a mis-sized checkpoint fits, warnings).
   */
  loadCheckpoint(source: string | Readonly<Record<string, unknown>>, options: LoadCheckpointOptions = {}): void {
    this.paramSet = loadCheckpoint(this.paramSet, source, options);
  }

  stateDict(): Record<string, number[]> {
    return checkpointToJSON(this.paramSet) as Record<string, number[]>;
  }

  /**
   * The parameter API the dynamics see, for the network's parameters or the given ones
   * (projected by clamp, with gradients passing straight through).
   */
  paramApi(params?: ParamTensors): ParamApi {
    const raw: Record<string, Tensor> = {};
    // Parameters not given take the given ones' dtype (float64 for gradient checks).
    const dtype = params ? (Object.values(params)[0]?.dtype ?? 'float32') : 'float32';
    for (const p of this.paramSet.parameters) {
      const given = params?.[p.stateDictName];
      raw[p.stateDictName] = given ? projectParameter(given, p) : tensor(p.raw, [p.raw.length], dtype);
    }
    if (params) {
      const unknown = Object.keys(params).filter((k) => !this.paramSet.byName.has(k));
      if (unknown.length > 0) throw new NetworkError(`params: unknown parameter(s) ${unknown.join(', ')} (have ${[...this.paramSet.byName.keys()].join(', ')})`);
    }
    return buildParamApi(this.paramSet, raw, this.graph, this.dynamics);
  }

  /** flyvis `target_sum`: sums per-edge values (..., nEdges) into their target nodes. */
  readonly targetSum = (x: Tensor): Tensor => {
    if (x.shape[x.shape.length - 1] !== this.nEdges) {
      throw new NetworkError(`target_sum: expected a last dimension of ${this.nEdges} edges, got shape ${shapeText(x.shape)}`);
    }
    return scatterSum(x, this.graph.target, this.graph.nNodes);
  };

  // -- state hooks ------------------------------------------------------------------------

  /** Registers a hook called on the initial and every next state; it may return a replaced state. */
  registerStateHook(hook: StateHook, ...args: readonly unknown[]): void {
    if (typeof hook !== 'function') throw new NetworkError('state_hook must be callable');
    this.stateHooks = [...this.stateHooks, (s: State) => hook(s, ...args) ?? s];
  }

  clearStateHooks(clear = true): void {
    if (clear) this.stateHooks = [];
  }

  private hooked(state: State): State {
    for (const h of this.stateHooks) state = h(state);
    return state;
  }

  // -- integration ----------------------------------------------------------------------

  /** The initial state (v = bias), broadcast to the batch. */
  initialState(params: ParamApi, batchSize: number): State {
    const s = this.dynamics.writeInitialState(params);
    const expand = (t: Tensor): Tensor => add(zeros([batchSize, ...t.shape], t.dtype), t);
    return this.hooked({
      nodes: Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, expand(v)])),
      edges: Object.fromEntries(Object.entries(s.edges).map(([k, v]) => [k, expand(v)])),
    });
  }

  /** True when no state variable holds NaN or ±Infinity (one fast sum per variable). */
  private allStatesFinite(s: State): boolean {
    for (const name in s.nodes) if (!allFinite(s.nodes[name]!.data)) return false;
    for (const name in s.edges) if (!allFinite(s.edges[name]!.data)) return false;
    return true;
  }

  /**
   * Throws when any state variable holds NaN or ±Infinity after a step (reads values only, so
   * recorded gradients are unaffected): a NetworkError naming the input when the frame that
   * step read was not finite (after its conversion to the state's dtype: 1e300 is Infinity as
   * float32), a NonFiniteActivityError otherwise. A non-finite input makes the state non-finite
   * in the same step, so the input needs no scan of its own.
   */
  private checkState(s: State, check: IntegrationCheck, step: number, steps: number, dt: number, x?: ArrayND, xt?: Float32Array | Float64Array): void {
    for (const route of ['nodes', 'edges'] as const) {
      for (const name in s[route]) {
        const t = s[route][name]!;
        if (allFinite(t.data)) continue;
        const badInput = xt === undefined ? -1 : firstNonFinite(xt);
        if (badInput >= 0) this.throwNonFiniteInput(x!, step - 1, badInput, t.dtype, check.phase);
        throw this.nonFiniteStateError(t, name, route, firstNonFinite(t.data), check, step, steps, dt);
      }
    }
  }

  /** Cell type and lattice position of a node, as text and fields. */
  private describeNode(node: number): { text: string; cellType?: string; u?: number; v?: number } {
    const cols = this.connectome.nodes.columns;
    const type = cols.type !== undefined && isCategorical(cols.type) ? (cellValue(cols.type, node) as string) : undefined;
    const u = cols.u !== undefined && !isCategorical(cols.u) ? cols.u[node] : undefined;
    const v = cols.v !== undefined && !isCategorical(cols.v) ? cols.v[node] : undefined;
    const parts = [`node ${node}`, ...(type !== undefined ? [`cell type ${type}`] : []), ...(u !== undefined && v !== undefined ? [`u ${u}, v ${v}`] : [])];
    return { text: parts.join(', '), ...(type !== undefined ? { cellType: type } : {}), ...(u !== undefined ? { u } : {}), ...(v !== undefined ? { v } : {}) };
  }

  /**
   * The parameter groups involved in a node's dynamics, as text: any parameter that is itself
   * non-finite or beyond float32 range, the node's own parameters (bias, time constant, ...)
   * and, per edge parameter, the largest groups among the node's incoming edges.
   */
  private parameterReport(node: number, given: ParamTensors | undefined): string[] {
    const semanticOf = (p: Parameter): ArrayLike<number> => {
      const g = given?.[p.stateDictName];
      const raw = g ? noGrad(() => projectParameter(g, p)).data : p.raw;
      return p.transform === 'exp' ? Array.from(raw, Math.exp) : raw;
    };
    const fmt = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x));
    const groupText = (p: Parameter, g: number, x: number): string =>
      `${p.stateDictName}[${formatKey(p.keys[g] ?? g)}] = ${fmt(x)}`;
    const bad: string[] = [];
    const own: string[] = [];
    const incoming: string[] = [];
    const inEdges: number[] = [];
    for (let e = 0; e < this.nEdges; e++) if (this.graph.target[e] === node) inEdges.push(e);
    for (const p of this.paramSet.parameters) {
      const values = semanticOf(p);
      for (let g = 0; g < values.length && bad.length < 4; g++) {
        const x = values[g]!;
        if (!(Math.abs(x) <= FLOAT32_MAX)) bad.push(groupText(p, g, x));
      }
      if (p.route === 'nodes') {
        const g = p.indices[node]!;
        own.push(groupText(p, g, values[g]!));
      } else {
        const groups = [...new Set(inEdges.map((e) => p.indices[e]!))];
        // A fixed parameter of magnitude <= 1 (the sign) cannot make the dynamics blow up.
        if (!p.trainable && groups.every((g) => Math.abs(values[g]!) <= 1)) continue;
        const mag = (g: number): number => (Number.isNaN(values[g]!) ? Infinity : Math.abs(values[g]!));
        groups.sort((a, b) => mag(b) - mag(a) || a - b);
        const top = groups.slice(0, 3).map((g) => groupText(p, g, values[g]!));
        if (top.length > 0) incoming.push(top.join(', ') + (groups.length > 3 ? ` (largest 3 of ${groups.length} incoming groups)` : ''));
      }
    }
    return [
      ...(bad.length > 0 ? [`non-finite or out-of-range parameters: ${bad.join(', ')}`] : []),
      ...own,
      ...(inEdges.length > 0 ? incoming.map((t) => `incoming ${t}`) : ['no incoming edges']),
    ];
  }

  private nonFiniteStateError(
    t: Tensor,
    variable: string,
    route: 'nodes' | 'edges',
    i: number,
    check: IntegrationCheck,
    step: number,
    steps: number,
    dt: number,
  ): NonFiniteActivityError {
    const width = route === 'nodes' ? this.nNodes : this.nEdges;
    const sample = Math.floor(i / width);
    const edge = route === 'edges' ? i % width : undefined;
    const node = edge === undefined ? i % width : this.graph.target[edge]!;
    const value = t.data[i]!;
    const count = countNonFinite(t.data, i);
    const where = this.describeNode(node);
    const parameters = this.parameterReport(node, check.params);
    const time = step * dt;
    const when = step === 0 ? `in the initial state of the ${check.phase}` : `at step ${step} of ${steps} (t = ${Number(time.toPrecision(6))} s) of the ${check.phase}`;
    const what = edge === undefined ? `${where.text}: ${variable} = ${value}` : `edge ${edge} into ${where.text}: ${variable} = ${value}`;
    const message =
      `non-finite ${route === 'nodes' ? 'node' : 'edge'} state ${when}, sample ${sample}, ${what}` +
      ` (${count} of ${t.data.length} values not finite); parameters involved: ${parameters.join('; ')}` +
      ` (pass allowNonFinite: true to let non-finite states through)`;
    return new NonFiniteActivityError(message, {
      phase: check.phase,
      step,
      steps,
      time,
      variable,
      route,
      sample,
      node,
      ...(edge !== undefined ? { edge } : {}),
      ...(where.cellType !== undefined ? { cellType: where.cellType } : {}),
      ...(where.u !== undefined ? { u: where.u } : {}),
      ...(where.v !== undefined ? { v: where.v } : {}),
      value,
      count,
      parameters,
    });
  }

  /** A non-finite input frame (after the conversion to the state's dtype): names the index, cell type and value. */
  private throwNonFiniteInput(x: ArrayND, t: number, i: number, dtype: string, phase: IntegrationPhase): never {
    const [, T, N] = x.shape as [number, number, number];
    const b = Math.floor(i / N);
    const n = i % N;
    const v = x.data[(b * T + t) * N + n]!;
    const why = Number.isFinite(v) ? `is beyond ${dtype} range` : 'is not finite';
    throw new NetworkError(`${phase} input: x[${b}, ${t}, ${n}] (${this.describeNode(n).text}) = ${v} ${why}, expected finite input`);
  }

  // -- running simulations: one body per method, driven synchronously or asynchronously --------

  /**
   * Runs a plan synchronously: each simulation it asks for runs on the backend's primitive
   * (simulateScan). `method` names the public method in errors; `grad` false runs it without
   * recording (undefined: records when an enclosing transform does). A backend that reads back
   * only asynchronously (webgpu) is an error naming the method's asynchronous form.
   */
  private run<T>(method: string, grad: boolean | undefined, plan: Plan<T>): T {
    this.checkIdle(method);
    const go = (): T => {
      let step = plan.next();
      while (!step.done) {
        const call = step.value;
        if (call.sim.readBack === 'async') {
          const use = method.endsWith('Response') ? `for await (const r of network.${method}Async(...))` : `await network.${method}Async(...)`;
          throw new NetworkError(
            `${method}: the '${this.backend.backend}' backend reads results back asynchronously: use ${use}` +
              ' (valueAndGradAsync to differentiate it), or a backend that reads back synchronously (js, wasm, gpujs)',
          );
        }
        step = plan.next(simulateScanChecked(call.sim, call.v0, call.x, call.inputs, call.record));
      }
      return step.value;
    };
    return grad === undefined ? go() : this.withGrad(grad, go);
  }

  /**
   * Runs a plan, awaiting each simulation it asks for (simulateScanAsync: read back
   * asynchronously, recorded as one node whose VJP the reverse pass of valueAndGradAsync awaits).
   * The plan's synchronous parts and each simulation's start run in the recording frame `grad`
   * asks for; nothing holds a frame across an await.
   */
  private async runAsync<T>(method: string, grad: boolean | undefined, plan: Plan<T>): Promise<T> {
    this.checkIdle(method);
    const framed = <R>(fn: () => R): R => (grad === undefined ? fn() : this.withGrad(grad, fn));
    this.running = method;
    try {
      let step = framed(() => plan.next());
      while (!step.done) {
        const call = step.value;
        const outcome = await framed(() => simulateScanCheckedAsync(call.sim, call.v0, call.x, call.inputs, call.record));
        step = framed(() => plan.next(outcome));
      }
      return step.value;
    } finally {
      this.running = null;
    }
  }

  /** Refuses to start while an asynchronous simulation of this network is in flight (they share its stimulus buffer). */
  private checkIdle(method: string): void {
    if (this.running !== null) {
      throw new NetworkError(
        `${method}: ${this.running}Async is still running on this network: await it first (a network runs one simulation at a time: they share its stimulus buffer)`,
      );
    }
  }

  /**
   * The Euler solver: the states after each of the T steps over the frames of x (batch, T,
   * nNodes) from `state` (default: the dynamics' initial state), as the activity (batch, T,
   * nNodes), the list of states, or only the last. A pure function of (dynamics, backend,
   * parameters, input, initial state): on the fused path the backend runs the whole simulation
   * as one differentiable primitive (one tape node, asked for by a yield: see run / runAsync); on
   * the generic path (dynamics without a fused model the backend implements, state hooks,
   * explicitEuler) the dynamics' ops are composed step by step, synchronously on the host.
   */
  private integrate(params: ParamApi, x: ArrayND, dt: number, state: State | null | undefined, want: 'activity', check?: IntegrationCheck): Plan<{ last: State; activity: Tensor }>;
  private integrate(params: ParamApi, x: ArrayND, dt: number, state: State | null | undefined, want: 'states', check?: IntegrationCheck): Plan<{ last: State; states: State[] }>;
  private integrate(params: ParamApi, x: ArrayND, dt: number, state: State | null | undefined, want: 'last', check?: IntegrationCheck): Plan<{ last: State }>;
  private *integrate(
    params: ParamApi,
    x: ArrayND,
    dt: number,
    state: State | null | undefined,
    want: 'activity' | 'states' | 'last',
    check: IntegrationCheck = SIMULATION_CHECK,
  ): Plan<{ last: State; activity?: Tensor; states?: State[] }> {
    if (x.shape.length !== 3 || x.shape[2] !== this.nNodes) {
      throw new NetworkError(`forward: input must have shape (batch, frames, ${this.nNodes}), got ${shapeText(x.shape)}`);
    }
    if (!(dt > 0) || !Number.isFinite(dt)) throw new NetworkError(`dt: expected a positive finite number, got ${dt}`);
    const fused = yield* this.integrateFused(params, x, dt, state, want, check);
    if (fused) return fused;
    const states: State[] = [];
    const activity: Tensor[] = [];
    const last = this.integrateSteps(
      params,
      x,
      dt,
      state,
      (s) => {
        if (want === 'states') states.push(s);
        else if (want === 'activity') {
          const a = s.nodes.activity;
          if (a === undefined) throw new NetworkError(`${this.dynamics.type}: no node state 'activity' to return (use asStates)`);
          activity.push(a);
        }
      },
      check,
    );
    if (want === 'states') return { last, states };
    if (want === 'last') return { last };
    const [B, , N] = x.shape as [number, number, number];
    return { last, activity: activity.length === 0 ? new Tensor(new Float32Array(0), [B, 0, N]) : stack(activity, 1) };
  }

  /** The fused simulator and its inputs for this integration, or undefined for the generic path. */
  private fusedPlan(params: ParamApi, dt: number, state: State | null | undefined, dtype: 'float32' | 'float64'): { sim: FusedSimulator; name: string; inputs: Readonly<Record<string, Tensor>> } | undefined {
    const spec = this.dynamics.fused;
    if (spec === undefined || spec.velocity !== this.dynamics.writeStateVelocity || this.explicitEuler || this.stateHooks.length > 0) return undefined;
    if (state && (Object.keys(state.nodes).join() !== spec.state || Object.keys(state.edges).length > 0)) return undefined;
    const inputs = spec.inputs(params, dt);
    const request = { dtype, inputs: Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, t.data])) };
    if (Object.values(inputs).some((t) => t.dtype !== dtype)) return undefined;
    let sim = this.backend.fused(spec.model);
    if (sim === undefined || !sim.supports(request)) {
      // e.g. float64 (gradient checks) on a float32-only backend: the host reference backend
      this.hostBackend ??= createBackend('js', this.backendGraph);
      sim = this.hostBackend.fused(spec.model);
      if (sim === undefined || !sim.supports(request)) return undefined;
    }
    return { sim, name: spec.state, inputs };
  }

  /** The fused path: one simulation on the backend's primitive (undefined: the generic path). */
  private *integrateFused(
    params: ParamApi,
    x: ArrayND,
    dt: number,
    state: State | null | undefined,
    want: 'activity' | 'states' | 'last',
    check: IntegrationCheck,
  ): Plan<{ last: State; activity?: Tensor; states?: State[] } | undefined> {
    const [B, T, N] = x.shape as [number, number, number];
    const given = state ? Object.values(state.nodes)[0] : undefined;
    const dtype = given?.dtype ?? (Object.values(params.nodes)[0]?.dtype ?? 'float32');
    const plan = this.fusedPlan(params, dt, state, dtype);
    if (plan === undefined) return undefined;
    const s0 = state ?? this.initialState(params, B);
    const given0 = s0.nodes[plan.name]!;
    // A batch-1 state (a grey steady state) starts every sample, as broadcasting does on the
    // generic path: repeated here so the batch still runs as one simulation on the backend.
    const v0 = given0.shape.length === 2 && given0.shape[0] === 1 && B > 1 && given0.shape[1] === N ? add(zeros([B, N], given0.dtype), given0) : given0;
    if (v0.shape.length !== 2 || v0.shape[0] !== B || v0.shape[1] !== N || v0.dtype !== dtype) return undefined;
    const checked = !check.allowNonFinite;
    if (checked) this.checkState(s0, check, 0, T, dt);
    const xData = x.data;
    const xt = x instanceof Tensor && x.dtype === dtype
      ? x
      : new Tensor(dtype === 'float64' ? Float64Array.from(xData) : xData instanceof Float32Array ? xData : Float32Array.from(xData), [B, T, N]);
    const { out, finite } = yield { sim: plan.sim, v0, x: xt, inputs: plan.inputs, record: want === 'last' ? 'last' : 'all' };
    if (checked && !(finite ?? allFinite(out.data))) {
      // Locate and report the first non-finite state (or input) as the step-by-step solver does.
      noGrad(() => this.integrateSteps(params, x, dt, state, () => {}, check));
    }
    const stateOf = (v: Tensor): State => ({ nodes: { [plan.name]: v }, edges: {} });
    if (want === 'last') return { last: stateOf(out) };
    const at = (t: number): Tensor => {
      if (!isRecording() && B === 1) return new Tensor(out.data.subarray(t * N, (t + 1) * N), [1, N]);
      return reshape(slice(out, 1, t, t + 1), [B, N]);
    };
    const last = T === 0 ? s0 : stateOf(at(T - 1));
    if (want === 'states') return { last, states: Array.from({ length: T }, (_, t) => stateOf(at(t))) };
    return { last, activity: out };
  }

  /** The generic path: the dynamics' ops composed per step (one tape node per op per step). */
  private integrateSteps(
    params: ParamApi,
    x: ArrayND,
    dt: number,
    state: State | null | undefined,
    onState: (s: State) => void,
    check: IntegrationCheck = SIMULATION_CHECK,
  ): State {
    const [B, T, N] = x.shape as [number, number, number];
    let s = state ?? this.initialState(params, B);
    const checked = !check.allowNonFinite;
    if (checked) this.checkState(s, check, 0, T, dt);
    // States since the last check. A non-finite state stays non-finite under Euler steps (NaN
    // propagates, v + c * (-v + ...) is NaN for infinite v), so checking every CHECK_EVERY-th
    // state and the last one finds every blow-up; the first non-finite state among the ones
    // kept is the step reported. (One scan per step would cost ~4% of a step at extent 15.)
    let unchecked: { s: State; xt: Float32Array | Float64Array }[] = [];
    const afterStep = (t: number, xt: Float32Array | Float64Array): void => {
      unchecked.push({ s, xt });
      if ((t + 1) % CHECK_EVERY !== 0 && t + 1 !== T) return;
      if (!this.allStatesFinite(s)) {
        const first = t + 1 - unchecked.length;
        unchecked.forEach((u, k) => this.checkState(u.s, check, first + k + 1, T, dt, x, u.xt));
      }
      unchecked = [];
    };
    const activation = activationOp(this.dynamics.activation);
    const synapseContext = {
      nNodes: N,
      source: this.graph.source,
      target: this.graph.target,
      kernel: this.backend.synapseKernel(),
      ...(this.weightGroups ? { groups: this.weightGroups } : {}),
      ungrouped: () => this.backend.synapseKernel({ grouped: false }),
      activation,
    };
    const { synapticInput, eulerStep } = synapseOps(synapseContext);
    const data = x.data;
    const dtype = Object.values(s.nodes)[0]?.dtype ?? 'float32';
    // One sample of the state's dtype: each frame can be a view of x (steps only read their
    // input), but only when nothing is recorded: a recorded step keeps its input for the
    // backward pass, and x (often the stimulus buffer) may be overwritten before that runs.
    const frameView =
      B === 1 && !isRecording() && (dtype === 'float64' ? data instanceof Float64Array : data instanceof Float32Array)
        ? (data as Float32Array | Float64Array)
        : null;
    // A tensor input of the state's dtype stays on the tape while recording (gradients w.r.t. the input).
    const tracked = isRecording() && x instanceof Tensor && x.dtype === dtype ? x : null;
    for (let t = 0; t < T; t++) {
      let xt: Float32Array | Float64Array;
      let frame: Tensor | null = null;
      if (tracked) {
        frame = reshape(slice(tracked, 1, t, t + 1), [B, N]);
        xt = frame.data;
      } else if (frameView) xt = frameView.subarray(t * N, (t + 1) * N);
      else {
        xt = dtype === 'float64' ? new Float64Array(B * N) : new Float32Array(B * N);
        for (let b = 0; b < B; b++) {
          const off = (b * T + t) * N;
          if (data instanceof Float32Array || data instanceof Float64Array) xt.set(data.subarray(off, off + N), b * N);
          else for (let n = 0; n < N; n++) xt[b * N + n] = data[off + n]!;
        }
      }
      const api: StateApi = buildStateApi(s, this.graph);
      const ctx = { targetSum: this.targetSum, synapticInput, eulerStep, activation, x_t: frame ?? new Tensor(xt, [B, N]), dt };
      if (this.dynamics.writeNextState && !this.explicitEuler) {
        s = this.hooked(this.dynamics.writeNextState(api, params, ctx));
        if (checked) afterStep(t, xt);
        onState(s);
        continue;
      }
      const vel = this.dynamics.writeStateVelocity(api, params, ctx);
      const next = (cur: Record<string, Tensor>, v: Record<string, Tensor>, what: string): Record<string, Tensor> =>
        Object.fromEntries(
          Object.entries(cur).map(([k, c]) => {
            const d = v[k];
            if (d === undefined) throw new NetworkError(`${this.dynamics.type}: write_state_velocity gave no velocity for ${what} state '${k}'`);
            return [k, add(c, mul(d, dt))];
          }),
        );
      s = this.hooked({ nodes: next(s.nodes, vel.nodes, 'node'), edges: next(s.edges, vel.edges, 'edge') });
      if (checked) afterStep(t, xt);
      onState(s);
    }
    return s;
  }

  /**
   * flyvis `forward`: Euler steps over the frames of x (batch, frames, nNodes). Returns the
   * activity after each step, (batch, frames, nNodes), or every state with asStates.
   * Clamps the network's parameters first, as flyvis does.
   */
  forward(x: ArrayND, dt: number, options: ForwardOptions & { asStates: true }): State[];
  forward(x: ArrayND, dt: number, options?: ForwardOptions): Tensor;
  forward(x: ArrayND, dt: number, options: ForwardOptions = {}): Tensor | State[] {
    return this.run('forward', undefined, this.forwardPlan(x, dt, options));
  }

  /**
   * forward, with the simulation read back asynchronously: works on every backend, webgpu
   * included (records when an enclosing valueAndGradAsync does). Same results as forward.
   */
  forwardAsync(x: ArrayND, dt: number, options: ForwardOptions & { asStates: true }): Promise<State[]>;
  forwardAsync(x: ArrayND, dt: number, options?: ForwardOptions): Promise<Tensor>;
  forwardAsync(x: ArrayND, dt: number, options: ForwardOptions = {}): Promise<Tensor | State[]> {
    return this.runAsync('forward', undefined, this.forwardPlan(x, dt, options));
  }

  private *forwardPlan(x: ArrayND, dt: number, options: ForwardOptions): Plan<Tensor | State[]> {
    const size = { batch: x.shape[0] ?? 0, steps: x.shape[1] ?? 0, nodes: this.nNodes, records: 2 + (isRecording() ? GRAD_RECORDS : 0) };
    checkSimulation(`forward (${size.steps} frames)`, size, options.budget);
    if (!options.params) this.clamp();
    const params = this.paramApi(options.params);
    const check = checkOf('simulation', options);
    if (options.asStates) return (yield* this.integrate(params, x, dt, options.state, 'states', check)).states;
    return (yield* this.integrate(params, x, dt, options.state, 'activity', check)).activity;
  }

  /**
   * flyvis `steady_state`: the state after t_pre seconds of uniform grey (`value`), that is
   * int(t_pre / dt) Euler steps from `state` (default v = bias). t_pre <= 0 returns `state`.
   */
  steadyState(tPre: number, dt: number, batchSize: number, options: SteadyStateOptions = {}): State | null {
    return this.run('steadyState', options.grad ?? false, this.steadyStatePlan(tPre, dt, batchSize, options));
  }

  /** steadyState, read back asynchronously (every backend, webgpu included; same results). */
  steadyStateAsync(tPre: number, dt: number, batchSize: number, options: SteadyStateOptions = {}): Promise<State | null> {
    return this.runAsync('steadyState', options.grad ?? false, this.steadyStatePlan(tPre, dt, batchSize, options));
  }

  private *steadyStatePlan(tPre: number, dt: number, batchSize: number, options: SteadyStateOptions): Plan<State | null> {
    const value = options.value === undefined ? 0.5 : options.value;
    if (!(tPre > 0) || value === null) return options.state ?? null;
    const steps = Math.trunc(tPre / dt);
    const size = { batch: batchSize, steps, nodes: this.nNodes, records: 1 + (options.grad ? GRAD_RECORDS : 0) };
    checkSimulation(`steady state (t_pre ${tPre} s at dt ${dt} s)`, size, options.budget);
    this.stimulus.zero(batchSize, steps);
    this.stimulus.addPreStim(value);
    return yield* this.lastState(this.stimulus.call(), dt, options.state, checkOf('steady state', options));
  }

  /**
   * flyvis `fade_in_state`: the state after t_fade_in seconds of the first frame
   * (batch, 1, hexals) with its contrast ramped linearly from 0 (grey 0.5) to full.
   */
  fadeInState(tFadeIn: number, dt: number, initialFrames: ArrayND, options: FadeInStateOptions = {}): State | null {
    return this.run('fadeInState', options.grad ?? false, this.fadeInStatePlan(tFadeIn, dt, initialFrames, options));
  }

  /** fadeInState, read back asynchronously (every backend, webgpu included; same results). */
  fadeInStateAsync(tFadeIn: number, dt: number, initialFrames: ArrayND, options: FadeInStateOptions = {}): Promise<State | null> {
    return this.runAsync('fadeInState', options.grad ?? false, this.fadeInStatePlan(tFadeIn, dt, initialFrames, options));
  }

  private *fadeInStatePlan(tFadeIn: number, dt: number, initialFrames: ArrayND, options: FadeInStateOptions): Plan<State | null> {
    if (!(tFadeIn > 0)) return options.state ?? null;
    const n = Math.trunc(tFadeIn / dt);
    const size = { batch: initialFrames.shape[0] ?? 0, steps: n, nodes: this.nNodes, records: 2 + (options.grad ? GRAD_RECORDS : 0) };
    checkSimulation(`fade-in (t_fade_in ${tFadeIn} s at dt ${dt} s)`, size, options.budget);
    const [B, , H] = initialFrames.shape.length === 3 ? (initialFrames.shape as [number, number, number]) : [0, 0, 0];
    if (initialFrames.shape.length !== 3 || initialFrames.shape[1] !== 1) {
      throw new NetworkError(`fade_in_state: initial_frames must have shape (batch, 1, hexals), got ${shapeText(initialFrames.shape)}`);
    }
    const ramp = new Float32Array(B * n * H);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < n; t++) {
        const a = n === 1 ? 0 : t / (n - 1); // torch.linspace(0, 1, n)
        for (let h = 0; h < H; h++) ramp[(b * n + t) * H + h] = a * (initialFrames.data[b * H + h]! - 0.5) + 0.5;
      }
    this.stimulus.zero(B, n);
    this.stimulus.addInput({ data: ramp, shape: [B, n, 1, H] });
    return yield* this.lastState(this.stimulus.call(), dt, options.state, checkOf('fade-in', options));
  }

  private *lastState(x: ArrayND, dt: number, state: State | null | undefined, check: IntegrationCheck): Plan<State> {
    if (!check.params) this.clamp();
    return (yield* this.integrate(this.paramApi(check.params), x, dt, state, 'last', check)).last;
  }

  private withGrad<T>(grad: boolean, fn: () => T): T {
    return grad ? fn() : noGrad(fn);
  }

  /**
   * flyvis `simulate`: activity for a movie (batch, frames, 1, hexals). initialState 'auto'
   * (default) starts from the steady state after 1 s of grey 0.5; null starts from v = bias.
   * Without `grad: true` nothing is recorded for differentiation.
   */
  simulate(movie: ArrayND, dt: number, options: SimulationOptions = {}): Tensor | State[] | LayerActivity {
    return this.run('simulate', options.grad ?? false, this.simulatePlan(movie, dt, options));
  }

  /**
   * simulate, read back asynchronously: works on every backend, webgpu included, with the same
   * results. With `grad: true` it records for an enclosing valueAndGradAsync:
   * `await valueAndGradAsync(async (p) => loss(await network.simulateAsync(movie, dt, { params: p, grad: true })))(params)`.
   */
  simulateAsync(movie: ArrayND, dt: number, options: SimulationOptions = {}): Promise<Tensor | State[] | LayerActivity> {
    return this.runAsync('simulate', options.grad ?? false, this.simulatePlan(movie, dt, options));
  }

  private *simulatePlan(movie: ArrayND, dt: number, options: SimulationOptions): Plan<Tensor | State[] | LayerActivity> {
    const records = 3 + (options.asStates ? 1 : 0) + (options.grad ? GRAD_RECORDS : 0);
    const size = { batch: movie.shape[0] ?? 0, steps: movie.shape[1] ?? 0, nodes: this.nNodes, records };
    checkSimulation(`simulate (${size.steps} frames)`, size, options.budget);
    if (movie.shape.length !== 4) {
      throw new NetworkError(`simulate: requires shape (sample, frame, 1, hexals), got ${shapeText(movie.shape)}`);
    }
    if (movie.shape[2] !== 1 || movie.shape[3] !== this.stimulus.nInputElements) {
      throw new NetworkError(
        `simulate: movie has shape ${shapeText(movie.shape)} but this network has ${this.stimulus.nInputElements} hexals: expected (sample, frame, 1, ${this.stimulus.nInputElements})`,
      );
    }
    if (dt > 1 / 50) {
      (options.onWarning ?? ((m: string) => emitWarning(m, 'IntegrationWarning')))(
        `dt=${dt} is very large for integration. Better choose a smaller dt (<= 1/50 to avoid this warning)`,
      );
    }
    const [B, T] = movie.shape as [number, number];
    const grad = options.grad ?? false;
    const allowNonFinite = options.allowNonFinite ?? false;
    const init = options.initialState === undefined || options.initialState === 'auto'
      ? yield* this.steadyStatePlan(1.0, dt, B, { grad, allowNonFinite, ...(options.params ? { params: options.params } : {}), ...(options.budget ? { budget: options.budget } : {}) })
      : options.initialState;
    this.stimulus.zero(B, T);
    this.stimulus.addInput(movie);
    const fwd = { state: init, allowNonFinite, ...(options.params ? { params: options.params } : {}) };
    if (options.asStates) return yield* this.forwardPlan(this.stimulus.call(), dt, { ...fwd, asStates: true });
    const activity = (yield* this.forwardPlan(this.stimulus.call(), dt, fwd)) as Tensor;
    return options.asLayerActivity ? new LayerActivity(activity, this.connectome) : activity;
  }

  /**
   * flyvis `stimulus_response`: for the dataset's movies (in batches), the response after t_pre
   * seconds of grey and an optional contrast fade-in. Yields { stimulus, response, indices }.
   */
  *stimulusResponse(dataset: MovieDataset, dt: number, options: StimulusResponseOptions = {}): Generator<StimulusResponse> {
    const r = this.responseRequest(dataset, dt, options);
    const initial = options.initialState !== undefined
      ? options.initialState
      : this.run('stimulusResponse', false, this.steadyStatePlan(options.tPre ?? 1.0, dt, 1, { value: 0.5, allowNonFinite: r.allowNonFinite }));
    for (const batch of r.batches) yield this.run('stimulusResponse', r.grad, this.responsePlan(dataset, batch, dt, initial, options));
  }

  /** stimulusResponse, each batch read back asynchronously (every backend, webgpu included; same results). */
  async *stimulusResponseAsync(dataset: MovieDataset, dt: number, options: StimulusResponseOptions = {}): AsyncGenerator<StimulusResponse> {
    const r = this.responseRequest(dataset, dt, options);
    const initial = options.initialState !== undefined
      ? options.initialState
      : await this.runAsync('stimulusResponse', false, this.steadyStatePlan(options.tPre ?? 1.0, dt, 1, { value: 0.5, allowNonFinite: r.allowNonFinite }));
    for (const batch of r.batches) yield await this.runAsync('stimulusResponse', r.grad, this.responsePlan(dataset, batch, dt, initial, options));
  }

  /** The batches of indices stimulusResponse runs, after checking them. */
  private responseRequest(dataset: MovieDataset, dt: number, options: StimulusResponseOptions): { batches: number[][]; grad: boolean; allowNonFinite: boolean } {
    dataset.dt = dt;
    const indices = options.indices ?? Array.from({ length: dataset.length }, (_, i) => i);
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new NetworkError(`batch_size: expected a positive integer, got ${batchSize}`);
    const batches: number[][] = [];
    for (let i = 0; i < indices.length; i += batchSize) batches.push(indices.slice(i, i + batchSize));
    return { batches, grad: options.grad ?? false, allowNonFinite: options.allowNonFinite ?? false };
  }

  /** One batch of stimulusResponse: fade-in from `initial`, then the movies. */
  private *responsePlan(dataset: MovieDataset, batch: number[], dt: number, initial: State | null, options: StimulusResponseOptions): Plan<StimulusResponse> {
    const grad = options.grad ?? false;
    const allowNonFinite = options.allowNonFinite ?? false;
    const stim = this.batchMovies(dataset, batch);
    const [B, , , H] = stim.shape as [number, number, number, number];
    const first = new Float32Array(B * H);
    for (let b = 0; b < B; b++) first.set(stim.data.subarray(b * stim.shape[1]! * H, b * stim.shape[1]! * H + H), b * H);
    const fadeIn = yield* this.fadeInStatePlan(options.tFadeIn ?? 0, dt, { data: first, shape: [B, 1, H] }, { state: initial, grad, allowNonFinite });
    this.stimulus.zero(B, stim.shape[1]!);
    this.stimulus.addInput(stim);
    const response = (yield* this.forwardPlan(this.stimulus.call(), dt, { state: fadeIn, allowNonFinite })) as Tensor;
    return { stimulus: stim, response, indices: batch };
  }

  /**
   * flyvis `current_response`: per movie, the activity and the current through every edge
   * at every frame. Yields { stimulus (frames, hexals), activity (frames, nNodes), currents (frames, nEdges) }.
   */
  *currentResponse(dataset: MovieDataset, dt: number, options: CurrentResponseOptions = {}): Generator<CurrentResponse> {
    const { indices, allowNonFinite } = this.currentRequest(dataset, dt, options);
    const initial = this.run('currentResponse', false, this.steadyStatePlan(options.tPre ?? 1.0, dt, 1, { value: 0.5, allowNonFinite }));
    for (const index of indices) yield this.run('currentResponse', false, this.currentPlan(dataset, index, dt, initial, options));
  }

  /** currentResponse, each movie read back asynchronously (every backend, webgpu included; same results). */
  async *currentResponseAsync(dataset: MovieDataset, dt: number, options: CurrentResponseOptions = {}): AsyncGenerator<CurrentResponse> {
    const { indices, allowNonFinite } = this.currentRequest(dataset, dt, options);
    const initial = await this.runAsync('currentResponse', false, this.steadyStatePlan(options.tPre ?? 1.0, dt, 1, { value: 0.5, allowNonFinite }));
    for (const index of indices) yield await this.runAsync('currentResponse', false, this.currentPlan(dataset, index, dt, initial, options));
  }

  private currentRequest(dataset: MovieDataset, dt: number, options: CurrentResponseOptions): { indices: readonly number[]; allowNonFinite: boolean } {
    dataset.dt = dt;
    return { indices: options.indices ?? Array.from({ length: dataset.length }, (_, i) => i), allowNonFinite: options.allowNonFinite ?? false };
  }

  /** One movie of currentResponse. */
  private *currentPlan(dataset: MovieDataset, index: number, dt: number, initial: State | null, options: CurrentResponseOptions): Plan<CurrentResponse> {
    const allowNonFinite = options.allowNonFinite ?? false;
    const stim = this.batchMovies(dataset, [index]);
    const [, T, , H] = stim.shape as [number, number, number, number];
    const fadeIn = yield* this.fadeInStatePlan(options.tFadeIn ?? 0, dt, { data: stim.data.subarray(0, H), shape: [1, 1, H] }, { state: initial, allowNonFinite });
    this.stimulus.zero(1, T);
    this.stimulus.addInput(stim);
    this.clamp();
    const params = this.paramApi();
    const { states } = yield* this.integrate(params, this.stimulus.call(), dt, fadeIn, 'states', { phase: 'simulation', allowNonFinite });
    const acts = states.map((s) => s.nodes.activity!);
    const currents = states.map((s) => this.dynamics.currents(buildStateApi(s, this.graph), params));
    return {
      stimulus: new Tensor(stim.data, [T, H]),
      activity: new Tensor(stack(acts, 1).data, [T, this.nNodes]),
      currents: new Tensor(stack(currents, 1).data, [T, this.nEdges]),
      index,
    };
  }

  /** Stacks dataset items into a (batch, frames, 1, hexals) movie. */
  private batchMovies(dataset: MovieDataset, indices: readonly number[]): Tensor {
    const items = indices.map((i) => {
      if (!Number.isInteger(i) || i < 0 || i >= dataset.length) throw new NetworkError(`indices: ${i} is outside the dataset (length ${dataset.length})`);
      return dataset.get(i);
    });
    const H = this.stimulus.nInputElements;
    const T = items[0]?.shape[0] ?? 0;
    const data = new Float32Array(items.length * T * H);
    items.forEach((m, b) => {
      const ok = (m.shape.length === 2 && m.shape[1] === H) || (m.shape.length === 3 && m.shape[1] === 1 && m.shape[2] === H);
      if (!ok || m.shape[0] !== T) {
        throw new NetworkError(`dataset item ${indices[b]}: expected shape (${T}, ${H}) or (${T}, 1, ${H}), got ${shapeText(m.shape)}`);
      }
      for (let k = 0; k < T * H; k++) data[b * T * H + k] = m.data[k]!;
    });
    return new Tensor(data, [items.length, T, 1, H]);
  }
}
