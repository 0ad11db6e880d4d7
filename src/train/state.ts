// Training checkpoints on disk. A run writes two files, each atomically:
//   FIT.json        the parameters as flyvis's state_dict JSON (what loadCheckpoint reads), and
//   FIT.train.json  what resuming needs: iteration, trainable parameters, optimizer state,
//                   loss history, and a description of the run (inputs' digests, settings)
//                   so that --resume refuses to continue a different run.
// Float32 values survive JSON exactly, so a resumed run continues bit for bit. A writer may
// record extra fields (flyvis fit records `checkpoint_sha256`, the SHA-256 of the FIT.json
// written with it, so that a pair left inconsistent by a kill between the two renames is
// recognised and FIT.json rewritten from FIT.train.json on --resume).
import { BoundedReadError, MAX_JSON_BYTES, readTextFileBounded } from '../io/read-bounded.ts';
import { Tensor } from '../autograd/index.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import type { TrainCheckpoint } from './loop.ts';
import { type Optimizer, type Params, optimizerStateFromJSON, optimizerStateToJSON } from './optimizers.ts';

export const TRAIN_STATE_FORMAT = 'flyvis-ts.train-state';
export const TRAIN_STATE_VERSION = 1;

/** Settings and input digests that must match for a run to be resumed. */
export type RunDescription = Readonly<Record<string, string | number | boolean>>;

export class TrainStateError extends Error {
  override name = 'TrainStateError';
}

/** The training-state file beside a checkpoint: fit.json -> fit.train.json. */
export function trainStatePath(checkpointFile: string): string {
  return checkpointFile.endsWith('.json') ? `${checkpointFile.slice(0, -5)}.train.json` : `${checkpointFile}.train.json`;
}

export function trainStateToJSON(checkpoint: TrainCheckpoint, optimizer: Optimizer, run: RunDescription, extra: Readonly<Record<string, unknown>> = {}): object {
  return {
    format: TRAIN_STATE_FORMAT,
    version: TRAIN_STATE_VERSION,
    iteration: checkpoint.iteration,
    ...extra,
    run,
    optimizer: { name: optimizer.name, hyper: optimizer.hyper },
    params: Object.fromEntries(Object.entries(checkpoint.params).map(([k, t]) => [k, Array.from(t.data)])),
    optimizer_state: optimizerStateToJSON(checkpoint.optimizerState),
    losses: checkpoint.losses,
  };
}

export function writeTrainState(file: string, checkpoint: TrainCheckpoint, optimizer: Optimizer, run: RunDescription): void {
  writeFileAtomic(file, `${JSON.stringify(trainStateToJSON(checkpoint, optimizer, run))}\n`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// Numbers as written (JSON.stringify would show 1e400, parsed as Infinity, as 'null').
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 60));

/**
 * Reads a training-state file and checks it against this run: same optimizer and
 * hyper-parameters, the same run description, parameters shaped like `template`. Every problem
 * is reported at once, naming the field. Returns the checkpoint to continue from.
 */
export function readTrainState(file: string, optimizer: Optimizer, template: Params, run: RunDescription): TrainCheckpoint {
  let json: unknown;
  try {
    json = JSON.parse(readTextFileBounded(file, MAX_JSON_BYTES, 'JSON input'));
  } catch (e) {
    if (e instanceof BoundedReadError) throw new TrainStateError(e.message);
    const err = e as NodeJS.ErrnoException;
    throw new TrainStateError(`${file}: ${err.code ? `cannot read (${err.code})` : `not valid JSON (${err.message})`}`);
  }
  if (!isObject(json) || json.format !== TRAIN_STATE_FORMAT) {
    throw new TrainStateError(`${file}: format: expected '${TRAIN_STATE_FORMAT}', got ${show(isObject(json) ? json.format : json)}`);
  }
  const problems: string[] = [];
  if (json.version !== TRAIN_STATE_VERSION) problems.push(`version: expected ${TRAIN_STATE_VERSION}, got ${show(json.version)}`);
  const iteration = json.iteration;
  if (typeof iteration !== 'number' || !Number.isSafeInteger(iteration) || iteration < 0) problems.push(`iteration: expected an integer >= 0, got ${show(iteration)}`);
  const opt = json.optimizer;
  if (!isObject(opt) || opt.name !== optimizer.name) {
    problems.push(`optimizer.name: this run uses ${optimizer.name}, the file has ${show(isObject(opt) ? opt.name : opt)}`);
  } else {
    for (const [k, v] of Object.entries(optimizer.hyper)) {
      const had = isObject(opt.hyper) ? opt.hyper[k] : undefined;
      if (had !== v) problems.push(`optimizer.hyper.${k}: this run uses ${v}, the file has ${show(had)}`);
    }
  }
  const savedRun = isObject(json.run) ? json.run : {};
  for (const key of new Set([...Object.keys(run), ...Object.keys(savedRun)])) {
    if (savedRun[key] !== run[key]) problems.push(`run.${key}: this run has ${show(run[key])}, the file has ${show(savedRun[key])}`);
  }
  const params: Record<string, Tensor> = {};
  const given = isObject(json.params) ? json.params : null;
  if (given === null) problems.push(`params: expected an object of parameter arrays, got ${show(json.params)}`);
  else {
    for (const k of Object.keys(given)) if (!(k in template)) problems.push(`params.${k}: unknown parameter (expected ${Object.keys(template).join(', ')})`);
    for (const [k, t] of Object.entries(template)) {
      const list = given[k];
      if (!Array.isArray(list) || list.length !== t.size || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        problems.push(`params.${k}: expected ${t.size} finite numbers`);
      } else params[k] = new Tensor(Float32Array.from(list as number[]), t.shape);
    }
  }
  const losses = json.losses;
  if (!Array.isArray(losses) || !losses.every((x) => typeof x === 'number' && Number.isFinite(x)) || losses.length !== iteration) {
    problems.push(`losses: expected ${show(iteration)} finite numbers (one per iteration done)`);
  }
  let optimizerState;
  try {
    optimizerState = optimizerStateFromJSON(json.optimizer_state, optimizer, template, 'optimizer_state');
    if (optimizerState.step !== iteration) problems.push(`optimizer_state.step: expected ${show(iteration)} (the iteration), got ${optimizerState.step}`);
  } catch (e) {
    problems.push((e as Error).message);
  }
  if (problems.length > 0) throw new TrainStateError(`${file}: ${problems.join('; ')}`);
  return { iteration: iteration as number, params, optimizerState: optimizerState!, losses: losses as number[] };
}
