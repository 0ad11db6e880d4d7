// Training: optimizers, learning-rate schedules, a pure training step, losses over the
// network's output, and the loop for long runs (progress, checkpoints, interrupts, resume).
export { type Schedule, ScheduleError, constant, stepDecay, exponentialDecay, cosineDecay, stepwise, warmup, parseSchedule } from './schedules.ts';
export {
  type Optimizer, type OptimizerState, type Params, type AdamOptions, type SgdOptions, OptimizerError, adam, sgd, optimizerStateToJSON,
  optimizerStateFromJSON,
} from './optimizers.ts';
export {
  type Projection, type LossFn, type LossFnAsync, type StepResult, type TrainStep, type TrainStepAsync, type TrainStepOptions,
  type TrainStepAsyncOptions, TrainError, clampProjection, networkProjection, makeTrainStep, makeTrainStepAsync, gradientNorm,
} from './step.ts';
export {
  type Recording, type SimulateOptions, countRecorded, maskedMSE, simulateActivity, simulateActivityAsync, simulateStates, simulateStatesAsync,
  simulationPlan, edgeCurrents,
} from './losses.ts';
export {
  type Plan, type PlanCall, runPlan, runPlanAsync, planSimulate, planSteadyState, planResponses, planValueAndGrad, planPause, yieldToEventLoop,
} from './plan.ts';
export {
  type TrainCheckpoint, type CheckpointReason, type TrainLoopOptions, type TrainResult, initialCheckpoint, train, onInterrupt,
} from './loop.ts';
export { type ProgressOptions, type ProgressStream, Progress, formatDuration } from './progress.ts';
export {
  type RunDescription, TRAIN_STATE_FORMAT, TRAIN_STATE_VERSION, TrainStateError, trainStatePath, trainStateToJSON, writeTrainState,
  readTrainState,
} from './state.ts';
