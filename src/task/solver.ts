// flyvis's solver for the flow task (flyvis/solver.py: MultiTaskSolver, Penalty,
// HyperParamScheduler; its config: flyvis/config/{solver,optim/optim,penalizer/penalizer,
// scheduler/scheduler,task/task}.yaml) as pure functions: the config with flyvis's defaults, one
// training step over (network parameters, decoder parameters and batch-norm buffers, optimiser
// states, batch), the validation of Solver.test and of validate_all_checkpoints, the batch order
// of an epoch, and the checkpoint dict flyvis saves (chkpts/chkpt_NNNNN). Platform-neutral; the
// loop is train-loop.ts, the results directory train-results.ts.
//
// One training step is flyvis's handle_batch followed by its penalty:
//   1. the decoder's convolution weights are multiplied by the hex mask (flyvis does it in place
//      at every forward pass);
//   2. the network runs the batch's movie from the epoch's initial state (the state after
//      t_pre_train = 0.5 s of grey 0.5 from v = bias, computed without gradient once per epoch
//      with the parameters of the epoch's start, flyvis's steady_state(..., grad=False));
//   3. the decoder in training mode (batch statistics, running averages updated, dropout) predicts
//      the flow; loss = l2norm (task.loss.flow) times task weight / weight sum (1 for one task);
//   4. Adam on the network's trainable parameters (lr_net) and, as a second parameter group, the
//      decoder's weights and biases (lr_dec), torch.optim.Adam's defaults otherwise;
//   5. the activity penalty (train-penalty.ts) of the same activity, its gradient with respect to
//      the penalised parameters (nodes_bias) at the parameters before step 4, applied by its own
//      SGD (lr_pen) to the parameters after step 4, while iteration < stop_iter;
//   6. clamp (ranges, non-negative strengths, symmetry): flyvis clamps in the penalty step and at
//      the start of every forward pass, so the values used and saved are always clamped.
// Learning rates follow flyvis's scheduler: the value of its array at the iteration where the
// scheduler last ran (the epoch's start or the last checkpoint, see scheduleAnchor).
import { type Tensor, noGrad, slice, tensor } from '../autograd/index.ts';
import { Xoshiro128, itemRng, uniform } from '../datasets/flow/random.ts';
import type { FlowBatch } from '../datasets/flow/batch.ts';
import { TorchDict, TorchTensor, TorchTuple, type TorchValue } from '../io/torch/values.ts';
import type { Network, State } from '../network/network.ts';
import { type Optimizer, type OptimizerState, type Params, adam, sgd } from '../train/optimizers.ts';
import { type Projection, gradientNorm, networkProjection } from '../train/step.ts';
import { type Plan, planSimulate, planSteadyState, planValueAndGrad, runPlan, runPlanAsync } from '../train/plan.ts';
import {
  FLOW_DECODER_CONFIG, type DecoderGAVP, type DecoderGAVPConfig, type DecoderParams, decode, decoderConfigFrom, decoderStateDict, decoderTrainable,
  filterToHex,
} from './decoder.ts';
import { epe, l2norm } from './objectives.ts';
import { type ActivityPenaltyConfig, activityPenalizedParams, activityPenalty } from './train-penalty.ts';
import { type ScheduledValue, type SchedulerFunctionConfig, buildSchedules, scheduledAt } from './train-schedule.ts';

export class SolverConfigError extends Error {
  override name = 'SolverConfigError';
}

/** Solver.test's initial state: t_pre = 0.25 s of grey before every validation movie. */
export const SOLVER_TEST_T_PRE = 0.25;
/** validate_all_checkpoints (flyvis/analysis/validation.py), which writes validation/epe.h5: t_pre 0.5 s at dt 1/50. */
export const VALIDATE_ALL_T_PRE = 0.5;
export const VALIDATE_ALL_DT = 1 / 50;

/** The sections of flyvis's solver config that training reads (snake_case, as flyvis's yaml). */
export interface FlowSolverConfig {
  readonly task: {
    readonly dataset: Readonly<Record<string, unknown>>;
    readonly decoder: { readonly flow: DecoderGAVPConfig };
    readonly loss: { readonly flow: 'l2norm' | 'epe' };
    readonly task_weights: null | Readonly<Record<string, number>>;
    readonly batch_size: number;
    readonly n_iters: number;
    readonly n_folds: number;
    readonly fold: number;
    readonly seed: number;
    readonly original_split: boolean;
  };
  readonly optim: {
    readonly type: 'Adam';
    readonly optim_dec: { readonly lr: number };
    readonly optim_net: { readonly lr: number };
  };
  readonly penalizer: { readonly activity_penalty: ActivityPenaltyConfig; readonly optim: 'SGD' };
  readonly scheduler: {
    readonly lr_net: SchedulerFunctionConfig;
    readonly lr_dec: SchedulerFunctionConfig;
    readonly lr_pen: SchedulerFunctionConfig;
    readonly dt: SchedulerFunctionConfig;
    readonly chkpt_every_epoch: number;
  };
  /** Seconds of grey before each epoch's training movies (flyvis: config.get("t_pre_train", 0.5)). */
  readonly t_pre_train?: number;
}

/** flyvis's task.yaml dataset section (MultiTaskSintel), for _meta.yaml. */
export const FLYVIS_TASK_DATASET: Readonly<Record<string, unknown>> = Object.freeze({
  type: 'MultiTaskSintel',
  tasks: ['flow'],
  boxfilter: { extent: 15, kernel_size: 13 },
  vertical_splits: 3,
  n_frames: 19,
  center_crop_fraction: 0.7,
  dt: 0.02,
  augment: true,
  random_temporal_crop: true,
  all_frames: false,
  resampling: true,
  interpolate: true,
  p_flip: 0.5,
  p_rot: 0.5,
  contrast_std: 0.2,
  brightness_std: 0.1,
  gaussian_white_noise: 0.08,
  gamma_std: null,
  _init_cache: true,
  unittest: false,
  flip_axes: [0, 1, 2, 3],
});

/** flyvis's default solver config for the flow task (its yaml files, hydra interpolations resolved). */
export function defaultSolverConfig(): FlowSolverConfig {
  const lr = { function: 'stepwise', start: 5.0e-5, stop: 5.0e-6, steps: 10 };
  return {
    task: {
      dataset: structuredClone(FLYVIS_TASK_DATASET) as Record<string, unknown>,
      decoder: { flow: { ...FLOW_DECODER_CONFIG, shape: [...FLOW_DECODER_CONFIG.shape] } },
      loss: { flow: 'l2norm' },
      task_weights: null,
      batch_size: 4,
      n_iters: 250_000,
      n_folds: 4,
      fold: 1,
      seed: 0,
      original_split: true,
    },
    optim: { type: 'Adam', optim_dec: { lr: lr.start }, optim_net: { lr: lr.start } },
    penalizer: {
      activity_penalty: {
        activity_baseline: 5.0,
        activity_penalty: 0.1,
        stop_iter: 150_000,
        below_baseline_penalty_weight: 1.0,
        above_baseline_penalty_weight: 0.1,
      },
      optim: 'SGD',
    },
    scheduler: {
      lr_net: { ...lr },
      lr_dec: { ...lr },
      lr_pen: { ...lr },
      dt: { function: 'stepwise', start: 0.02, stop: 0.02, steps: 10 },
      chkpt_every_epoch: 300,
    },
  };
}

/** A solver config checked and prepared for a run: schedules, optimisers, penalty. */
export interface FlowSolver {
  readonly config: FlowSolverConfig;
  readonly net: Network;
  readonly decoder: DecoderGAVP;
  /** Iterations per epoch: floor(training items / batch size) (flyvis's DataLoader with drop_last). */
  readonly epochLength: number;
  /** Checkpoint every this many iterations (the scheduler also runs there); 0: only at the start and the end. */
  readonly checkpointEvery: number;
  readonly dt: number;
  readonly tPreTrain: number;
  readonly schedules: Readonly<Record<string, ScheduledValue>>;
  readonly optimNet: Optimizer;
  readonly optimDec: Optimizer;
  /** SGD over the penalised parameters; null when none is penalised or the penalty is off. */
  readonly optimPen: Optimizer | null;
  /** The state_dict names the activity penalty updates (flyvis's default: nodes_bias). */
  readonly penalized: readonly string[];
  readonly penalty: ActivityPenaltyConfig;
  readonly project: Projection;
  /** The iteration at which the scheduler last ran before or at `iteration`. */
  scheduleAnchor(iteration: number): number;
  /** A scheduled value (lr_net, lr_dec, lr_pen, dt) as used at `iteration`. */
  valueAt(name: string, iteration: number): number;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * Checks a solver config against what this solver implements and prepares the run: Adam for
 * network and decoder, SGD for the activity penalty, a constant dt schedule, the flow task with
 * l2norm or epe, no parameter penalties (flyvis's default weight_decay has lambda 0). Errors name
 * the config field.
 */
export function makeFlowSolver(
  config: FlowSolverConfig,
  net: Network,
  decoder: DecoderGAVP,
  options: { trainItems: number; checkpointEvery?: number },
): FlowSolver {
  const problems: string[] = [];
  const t = config.task;
  if (!Number.isSafeInteger(t.batch_size) || t.batch_size < 1) problems.push(`task.batch_size: expected a positive integer, got ${t.batch_size}`);
  if (!Number.isSafeInteger(t.n_iters) || t.n_iters < 0) problems.push(`task.n_iters: expected an integer >= 0, got ${t.n_iters}`);
  if (t.loss.flow !== 'l2norm' && t.loss.flow !== 'epe') problems.push(`task.loss.flow: expected l2norm or epe, got ${JSON.stringify(t.loss.flow)}`);
  if (t.task_weights !== null && !(isRecord(t.task_weights) && Object.keys(t.task_weights).join() === 'flow' && t.task_weights.flow! > 0)) {
    problems.push(`task.task_weights: expected null or {flow: w > 0}, got ${JSON.stringify(t.task_weights)}`);
  }
  if (config.optim.type !== 'Adam') problems.push(`optim.type: expected Adam, got ${JSON.stringify(config.optim.type)}`);
  for (const g of ['optim_net', 'optim_dec'] as const) {
    const extra = Object.keys(config.optim[g]).filter((k) => k !== 'lr');
    if (extra.length > 0) problems.push(`optim.${g}: only lr is supported, got ${extra.join(', ')}`);
  }
  if (config.penalizer.optim !== 'SGD') problems.push(`penalizer.optim: expected SGD, got ${JSON.stringify(config.penalizer.optim)}`);
  const pen = config.penalizer.activity_penalty;
  for (const k of ['activity_baseline', 'activity_penalty', 'below_baseline_penalty_weight', 'above_baseline_penalty_weight'] as const) {
    if (typeof pen[k] !== 'number' || !Number.isFinite(pen[k])) problems.push(`penalizer.activity_penalty.${k}: expected a finite number, got ${JSON.stringify(pen[k])}`);
  }
  if (pen.stop_iter !== null && !(Number.isSafeInteger(pen.stop_iter) && pen.stop_iter >= 0)) problems.push(`penalizer.activity_penalty.stop_iter: expected null or an integer >= 0, got ${pen.stop_iter}`);
  const dtc = config.scheduler.dt;
  if (dtc.start !== dtc.stop) problems.push(`scheduler.dt: a changing time step is not supported (start ${dtc.start}, stop ${dtc.stop}); the dataset is resampled once`);
  const cee = config.scheduler.chkpt_every_epoch;
  if (!Number.isSafeInteger(cee) || cee < 1) problems.push(`scheduler.chkpt_every_epoch: expected a positive integer, got ${cee}`);
  // parameter penalties (penalize.function with a non-zero kwarg) are not implemented
  for (const [section, prefix] of [['node_config', 'nodes_'], ['edge_config', 'edges_']] as const) {
    const cfg = (net.config as unknown as Record<string, unknown>)[section];
    if (!isRecord(cfg)) continue;
    for (const [name, p] of Object.entries(cfg)) {
      const f = isRecord(p) && isRecord(p.penalize) ? p.penalize : undefined;
      if (f && 'function' in f && isRecord(f.kwargs) && Object.values(f.kwargs).some(Boolean)) {
        problems.push(`network.${section}.${name}.penalize: parameter penalties (${String(f.function)} of ${prefix}${name}) are not supported; only penalize.activity`);
      }
    }
  }
  const trainItems = options.trainItems;
  const epochLength = Math.floor(trainItems / t.batch_size);
  if (problems.length === 0 && epochLength < 1) {
    problems.push(`the training set has ${trainItems} item${trainItems === 1 ? '' : 's'}, fewer than the batch size ${t.batch_size} (flyvis drops incomplete batches)`);
  }
  const checkpointEvery = options.checkpointEvery ?? cee * Math.max(1, epochLength);
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 0) problems.push(`checkpointEvery: expected an integer >= 0, got ${checkpointEvery}`);
  let schedules: Record<string, ScheduledValue> = {};
  if (problems.length === 0) {
    try {
      schedules = buildSchedules(config.scheduler as unknown as Record<string, unknown>, t.n_iters);
    } catch (e) {
      problems.push((e as Error).message);
    }
    for (const k of ['lr_net', 'lr_dec', 'lr_pen', 'dt']) if (!(k in schedules) && problems.length === 0) problems.push(`scheduler.${k}: missing`);
  }
  if (problems.length > 0) throw new SolverConfigError(problems.join('; '));
  try {
    decoderConfigFrom(config.task.decoder.flow, 'task.decoder.flow');
  } catch (e) {
    throw new SolverConfigError((e as Error).message);
  }
  const scheduleAnchor = (i: number): number => {
    const epochStart = epochLength * Math.floor(i / epochLength);
    const chkpt = checkpointEvery > 0 ? checkpointEvery * Math.floor(i / checkpointEvery) : 0;
    return Math.max(epochStart, chkpt);
  };
  const valueAt = (name: string, i: number): number => {
    const s = schedules[name];
    if (s === undefined) throw new SolverConfigError(`scheduler.${name}: not scheduled`);
    return scheduledAt(s, scheduleAnchor(i));
  };
  const trainable = Object.keys(net.trainableParams());
  const penalized = activityPenalizedParams(net.config as unknown as Record<string, unknown>).filter((k) => trainable.includes(k));
  const penaltyOn = penalized.length > 0 && [pen.activity_penalty, pen.activity_baseline, pen.below_baseline_penalty_weight, pen.above_baseline_penalty_weight].some(Boolean);
  return {
    config,
    net,
    decoder,
    epochLength,
    checkpointEvery,
    dt: dtc.start,
    tPreTrain: config.t_pre_train ?? 0.5,
    schedules,
    // torch.optim.Adam's defaults (betas 0.9, 0.999; eps 1e-8; no weight decay); step == iteration
    optimNet: adam({ lr: (i) => valueAt('lr_net', i) }),
    optimDec: adam({ lr: (i) => valueAt('lr_dec', i) }),
    optimPen: penaltyOn ? sgd({ lr: (i) => valueAt('lr_pen', i) }) : null,
    penalized,
    penalty: pen,
    project: networkProjection(net),
    scheduleAnchor,
    valueAt,
  };
}

// ------------------------------------------------------------------------------ state and step

/** Everything a run carries from one iteration to the next. */
export interface FlowTrainState {
  /** Updates done. */
  readonly iteration: number;
  /** The network's trainable parameters (clamped). */
  readonly network: Params;
  /** The decoder's parameters and batch-norm buffers, by state_dict name. */
  readonly decoder: DecoderParams;
  readonly optimNet: OptimizerState;
  readonly optimDec: OptimizerState;
  /** The activity penalty's SGD (step = penalty steps done). */
  readonly optimPen: OptimizerState;
}

/**
 * The state a run starts from: the given parameters, clamped (flyvis's first forward pass clamps
 * them in place before anything uses or saves them), and fresh optimisers.
 */
export function initialTrainState(solver: FlowSolver, initial: Params, decoder: DecoderParams): FlowTrainState {
  const network = solver.project(initial);
  const pen = Object.fromEntries(solver.penalized.map((k) => [k, network[k]!]));
  return {
    iteration: 0,
    network: { ...network },
    decoder: { ...decoder },
    optimNet: solver.optimNet.init(network),
    optimDec: solver.optimDec.init(decoderTrainable(solver.decoder, decoder)),
    optimPen: solver.optimPen ? solver.optimPen.init(pen) : { step: 0, slots: {} },
  };
}

export interface FlowStepResult {
  /** The state after the step (the input state when `finite` is false). */
  readonly state: FlowTrainState;
  /** The task loss at the input parameters (flyvis's loss.h5) and the flow task's (loss_flow.h5; the same for one task). */
  readonly loss: number;
  readonly lossFlow: number;
  /** The activity penalty (NaN when it is off). */
  readonly penalty: number;
  /** Mean, min and max of the activity (flyvis's activity.h5, activity_min.h5, activity_max.h5). */
  readonly activityMean: number;
  readonly activityMin: number;
  readonly activityMax: number;
  /** Norm of the task loss's gradient (network and decoder). */
  readonly gradNorm: number;
  /** False when the loss or a gradient was not finite: nothing was updated. */
  readonly finite: boolean;
}

/** A uniform [0, 1) stream for the dropout masks of an iteration (seeded, so a resumed run draws the same). */
export function dropoutRng(seed: number, iteration: number): () => number {
  const r = itemRng(seed, 'train:dropout', iteration);
  return () => uniform(r);
}

/**
 * One training step (see the file comment). `initialState` is the epoch's state after t_pre_train
 * of grey (epochInitialState); `rng` draws the dropout masks. Pure: returns a new state.
 * Synchronous: backends that read back synchronously; flowTrainStepAsync runs on every backend
 * (webgpu included) and gives the same values.
 */
export function flowTrainStep(solver: FlowSolver, state: FlowTrainState, batch: FlowBatch, initialState: State | null, rng: () => number): FlowStepResult {
  return runPlan(flowTrainStepPlan(solver, state, batch, initialState, rng));
}

/** flowTrainStep on the network's asynchronous methods and valueAndGradAsync (every backend; one step at a time). */
export function flowTrainStepAsync(...args: Parameters<typeof flowTrainStep>): Promise<FlowStepResult> {
  return runPlanAsync(flowTrainStepPlan(...args));
}

/** The training step as a plan (src/train/plan.ts): the task loss's value and gradient, then the penalty's. */
export function* flowTrainStepPlan(...[solver, state, batch, initialState, rng]: Parameters<typeof flowTrainStep>): Plan<FlowStepResult> {
  const { net, decoder, dt } = solver;
  const i = state.iteration;
  const dec0 = filterToHex(decoder, state.decoder);
  // flyvis's Task.loss: task_weight * loss / sum of task weights, which is the loss itself for one task
  const flowT = tensor(batch.flow.data, [...batch.flow.shape]);
  const objective = solver.config.task.loss.flow === 'epe' ? epe : l2norm;
  let buffers: Readonly<Record<string, Tensor>> = {};
  let stats = { mean: NaN, min: NaN, max: NaN };
  const simulation = (params: Record<string, Tensor>): Plan<Tensor> =>
    planSimulate(net, batch.lum, dt, { params, grad: true, initialState, allowNonFinite: true, onWarning: () => {} }) as Plan<Tensor>;
  const { value, grads } = yield* planValueAndGrad(function* (p: { net: Record<string, Tensor>; dec: Record<string, Tensor> }) {
    const activity = yield* simulation(p.net);
    stats = activityStats(activity);
    const r = decode(decoder, { ...dec0, ...p.dec }, activity, { training: true, rng });
    buffers = r.buffers;
    return objective(r.output, flowT);
  }, { net: { ...state.network }, dec: decoderTrainable(decoder, dec0) });
  const loss = value.item();
  const gradNorm = Math.hypot(gradientNorm(grads.net), gradientNorm(grads.dec));
  const failed = (penalty = NaN): FlowStepResult => ({
    state, loss, lossFlow: loss, penalty, activityMean: stats.mean, activityMin: stats.min, activityMax: stats.max, gradNorm, finite: false,
  });
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return failed();
  const nextNet = solver.optimNet.update(state.network, grads.net, state.optimNet);
  const nextDec = solver.optimDec.update(decoderTrainable(decoder, dec0), grads.dec, state.optimDec);
  let network: Record<string, Tensor> = nextNet.params;
  let optimPen = state.optimPen;
  let penalty = NaN;
  const stop = solver.penalty.stop_iter;
  if (solver.optimPen !== null && (stop === null || i < stop)) {
    // The penalty's gradient at the parameters the activity was computed with (before Adam).
    const fixed = state.network;
    const penParams = Object.fromEntries(solver.penalized.map((k) => [k, fixed[k]!]));
    const r = yield* planValueAndGrad(function* (q: Record<string, Tensor>) {
      const activity = yield* simulation({ ...fixed, ...q });
      return activityPenalty(activity, net.connectome.centralCellsIndex, solver.penalty);
    }, penParams);
    penalty = r.value.item();
    if (!Number.isFinite(penalty) || !Number.isFinite(gradientNorm(r.grads))) return failed(penalty);
    // SGD on the parameters after Adam's update (flyvis: the same nn.Parameter, stepped twice)
    const after = Object.fromEntries(solver.penalized.map((k) => [k, network[k]!]));
    const upd = solver.optimPen.update(after, r.grads, { ...state.optimPen, step: i });
    network = { ...network, ...upd.params };
    optimPen = { step: state.optimPen.step + 1, slots: upd.state.slots };
  }
  network = solver.project(network);
  const nextDecoder: Record<string, Tensor> = { ...dec0, ...nextDec.params, ...buffers };
  return {
    state: { iteration: i + 1, network, decoder: nextDecoder, optimNet: nextNet.state, optimDec: nextDec.state, optimPen },
    loss,
    lossFlow: loss,
    penalty,
    activityMean: stats.mean,
    activityMin: stats.min,
    activityMax: stats.max,
    gradNorm,
    finite: true,
  };
}

function activityStats(a: Tensor): { mean: number; min: number; max: number } {
  let s = 0;
  let lo = Infinity;
  let hi = -Infinity;
  const d = a.data;
  for (let k = 0; k < d.length; k++) {
    const x = d[k]!;
    s += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  // torch's float32 mean, as flyvis logs it, is within float32 rounding of this float64 mean
  return { mean: Math.fround(s / d.length), min: lo, max: hi };
}

/** The state every training movie of an epoch starts from: t_pre_train of grey 0.5 from v = bias, no gradient (flyvis's steady_state). */
export function epochInitialState(solver: FlowSolver, network: Params): State | null {
  return noGrad(() => runPlan(epochInitialStatePlan(solver, network)));
}

/** epochInitialState on the network's asynchronous methods (every backend, webgpu included; the same state). */
export function epochInitialStateAsync(solver: FlowSolver, network: Params): Promise<State | null> {
  return runPlanAsync(epochInitialStatePlan(solver, network));
}

function epochInitialStatePlan(solver: FlowSolver, network: Params): Plan<State | null> {
  // grad: false (the default) records nothing: a constant, as flyvis's steady_state(..., grad=False)
  return planSteadyState(solver.net, solver.tPreTrain, solver.dt, solver.config.task.batch_size, { params: network, allowNonFinite: true });
}

// ------------------------------------------------------------------------------ batches of an epoch

/** The training items of an epoch in the order drawn (flyvis's SubsetRandomSampler: a random permutation per epoch). */
export function epochOrder(nItems: number, seed: number, epoch: number): number[] {
  const order = Array.from({ length: nItems }, (_, i) => i);
  const r = itemRng(seed, 'train:order', epoch);
  for (let i = nItems - 1; i > 0; i--) {
    const j = Math.floor(uniform(r) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** The item indices of iteration i's batch (drop_last: the last incomplete batch of an epoch is never used). */
export function batchIndicesAt(solver: FlowSolver, nItems: number, seed: number, iteration: number): number[] {
  const L = solver.epochLength;
  const B = solver.config.task.batch_size;
  const epoch = Math.floor(iteration / L);
  const k = iteration - epoch * L;
  return epochOrder(nItems, seed, epoch).slice(k * B, (k + 1) * B);
}

/** The generator an iteration's augmentations draw from (one stream per iteration, items in batch order). */
export function augmentRng(seed: number, iteration: number): Xoshiro128 {
  return itemRng(seed, 'train:augment', iteration);
}

// ------------------------------------------------------------------------------ validation

/** A validation set: its movies and flows (from a FlowDataset without augmentation). */
export interface FlowValidationSet {
  readonly length: number;
  /** Items [start, end) as a batch. */
  batch(start: number, end: number): FlowBatch;
}

export interface FlowValidationResult {
  /** Per item: the task loss (l2norm) and the endpoint error. */
  readonly l2norm: Float64Array;
  readonly epe: Float64Array;
}

/** What validateFlow takes besides the network, the parameters and the set. */
export interface ValidateFlowOptions {
  readonly dt: number;
  readonly tPre: number;
  /** Items simulated together (default 4). */
  readonly chunk?: number;
  /** After every chunk: items done. */
  readonly onItems?: (done: number) => void;
}

/**
 * Network and decoder (evaluation mode) on every item of a validation set: the state after
 * `tPre` seconds of grey 0.5 from v = bias, then the movie; the decoder reads every frame's state.
 * flyvis evaluates one item per batch; items are simulated `chunk` at a time here, which changes
 * no value (items and, in evaluation mode, frames are independent). Returns per-item values.
 * Synchronous: backends that read back synchronously; validateFlowAsync runs on every backend.
 */
export function validateFlow(
  net: Network,
  network: Params,
  decoder: DecoderGAVP,
  decoderParams: DecoderParams,
  set: FlowValidationSet,
  options: ValidateFlowOptions,
): FlowValidationResult {
  return noGrad(() => runPlan(validateFlowPlan(net, network, decoder, decoderParams, set, options)));
}

/** validateFlow on the network's asynchronous methods (every backend, webgpu included; the same values). */
export function validateFlowAsync(...args: Parameters<typeof validateFlow>): Promise<FlowValidationResult> {
  // Records nothing: the simulations run without grad, and no tape tracks the parameters here.
  return runPlanAsync(validateFlowPlan(...args));
}

/** validateFlow as a plan (src/train/plan.ts). */
export function* validateFlowPlan(...[net, network, decoder, decoderParams, set, options]: Parameters<typeof validateFlow>): Plan<FlowValidationResult> {
  const n = set.length;
  const out = { l2norm: new Float64Array(n), epe: new Float64Array(n) };
  const chunk = Math.max(1, options.chunk ?? 4);
  const params = filterToHex(decoder, decoderParams);
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    const b = set.batch(s, e);
    const B = e - s;
    const initialState = yield* planSteadyState(net, options.tPre, options.dt, B, { params: network, allowNonFinite: true });
    const activity = (yield* planSimulate(net, b.lum, options.dt, { params: network, initialState, allowNonFinite: true, onWarning: () => {} })) as Tensor;
    const y = decode(decoder, params, activity).output;
    const gt = tensor(b.flow.data, [...b.flow.shape]);
    for (let k = 0; k < B; k++) {
      const yk = slice(y, 0, k, k + 1);
      const gk = slice(gt, 0, k, k + 1);
      out.l2norm[s + k] = l2norm(yk, gk).item();
      out.epe[s + k] = epe(yk, gk).item();
    }
    options.onItems?.(e);
  }
  return out;
}

/** numpy's mean of a float64 array (pairwise summation is not needed at these lengths: plain sum / n). */
export const meanOf = (x: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  return x.length === 0 ? NaN : s / x.length;
};

// ------------------------------------------------------------------------------ the checkpoint dict

const f32Tensor = (data: ArrayLike<number>, shape: readonly number[]): TorchTensor =>
  new TorchTensor('float32', [...shape], data instanceof Float32Array ? data.slice() : Float32Array.from(data));

/** torch.optim.Adam(...).state_dict() of torch 1.13 for param groups of parameter names (trainable ones have state once stepped). */
function adamStateDict(groups: readonly { names: readonly string[]; shapes: ReadonlyMap<string, readonly number[]>; lr: number; state: OptimizerState }[]): TorchDict {
  const state = new TorchDict();
  const paramGroups: TorchValue[] = [];
  let id = 0;
  for (const g of groups) {
    const ids: bigint[] = [];
    for (const name of g.names) {
      const m = g.state.slots.m?.[name];
      const v = g.state.slots.v?.[name];
      if (m !== undefined && v !== undefined && g.state.step > 0) {
        const shape = g.shapes.get(name)!;
        state.set(BigInt(id), new TorchDict([
          ['step', new TorchTensor('float32', [], Float32Array.of(g.state.step))],
          ['exp_avg', f32Tensor(m, shape)],
          ['exp_avg_sq', f32Tensor(v, shape)],
        ]));
      }
      ids.push(BigInt(id++));
    }
    paramGroups.push(new TorchDict([
      ['lr', g.lr], ['betas', new TorchTuple([0.9, 0.999])], ['eps', 1e-8], ['weight_decay', 0n], ['amsgrad', false], ['maximize', false],
      ['foreach', null], ['capturable', false], ['differentiable', false], ['fused', false], ['params', ids],
    ]));
  }
  return new TorchDict([['state', state], ['param_groups', paramGroups]]);
}

/** torch.optim.SGD(params, lr).state_dict() of torch 1.13 (no momentum: a None buffer per stepped parameter). */
function sgdStateDict(n: number, lr: number, stepped: boolean): TorchDict {
  const state = new TorchDict();
  if (stepped) for (let i = 0; i < n; i++) state.set(BigInt(i), new TorchDict([['momentum_buffer', null]]));
  const group = new TorchDict([
    ['lr', lr], ['momentum', 0n], ['dampening', 0n], ['weight_decay', 0n], ['nesterov', false], ['maximize', false], ['foreach', null],
    ['differentiable', false], ['params', Array.from({ length: n }, (_, i) => BigInt(i))],
  ]);
  return new TorchDict([['state', state], ['param_groups', [group]]]);
}

/** flyvis's time.ctime(): 'Thu Jan  1 00:00:00 1970' (local time). */
export function ctime(date: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${days[date.getDay()]} ${months[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${p2(date.getHours())}:${p2(date.getMinutes())}:${p2(date.getSeconds())} ${date.getFullYear()}`;
}

/** The network's state_dict with the trained values (an OrderedDict of float32 tensors, flyvis's parameter order). */
export function networkStateDict(net: Network, network: Params): TorchDict {
  const dict = net.stateDict();
  return new TorchDict(Object.entries(dict).map(([k, v]) => [k, f32Tensor(network[k]?.data ?? v, [v.length])]), true);
}

/**
 * The dict flyvis's MultiTaskSolver.checkpoint saves as chkpts/chkpt_NNNNN: network (state_dict),
 * decoder ({flow: state_dict}, the weights masked as flyvis's are after a forward pass), optim
 * (torch.optim.Adam's state_dict: group 0 the network's parameters in state_dict order, group 1 the
 * decoder's), time (ctime), val_loss, iteration (updates done - 1, as flyvis records it), dt, and
 * activity_optim (the penalty's SGD) when the penalty is on.
 */
export function flyvisCheckpointDict(solver: FlowSolver, s: FlowTrainState, valLoss: number, time: Date): TorchDict {
  const { net, decoder } = solver;
  const stateDict = net.stateDict();
  const netNames = Object.keys(stateDict);
  const netShapes = new Map(netNames.map((k) => [k, [stateDict[k]!.length] as readonly number[]]));
  const it = s.iteration;
  const adamDict = adamStateDict([
    { names: netNames, shapes: netShapes, lr: scheduledAt(solver.schedules.lr_net!, it), state: s.optimNet },
    { names: decoder.parameterNames, shapes: decoder.stateShapes, lr: scheduledAt(solver.schedules.lr_dec!, it), state: s.optimDec },
  ]);
  const entries: [TorchValue, TorchValue][] = [
    ['network', networkStateDict(net, s.network)],
    ['decoder', new TorchDict([['flow', decoderStateDict(decoder, filterToHex(decoder, s.decoder))]])],
    ['optim', adamDict],
    ['time', ctime(time)],
    ['val_loss', valLoss],
    ['iteration', BigInt(it - 1)],
    ['dt', solver.dt],
  ];
  if (solver.optimPen !== null) entries.push(['activity_optim', sgdStateDict(solver.penalized.length, scheduledAt(solver.schedules.lr_pen!, it), s.optimPen.step > 0)]);
  return new TorchDict(entries);
}
