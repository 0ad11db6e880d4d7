// Node edge of `flyvis train`: the results directory in flyvis 1.x's layout (what
// MultiTaskSolver and datamate write; flyvis's NetworkView and loadNetworkDir read it) and the
// run state that --resume continues from.
//
//   _meta.yaml                      {"config": {type: NetworkDir, network, task, optim, penalizer, scheduler, ...}, "status": "done"} (JSON)
//   chkpts/chkpt_NNNNN              torch.save of flyvis's checkpoint dict (solver.ts: flyvisCheckpointDict)
//   chkpt_index.h5, chkpt_iter.h5   per checkpoint: its number, and updates done - 1
//   best_chkpt_index.h5, dt.h5      the checkpoint of lowest val_loss, the time step
//   loss.h5, loss_flow.h5, activity.h5, activity_min.h5, activity_max.h5   per iteration
//   time_trained.h5                 seconds
//   validation/loss.h5, loss_flow.h5, iteration.h5   Solver.test per checkpoint (t_pre 0.25)
//   validation/l2norm.h5, epe.h5    validate_all_checkpoints per checkpoint (t_pre 0.5)
//   flyvis-ts-train-state.json      the run state (parameters, optimisers, logs): not flyvis's
//
// HDF5 datasets are float64 (h5py would store the integer logs as int64; the values are the same).
// At a checkpoint the torch file is written first, then the logs, then the run state, each
// atomically; the run state is the record: on --resume every log is rewritten from it and
// checkpoint files it does not list (left by a kill in between) are removed.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor } from '../autograd/index.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { writeHdf5Dataset } from '../io/hdf5.ts';
import { BoundedReadError, readTextFileBounded } from '../io/read-bounded.ts';
import { saveTorchFile } from '../io/torch/node.ts';
import type { TorchDict } from '../io/torch/values.ts';
import { type OptimizerState, type Params, optimizerStateFromJSON, optimizerStateToJSON } from '../train/optimizers.ts';
import type { DecoderParams } from './decoder.ts';
import type { FlowSolver } from './solver.ts';
import type { FlowCheckpointRecord, FlowRun, FlowTrainHistory } from './train-loop.ts';

export const TRAIN_STATE_FILE = 'flyvis-ts-train-state.json';
export const FLOW_TRAIN_STATE_FORMAT = 'flyvis-ts.flow-train-state';
export const FLOW_TRAIN_STATE_VERSION = 1;
/** The run state holds every iteration's logs: allow large files. */
const MAX_STATE_BYTES = 1 << 30;

export class TrainRunError extends Error {
  override name = 'TrainRunError';
}

/** Settings that must match for a run to be resumed. */
export type FlowRunDescription = Readonly<Record<string, string | number | boolean>>;

/** chkpt_00007 */
export const checkpointName = (index: number): string => `chkpt_${String(index).padStart(5, '0')}`;

/** _meta.yaml as datamate writes it for a network directory (JSON, which is YAML). */
export function metaText(config: Readonly<Record<string, unknown>>): string {
  return `${JSON.stringify({ config: { type: 'NetworkDir', ...config }, status: 'done' })}\n`;
}

/** Writes a checkpoint's torch file (archive folder named after the file, as torch 1.x's torch.save to a path). */
export function writeCheckpointFile(dir: string, index: number, dict: TorchDict): string {
  mkdirSync(join(dir, 'chkpts'), { recursive: true });
  const file = join(dir, 'chkpts', checkpointName(index));
  saveTorchFile(file, dict, { archiveName: checkpointName(index) });
  return file;
}

/** Lowest val_loss, the first of equals (flyvis's `if val_loss < self._val_loss`). */
export function bestCheckpointIndex(records: readonly FlowCheckpointRecord[]): number {
  let best = -1;
  let value = Infinity;
  for (const r of records) {
    if (r.valLoss < value) {
      value = r.valLoss;
      best = r.index;
    }
  }
  return best;
}

/** Writes every HDF5 log of the run (flyvis's files, from the history). */
export async function writeLogs(dir: string, solver: FlowSolver, h: FlowTrainHistory): Promise<void> {
  mkdirSync(join(dir, 'validation'), { recursive: true });
  const c = h.checkpoints;
  const w = (name: string, values: number | readonly number[]): Promise<void> => writeHdf5Dataset(join(dir, name), values as number | number[]);
  await w('chkpt_index.h5', c.map((r) => r.index));
  await w('chkpt_iter.h5', c.map((r) => r.iteration - 1));
  const best = bestCheckpointIndex(c);
  if (best >= 0) await w('best_chkpt_index.h5', best);
  await w('dt.h5', solver.dt);
  if (h.loss.length > 0) {
    await w('loss.h5', h.loss);
    await w('loss_flow.h5', h.lossFlow);
    await w('activity.h5', h.activity);
    await w('activity_min.h5', h.activityMin);
    await w('activity_max.h5', h.activityMax);
  }
  await w('time_trained.h5', h.timeTrained);
  await w('validation/loss.h5', c.map((r) => r.valLoss));
  await w('validation/loss_flow.h5', c.map((r) => r.valLoss));
  await w('validation/iteration.h5', c.map((r) => r.iteration));
  await w('validation/l2norm.h5', c.map((r) => r.valL2norm));
  await w('validation/epe.h5', c.map((r) => r.valEpe));
}

// ------------------------------------------------------------------------------ the run state

const arrays = (p: Readonly<Record<string, Tensor>>): Record<string, number[]> => Object.fromEntries(Object.entries(p).map(([k, t]) => [k, Array.from(t.data)]));
// JSON has no NaN or infinities: they are written as strings
const num = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
const unnum = (x: unknown): number => (typeof x === 'number' ? x : x === 'NaN' ? NaN : x === 'Infinity' ? Infinity : x === '-Infinity' ? -Infinity : NaN);

/** The run state as JSON text. */
export function runStateText(solver: FlowSolver, run: FlowRun, description: FlowRunDescription): string {
  const h = run.history;
  return `${JSON.stringify({
    format: FLOW_TRAIN_STATE_FORMAT,
    version: FLOW_TRAIN_STATE_VERSION,
    iteration: run.state.iteration,
    run: description,
    network: arrays(run.state.network),
    decoder: arrays(run.state.decoder),
    epoch_start: arrays(run.epochStart),
    optim_net: optimizerStateToJSON(run.state.optimNet),
    optim_dec: optimizerStateToJSON(run.state.optimDec),
    optim_pen: optimizerStateToJSON(run.state.optimPen),
    history: {
      loss: h.loss.map(num), loss_flow: h.lossFlow.map(num), activity: h.activity.map(num), activity_min: h.activityMin.map(num),
      activity_max: h.activityMax.map(num), penalty: h.penalty.map(num), time_trained: h.timeTrained,
      checkpoints: h.checkpoints.map((r) => ({ ...r, valLoss: num(r.valLoss), valL2norm: num(r.valL2norm), valEpe: num(r.valEpe) })),
    },
  })}\n`;
}

export function writeRunState(dir: string, solver: FlowSolver, run: FlowRun, description: FlowRunDescription): void {
  writeFileAtomic(join(dir, TRAIN_STATE_FILE), runStateText(solver, run, description));
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 60));

/**
 * Reads a run state and checks it against this run (the same description, parameters shaped as
 * the templates). Every problem is named in one TrainRunError.
 */
export function readRunState(
  file: string,
  solver: FlowSolver,
  templates: { network: Params; decoder: DecoderParams },
  description: FlowRunDescription,
): FlowRun {
  let json: unknown;
  try {
    json = JSON.parse(readTextFileBounded(file, MAX_STATE_BYTES, 'the run state'));
  } catch (e) {
    if (e instanceof BoundedReadError) throw new TrainRunError(e.message);
    const code = (e as NodeJS.ErrnoException).code;
    throw new TrainRunError(`${file}: ${code ? `cannot read (${code})` : `not valid JSON (${(e as Error).message})`}`);
  }
  if (!isRecord(json) || json.format !== FLOW_TRAIN_STATE_FORMAT) {
    throw new TrainRunError(`${file}: format: expected '${FLOW_TRAIN_STATE_FORMAT}' (a flyvis train run state), got ${show(isRecord(json) ? json.format : json)}`);
  }
  const problems: string[] = [];
  if (json.version !== FLOW_TRAIN_STATE_VERSION) problems.push(`version: expected ${FLOW_TRAIN_STATE_VERSION}, got ${show(json.version)}`);
  const saved = isRecord(json.run) ? json.run : {};
  for (const key of new Set([...Object.keys(description), ...Object.keys(saved)])) {
    if (saved[key] !== description[key]) problems.push(`${key}: this run has ${show(description[key])}, the saved run ${show(saved[key])}`);
  }
  if (problems.length > 0) throw new TrainRunError(`${file}: a different run: ${problems.join('; ')}; start a new one in another directory, or run with the saved settings`);
  const iteration = json.iteration;
  if (!Number.isSafeInteger(iteration) || (iteration as number) < 0) problems.push(`iteration: expected an integer >= 0, got ${show(iteration)}`);
  const tensors = (key: string, template: Readonly<Record<string, Tensor>>): Record<string, Tensor> => {
    const given = json[key];
    const out: Record<string, Tensor> = {};
    if (!isRecord(given)) {
      problems.push(`${key}: expected an object of arrays`);
      return out;
    }
    for (const k of Object.keys(given)) if (!(k in template)) problems.push(`${key}.${k}: unknown`);
    for (const [k, t] of Object.entries(template)) {
      const list = given[k];
      if (!Array.isArray(list) || list.length !== t.size || !list.every((x) => typeof x === 'number' && Number.isFinite(x))) problems.push(`${key}.${k}: expected ${t.size} finite numbers`);
      else out[k] = new Tensor(t.data instanceof Float64Array ? Float64Array.from(list) : Float32Array.from(list), t.shape);
    }
    return out;
  };
  const network = tensors('network', templates.network);
  const decoder = tensors('decoder', templates.decoder);
  const epochStart = tensors('epoch_start', templates.network);
  const optim = (key: string, opt: Parameters<typeof optimizerStateFromJSON>[1] | null, params: Params): OptimizerState => {
    if (opt === null) return { step: isRecord(json[key]) && Number.isSafeInteger(json[key].step) ? (json[key].step as number) : 0, slots: {} };
    try {
      return optimizerStateFromJSON(json[key], opt, params, key);
    } catch (e) {
      problems.push((e as Error).message);
      return opt.init(params);
    }
  };
  const decTrainable = Object.fromEntries(solver.decoder.parameterNames.map((k) => [k, templates.decoder[k]!]));
  const pen = Object.fromEntries(solver.penalized.map((k) => [k, templates.network[k]!]));
  const optimNet = optim('optim_net', solver.optimNet, templates.network);
  const optimDec = optim('optim_dec', solver.optimDec, decTrainable);
  const optimPen = optim('optim_pen', solver.optimPen, pen);
  const h = isRecord(json.history) ? json.history : {};
  const list = (k: string): number[] => {
    const v = h[k];
    if (!Array.isArray(v) || v.length !== iteration) {
      problems.push(`history.${k}: expected ${show(iteration)} values (one per iteration done)`);
      return [];
    }
    return v.map(unnum);
  };
  const history: FlowTrainHistory = {
    loss: list('loss'), lossFlow: list('loss_flow'), activity: list('activity'), activityMin: list('activity_min'), activityMax: list('activity_max'),
    penalty: list('penalty'), checkpoints: [], timeTrained: typeof h.time_trained === 'number' ? h.time_trained : 0,
  };
  const cps = h.checkpoints;
  if (!Array.isArray(cps) || cps.length === 0) problems.push('history.checkpoints: expected at least the initial checkpoint');
  else {
    cps.forEach((r: unknown, i) => {
      if (!isRecord(r) || r.index !== i || !Number.isSafeInteger(r.iteration) || typeof r.time !== 'string') problems.push(`history.checkpoints[${i}]: malformed`);
      else history.checkpoints.push({ index: i, iteration: r.iteration as number, valLoss: unnum(r.valLoss), valL2norm: unnum(r.valL2norm), valEpe: unnum(r.valEpe), time: r.time });
    });
  }
  for (const [k, s] of [['optim_net', optimNet], ['optim_dec', optimDec]] as const) {
    if (s.step !== iteration) problems.push(`${k}.step: expected ${show(iteration)} (the iteration), got ${s.step}`);
  }
  if (problems.length > 0) throw new TrainRunError(`${file}: ${problems.join('; ')}`);
  return { state: { iteration: iteration as number, network, decoder, optimNet, optimDec, optimPen }, epochStart, history };
}

/** Checkpoint files beyond the run state's last one (left by a kill between writing one and the state): removed before resuming. */
export function removeUnrecordedCheckpoints(dir: string, recorded: number): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(join(dir, 'chkpts'));
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = /^chkpt_(\d{5,})$/.exec(name);
    if (m && Number(m[1]) >= recorded) {
      rmSync(join(dir, 'chkpts', name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}
