// A property-check kit for authors of new dynamics. `checkDynamics(myDynamics)` runs a
// NetworkDynamics on random small connectomes (fast-check) and checks what every dynamics
// must satisfy to work in the network:
//   - shapes: initial state (nNodes / nEdges), velocities shaped like the state, currents (batch, nEdges);
//   - finiteness of the initial state, velocities, currents and a short simulation;
//   - purity: write_derived_params, write_initial_state, write_state_velocity and currents never
//     write into params, state or input;
//   - gradients: d(loss)/d(trainable params) through a short simulation agree with central finite
//     differences, in float64;
//   - a fused writeNextState, if the dynamics has one, equals state + dt * velocity (float64), and
//     a short float32 simulation with it agrees with the explicit solver's;
//   - a fused model (`dynamics.fused`, which backends run as one primitive), if the dynamics names
//     one: simulations and gradients through it agree with the explicit per-step solver's, in
//     float64 (the js backend's reference implementation) and float32 (the network's backend).
import fc from 'fast-check';
import { type Tensor, add, indexSelect, mul, sum, tensor, valueAndGrad } from '../autograd/index.ts';
import { activationOp } from '../dynamics/activation-op.ts';
import type { NetworkDynamics, StateApi } from '../dynamics/types.ts';
import { compileConnectome, decodeConnectomeSpec, type ConnectomeSpec } from '../graph/index.ts';
import { Network, type ParamTensors } from '../network/network.ts';
import { composedEulerStep } from '../network/ops.ts';
import { buildStateApi } from '../network/param-api.ts';

export interface CheckDynamicsOptions {
  /** Random connectomes to try (default 15). */
  readonly numRuns?: number;
  readonly seed?: number;
  /** Parameter configs in flyvis's schema (default: flyvis's defaults). */
  readonly node_config?: Readonly<Record<string, unknown>>;
  readonly edge_config?: Readonly<Record<string, unknown>>;
  /** Largest lattice extent of the random connectomes (default 2). */
  readonly maxExtent?: number;
  /** Parameter coordinates checked by finite differences per run (default 6). */
  readonly fdCoordinates?: number;
  /** Allowed |grad - fd| / max(1e-3, |fd|) (default 1e-4). */
  readonly gradTolerance?: number;
}

/**
 * Random connectome descriptions in flyvis's JSON schema: 1-2 input types (R1, R2; one cell per
 * column), 1-3 hidden types (some on a coarser stride), random edge types with 1-5 offsets in
 * [-2, 2]^2, signs +-1 and synapse counts 1-40.
 */
export function arbitraryConnectomeSpec(): fc.Arbitrary<ConnectomeSpec> {
  return fc
    .record({
      nIn: fc.integer({ min: 1, max: 2 }),
      hidden: fc.array(fc.constantFrom<[number, number]>([1, 1], [1, 1], [2, 1], [2, 2]), { minLength: 1, maxLength: 3 }),
    })
    .chain(({ nIn, hidden }) => {
      const names = [...Array.from({ length: nIn }, (_, i) => `R${i + 1}`), ...hidden.map((_, i) => `H${i}`)];
      const pairs = names.flatMap((s) => names.map((t) => [s, t] as const));
      const offset = fc.tuple(fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2, max: 2 }));
      const edge = fc.record({
        pair: fc.constantFrom(...pairs),
        offsets: fc.uniqueArray(offset, { minLength: 1, maxLength: 5, selector: ([u, v]) => `${u},${v}` }),
        counts: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 5, maxLength: 5 }),
        alpha: fc.constantFrom(-1, 1),
      });
      return fc.uniqueArray(edge, { minLength: 1, maxLength: 8, selector: (e) => e.pair.join('>') }).map((edges) => {
        const json = {
          description: 'random synthetic connectome (property test)',
          nodes: names.map((name, i) => ({
            name,
            pattern: ['stride', i < nIn ? [1, 1] : hidden[i - nIn]!],
          })),
          edges: edges.map((e) => ({
            src: e.pair[0],
            tar: e.pair[1],
            alpha: e.alpha,
            offsets: e.offsets.map(([du, dv], k) => [[du, dv], e.counts[k]!]),
            lambda_mult: 1,
          })),
          input_units: names.slice(0, nIn),
          output_units: names.slice(nIn).slice(-1),
        };
        const decoded = decodeConnectomeSpec(json);
        if (decoded._tag === 'Left') throw new Error(`arbitraryConnectomeSpec made an invalid spec: ${decoded.left.join('; ')}`);
        return decoded.right;
      });
    });
}

const snapshot = (tensors: readonly Tensor[]): Float64Array[] => tensors.map((t) => Float64Array.from(t.data));
const unchanged = (tensors: readonly Tensor[], before: readonly Float64Array[]): boolean =>
  tensors.every((t, i) => t.data.every((x, k) => Object.is(x, before[i]![k])));
const allFinite = (t: Tensor): boolean => t.data.every(Number.isFinite);
const fail = (dyn: NetworkDynamics, msg: string): never => {
  throw new Error(`${dyn.type}: ${msg}`);
};

/** The fast-check property behind checkDynamics (to combine with your own fc.assert settings). */
export function dynamicsProperty(dynamics: NetworkDynamics, options: CheckDynamicsOptions = {}) {
  const fdCoordinates = options.fdCoordinates ?? 6;
  const tol = options.gradTolerance ?? 1e-4;
  const scenario = fc.record({
    spec: arbitraryConnectomeSpec(),
    extent: fc.integer({ min: 0, max: options.maxExtent ?? 2 }),
    batch: fc.integer({ min: 1, max: 2 }),
    frames: fc.integer({ min: 1, max: 4 }),
    seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  });
  return fc.property(scenario, ({ spec, extent, batch, frames, seed }) => {
    let rng = seed;
    const rand = (): number => {
      rng = (Math.imul(rng, 48271) % 2147483647 + 2147483647) % 2147483647;
      return rng / 2147483647;
    };
    const connectome = compileConnectome(spec, extent, 1);
    const netConfig = {
      ...(options.node_config ? { node_config: options.node_config } : {}),
      ...(options.edge_config ? { edge_config: options.edge_config } : {}),
    };
    const net = Network.fromConnectome(connectome, netConfig, { dynamics });
    const N = net.nNodes;
    const E = net.nEdges;
    const dt = 0.02;
    // float64 parameters, trainable ones moved off their initial values to a generic point.
    const params: Record<string, Tensor> = {};
    for (const p of net.parameters.parameters) {
      params[p.stateDictName] = tensor(
        Array.from(p.raw, (x) => (p.trainable ? x * (0.8 + 0.4 * rand()) + 0.01 * rand() : x)),
        [p.raw.length],
        'float64',
      );
    }
    const x = tensor(Array.from({ length: batch * frames * N }, () => rand()), [batch, frames, N], 'float64');

    // Shapes, finiteness and purity of each function, on the first step.
    const paramTensors = Object.values(params);
    const before = snapshot(paramTensors);
    const api = net.paramApi(params);
    const init = dynamics.writeInitialState(api);
    for (const [k, t] of Object.entries(init.nodes)) {
      if (t.shape.length !== 1 || t.shape[0] !== N) fail(dynamics, `initial node state '${k}' has shape [${t.shape}], expected [${N}]`);
      if (!allFinite(t)) fail(dynamics, `initial node state '${k}' is not finite`);
    }
    for (const [k, t] of Object.entries(init.edges)) {
      if (t.shape.length !== 1 || t.shape[0] !== E) fail(dynamics, `initial edge state '${k}' has shape [${t.shape}], expected [${E}]`);
    }
    const state = net.initialState(api, batch);
    const source = net.connectome.edges.columns.source_index as Int32Array;
    const target = net.connectome.edges.columns.target_index as Int32Array;
    const stateApi: StateApi = buildStateApi(state, { nNodes: N, source, target });
    const f = activationOp(dynamics.activation);
    const xt = tensor(x.data.subarray(0, batch * N), [batch, N], 'float64');
    const stateTensors = [...Object.values(state.nodes), ...Object.values(state.edges), xt];
    const stateBefore = snapshot(stateTensors);
    // Weights may come per edge or per edge group (params.edgeGroups).
    const perEdge = (w: Tensor): Tensor => (w.size === E || !api.edgeGroups ? w : indexSelect(w, api.edgeGroups.index));
    const synapticInput = (w: Tensor, v: Tensor): Tensor => net.targetSum(mul(perEdge(w), f(indexSelect(v, source))));
    const ctx = {
      targetSum: net.targetSum,
      synapticInput,
      eulerStep: composedEulerStep(synapticInput),
      activation: f,
      x_t: xt,
      dt,
    };
    const vel = dynamics.writeStateVelocity(stateApi, api, ctx);
    for (const route of ['nodes', 'edges'] as const) {
      const want = Object.keys(state[route]).sort();
      const got = Object.keys(vel[route]).sort();
      if (want.join() !== got.join()) fail(dynamics, `velocity ${route} keys [${got}] differ from state keys [${want}]`);
      for (const k of want) {
        const v = vel[route][k]!;
        const s = state[route][k]!;
        if (v.shape.join() !== s.shape.join()) fail(dynamics, `velocity of ${route} state '${k}' has shape [${v.shape}], expected [${s.shape}]`);
        if (!allFinite(v)) fail(dynamics, `velocity of ${route} state '${k}' is not finite`);
      }
    }
    if (dynamics.writeNextState) {
      // The fused step equals the explicit Euler step of the velocity...
      const next = dynamics.writeNextState(stateApi, api, ctx);
      for (const route of ['nodes', 'edges'] as const) {
        for (const [k, s0] of Object.entries(state[route])) {
          const got = next[route][k];
          if (got === undefined) fail(dynamics, `writeNextState gave no ${route} state '${k}'`);
          const want = add(s0, mul(vel[route][k]!, dt));
          const bad = want.data.findIndex((w, i) => !(Math.abs(w - got!.data[i]!) <= 1e-9 * (1 + Math.abs(w))));
          if (bad >= 0) fail(dynamics, `writeNextState's ${route} state '${k}'[${bad}] is ${got!.data[bad]}, state + dt * velocity gives ${want.data[bad]}`);
        }
      }
      // ...and, in float32 on the network's kernels, a short simulation agrees with the explicit solver.
      const explicit = Network.fromConnectome(connectome, netConfig, { dynamics, explicitEuler: true });
      const x32 = tensor(Float32Array.from(x.data), x.shape);
      const a = net.forward(x32, dt).data;
      const b = explicit.forward(x32, dt).data;
      let scale = 1;
      for (const y of b) scale = Math.max(scale, 1 + Math.abs(y));
      const bad = Array.from(a).findIndex((y, i) => !(Math.abs(y - b[i]!) <= 1e-5 * scale));
      if (bad >= 0) fail(dynamics, `fused and explicit Euler simulations differ at ${bad}: ${a[bad]} vs ${b[bad]}`);
      explicit.dispose();
    }
    const cur = dynamics.currents(stateApi, api);
    if (cur.shape.join() !== [batch, E].join()) fail(dynamics, `currents have shape [${cur.shape}], expected [${batch}, ${E}]`);
    if (!allFinite(cur)) fail(dynamics, 'currents are not finite');
    if (!unchanged(stateTensors, stateBefore)) fail(dynamics, 'a function wrote into the state or the input x_t');
    if (!unchanged(paramTensors, before)) fail(dynamics, 'a function wrote into the parameters');

    // A short simulation is finite; gradients of a random linear readout agree with finite differences.
    const readout = tensor(Array.from({ length: batch * frames * N }, () => rand() - 0.5), [batch, frames, N], 'float64');
    const trainable = Object.fromEntries(net.parameters.parameters.filter((p) => p.trainable).map((p) => [p.stateDictName, params[p.stateDictName]!]));
    const loss = (p: ParamTensors): Tensor => sum(mul(net.forward(x, dt, { params: { ...params, ...p } }), readout));
    const { value, grads } = valueAndGrad(loss)(trainable);
    if (!allFinite(value)) fail(dynamics, 'a short simulation is not finite');
    if (dynamics.fused !== undefined && dynamics.fused.velocity === dynamics.writeStateVelocity) {
      // The fused model (one primitive per simulation) against the explicit per-step solver:
      // float64 values and gradients, and float32 values and gradients on the network's backend.
      const explicit = Network.fromConnectome(connectome, netConfig, { dynamics, explicitEuler: true });
      let activity: ArrayLike<number> = [];
      const lossOf = (n: Network, xs: Tensor, r: Tensor, base: ParamTensors) => (p: ParamTensors): Tensor => {
        const a = n.forward(xs, dt, { params: { ...base, ...p } });
        activity = a.data;
        return sum(mul(a, r));
      };
      const compare = (what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void => {
        let scale = 1e-30;
        for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
        for (let i = 0; i < want.length; i++) {
          if (!(Math.abs(got[i]! - want[i]!) <= tol * scale)) fail(dynamics, `${what}[${i}]: the fused model gives ${got[i]}, the explicit solver ${want[i]}`);
        }
      };
      const e64 = valueAndGrad(lossOf(explicit, x, readout, params))(trainable);
      compare('float64 simulation (readout)', value.data, e64.value.data, 1e-9);
      for (const k of Object.keys(grads)) compare(`float64 gradient of ${k}`, grads[k]!.data, e64.grads[k]!.data, 1e-9);
      const to32 = (t: Tensor): Tensor => tensor(Float32Array.from(t.data), t.shape);
      const p32 = Object.fromEntries(Object.entries(params).map(([k, t]) => [k, to32(t)]));
      const t32 = Object.fromEntries(Object.keys(trainable).map((k) => [k, p32[k]!]));
      const f32 = valueAndGrad(lossOf(net, to32(x), to32(readout), p32))(t32);
      const fusedActivity = activity;
      const e32 = valueAndGrad(lossOf(explicit, to32(x), to32(readout), p32))(t32);
      compare('float32 activity', fusedActivity, activity, 1e-5);
      for (const k of Object.keys(e32.grads)) compare(`float32 gradient of ${k}`, f32.grads[k]!.data, e32.grads[k]!.data, 1e-4);
      explicit.dispose();
    }
    const names = Object.keys(trainable).filter((k) => trainable[k]!.size > 0);
    for (let c = 0; c < fdCoordinates && names.length > 0; c++) {
      const name = names[Math.floor(rand() * names.length)]!;
      const t = trainable[name]!;
      const i = Math.floor(rand() * t.size);
      const h = 1e-6 * Math.max(1, Math.abs(t.data[i]!));
      const at = (delta: number): number => {
        const data = Float64Array.from(t.data);
        data[i]! += delta;
        return loss({ ...trainable, [name]: tensor(data, t.shape, 'float64') }).data[0]!;
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      const g = grads[name]!.data[i]!;
      if (!(Math.abs(g - fd) <= tol * Math.max(1e-3, Math.abs(fd)))) {
        fail(dynamics, `gradient of ${name}[${i}] is ${g}, finite differences give ${fd}`);
      }
    }
    net.dispose();
  });
}

/** Runs the checks on `numRuns` random connectomes; throws with a counterexample on failure. */
export function checkDynamics(dynamics: NetworkDynamics, options: CheckDynamicsOptions = {}): void {
  try {
    fc.assert(dynamicsProperty(dynamics, options), {
      numRuns: options.numRuns ?? 15,
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    });
  } catch (e) {
    // Lead with what went wrong; fast-check's report (seed, shrunk counterexample) follows.
    const cause = (e as Error).cause;
    if (cause instanceof Error) throw new Error(`${cause.message}\n\n${(e as Error).message}`, { cause });
    throw e;
  }
}
