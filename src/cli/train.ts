// `flyvis train --task flow --out DIR [--extent N] [--iters K] [--batch-size B]
//  [--dataset procedural|sintel:PATH] [--seed S] [--resume] [--init DIR_OR_CKPT] [--kernel NAME]`
//  (a contract).
//
// Trains a network and its flow decoder as flyvis's MultiTaskSolver does (src/task/solver.ts: Adam
// for network and decoder with flyvis's stepwise learning rates from 5e-5 to 5e-6, batches of 4
// movies from the grey state of each epoch, the activity penalty with its own SGD, clamping,
// checkpoints with validation on held-out items) and writes a results directory in flyvis 1.x's
// layout (src/task/train-results.ts) that flyvis's NetworkView and loadNetworkDir load. Progress
// on stderr (iteration, loss, the last validation EPE, time left); Ctrl-C (SIGINT / SIGTERM)
// finishes the current iteration or checkpoint, saves the run state and exits 130; --resume
// continues it exactly as if it had not stopped. An existing DIR is refused without --resume. Bad
// input: one line naming the flag or file, exit 2, nothing written. The last stdout line is a JSON
// summary. Simulations run through the network's asynchronous methods (src/task/train-loop.ts), so
// every --kernel works, webgpu included; the backend is not part of the run's description, so a
// run may be resumed on another one.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { connectomeDataDir, connectomeFileOf } from '../graph/paths.ts';
import { FlowDatasetError } from '../datasets/flow/errors.ts';
import { flowDatasetFromSpec } from '../datasets/flow/spec.ts';
import type { FlowDataset } from '../datasets/flow/types.ts';
import { openOutputs } from '../io/output.ts';
import { onInterrupt } from '../io/interrupt.ts';
import { loadParamsSource, readCheckpointFile } from '../results/index.ts';
import {
  type DecoderParams, FLOW_DECODER_CONFIG, decoderGAVP, decoderParamsFromStateDict, initDecoderParams,
} from '../task/decoder.ts';
import { DecoderError } from '../task/hex-map.ts';
import { type FlowSolverConfig, SolverConfigError, defaultSolverConfig, initialTrainState, makeFlowSolver } from '../task/solver.ts';
import { type FlowRun, datasetValidationSet, emptyHistory, trainFlow } from '../task/train-loop.ts';
import {
  type FlowRunDescription, TRAIN_STATE_FILE, TrainRunError, bestCheckpointIndex, checkpointName, readRunState, removeUnrecordedCheckpoints,
  metaText, writeCheckpointFile, writeLogs, writeRunState,
} from '../task/train-results.ts';
import { ScheduleConfigError } from '../task/train-schedule.ts';
import { formatDuration } from '../train/progress.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand, setInterruptNote } from './args.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, KERNEL_OPTION, connectomeInputs, networkFromOptions } from './common.ts';

const DEFAULTS = defaultSolverConfig();

const OPTIONS = {
  task: { type: 'string', metavar: 'TASK', help: "the task: flow (flyvis's optic-flow task)" },
  out: { type: 'string', metavar: 'DIR', help: "the results directory to create (flyvis 1.x's layout: chkpts/, validation/, _meta.yaml)" },
  ...CONNECTOME_OPTIONS,
  iters: { type: 'integer', metavar: 'K', min: 0, default: DEFAULTS.task.n_iters, help: "training iterations (flyvis's task.n_iters; the learning rates step down over them)" },
  'batch-size': { type: 'integer', metavar: 'B', min: 1, default: DEFAULTS.task.batch_size, help: 'movies per iteration' },
  dataset: { type: 'string', metavar: 'SPEC', default: 'procedural', help: 'procedural (rendered scenes with exact flow) or sintel:PATH (MPI Sintel at PATH)' },
  seed: { type: 'integer', metavar: 'S', min: 0, default: DEFAULTS.task.seed, help: 'seed of the procedural scenes, the batch order, augmentations and dropout' },
  resume: { type: 'boolean', help: 'continue the run saved in DIR (after Ctrl-C), exactly as if it had not stopped' },
  init: { type: 'string', metavar: 'DIR_OR_CKPT', help: "start from a network directory or checkpoint: its network (and flow decoder when it has one) (default: flyvis's initialization)" },
  lr: { type: 'string', metavar: 'START[:STOP]', help: "learning rates of network, decoder and activity penalty, stepwise from START to STOP over the run (default flyvis's 5e-5:5e-6)" },
  'checkpoint-every': { type: 'integer', metavar: 'N', min: 0, help: "checkpoint with validation every N iterations (default: flyvis's 300 epochs; 0: at the start and the end only)" },
  'train-items': { type: 'integer', metavar: 'N', min: 1, help: 'procedural: training scenes (default 256)' },
  'val-items': { type: 'integer', metavar: 'N', min: 1, help: 'procedural: held-out validation scenes (default 32)' },
  'progress-every': { type: 'number', metavar: 'SECONDS', min: 0, default: 10, help: 'least time between progress lines when stderr is not a terminal' },
  check: { type: 'boolean', help: 'check every option, input and output as a run would, then exit 0 without writing anything (last stdout line {"status": "checked", ...})' },
  ...KERNEL_OPTION,
} as const satisfies OptionSpecs;

const SUMMARY =
  "Trains a network and its flow decoder as flyvis's solver does and writes a results directory in\n" +
  "flyvis 1.x's layout (chkpts/chkpt_NNNNN, validation/loss.h5 and epe.h5, _meta.yaml). Ctrl-C saves\n" +
  'the run; --resume continues it. The last stdout line is a JSON summary.';

type TrainOptions = ReturnType<typeof parseArgs<typeof OPTIONS>>['options'];

const digest = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'train',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('train', SUMMARY, OPTIONS));
        return 0;
      }
      if (o.task === undefined) throw new UsageError('--task is required (flow)');
      if (o.task !== 'flow') throw new UsageError(`--task: expected flow (flyvis's optic-flow task), got '${o.task}'`);
      if (o.out === undefined) throw new UsageError('--out is required (the results directory to create)');
      const procedural = o.dataset === 'procedural';
      if (!procedural && !/^sintel:./.test(o.dataset)) {
        throw new FlowDatasetError(`--dataset: expected 'procedural' or 'sintel:PATH' (an MPI Sintel folder), got '${o.dataset}'`);
      }
      if (!procedural) {
        for (const f of ['train-items', 'val-items'] as const) {
          if (o[f] !== undefined) throw new UsageError(`--${f}: applies to --dataset procedural only (Sintel's split decides), got --dataset ${o.dataset}`);
        }
      }
      const outs = openOutputs('train', [{ flag: 'out', path: o.out, kind: 'dir', files: [TRAIN_STATE_FILE, '_meta.yaml'] }], [
        ...connectomeInputs({ connectome: o.connectome, params: o.init }).map((i) => (i.flag === 'params' ? { ...i, flag: 'init' } : i)),
      ]);
      try {
        return await trainRun(o, outs);
      } finally {
        outs.release();
      }
    },
    [...BAD_INPUT, FlowDatasetError, SolverConfigError, ScheduleConfigError, DecoderError, TrainRunError],
  );
}

async function trainRun(o: TrainOptions, outs: ReturnType<typeof openOutputs>): Promise<number> {
  const out = o.out!;
  const dir = resolve(out);
  const exists = existsSync(dir);
  if (exists && !statSync(dir).isDirectory()) throw new UsageError(`--out ${out}: is a file, expected a directory to create`);
  const stateFile = join(dir, TRAIN_STATE_FILE);
  if (!o.resume && exists) {
    const what = existsSync(stateFile) ? 'holds a flyvis train run; continue it with --resume' : 'already exists; name a new directory';
    throw new UsageError(`--out ${out}: ${what} (flyvis train never writes into an existing directory otherwise)`);
  }
  if (o.resume && !existsSync(stateFile)) {
    throw new UsageError(`--resume: ${exists ? `${out} holds no flyvis train run (no ${TRAIN_STATE_FILE})` : `${out} does not exist`}; run without --resume to start one`);
  }
  const warn = (m: string): void => void process.stderr.write(`flyvis train: warning: ${m}\n`);
  // the network (with --init's network parameters) and the flow decoder
  const net = await networkFromOptions({ ...o, params: o.init }, { kernel: o.kernel }, warn);
  const decoderConfig = { ...FLOW_DECODER_CONFIG, shape: [...FLOW_DECODER_CONFIG.shape] };
  let decoder;
  try {
    decoder = decoderGAVP(decoderConfig, net.connectome);
  } catch (e) {
    if (!(e instanceof DecoderError)) throw e;
    throw new DecoderError(`the connectome cannot feed flyvis's flow decoder: ${e.message}`, { cause: e });
  }
  let decoderParams: DecoderParams = initDecoderParams(decoder);
  let initFrom = "flyvis's initialization";
  if (o.init !== undefined) {
    const source = await loadParamsSource(o.init);
    initFrom = source.description;
    if (source.kind !== 'json') {
      const flow = readCheckpointFile(source.file).decoder?.flow;
      if (flow !== undefined) {
        try {
          decoderParams = decoderParamsFromStateDict(decoder, flow, { where: `${source.file}: decoder.flow` });
        } catch (e) {
          if (!(e instanceof DecoderError)) throw e;
          throw new DecoderError(`--init: ${e.message}`, { cause: e });
        }
        initFrom += ' (network and flow decoder)';
      } else initFrom += ' (network; the flow decoder from flyvis\'s initialization)';
    }
  }
  // the datasets: flyvis's augmentation for training, none for validation
  const dt = DEFAULTS.scheduler.dt.start;
  const common = { extent: o.extent, seed: o.seed, dt };
  const train: FlowDataset = flowDatasetFromSpec(o.dataset, { ...common, split: 'train', ...(o['train-items'] !== undefined ? { nSequences: o['train-items'] } : {}) });
  const validation: FlowDataset = flowDatasetFromSpec(o.dataset, { ...common, split: 'validation', augment: false, ...(o['val-items'] !== undefined ? { nSequences: o['val-items'] } : {}) });
  if (validation.length === 0) throw new FlowDatasetError(`--dataset ${o.dataset}: the validation split has no items`);

  const lr = learningRates(o.lr);
  const schedule = (s: FlowSolverConfig['scheduler']['lr_net']) => ({ ...s, start: lr.start, stop: lr.stop });
  const config: FlowSolverConfig = {
    ...DEFAULTS,
    task: { ...DEFAULTS.task, n_iters: o.iters, batch_size: o['batch-size'], seed: o.seed, dataset: datasetConfig(o, train, validation) },
    optim: { ...DEFAULTS.optim, optim_dec: { lr: lr.start }, optim_net: { lr: lr.start } },
    scheduler: { ...DEFAULTS.scheduler, lr_net: schedule(DEFAULTS.scheduler.lr_net), lr_dec: schedule(DEFAULTS.scheduler.lr_dec), lr_pen: schedule(DEFAULTS.scheduler.lr_pen) },
  };
  const solver = makeFlowSolver(config, net, decoder, {
    trainItems: train.length,
    ...(o['checkpoint-every'] !== undefined ? { checkpointEvery: o['checkpoint-every'] } : {}),
  });
  const connectomeFile = connectomeFileOf(o.connectome);
  const description: FlowRunDescription = {
    task: 'flow',
    connectome: digest(connectomeFile),
    extent: o.extent,
    n_syn_fill: o['n-syn-fill'],
    dataset: o.dataset,
    train_items: train.length,
    val_items: validation.length,
    iters: o.iters,
    batch_size: o['batch-size'],
    seed: o.seed,
    checkpoint_every: solver.checkpointEvery,
    lr: `${lr.start}:${lr.stop}`,
    init: o.init === undefined ? 'default' : statSync(o.init).isDirectory() ? `dir ${resolve(o.init)}` : digest(o.init),
  };
  const meta = {
    ensemble_and_network_id: basename(dir),
    task_name: 'flow',
    train: true,
    resume: false,
    checkpoint_only: false,
    network_name: `flow/${basename(dir)}`,
    description: `flyvis-ts train (${o.dataset}${o.init !== undefined ? `, from ${o.init}` : ''})`,
    overfit: false,
    delete_if_exists: false,
    save_environment: false,
    // flyvis's network config; the connectome by name when it is one of data/'s (flyvis's default)
    network: {
      ...net.config,
      connectome: {
        type: 'ConnectomeFromAvgFilters',
        file: dirname(connectomeFile) === resolve(connectomeDataDir) ? basename(connectomeFile) : connectomeFile,
        extent: o.extent,
        n_syn_fill: o['n-syn-fill'],
      },
    },
    ...config,
  };

  let start: FlowRun;
  const templates = { network: net.trainableParams(), decoder: decoderParams };
  // --check: everything a run reads and refuses is checked by now (with --resume, the saved run too); nothing is written.
  if (o.check) {
    const iteration = o.resume ? readRunState(stateFile, solver, templates, description).state.iteration : 0;
    process.stdout.write(`${JSON.stringify({ status: 'checked', iteration, iters: o.iters, out: dir })}\n`);
    return 0;
  }
  if (o.resume) {
    start = readRunState(stateFile, solver, templates, description);
    const removed = removeUnrecordedCheckpoints(dir, start.history.checkpoints.length);
    if (removed.length > 0) process.stderr.write(`flyvis train: removed ${removed.join(', ')} (written after the saved run state)\n`);
    await writeLogs(dir, solver, start.history);
    setInterruptNote(`the run saved in ${out} (iteration ${start.state.iteration}) is kept`);
  } else {
    const state = initialTrainState(solver, templates.network, decoderParams);
    start = { state, epochStart: state.network, history: emptyHistory() };
    outs.stage('out', metaText(meta), '_meta.yaml');
    outs.commit(); // creates DIR
    setInterruptNote(`${out} holds no checkpoint yet`);
  }

  const iters = o.iters;
  const nParams = Object.values(templates.network).reduce((n, t) => n + t.size, 0) + decoder.parameterNames.reduce((n, k) => n + decoderParams[k]!.size, 0);
  process.stderr.write(
    `flyvis train: ${nParams} trainable parameters (network and flow decoder), ${train.length} training and ${validation.length} validation items ` +
      `(${o.dataset}, extent ${o.extent}), batch ${o['batch-size']}, ${solver.epochLength} iterations per epoch; from ${initFrom}; ` +
      `iterations ${start.state.iteration + 1}-${iters}, checkpoints ${solver.checkpointEvery > 0 ? `every ${solver.checkpointEvery} iterations` : 'at the start and the end'} in ${out}\n`,
  );

  const progress = new TrainProgress(iters, start.state.iteration, solver.checkpointEvery, o['progress-every'] * 1000);
  let interrupted = false;
  const release = onInterrupt(() => {
    interrupted = true;
    progress.note('interrupt: finishing the current iteration, then saving the run');
  });
  let result;
  try {
    result = await trainFlow({
      solver,
      train,
      validation: datasetValidationSet(validation),
      start,
      seed: o.seed,
      onCheckpoint: async (r, dict, record) => {
        writeCheckpointFile(dir, record.index, dict);
        await writeLogs(dir, solver, r.history);
        writeRunState(dir, solver, r, description);
        setInterruptNote(`the run saved in ${out} (iteration ${r.state.iteration}) is kept`);
        progress.checkpoint(record.index, record.iteration, record.valLoss, record.valEpe);
      },
      onStop: (r) => writeRunState(dir, solver, r, description),
      onIteration: (done, loss, epe) => progress.update(done, loss, epe),
      onValidation: (phase, done, total) => progress.validation(phase, done, total),
      interrupted: () => interrupted,
    });
  } finally {
    progress.finish();
    release();
  }
  const h = result.run.history;
  const best = bestCheckpointIndex(h.checkpoints);
  const summary = {
    status: result.status,
    iters,
    iteration: result.run.state.iteration,
    checkpoints: h.checkpoints.length,
    best_checkpoint: best >= 0 ? checkpointName(best) : null,
    initial_val_epe: h.checkpoints[0]?.valEpe ?? null,
    val_epe: h.checkpoints.at(-1)?.valEpe ?? null,
    val_loss: h.checkpoints.at(-1)?.valLoss ?? null,
    out: dir,
  };
  if (result.status === 'interrupted') {
    process.stderr.write(`flyvis train: interrupted at iteration ${result.run.state.iteration} of ${iters}; the run is saved in ${out} (continue with --resume)\n`);
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 130;
  }
  if (result.status === 'nonfinite') {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.stderr.write(
      `flyvis train: error: the loss is not finite at iteration ${result.iteration + 1} (loss ${result.loss}, penalty ${result.penalty}); stopped, keeping ` +
        `the run at iteration ${result.run.state.iteration} in ${out} and its last checkpoint ${checkpointName(h.checkpoints.length - 1)}\n`,
    );
    return 1;
  }
  process.stderr.write(`flyvis train: done: ${h.checkpoints.length} checkpoints in ${join(out, 'chkpts')}, best ${summary.best_checkpoint} (validation loss)\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}

/** --lr START[:STOP] (STOP defaults to START / 10, as flyvis's 5e-5 to 5e-6). */
function learningRates(text: string | undefined): { start: number; stop: number } {
  if (text === undefined) return { start: DEFAULTS.scheduler.lr_net.start, stop: DEFAULTS.scheduler.lr_net.stop };
  const parts = text.split(':');
  const nums = parts.map((x) => (x.trim() === '' ? NaN : Number(x)));
  if (parts.length > 2 || !nums.every((x) => Number.isFinite(x) && x > 0)) {
    throw new UsageError(`--lr: expected START or START:STOP, positive numbers (e.g. 5e-5:5e-6), got '${text}'`);
  }
  return { start: nums[0]!, stop: nums[1] ?? nums[0]! / 10 };
}

/** task.dataset of _meta.yaml: flyvis's MultiTaskSintel config for Sintel, the procedural dataset's own otherwise. */
function datasetConfig(o: TrainOptions, train: FlowDataset, validation: FlowDataset): Record<string, unknown> {
  const boxfilter = { extent: o.extent, kernel_size: 13 };
  if (o.dataset === 'procedural') {
    return {
      type: 'ProceduralFlow', tasks: ['flow'], boxfilter, n_frames: 19, dt: train.dt, augment: true, seed: o.seed,
      n_train: train.length, n_validation: validation.length, p_flip: 0.5, p_rot: 0.5, contrast_std: 0.2, brightness_std: 0.1,
      gaussian_white_noise: 0.08, flip_axes: [0, 1, 2, 3],
    };
  }
  return { ...DEFAULTS.task.dataset, boxfilter, path: resolve(o.dataset.slice('sintel:'.length)) };
}

/** Progress on stderr: iteration, loss, last validation EPE, time per iteration, time left (validations included). */
class TrainProgress {
  private readonly tty = process.stderr.isTTY === true;
  private readonly started = performance.now();
  private last = -Infinity;
  private drawn = false;
  private validating = 0;
  private validationMs = 0;
  private validations = 0;
  private validationStart = 0;

  constructor(
    private readonly total: number,
    private readonly startIteration: number,
    private readonly checkpointEvery: number,
    private readonly intervalMs: number,
  ) {}

  private write(text: string, force: boolean): void {
    const t = performance.now();
    if (!force && t - this.last < (this.tty ? 200 : this.intervalMs)) return;
    this.last = t;
    if (this.tty) {
      process.stderr.write(`\r${text}\x1b[K`);
      this.drawn = true;
    } else process.stderr.write(`${text}\n`);
  }

  private endLine(): void {
    if (this.tty && this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }

  update(done: number, loss: number, epe: number): void {
    const elapsed = performance.now() - this.started - this.validationMs;
    const n = done - this.startIteration;
    const perIt = n > 0 ? elapsed / n : NaN;
    const valPer = this.validations > 0 ? this.validationMs / this.validations : 0;
    // the checkpoints still to come: every checkpointEvery iterations, and the last
    const every = this.checkpointEvery;
    const toCome = done >= this.total ? 0 : (every > 0 ? Math.floor((this.total - 1) / every) - Math.floor(done / every) : 0) + 1;
    const leftMs = perIt * (this.total - done) + valPer * toCome;
    const width = String(this.total).length;
    const frac = this.total > 0 ? done / this.total : 1;
    const bar = this.tty ? `[${'#'.repeat(Math.round(frac * 20)).padEnd(20, '.')}] ` : '';
    this.write(
      `flyvis train: ${bar}iter ${String(done).padStart(width)}/${this.total}  loss ${loss.toExponential(4)}  val EPE ${Number.isFinite(epe) ? epe.toFixed(4) : '-'}  ` +
        `${Number.isFinite(perIt) ? `${(perIt / 1000).toFixed(2)} s/it` : '? s/it'}  left ${done >= this.total ? '0.0s' : formatDuration(leftMs / 1000)}`,
      done >= this.total || done === this.startIteration + 1,
    );
  }

  validation(phase: 'test' | 'epe', done: number, total: number): void {
    if (this.validating === 0) this.validationStart = performance.now();
    this.validating = 1;
    this.write(`flyvis train: validating (${phase === 'test' ? 'loss, t_pre 0.25 s' : 'EPE, t_pre 0.5 s'}): ${done}/${total} items`, false);
  }

  checkpoint(index: number, iteration: number, valLoss: number, valEpe: number): void {
    if (this.validating) {
      this.validationMs += performance.now() - this.validationStart;
      this.validations++;
      this.validating = 0;
    }
    this.endLine();
    process.stderr.write(`flyvis train: ${checkpointName(index)} at iteration ${iteration}: validation loss ${valLoss.toFixed(4)}, EPE ${valEpe.toFixed(4)}\n`);
  }

  note(text: string): void {
    this.endLine();
    process.stderr.write(`flyvis train: ${text}\n`);
  }

  finish(): void {
    this.endLine();
  }
}
