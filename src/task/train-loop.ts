// The training loop of flyvis's MultiTaskSolver.train for the flow task, for long runs: epochs of
// floor(items / batch size) iterations over a random permutation of the training items, each
// epoch's movies starting from the state after t_pre_train of grey computed with the parameters
// of the epoch's start; a checkpoint (validation, then the checkpoint dict) before the first
// iteration, every `checkpointEvery` iterations and at the end; the per-iteration logs flyvis
// keeps (loss, loss_flow, activity, activity_min, activity_max). Between iterations it yields to
// the event loop so that an interrupt handler can run, and stops on request with the run's state
// (no checkpoint: validation would delay the stop), or on a non-finite loss keeping the last good
// state. Simulations run through the network's asynchronous methods (flowTrainStepAsync,
// validateCheckpointAsync), so every backend works, webgpu included; on the others the values
// are those of the synchronous ones, bit for bit. Every random draw (batch order, augmentations, dropout) is a function of the seed and
// the iteration, so a run resumed from its saved state continues exactly as if it had not
// stopped. Platform-neutral: writing files is the caller's (train-results.ts).
import type { TorchDict } from '../io/torch/values.ts';
import type { FlowBatch } from '../datasets/flow/batch.ts';
import { flowBatch } from '../datasets/flow/batch.ts';
import type { FlowDataset } from '../datasets/flow/types.ts';
import type { State } from '../network/network.ts';
import type { Params } from '../train/optimizers.ts';
import { noGrad } from '../autograd/index.ts';
import { type Plan, runPlan, runPlanAsync } from '../train/plan.ts';
import {
  type FlowSolver, type FlowTrainState, type FlowValidationSet, SOLVER_TEST_T_PRE, VALIDATE_ALL_T_PRE, augmentRng, batchIndicesAt, dropoutRng,
  epochInitialStateAsync, flowTrainStepAsync, flyvisCheckpointDict, meanOf, validateFlowPlan,
} from './solver.ts';

/** One checkpoint of a run, as its files record it. */
export interface FlowCheckpointRecord {
  /** chkpt_NNNNN's number. */
  readonly index: number;
  /** Updates done when it was taken (flyvis's validation/iteration.h5; the dict's `iteration` is this - 1). */
  readonly iteration: number;
  /** Solver.test: mean l2norm over the validation items, t_pre 0.25 (validation/loss.h5, the dict's val_loss). */
  readonly valLoss: number;
  /** validate_all_checkpoints: mean l2norm and mean EPE, t_pre 0.5 (validation/l2norm.h5, validation/epe.h5). */
  readonly valL2norm: number;
  readonly valEpe: number;
  /** ctime() of when it was written. */
  readonly time: string;
}

/** What flyvis logs per iteration and per checkpoint. */
export interface FlowTrainHistory {
  readonly loss: number[];
  readonly lossFlow: number[];
  readonly activity: number[];
  readonly activityMin: number[];
  readonly activityMax: number[];
  /** The activity penalty per iteration (NaN when off; not a flyvis file). */
  readonly penalty: number[];
  readonly checkpoints: FlowCheckpointRecord[];
  /** Seconds spent training so far (flyvis's time_trained.h5). */
  timeTrained: number;
}

/** A run's whole state: what the next iteration needs, and the logs. */
export interface FlowRun {
  readonly state: FlowTrainState;
  /** The network's parameters at the start of the current epoch (its initial state is recomputed from them). */
  readonly epochStart: Params;
  readonly history: FlowTrainHistory;
}

export const emptyHistory = (): FlowTrainHistory => ({
  loss: [], lossFlow: [], activity: [], activityMin: [], activityMax: [], penalty: [], checkpoints: [], timeTrained: 0,
});

/** A validation set over a dataset's items (their batches kept after the first use). */
export function datasetValidationSet(dataset: FlowDataset, indices?: readonly number[]): FlowValidationSet {
  const items = indices ?? Array.from({ length: dataset.length }, (_, i) => i);
  const cache = new Map<string, FlowBatch>();
  return {
    length: items.length,
    batch(start, end) {
      const key = `${start}:${end}`;
      let b = cache.get(key);
      if (b === undefined) {
        b = flowBatch(dataset, items.slice(start, end));
        cache.set(key, b);
      }
      return b;
    },
  };
}

export interface FlowValidationOptions {
  /** Items simulated together (default 4). */
  readonly chunk?: number;
  /** Progress within a validation: phase 'test' (t_pre 0.25) or 'epe' (t_pre 0.5), items done of total. */
  readonly onProgress?: (phase: 'test' | 'epe', done: number, total: number) => void;
}

/** Validates a state as a flyvis checkpoint records it (Solver.test, then validate_all_checkpoints). Synchronous backends. */
export function validateCheckpoint(
  solver: FlowSolver,
  state: FlowTrainState,
  set: FlowValidationSet,
  options: FlowValidationOptions = {},
): { valLoss: number; valL2norm: number; valEpe: number } {
  return noGrad(() => runPlan(validateCheckpointPlan(solver, state, set, options)));
}

/** validateCheckpoint on the network's asynchronous methods (every backend, webgpu included; the same values). */
export function validateCheckpointAsync(...args: Parameters<typeof validateCheckpoint>): Promise<{ valLoss: number; valL2norm: number; valEpe: number }> {
  return runPlanAsync(validateCheckpointPlan(...args));
}

function* validateCheckpointPlan(
  ...[solver, state, set, options = {}]: Parameters<typeof validateCheckpoint>
): Plan<{ valLoss: number; valL2norm: number; valEpe: number }> {
  const common = { dt: solver.dt, ...(options.chunk !== undefined ? { chunk: options.chunk } : {}) };
  const test = yield* validateFlowPlan(solver.net, state.network, solver.decoder, state.decoder, set, {
    ...common, tPre: SOLVER_TEST_T_PRE, onItems: (d) => options.onProgress?.('test', d, set.length),
  });
  const all = yield* validateFlowPlan(solver.net, state.network, solver.decoder, state.decoder, set, {
    ...common, tPre: VALIDATE_ALL_T_PRE, onItems: (d) => options.onProgress?.('epe', d, set.length),
  });
  // Solver.test averages the configured task loss (l2norm, or epe) over the items
  const testLoss = solver.config.task.loss.flow === 'epe' ? test.epe : test.l2norm;
  return { valLoss: meanOf(testLoss), valL2norm: meanOf(all.l2norm), valEpe: meanOf(all.epe) };
}

export interface FlowTrainLoopOptions {
  readonly solver: FlowSolver;
  readonly train: FlowDataset;
  readonly validation: FlowValidationSet;
  readonly start: FlowRun;
  /** Seed of the batch order, augmentations and dropout. */
  readonly seed: number;
  /** Called with each checkpoint (its record is already in run.history): write chkpts/chkpt_NNNNN, the logs and the run state. */
  readonly onCheckpoint?: (run: FlowRun, dict: TorchDict, record: FlowCheckpointRecord) => void | Promise<void>;
  /** Called when the run stops without a checkpoint (interrupt, non-finite loss) with the state to keep. */
  readonly onStop?: (run: FlowRun, reason: 'interrupt' | 'nonfinite') => void | Promise<void>;
  /** After every iteration: updates done, its loss and the last validation EPE (NaN before the first). */
  readonly onIteration?: (done: number, loss: number, lastEpe: number) => void;
  /** Progress of a checkpoint's validation. */
  readonly onValidation?: (phase: 'test' | 'epe', done: number, total: number) => void;
  /** Polled before every iteration: true stops the run ('interrupted'). */
  readonly interrupted?: () => boolean;
  readonly validationChunk?: number;
  /** Clock for checkpoint times (default: now). */
  readonly now?: () => Date;
}

export type FlowTrainResult =
  | { readonly status: 'done' | 'interrupted'; readonly run: FlowRun }
  | { readonly status: 'nonfinite'; readonly run: FlowRun; readonly iteration: number; readonly loss: number; readonly penalty: number };

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs iterations start.state.iteration .. solver.config.task.n_iters with checkpoints (see the file comment). */
export async function trainFlow(options: FlowTrainLoopOptions): Promise<FlowTrainResult> {
  const { solver, train, validation, seed } = options;
  const iters = solver.config.task.n_iters;
  const every = solver.checkpointEvery;
  const now = options.now ?? (() => new Date());
  let run = options.start;
  const h = run.history;
  if (run.state.iteration > iters) throw new RangeError(`the run is at iteration ${run.state.iteration}, past n_iters ${iters}`);
  if (h.loss.length !== run.state.iteration) throw new RangeError(`history: expected ${run.state.iteration} losses, got ${h.loss.length}`);
  let clock = performance.now();
  const account = (): void => {
    const t = performance.now();
    h.timeTrained += (t - clock) / 1000;
    clock = t;
  };
  const checkpoint = async (): Promise<void> => {
    const v = await validateCheckpointAsync(solver, run.state, validation, {
      ...(options.validationChunk !== undefined ? { chunk: options.validationChunk } : {}),
      ...(options.onValidation ? { onProgress: options.onValidation } : {}),
    });
    const time = now();
    const dict = flyvisCheckpointDict(solver, run.state, v.valLoss, time);
    const record: FlowCheckpointRecord = { index: h.checkpoints.length, iteration: run.state.iteration, ...v, time: String(dict.get('time')) };
    h.checkpoints.push(record);
    account();
    await options.onCheckpoint?.(run, dict, record);
  };
  const lastEpe = (): number => h.checkpoints.at(-1)?.valEpe ?? NaN;

  if (h.checkpoints.length === 0) await checkpoint(); // flyvis: the initial checkpoint before training
  let initialState: State | null = null;
  let initialFor: Params | null = null;
  while (run.state.iteration < iters) {
    await tick();
    if (options.interrupted?.()) {
      account();
      await options.onStop?.(run, 'interrupt');
      return { status: 'interrupted', run };
    }
    const i = run.state.iteration;
    // a new epoch starts from the parameters of now; a resumed epoch from those of its start
    const epochStart = i % solver.epochLength === 0 ? run.state.network : run.epochStart;
    if (initialFor !== epochStart) {
      initialState = await epochInitialStateAsync(solver, epochStart);
      initialFor = epochStart;
    }
    const batch = flowBatch(train, batchIndicesAt(solver, train.length, seed, i), augmentRng(seed, i));
    const r = await flowTrainStepAsync(solver, run.state, batch, initialState, dropoutRng(seed, i));
    if (!r.finite) {
      account();
      run = { ...run, epochStart };
      await options.onStop?.(run, 'nonfinite');
      return { status: 'nonfinite', run, iteration: i, loss: r.loss, penalty: r.penalty };
    }
    h.loss.push(r.loss);
    h.lossFlow.push(r.lossFlow);
    h.activity.push(r.activityMean);
    h.activityMin.push(r.activityMin);
    h.activityMax.push(r.activityMax);
    h.penalty.push(r.penalty);
    run = { state: r.state, epochStart, history: h };
    options.onIteration?.(r.state.iteration, r.loss, lastEpe());
    const done = r.state.iteration;
    if (done === iters || (every > 0 && done % every === 0)) {
      await checkpoint();
      if (done < iters) options.onIteration?.(done, r.loss, lastEpe());
    }
  }
  account();
  return { status: 'done', run };
}
