// Autograd ops the network defines on top of the engine: the fused synaptic input (backed by
// a src/kernels synapse kernel) and the clamp projection of parameters.
import { Tensor, add, defineOp, indexSelect, isRecording, mul, scatterSum, sub } from '../autograd/index.ts';
import { ppneuronStep, ppneuronStepVjp } from '../dynamics/ppneuron-step.ts';
import { type BoundSynapses, KernelError, type SynapseKernel } from '../kernels/synapse.ts';
import { clampInPlace, tieToMeanInPlace, type Parameter, type Refinement } from '../init/index.ts';

interface SynapseAttrs {
  readonly bound: BoundSynapses;
  readonly nNodes: number;
  /** The weight input is per weight group (backwardGroups), not per edge. */
  readonly grouped: boolean;
}

/**
 * syn = targetSum(w * f(v[source])) in one op, inputs [v, w]: w per edge, or per weight group
 * (then the VJP reduces the weight gradient per group inside the kernel, touching no per-edge
 * memory). Forward and VJP both run the kernel; the tape keeps only v (per node) and a
 * reference to w (one per forward pass), never per-edge intermediates.
 */
const synapseOp = defineOp<SynapseAttrs>({
  name: 'synapticInput',
  forward([v], { bound, nNodes }) {
    const out = new Float32Array(v!.size);
    bound.forward(v!.data as Float32Array, v!.size / nNodes, out);
    return { out: new Tensor(out, v!.shape) };
  },
  vjp(g, { inputs: [v, w], attrs: { bound, nNodes, grouped }, needsGrad }) {
    const gv = needsGrad[0] ? new Float32Array(v!.size) : null;
    const gw = needsGrad[1] ? new Float32Array(w!.size) : null;
    const vd = v!.data as Float32Array;
    if (grouped) bound.backwardGroups!(vd, g.data as Float32Array, v!.size / nNodes, gv, gw);
    else bound.backward(vd, g.data as Float32Array, v!.size / nNodes, gv, gw);
    return [gv && new Tensor(gv, v!.shape), gw && new Tensor(gw, w!.shape)];
  },
});

export interface SynapseContext {
  readonly nNodes: number;
  readonly source: Int32Array;
  readonly target: Int32Array;
  /** The network's kernel; with `nGroups`, built on `groups.index`. */
  readonly kernel: SynapseKernel;
  /** Edge groups on which every edge parameter is constant (the kernel's weight groups). */
  readonly groups?: Refinement;
  /** A kernel without weight groups, for weights that vary within a group (custom dynamics). */
  readonly ungrouped: () => SynapseKernel;
  readonly activation: (x: Tensor) => Tensor;
}

interface Binding {
  readonly bound: BoundSynapses;
  /** The tensor the op takes as its weight input (per edge, or per group when grouped). */
  readonly input: Tensor;
  readonly grouped: boolean;
}

/** Whether a weight tensor is per edge group (params.edgeGroups) rather than per edge. */
function isPerGroup(ctx: SynapseContext, weight: Tensor): boolean {
  return ctx.groups !== undefined && weight.size !== ctx.source.length && weight.size === ctx.groups.representative.length;
}

/** Per-edge weights (a differentiable gather) for a weight tensor that may be per group. */
function perEdge(ctx: SynapseContext, weight: Tensor): Tensor {
  return isPerGroup(ctx, weight) ? indexSelect(weight, ctx.groups!.index) : weight;
}

/**
 * Binds weight tensors to the kernel once each. Per-group weights go straight to a grouped
 * kernel; per-edge weights too when they are constant on the groups (else a per-edge kernel).
 */
function binder(ctx: SynapseContext): (weight: Tensor) => Binding {
  const bindings = new WeakMap<Tensor, Binding>();
  const groupedKernel = ctx.groups !== undefined && ctx.kernel.nGroups === ctx.groups.representative.length;
  const bindWeights = (weight: Tensor): Binding => {
    if (isPerGroup(ctx, weight)) {
      if (groupedKernel) {
        // A grouped kernel reads each group's weight at its first edge (the representative).
        const sparse = new Float32Array(ctx.source.length);
        const rep = ctx.groups!.representative;
        for (let k = 0; k < rep.length; k++) sparse[rep[k]!] = weight.data[k]!;
        return { bound: ctx.kernel.bind(sparse, { checkGroups: false }), input: weight, grouped: true };
      }
      const w = perEdge(ctx, weight);
      return { bound: ctx.kernel.bind(w.data as Float32Array), input: w, grouped: false };
    }
    const w = weight.data as Float32Array;
    if (groupedKernel) {
      try {
        return { bound: ctx.kernel.bind(w), input: indexSelect(weight, ctx.groups!.representative), grouped: true };
      } catch (e) {
        if (!(e instanceof KernelError)) throw e; // weights vary within a group: per-edge kernel
      }
    }
    return { bound: (ctx.kernel.nGroups === undefined ? ctx.kernel : ctx.ungrouped()).bind(w), input: weight, grouped: false };
  };
  return (weight) => {
    let b = bindings.get(weight);
    if (b === undefined) bindings.set(weight, (b = bindWeights(weight)));
    return b;
  };
}

function checkWeight(ctx: SynapseContext, weight: Tensor, activity: Tensor, what: string): void {
  if (weight.shape.length !== 1 || (weight.size !== ctx.source.length && !isPerGroup(ctx, weight))) {
    const groups = ctx.groups ? ` or [${ctx.groups.representative.length}] (one per edge group)` : '';
    throw new Error(`${what}: weight must have shape [${ctx.source.length}] (one per edge)${groups}, got [${weight.shape.join(', ')}]`);
  }
  if (activity.shape[activity.shape.length - 1] !== ctx.nNodes) {
    throw new Error(`${what}: activity must end in ${ctx.nNodes} nodes, got shape [${activity.shape.join(', ')}]`);
  }
}

/**
 * One fused Euler step of passive point neurons (src/dynamics/ppneuron-step.ts):
 * v + r * (bias - v + syn(v) + x), with r = dt / max(tau, dt) per node, on the generic path
 * (a step at a time: state hooks, or backends without the fused 'ppneuron' model). Inputs
 * [v, bias, r, x, w (per edge) or wg (per group)]; saves the synaptic input (per node) for the VJP.
 */
interface EulerAttrs extends SynapseAttrs {
  /** Whether the VJP may run (a tape is recording): only then is the synaptic input saved. */
  readonly save: boolean;
}

const eulerOp = defineOp<EulerAttrs, Float32Array | undefined>({
  name: 'eulerSynapticStep',
  forward([v, bias, r, x], { bound, nNodes, save }) {
    const B = v!.size / nNodes;
    const vd = v!.data as Float32Array;
    const xd = x!.data as Float32Array;
    const bd = bias!.data as Float32Array;
    const rd = r!.data as Float32Array;
    const n = v!.size;
    // The output and the saved synaptic input (kept only while a tape records) share one allocation.
    const buf = new Float32Array(2 * n);
    const out = buf.subarray(0, n);
    const s = buf.subarray(n);
    bound.forward(vd, B, s);
    ppneuronStep(vd, s, xd, bd, rd, B, nNodes, out);
    return { out: new Tensor(out, v!.shape), saved: save ? s : undefined };
  },
  vjp(g, { inputs: [v, bias, r, x, w], attrs: { bound, nNodes, grouped }, saved, needsGrad }) {
    if (saved === undefined) throw new Error('eulerSynapticStep: the synaptic input was not saved for the backward pass');
    const s = saved;
    const B = v!.size / nNodes;
    const n = v!.size;
    // The per-node and per-sample gradients share one allocation.
    const sizes = [needsGrad[0] ? n : 0, needsGrad[1] ? nNodes : 0, needsGrad[2] ? nNodes : 0, needsGrad[3] ? n : 0];
    const buf = new Float32Array(sizes[0]! + sizes[1]! + sizes[2]! + sizes[3]!);
    let at = 0;
    const part = (i: number): Float32Array | null => (needsGrad[i] ? buf.subarray(at, (at += sizes[i]!)) : null);
    const gv = part(0);
    const gBias = part(1);
    const gR = part(2);
    const gX = part(3);
    const gw = needsGrad[4] ? new Float32Array(w!.size) : null;
    const vd = v!.data as Float32Array;
    const gd = g.data as Float32Array;
    const xd = x!.data as Float32Array;
    const bd = bias!.data as Float32Array;
    const rd = r!.data as Float32Array;
    const gs = new Float32Array(v!.size);
    ppneuronStepVjp(gd, vd, s, xd, bd, rd, B, nNodes, gv, gs, gBias, gR, gX); // gBias, gR: += into zeros
    if (gv || gw) {
      if (grouped) bound.backwardGroups!(vd, gs, B, gv, gw);
      else bound.backward(vd, gs, B, gv, gw);
    }
    const t = (d: Float32Array | null, like: Tensor): Tensor | null => d && new Tensor(d, like.shape);
    return [t(gv, v!), t(gBias, bias!), t(gR, r!), t(gX, x!), t(gw, w!)];
  },
});

export type SynapticInput = (weight: Tensor, activity: Tensor) => Tensor;
export type EulerStep = (v: Tensor, bias: Tensor, rate: Tensor, weight: Tensor, x: Tensor) => Tensor;

/** The Euler step v + rate * (bias - v + synapticInput(weight, v) + x) through composed ops. */
export const composedEulerStep =
  (synapticInput: SynapticInput): EulerStep =>
  (v, bias, rate, weight, x) =>
    add(v, mul(rate, add(add(sub(bias, v), synapticInput(weight, v)), x)));

/**
 * The synapse ops of one forward pass, sharing one binding per weight tensor:
 * - synapticInput: targetSum(weight * f(activity[source])) run by the network's kernel;
 * - eulerStep: v + r * (bias - v + synapticInput(weight, v) + x) for PPNeuron-like dynamics
 *   (r = dt / max(tau, dt), per node) as one op on the kernel.
 * float64 inputs (gradient checks) and unusual shapes run the same math through composed ops.
 */
export function synapseOps(ctx: SynapseContext): { synapticInput: SynapticInput; eulerStep: EulerStep } {
  const bind = binder(ctx);
  const synapticInput: SynapticInput = (weight, activity) => {
    checkWeight(ctx, weight, activity, 'synapticInput');
    if (weight.dtype === 'float64' || activity.dtype === 'float64') {
      return scatterSum(mul(perEdge(ctx, weight), ctx.activation(indexSelect(activity, ctx.source))), ctx.target, ctx.nNodes);
    }
    const b = bind(weight);
    return synapseOp([activity, b.input], { bound: b.bound, nNodes: ctx.nNodes, grouped: b.grouped });
  };
  const composed = composedEulerStep(synapticInput);
  const eulerStep: EulerStep = (v, bias, rate, weight, x) => {
    checkWeight(ctx, weight, v, 'eulerStep');
    const N = ctx.nNodes;
    const f32 = v.dtype === 'float32' && bias.dtype === 'float32' && rate.dtype === 'float32' && weight.dtype === 'float32' && x.dtype === 'float32';
    const fused =
      f32 && v.shape.length === 2 && v.shape[1] === N && x.shape.length === 2 && x.shape[0] === v.shape[0] && x.shape[1] === N &&
      bias.shape.length === 1 && bias.shape[0] === N && rate.shape.length === 1 && rate.shape[0] === N;
    if (!fused) return composed(v, bias, rate, weight, x);
    const b = bind(weight);
    return eulerOp([v, bias, rate, x, b.input], { bound: b.bound, nNodes: N, grouped: b.grouped, save: isRecording() });
  };
  return { synapticInput, eulerStep };
}

/**
 * Clamp and symmetry projection of a raw parameter tensor, as flyvis's in-place
 * `Network.clamp` before a forward pass: the values are projected, the gradient passes
 * straight through (it is the gradient at the projected point).
 */
const projectOp = defineOp<Parameter>({
  name: 'clampProjection',
  forward([raw], p) {
    if (raw!.size !== p.raw.length) {
      throw new Error(`${p.stateDictName}: expected ${p.raw.length} values, got ${raw!.size}`);
    }
    const projected = raw!.data.slice();
    clampInPlace(projected as Float32Array, p.clamp);
    tieToMeanInPlace(projected as Float32Array, p.symmetry);
    return { out: new Tensor(projected, raw!.shape) };
  },
  vjp: (g) => [g],
});

export const projectParameter = (raw: Tensor, p: Parameter): Tensor => (p.trainable ? projectOp([raw], p) : raw);
