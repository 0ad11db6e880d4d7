// The 'js' backend, the reference: plain host typed arrays, a src/kernels synapse kernel
// (scatter, csr, runs or gpujs; by default runs where the edges form runs, else csr), and the
// fused 'ppneuron' model as one host loop over the steps (src/dynamics/ppneuron-step.ts plus the
// kernel), with its adjoint loop backwards through time. float32 and float64 (plain loops in the
// reference edge order) both run here.
import { KERNEL_NAMES, createSynapseKernel, type KernelName } from '../kernels/index.ts';
import { buildRuns } from '../kernels/structure.ts';
import type { SynapseKernel } from '../kernels/synapse.ts';
import { PPNEURON_MODEL, ppneuronStep, ppneuronStepVjp } from '../dynamics/ppneuron-step.ts';
import { fusedLookup, registerBackend, registerFusedModel } from './registry.ts';
import { type HostSynapses, checkWeightLength, float32Synapses, float64Synapses, frameOf, isPerGroup, setFrame } from './host-synapses.ts';
import {
  type Backend, type BackendGraph, BackendError, type BackendInstance, type BackendOptions, type FusedSimulator, type HostArray,
  type HostDType, type ScanRequest, hostArray,
} from './types.ts';

/** The kernels the js backend runs (the wasm ones too, per call, where no 'wasm' backend takes their names). */
export const JS_KERNELS = KERNEL_NAMES;

/** The synapse kernel the js backend runs by default: runs where the edges form runs, else csr. */
export function defaultJsKernel(graph: { nNodes: number; source: Int32Array; target: Int32Array }): KernelName {
  const runs = buildRuns(graph);
  return runs.count > 0 && graph.source.length / runs.count >= 4 ? 'runs' : 'csr';
}

/** Host backends' instance: lazily built kernels (grouped and per-edge) and the fused lookup. */
export interface HostInstance extends BackendInstance {
  readonly graph: BackendGraph;
  /** The kernel built on the graph's groups (undefined without groups). */
  groupedKernel(): SynapseKernel | undefined;
  perEdgeKernel(): SynapseKernel;
}

export function hostInstance(backend: string, graph: BackendGraph, kernel: KernelName, threads: number | undefined): HostInstance {
  let grouped: SynapseKernel | undefined;
  let perEdge: SynapseKernel | undefined;
  const opts = { kernel, ...(threads !== undefined ? { threads } : {}) };
  const edges = { nNodes: graph.nNodes, source: graph.source, target: graph.target };
  const kernels: SynapseKernel[] = [];
  const make = (groups: boolean): SynapseKernel => {
    const k = createSynapseKernel(edges, graph.activation, { ...opts, ...(groups && graph.groups ? { weightGroups: graph.groups.index } : {}) });
    kernels.push(k);
    return k;
  };
  let fused: ((model: string) => FusedSimulator | undefined) | undefined;
  const instance: HostInstance = {
    backend,
    kernelName: kernel,
    graph,
    // A kernel that takes weight groups (runs, wasm) reads one weight per group and offers
    // per-group gradients; others (scatter, csr, gpujs) ignore groups: then per-edge only.
    groupedKernel: () => {
      if (!graph.groups) return undefined;
      grouped ??= make(true);
      return grouped.nGroups === graph.groups.representative.length ? grouped : undefined;
    },
    perEdgeKernel: () => (perEdge ??= graph.groups && grouped?.nGroups !== undefined ? make(false) : (grouped ?? make(false))),
    synapseKernel: (o = { grouped: true }) => (o.grouped ? (instance.groupedKernel() ?? instance.perEdgeKernel()) : instance.perEdgeKernel()),
    fused: (model) => (fused ??= fusedLookup(instance, graph))(model),
    dispose() {
      for (const k of kernels) k.dispose?.();
      kernels.length = 0;
      grouped = perEdge = undefined;
    },
  };
  // Build the grouped kernel now: kernel errors (unavailable, bad options) surface at creation.
  instance.synapseKernel();
  return instance;
}

export const jsBackend: Backend = {
  name: 'js',
  kernels: JS_KERNELS,
  available: () => ({ ok: true }),
  create(graph: BackendGraph, options: BackendOptions = {}): BackendInstance {
    const k = options.kernel ?? defaultJsKernel(graph);
    if (!(JS_KERNELS as readonly string[]).includes(k)) {
      throw new BackendError(`the js backend runs the kernels ${JS_KERNELS.join(', ')}, not '${k}'`);
    }
    return hostInstance('js', graph, k as KernelName, options.threads);
  },
};

const alloc = (dtype: HostDType, n: number): HostArray => (dtype === 'float64' ? new Float64Array(n) : new Float32Array(n));

/** What the host 'ppneuron' scan keeps for its VJP. */
interface HostSaved {
  /** Every state after each step, (B, T, N). */
  readonly traj: HostArray;
  /** The synaptic input of each step, (T, B, N) (step-major: one contiguous block per step). */
  readonly syn: HostArray;
  readonly v0: HostArray;
  readonly x: HostArray;
}

/** The inputs of the 'ppneuron' model, checked. */
export function ppneuronInputs(graph: BackendGraph, request: { inputs: Readonly<Record<string, HostArray>> }): { bias: HostArray; rate: HostArray; weight: HostArray } {
  const { bias, rate, weight } = request.inputs;
  if (!bias || !rate || !weight) throw new BackendError(`ppneuron: expected inputs bias, rate and weight, got ${Object.keys(request.inputs).join(', ')}`);
  const N = graph.nNodes;
  if (bias.length !== N || rate.length !== N) throw new BackendError(`ppneuron: bias and rate need ${N} values (one per node), got ${bias.length} and ${rate.length}`);
  checkWeightLength(graph, weight);
  return { bias, rate, weight };
}

export function checkScan(graph: BackendGraph, r: ScanRequest): void {
  const { batch: B, steps: T } = r;
  const N = graph.nNodes;
  if (!Number.isInteger(B) || B < 1 || !Number.isInteger(T) || T < 0) throw new BackendError(`scan: batch ${B} and steps ${T} must be integers (batch >= 1)`);
  if (r.v0.length !== B * N) throw new BackendError(`scan: initial state has ${r.v0.length} values, expected ${B * N}`);
  if (r.x.length !== B * T * N) throw new BackendError(`scan: input has ${r.x.length} values, expected ${B * T * N}`);
}

/** The host implementation of the fused 'ppneuron' model over a host instance's kernels. */
export function hostPpneuron(instance: HostInstance): FusedSimulator {
  const graph = instance.graph;
  const N = graph.nNodes;
  const kernels = { grouped: instance.groupedKernel, perEdge: instance.perEdgeKernel };
  // One binding per weight array (weights are fixed during a pass; forward and backward share it).
  const bindings = new WeakMap<HostArray, HostSynapses>();
  const synapsesFor = (w: HostArray): HostSynapses => {
    let s = bindings.get(w);
    if (s === undefined) bindings.set(w, (s = w instanceof Float64Array ? float64Synapses(graph, w) : float32Synapses(graph, kernels, w)));
    return s;
  };
  return {
    model: PPNEURON_MODEL,
    supports: ({ dtype, inputs }) => Object.values(inputs).every((a) => (dtype === 'float64') === a instanceof Float64Array),
    forward(r) {
      checkScan(graph, r);
      const { bias, rate, weight } = ppneuronInputs(graph, r);
      const { batch: B, steps: T, dtype } = r;
      const syn = synapsesFor(weight);
      const out = alloc(dtype, r.record === 'all' ? B * T * N : B * N);
      const traj = r.record === 'all' ? out : r.save ? alloc(dtype, B * T * N) : null;
      const S = r.save ? alloc(dtype, T * B * N) : null;
      const xs = r.save ? r.x.slice() : r.x; // the caller may reuse its input buffer before backward
      const frame = alloc(dtype, B * N);
      const sTmp = S ? null : alloc(dtype, B * N);
      const bufs = [alloc(dtype, B * N), alloc(dtype, B * N)];
      let v: HostArray = r.v0;
      for (let t = 0; t < T; t++) {
        const xt = frameOf(xs, B, T, N, t, frame);
        const s = S ? S.subarray(t * B * N, (t + 1) * B * N) : sTmp!;
        syn.forward(v, B, s);
        const next = traj && B === 1 ? traj.subarray(t * N, (t + 1) * N) : bufs[t & 1]!;
        ppneuronStep(v, s, xt, bias, rate, B, N, next);
        if (traj && B !== 1) setFrame(traj, B, T, N, t, next);
        v = next;
      }
      if (r.record === 'last') out.set(v);
      const saved: HostSaved | undefined = r.save ? { traj: traj!, syn: S!, v0: r.v0.slice(), x: xs } : undefined;
      return { output: hostArray(out, r.record === 'all' ? [B, T, N] : [B, N]), ...(saved ? { saved } : {}) };
    },
    backward(r, fwd, gOut, needs) {
      const saved = fwd.saved as HostSaved | undefined;
      if (saved === undefined) throw new BackendError('scan backward: the forward pass kept nothing (it ran while no tape was recording)');
      const { bias, rate, weight } = ppneuronInputs(graph, r);
      const { batch: B, steps: T, dtype } = r;
      const syn = synapsesFor(weight);
      const wantW = needs.inputs.weight ?? false;
      const gw = wantW ? alloc(dtype, weight.length) : null;
      const gBias = needs.inputs.bias ? new Float64Array(N) : null;
      const gRate = needs.inputs.rate ? new Float64Array(N) : null;
      const gX = needs.x ? alloc(dtype, B * T * N) : null;
      const g = alloc(dtype, B * N);
      const gs = alloc(dtype, B * N);
      const gxFrame = gX && B !== 1 ? alloc(dtype, B * N) : null;
      const vFrame = alloc(dtype, B * N);
      const xFrame = alloc(dtype, B * N);
      const gOutFrame = alloc(dtype, B * N);
      let gNext = alloc(dtype, B * N); // d loss / d state after step t (through later steps)
      let gv = alloc(dtype, B * N);
      for (let t = T - 1; t >= 0; t--) {
        // g = gradient at the state after step t: from the output, plus from step t + 1
        if (r.record === 'all') {
          const go = frameOf(gOut, B, T, N, t, gOutFrame);
          for (let i = 0; i < B * N; i++) g[i] = go[i]! + gNext[i]!;
        } else if (t === T - 1) g.set(gOut);
        else g.set(gNext);
        const vt = t === 0 ? saved.v0 : frameOf(saved.traj, B, T, N, t - 1, vFrame);
        const st = saved.syn.subarray(t * B * N, (t + 1) * B * N);
        const xt = frameOf(saved.x, B, T, N, t, xFrame);
        const gxt = gX ? (B === 1 ? gX.subarray(t * N, (t + 1) * N) : gxFrame!) : null;
        const needGv = t > 0 || needs.v0;
        ppneuronStepVjp(g, vt, st, xt, bias, rate, B, N, needGv ? gv : null, gs, gBias, gRate, gxt);
        if (gX && B !== 1) setFrame(gX, B, T, N, t, gxt!);
        if (needGv || gw) syn.backward(vt, gs, B, needGv ? gv : null, gw);
        [gNext, gv] = [gv, gNext];
      }
      // T = 0: the output is v0 itself ('last') or empty ('all')
      const v0Grad = !needs.v0 ? null : T > 0 ? gNext : r.record === 'last' ? gOut.slice() : alloc(dtype, B * N);
      const cast = (a: Float64Array | null): HostArray | null => (a === null ? null : dtype === 'float64' ? a : Float32Array.from(a));
      return {
        v0: v0Grad,
        x: gX,
        inputs: { bias: cast(gBias), rate: cast(gRate), weight: gw },
      };
    },
  };
}

registerBackend(jsBackend, 100);
registerFusedModel('js', PPNEURON_MODEL, (instance) => hostPpneuron(instance as HostInstance));

export { isPerGroup };
