// The training loop for long runs: iterates a pure TrainStep, reports progress, hands out
// checkpoints (every N iterations, on an interrupt, at the end) and stops on a non-finite loss
// keeping the last good state, or on divergence (a loss `divergenceFactor` times above the run's
// first loss) keeping the state with the lowest loss. Between iterations it yields to the event loop so a SIGINT
// handler can run; the loop itself installs none (see onInterrupt).
import type { Tensor } from '../autograd/index.ts';
import type { Optimizer, OptimizerState, Params } from './optimizers.ts';
import { type TrainStep, type TrainStepAsync, TrainError } from './step.ts';

/** Everything needed to continue a run exactly: parameters and optimizer state after `iteration` updates. */
export interface TrainCheckpoint {
  /** Updates done so far (the next step computes losses[iteration]). */
  readonly iteration: number;
  readonly params: Readonly<Record<string, Tensor>>;
  readonly optimizerState: OptimizerState;
  /** losses[i]: the loss at the parameters before update i. */
  readonly losses: readonly number[];
}

export type CheckpointReason = 'periodic' | 'interrupt' | 'nonfinite' | 'diverged' | 'done';

/** The checkpoint a fresh run starts from. */
export function initialCheckpoint(params: Params, optimizer: Optimizer): TrainCheckpoint {
  return { iteration: 0, params: { ...params }, optimizerState: optimizer.init(params), losses: [] };
}

export interface TrainLoopOptions<B> {
  /** makeTrainStep's, or makeTrainStepAsync's (awaited: any backend, webgpu included). */
  readonly step: TrainStep<B> | TrainStepAsync<B>;
  /** Where to start: initialCheckpoint(...) or a resumed checkpoint. */
  readonly start: TrainCheckpoint;
  /** Total iterations of the run (a resumed run does iters - start.iteration more). */
  readonly iters: number;
  /** The batch for an iteration; a function of the iteration only, so resuming replays the same batches. */
  readonly batch: (iteration: number) => B;
  /** Hand out a checkpoint every this many iterations (0: only at the end / interrupt / failure). */
  readonly checkpointEvery?: number;
  readonly onCheckpoint?: (checkpoint: TrainCheckpoint, reason: CheckpointReason) => void;
  /** Called after every iteration with the number done and its loss. */
  readonly onIteration?: (done: number, loss: number) => void;
  /** Polled before every iteration; true stops the run with an 'interrupt' checkpoint. */
  readonly interrupted?: () => boolean;
  /**
   * Stop when a loss exceeds this many times the run's first loss (losses[0]), handing out the
   * state with the lowest loss so far as a 'diverged' checkpoint. Default: never (Infinity).
   */
  readonly divergenceFactor?: number;
}

export type TrainResult =
  | { readonly status: 'done'; readonly checkpoint: TrainCheckpoint }
  | { readonly status: 'interrupted'; readonly checkpoint: TrainCheckpoint }
  | {
      readonly status: 'nonfinite';
      /** The last state whose loss was finite (null when there was none after the start). */
      readonly checkpoint: TrainCheckpoint | null;
      /** The iteration whose loss or gradient was not finite, and what it was. */
      readonly iteration: number;
      readonly loss: number;
      readonly gradNorm: number;
    }
  | {
      readonly status: 'diverged';
      /** The state with the lowest loss seen (the start when no update lowered it). */
      readonly checkpoint: TrainCheckpoint;
      /** The iteration whose loss exceeded divergenceFactor x reference, and that loss. */
      readonly iteration: number;
      readonly loss: number;
      /** The run's first loss (losses[0]) and the lowest loss seen (at checkpoint.iteration). */
      readonly reference: number;
      readonly best: number;
    };

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs the loop; see TrainLoopOptions. Deterministic: the same start and batches give the same parameters. */
export async function train<B>(options: TrainLoopOptions<B>): Promise<TrainResult> {
  const { step, iters, batch, checkpointEvery = 0, onCheckpoint, onIteration, interrupted, divergenceFactor = Infinity } = options;
  if (!(divergenceFactor > 1)) throw new TrainError(`divergenceFactor: expected a number > 1 (Infinity: never), got ${divergenceFactor}`);
  if (!Number.isSafeInteger(iters) || iters < 0) throw new TrainError(`iters: expected an integer >= 0, got ${iters}`);
  if (!Number.isSafeInteger(checkpointEvery) || checkpointEvery < 0) {
    throw new TrainError(`checkpointEvery: expected an integer >= 0, got ${checkpointEvery}`);
  }
  const first = options.start;
  if (first.iteration > iters) {
    throw new TrainError(`iters: the run is already at iteration ${first.iteration}, expected iters >= ${first.iteration}, got ${iters}`);
  }
  if (first.losses.length !== first.iteration) {
    throw new TrainError(`start.losses: expected ${first.iteration} losses (one per iteration done), got ${first.losses.length}`);
  }
  // Losses grow in one array; checkpoints get a copy of the first `iteration` of them.
  const losses = [...first.losses];
  type Live = Omit<TrainCheckpoint, 'losses'>;
  const snapshot = (s: Live): TrainCheckpoint => ({ ...s, losses: losses.slice(0, s.iteration) });
  let current: Live = first;
  let previous: Live | null = null;
  // The state with the lowest loss seen (losses[i] is the loss at the state of iteration i).
  let best: { state: Live; loss: number } | null = null;
  while (current.iteration < iters) {
    await tick();
    if (interrupted?.()) {
      const c = snapshot(current);
      onCheckpoint?.(c, 'interrupt');
      return { status: 'interrupted', checkpoint: c };
    }
    const i = current.iteration;
    const r = await step(current.params, current.optimizerState, batch(i));
    if (!r.finite) {
      // A finite loss with a non-finite gradient still vouches for the current parameters;
      // otherwise the last good state is the one before the last update.
      const kept = Number.isFinite(r.loss) ? current : previous;
      const c = kept === null ? null : snapshot(kept);
      if (c !== null) onCheckpoint?.(c, 'nonfinite');
      return { status: 'nonfinite', checkpoint: c, iteration: i, loss: r.loss, gradNorm: r.gradNorm };
    }
    losses[i] = r.loss;
    if (best === null || r.loss < best.loss) best = { state: current, loss: r.loss };
    const reference = losses[0]!;
    if (reference > 0 && r.loss > divergenceFactor * reference) {
      const c = snapshot(best.state);
      onCheckpoint?.(c, 'diverged');
      return { status: 'diverged', checkpoint: c, iteration: i, loss: r.loss, reference, best: best.loss };
    }
    previous = current;
    current = { iteration: i + 1, params: r.params, optimizerState: r.state };
    onIteration?.(current.iteration, r.loss);
    if (checkpointEvery > 0 && current.iteration % checkpointEvery === 0 && current.iteration < iters) {
      onCheckpoint?.(snapshot(current), 'periodic');
    }
  }
  const done = snapshot(current);
  onCheckpoint?.(done, 'done');
  return { status: 'done', checkpoint: done };
}

/** SIGINT / SIGTERM handling (see src/io/interrupt.ts): the most recently installed handler runs instead of exiting. */
export { onInterrupt } from '../io/interrupt.ts';
