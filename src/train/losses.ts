// Losses and helpers for losses over a network's output: activity with a steady-state phase
// (differentiated or not), masked mean squared error for partial recordings, and the
// per-edge currents of a state.
import { type Tensor, mul, square, sub, sum, tensor } from '../autograd/index.ts';
import type { Network, ParamTensors, State } from '../network/network.ts';
import { buildStateApi } from '../network/param-api.ts';
import type { ArrayND } from '../network/stimulus.ts';
import { type Plan, planSimulate, planSteadyState, runPlan, runPlanAsync } from './plan.ts';
import { TrainError } from './step.ts';

/** A float32 array with a shape (as readNpy returns). */
export interface Recording {
  readonly data: Float32Array | Float64Array;
  readonly shape: readonly number[];
}

/** Number of entries of a target that are recorded (not NaN). */
export function countRecorded(target: Recording): number {
  let n = 0;
  for (let i = 0; i < target.data.length; i++) if (!Number.isNaN(target.data[i]!)) n++;
  return n;
}

/**
 * Mean squared error between `prediction` and `target` over the target's recorded entries
 * (NaN means not recorded); shapes must match. Differentiable in `prediction`.
 */
export function maskedMSE(prediction: Tensor, target: Recording): Tensor {
  const same = prediction.shape.length === target.shape.length && prediction.shape.every((d, i) => d === target.shape[i]);
  if (!same) throw new TrainError(`target: expected shape (${prediction.shape.join(', ')}) like the prediction, got (${target.shape.join(', ')})`);
  const n = target.data.length;
  const mask = new Float32Array(n);
  const filled = new Float32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = target.data[i]!;
    if (Number.isNaN(v)) continue;
    mask[i] = 1;
    filled[i] = v;
    count++;
  }
  if (count === 0) throw new TrainError('target: no recorded entries (every value is NaN)');
  const shape = prediction.shape;
  const residual = mul(sub(prediction, tensor(filled, shape, prediction.dtype)), tensor(mask, shape, prediction.dtype));
  return mul(sum(square(residual)), 1 / count);
}

export interface SimulateOptions {
  /** Seconds of grey (0.5) before the movie, from v = bias (flyvis's t_pre; default 1). */
  readonly tPre?: number;
  /** Differentiate through the grey phase too (default true). */
  readonly gradSteadyState?: boolean;
}

/**
 * The activity (batch, frames, nNodes) of `net` with parameters `params` for `movie`
 * (batch, frames, 1, hexals), recorded for differentiation, starting from the state after
 * `tPre` seconds of grey as `flyvis simulate` does. Synchronous: backends that read back
 * synchronously; simulateActivityAsync runs on every backend (webgpu included), same values.
 */
export function simulateActivity(net: Network, params: ParamTensors, movie: ArrayND, dt: number, options: SimulateOptions = {}): Tensor {
  return runPlan(simulationPlan(net, params, movie, dt, options, false)) as Tensor;
}

/** simulateActivity on the network's asynchronous methods (every backend; under valueAndGradAsync). */
export async function simulateActivityAsync(net: Network, params: ParamTensors, movie: ArrayND, dt: number, options: SimulateOptions = {}): Promise<Tensor> {
  return (await runPlanAsync(simulationPlan(net, params, movie, dt, options, false))) as Tensor;
}

/** Like simulateActivity, returning every state (for losses over whole states or currents). */
export function simulateStates(net: Network, params: ParamTensors, movie: ArrayND, dt: number, options: SimulateOptions = {}): State[] {
  return runPlan(simulationPlan(net, params, movie, dt, options, true)) as State[];
}

/** simulateStates on the network's asynchronous methods. */
export async function simulateStatesAsync(net: Network, params: ParamTensors, movie: ArrayND, dt: number, options: SimulateOptions = {}): Promise<State[]> {
  return (await runPlanAsync(simulationPlan(net, params, movie, dt, options, true))) as State[];
}

/** The steady state (differentiated unless gradSteadyState is false), then the movie, recorded. */
export function* simulationPlan(net: Network, params: ParamTensors, movie: ArrayND, dt: number, options: SimulateOptions, asStates: boolean): Plan<Tensor | State[]> {
  const tPre = options.tPre ?? 1;
  const B = movie.shape[0] ?? 0;
  // A diverging fit yields a non-finite loss, which the training loop stops on (keeping the
  // last good parameters), so non-finite states are let through here. Without gradient through
  // the grey phase it runs unrecorded (grad: false), a constant to the enclosing valueAndGrad.
  const initialState = yield* planSteadyState(net, tPre, dt, B, { grad: options.gradSteadyState ?? true, params, allowNonFinite: true });
  const run = { params, grad: true, initialState, onWarning: () => {}, allowNonFinite: true } as const;
  return (yield* planSimulate(net, movie, dt, asStates ? { ...run, asStates: true } : run)) as Tensor | State[];
}

/** The current through every edge in `state` (batch, nEdges), as flyvis's dynamics computes it, for `params`. */
export function edgeCurrents(net: Network, state: State, params?: ParamTensors): Tensor {
  const cols = net.connectome.edges.columns;
  const graph = { nNodes: net.nNodes, source: cols.source_index as Int32Array, target: cols.target_index as Int32Array };
  return net.dynamics.currents(buildStateApi(state, graph), net.paramApi(params));
}
