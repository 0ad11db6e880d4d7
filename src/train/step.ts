// One training step as a pure function of (parameters, optimizer state, batch): the loss and
// its gradient through whatever the loss computes (a whole simulation, steady state included
// when the loss asks for it), an optimizer update, then the projection back into the valid
// range (clamp: ranges, non-negative strengths, symmetry). Nothing is mutated: the step returns
// new parameters and a new state, so steps compose (loops, checkpoints, replays) freely.
import { Tensor, valueAndGrad, valueAndGradAsync } from '../autograd/index.ts';
import { type ParameterSet, clampParameters, makeParameterSet, withRaw } from '../init/index.ts';
import type { Network } from '../network/network.ts';
import type { Optimizer, OptimizerState, Params } from './optimizers.ts';

/** Maps parameters into their valid range (pure). */
export type Projection = (params: Params) => Record<string, Tensor>;

/** A loss over parameters and a batch; must return a one-element tensor. */
export type LossFn<B> = (params: Params, batch: B) => Tensor;

export class TrainError extends Error {
  override name = 'TrainError';
}

/**
 * flyvis's clamp as a projection: each given parameter (by state_dict name) clamped to its rule
 * and its symmetry groups set to their means, using `set` only for rules and groups.
 */
export function clampProjection(set: ParameterSet): Projection {
  return (params) => {
    for (const [k, t] of Object.entries(params)) {
      const p = set.byName.get(k);
      if (p === undefined) throw new TrainError(`project: unknown parameter '${k}' (have ${[...set.byName.keys()].join(', ')})`);
      if (t.size !== p.raw.length) throw new TrainError(`project: ${k}: expected ${p.raw.length} values, got ${t.size}`);
    }
    const clamped = clampParameters(makeParameterSet(set.parameters.map((p) => (params[p.stateDictName] ? withRaw(p, params[p.stateDictName]!.data) : p))));
    return Object.fromEntries(Object.entries(params).map(([k, t]) => [k, new Tensor(clamped.byName.get(k)!.raw, t.shape)]));
  };
}

/** The network's clamp as a projection (its rules and symmetry groups; the network is not changed). */
export const networkProjection = (net: Network): Projection => clampProjection(net.parameters);

export interface StepResult {
  /** Parameters after the update and projection (the inputs when `finite` is false). */
  readonly params: Record<string, Tensor>;
  /** Optimizer state after the update (the input when `finite` is false). */
  readonly state: OptimizerState;
  /** The loss at the input parameters. */
  readonly loss: number;
  /** Euclidean norm of the whole gradient. */
  readonly gradNorm: number;
  /** False when the loss or a gradient was not finite: nothing was updated. */
  readonly finite: boolean;
}

export type TrainStep<B> = (params: Params, state: OptimizerState, batch: B) => StepResult;

/** A training step whose loss is computed asynchronously (makeTrainStepAsync). */
export type TrainStepAsync<B> = (params: Params, state: OptimizerState, batch: B) => Promise<StepResult>;

export interface TrainStepOptions<B> {
  readonly loss: LossFn<B>;
  readonly optimizer: Optimizer;
  /** Applied after every update, e.g. networkProjection(net). Default: none. */
  readonly project?: Projection;
}

/** A pure training step: loss and gradient at `params`, optimizer update, projection. */
export function makeTrainStep<B>({ loss, optimizer, project }: TrainStepOptions<B>): TrainStep<B> {
  const vg = valueAndGrad((p: Record<string, Tensor>, batch: B) => loss(p, batch));
  return (params, state, batch) => update(params, state, vg({ ...params }, batch), optimizer, project);
}

/** A loss over parameters and a batch computed asynchronously (e.g. over simulateActivityAsync); a one-element tensor. */
export type LossFnAsync<B> = (params: Params, batch: B) => Tensor | Promise<Tensor>;

export interface TrainStepAsyncOptions<B> extends Omit<TrainStepOptions<B>, 'loss'> {
  readonly loss: LossFnAsync<B>;
}

/**
 * makeTrainStep for a loss computed asynchronously: the gradient through valueAndGradAsync, so the
 * loss may run on any backend, webgpu included (simulateActivityAsync, network.simulateAsync with
 * grad: true). The same update and projection: on a backend that reads back synchronously it
 * gives makeTrainStep's results bit for bit. One step at a time (valueAndGradAsync is).
 */
export function makeTrainStepAsync<B>({ loss, optimizer, project }: TrainStepAsyncOptions<B>): TrainStepAsync<B> {
  const vg = valueAndGradAsync((p: Record<string, Tensor>, batch: B) => loss(p, batch));
  return async (params, state, batch) => update(params, state, await vg({ ...params }, batch), optimizer, project);
}

/** The Euclidean norm of every gradient together. */
export function gradientNorm(grads: Readonly<Record<string, Tensor>>): number {
  let sq = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.size; i++) sq += g.data[i]! * g.data[i]!;
  return Math.sqrt(sq);
}

/** The optimizer update and projection after the loss and its gradient (nothing when either is not finite). */
function update(
  params: Params,
  state: OptimizerState,
  { value, grads }: { value: Tensor; grads: Record<string, Tensor> },
  optimizer: Optimizer,
  project: Projection | undefined,
): StepResult {
  const l = value.item();
  const gradNorm = gradientNorm(grads);
  if (!Number.isFinite(l) || !Number.isFinite(gradNorm)) return { params: { ...params }, state, loss: l, gradNorm, finite: false };
  const next = optimizer.update(params, grads, state);
  return { params: project ? project(next.params) : next.params, state: next.state, loss: l, gradNorm, finite: true };
}
