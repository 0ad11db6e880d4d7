// `flyvis fit --connectome FILE --extent N [--params INIT.json] --movie MOVIE.npy
//  --target TARGET.npy --dt DT [--t-pre S] --iters K [--lr LR] [--kernel NAME] --out FIT.json`
//
// Fits the trainable parameters (biases, time constants, synapse strengths) to recorded
// activity: TARGET is float32 (batch, frames, n_nodes) with NaN where a neuron was not
// recorded; the loss is the mean squared error over recorded entries between TARGET and the
// activity `flyvis simulate` would produce with the same movie, dt and t-pre. Adam (default) or
// SGD, gradients through the whole simulation (the grey t-pre phase included), clamp after every
// update; simulations through the network's asynchronous methods and valueAndGradAsync, so every
// --kernel works, webgpu included (the same values as the synchronous path on the others). Progress on stderr from the start; every --checkpoint-every iterations FIT.json
// (state_dict JSON) and FIT.train.json (optimizer state, loss history: what --resume needs) are
// written as a pair: both staged to temporary files, then renamed (FIT.train.json first); the
// training state records the SHA-256 of its FIT.json, and --resume rewrites a FIT.json left
// behind by a kill between the two renames. An existing run is never replaced without --resume
// or --force. Every output is checked (and locked) before any work. Ctrl-C writes the pair and
// exits 130; a non-finite loss stops the run keeping the last good state (exit 2 when it happens
// at the very first iteration: the initial parameters or inputs, not the learning rate; exit 1
// later); a loss --divergence-factor times above the first stops it keeping the state with the
// lowest loss (exit 1). The last line on stdout is {"initial_loss", "final_loss", "iters",
// "status", "diverged", "iteration", "out"}.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Tensor } from '../autograd/index.ts';
import { connectomeFileOf } from '../graph/paths.ts';
import { Xoshiro128 } from '../init/index.ts';
import { openOutputs } from '../io/output.ts';
import { type NpyArray, npyToFloat32, readNpy } from '../io/npy.ts';
import { PlotError, lossCurveSpec } from '../plot/index.ts';
import {
  type Optimizer, type Params, type Recording, type RunDescription, type TrainCheckpoint, OptimizerError, Progress, ScheduleError,
  TrainStateError, adam, countRecorded, initialCheckpoint, makeTrainStepAsync, maskedMSE, networkProjection, onInterrupt, parseSchedule,
  readTrainState, sgd, simulateActivityAsync, train, trainStatePath, trainStateToJSON,
} from '../train/index.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, KERNEL_OPTION, connectomeInputs, networkFromOptions, paramsOption } from './common.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand, setInterruptNote } from './args.ts';
import { plotBytes } from './plot.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption('INIT.json', "initial parameters, a state_dict checkpoint (default: flyvis's initialization)"),
  movie: { type: 'string', metavar: 'MOVIE.npy', help: 'float32 movie of shape (batch, frames, 1, hexals)' },
  target: { type: 'string', metavar: 'TARGET.npy', help: 'float32 recorded activity (batch, frames, n_nodes), NaN where not recorded' },
  dt: { type: 'dt', metavar: 'DT', help: 'integration time step in seconds, e.g. 0.02 or 1/50' },
  't-pre': { type: 'number', metavar: 'SECONDS', min: 0, default: 1, help: 'seconds of uniform 0.5 input before the movie, from v = bias' },
  'detach-t-pre': { type: 'boolean', help: 'do not differentiate through the t-pre phase (faster, approximate gradient)' },
  iters: { type: 'integer', metavar: 'K', min: 0, help: 'total optimizer iterations (a resumed run continues up to K)' },
  optimizer: { type: 'string', metavar: 'NAME', default: 'adam', help: 'adam or sgd' },
  lr: { type: 'number', metavar: 'LR', default: 0.01, help: 'learning rate' },
  schedule: { type: 'string', metavar: 'SPEC', default: 'constant', help: 'learning-rate schedule: constant, exp:GAMMA, step:EVERY:GAMMA, cosine[:MIN_LR], stepwise:STOP:STAGES' },
  momentum: { type: 'number', metavar: 'M', min: 0, default: 0, help: 'momentum (sgd only)' },
  'batch-size': { type: 'integer', metavar: 'B', min: 1, help: 'samples per iteration, drawn with --seed (default: all samples every iteration)' },
  seed: { type: 'integer', metavar: 'S', min: 0, default: 0, help: 'seed for drawing batches' },
  'checkpoint-every': { type: 'integer', metavar: 'N', min: 0, default: 50, help: 'write the checkpoint every N iterations (0: only at the end)' },
  resume: { type: 'boolean', help: 'continue the run recorded in FIT.train.json beside --out' },
  force: { type: 'boolean', help: 'replace an existing run at --out (FIT.json / FIT.train.json) instead of refusing' },
  'divergence-factor': { type: 'number', metavar: 'X', min: 0, default: 1000, help: 'stop when the loss exceeds X times the first loss, keeping the lowest-loss parameters (0: never)' },
  out: { type: 'string', metavar: 'FIT.json', help: 'where to write the fitted parameters (state_dict JSON); FIT.train.json goes beside it' },
  'loss-plot': { type: 'string', metavar: 'FILE.svg', help: 'also plot the loss curve (.svg, or .png)' },
  'progress-every': { type: 'number', metavar: 'SECONDS', min: 0, default: 2, help: 'seconds between progress lines when stderr is not a terminal' },
  check: { type: 'boolean', help: 'check every option, input and output as a run would, then exit 0 without writing anything (last stdout line {"status": "checked", ...})' },
  ...KERNEL_OPTION,
} as const satisfies OptionSpecs;

const SUMMARY =
  'Fits the trainable parameters to recorded activity (NaN = not recorded) by minimising the mean\n' +
  'squared error of the simulated activity over recorded entries, with checkpoints, Ctrl-C safety\n' +
  'and --resume. The last stdout line is {"initial_loss", "final_loss", "iters", "status", ...}.';

/** Bad TARGET or MOVIE data. */
export class FitInputError extends Error {
  override name = 'FitInputError';
}

/** A run stopped by a non-finite loss after some updates, or by divergence (exit 1). */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
}

/** A non-finite loss or gradient at the very first iteration: the initial parameters or inputs are bad (exit 2). */
export class BadStartError extends Error {
  override name = 'BadStartError';
}

const digest = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 16);

function checkTarget(target: NpyArray, file: string, B: number, T: number, N: number): Recording {
  if (target.descr !== '<f4') throw new FitInputError(`${file}: target must be float32 ('<f4'), got '${target.descr}'`);
  const s = target.shape;
  if (s.length !== 3 || s[0] !== B || s[1] !== T || s[2] !== N) {
    throw new FitInputError(`${file}: target has shape (${s.join(', ')}), expected (${B}, ${T}, ${N}) = (movie batch, movie frames, n_nodes)`);
  }
  const data = target.data as Float32Array;
  const inf = data.findIndex((x) => x === Infinity || x === -Infinity);
  if (inf !== -1) throw new FitInputError(`${file}: target[${inf}] is ${data[inf]}, expected a finite value or NaN (not recorded)`);
  if (countRecorded(target as Recording) === 0) throw new FitInputError(`${file}: target has no recorded entries (every value is NaN)`);
  return target as Recording;
}

/** Samples [start, start + count) of a (batch, ...) array. */
function samples(x: { data: Float32Array; shape: readonly number[] }, index: readonly number[]): { data: Float32Array; shape: number[] } {
  const per = x.data.length / x.shape[0]!;
  const out = new Float32Array(index.length * per);
  index.forEach((b, k) => out.set(x.data.subarray(b * per, (b + 1) * per), k * per));
  return { data: out, shape: [index.length, ...x.shape.slice(1)] };
}

/** The samples of an iteration: all, or batchSize drawn without replacement from a generator seeded by (seed, iteration). */
export function batchIndices(n: number, batchSize: number | undefined, seed: number, iteration: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (batchSize === undefined || batchSize >= n) return all;
  const rng = new Xoshiro128((seed * 1_000_003 + iteration) % Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < batchSize; i++) {
    const j = i + (rng.nextUint32() % (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, batchSize).sort((a, b) => a - b);
}

function makeOptimizer(name: string, lr: number, schedule: string, momentum: number, iters: number): Optimizer {
  if (!(lr > 0)) throw new UsageError(`--lr: expected a positive number, got '${lr}'`);
  const s = parseSchedule(schedule, lr, Math.max(1, iters));
  if (name === 'adam') {
    if (momentum !== 0) throw new UsageError('--momentum: applies to --optimizer sgd only');
    return adam({ lr: s });
  }
  if (name === 'sgd') return sgd({ lr: s, momentum });
  throw new UsageError(`--optimizer: expected adam or sgd, got '${name}'`);
}

export function run(argv: readonly string[]): Promise<number> {
  return runCommand(
    'fit',
    async () => {
      const { options: o, help } = parseArgs(argv, OPTIONS);
      if (help) {
        process.stdout.write(formatHelp('fit', SUMMARY, OPTIONS));
        return 0;
      }
      for (const required of ['movie', 'target', 'dt', 'iters', 'out'] as const) {
        if (o[required] === undefined) throw new UsageError(`--${required} is required`);
      }
      const dt = o.dt!;
      const iters = o.iters!;
      if (o.resume && o.force) throw new UsageError('--resume and --force: expected one of them (continue the run, or replace it)');
      const divergence = o['divergence-factor'];
      if (divergence !== 0 && !(divergence > 1)) throw new UsageError(`--divergence-factor: expected 0 (never) or a number > 1, got '${divergence}'`);
      const optimizer = makeOptimizer(o.optimizer, o.lr, o.schedule, o.momentum, iters);
      const trainDisplay = trainStatePath(o.out!);
      const outs = openOutputs(
        'fit',
        [
          { flag: 'out', path: o.out, nonRegular: 'refuse', why: 'fit rewrites its checkpoint and reads it back on --resume', extensions: undefined, example: 'fit.json' },
          { id: 'train', flag: 'out', path: trainDisplay, nonRegular: 'refuse', why: 'the training state is read back on --resume' },
          { flag: 'loss-plot', path: o['loss-plot'], extensions: ['.svg', '.png'] },
        ],
        [{ flag: 'movie', path: o.movie }, { flag: 'target', path: o.target }, ...connectomeInputs(o)],
      );
      try {
        return await fitRun(o, outs, optimizer, dt, iters, divergence === 0 ? Infinity : divergence);
      } finally {
        outs.release();
      }
    },
    [
      ...BAD_INPUT, FitInputError, BadStartError,
      TrainStateError, OptimizerError, ScheduleError, PlotError,
    ],
  );
}

type FitOptions = ReturnType<typeof parseArgs<typeof OPTIONS>>['options'];

async function fitRun(
  o: FitOptions,
  outs: ReturnType<typeof openOutputs>,
  optimizer: Optimizer,
  dt: number,
  iters: number,
  divergenceFactor: number,
): Promise<number> {
  const outFile = outs.file('out')!;
  const trainFile = outs.file('train')!;
  const out = outFile.display;
  const trainDisplay = trainFile.display;
  // An existing run is continued (--resume) or replaced (--force), never silently overwritten.
  const existing = [outFile, trainFile].filter((f) => f.exists).map((f) => f.display);
  if (!o.resume && !o.force && existing.length > 0) {
    const at = trainFile.exists ? describeRun(trainFile.path) : '';
    throw new UsageError(
      `--out ${out}: a run already exists there (${existing.join(', ')}${at}); continue it with --resume, or replace it with --force`,
    );
  }
  if (o.resume && !trainFile.exists) {
    throw new UsageError(`--resume: no training state ${trainDisplay} to resume (run without --resume first)`);
  }
  setInterruptNote(existing.length > 0 ? `${existing.join(' and ')} unchanged` : 'nothing was written');

  const connectomeFile = connectomeFileOf(o.connectome);
  const net = await networkFromOptions(o, { kernel: o.kernel });
  const movieNpy = readNpy(o.movie!);
  const H = net.stimulus.nInputElements;
  if (movieNpy.shape.length !== 4 || movieNpy.shape[2] !== 1 || movieNpy.shape[3] !== H) {
    throw new FitInputError(`${o.movie}: movie has shape (${movieNpy.shape.join(', ')}), expected (batch, frames, 1, ${H}) for extent ${o.extent}`);
  }
  const movie = { data: npyToFloat32(movieNpy, o.movie!), shape: movieNpy.shape }; // finite after the float32 cast
  const [B, T] = movie.shape as [number, number];
  if (B === 0 || T === 0) throw new FitInputError(`${o.movie}: movie has shape (${movie.shape.join(', ')}), expected at least one sample and one frame`);
  const target = checkTarget(readNpy(o.target!), o.target!, B, T, net.nNodes) as { data: Float32Array; shape: readonly number[] };
  const batchSize = o['batch-size'];

  const runDescription: RunDescription = {
    connectome: digest(connectomeFile),
    extent: o.extent,
    n_syn_fill: o['n-syn-fill'],
    // A network directory is named by its path (its best checkpoint can change while it trains).
    init_params: o.params === undefined ? 'default' : statSync(o.params).isDirectory() ? `dir ${resolve(o.params)}` : digest(o.params),
    movie: digest(o.movie!),
    target: digest(o.target!),
    dt,
    t_pre: o['t-pre'],
    detach_t_pre: o['detach-t-pre'],
    lr: o.lr,
    schedule: o.schedule,
    batch_size: batchSize ?? B,
    seed: o.seed,
  };
  const initial = net.trainableParams();
  const stateDictText = (c: TrainCheckpoint): string => {
    const dict = net.stateDict();
    for (const [k, t] of Object.entries(c.params)) dict[k] = Array.from(t.data);
    return `${JSON.stringify(dict)}\n`;
  };
  const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
  // Stages FIT.train.json and FIT.json, then renames both (the training state first): a failure
  // while staging (a full disk) leaves the previous pair as it was.
  const save = (c: TrainCheckpoint): void => {
    const text = stateDictText(c);
    outs.stage('train', `${JSON.stringify(trainStateToJSON(c, optimizer, runDescription, { checkpoint_sha256: sha(text) }))}\n`);
    outs.stage('out', text);
    outs.commit();
  };

  let start: TrainCheckpoint;
  if (o.resume) {
    start = readTrainState(trainFile.path, optimizer, initial, runDescription);
    if (start.iteration > iters) throw new UsageError(`--iters: the run in ${trainDisplay} is at iteration ${start.iteration}, expected --iters >= ${start.iteration}, got ${iters}`);
  } else start = initialCheckpoint(initial, optimizer);
  // --check: everything a run reads and refuses is checked by now; nothing is written.
  if (o.check) {
    process.stdout.write(`${JSON.stringify({ status: 'checked', iteration: start.iteration, iters, out: resolve(out) })}\n`);
    return 0;
  }
  if (o.resume) {
    // FIT.json must be the state_dict of this training state; a kill between the two renames
    // (or a lost FIT.json) leaves it behind: rewrite it from the training state.
    const expected = stateDictText(start);
    const actual = outFile.exists ? readFileSync(outFile.path, 'utf8') : undefined;
    if (actual !== expected) {
      outs.stage('out', expected);
      outs.commit();
      process.stderr.write(`flyvis fit: ${out} ${actual === undefined ? 'was missing' : 'did not match'} ${trainDisplay} (iteration ${start.iteration}); rewrote it from the training state\n`);
    }
    setInterruptNote(`the checkpoint of iteration ${start.iteration} in ${out} is kept`);
  }

  const sim = { tPre: o['t-pre'], gradSteadyState: !o['detach-t-pre'] };
  // Through the network's asynchronous methods and valueAndGradAsync: every --kernel, webgpu included.
  const lossOn = async (p: Params, index: readonly number[]): Promise<Tensor> =>
    index.length === B
      ? maskedMSE(await simulateActivityAsync(net, p, movie, dt, sim), target)
      : maskedMSE(await simulateActivityAsync(net, p, samples(movie, index), dt, sim), samples(target, index));
  // outside valueAndGradAsync nothing records: a plain evaluation
  const fullLoss = async (p: Params): Promise<number> => (await lossOn(p, batchIndices(B, undefined, 0, 0))).item();
  const step = makeTrainStepAsync({ loss: lossOn, optimizer, project: networkProjection(net) });

  const nParams = Object.values(initial).reduce((n, t) => n + t.size, 0);
  const every = o['checkpoint-every'];
  process.stderr.write(
    `flyvis fit: ${nParams} trainable parameters, ${B} x ${T} frames at dt ${dt} s, iterations ${start.iteration + 1}-${iters}; ` +
      `checkpoints ${every > 0 ? `every ${every} iterations ` : 'at the end '}to ${out} and ${trainDisplay}\n`,
  );
  const progress = new Progress({ total: iters, label: 'flyvis fit', intervalMs: o['progress-every'] * 1000, startIteration: start.iteration });
  let interrupted = false;
  const release = onInterrupt(() => {
    interrupted = true;
  });
  let result;
  try {
    result = await train({
      step,
      start,
      iters,
      batch: (i) => batchIndices(B, batchSize, o.seed, i),
      checkpointEvery: every,
      onCheckpoint: save,
      onIteration: (done, loss) => progress.update(done, loss),
      interrupted: () => interrupted,
      divergenceFactor,
    });
  } finally {
    progress.finish();
    release();
  }
  const summary = async (status: string, params: Params, iteration: number, extra: Record<string, unknown> = {}): Promise<void> => {
    const { losses } = result!.checkpoint ?? { losses: [] as number[] };
    const initialLoss = losses.length > 0 && (batchSize === undefined || batchSize >= B) ? losses[0]! : await fullLoss(initial);
    const finalLoss = await fullLoss(params);
    process.stdout.write(
      `${JSON.stringify({ initial_loss: initialLoss, final_loss: finalLoss, iters, status, diverged: status === 'diverged', iteration, out: resolve(out), ...extra })}\n`,
    );
  };
  if (result.status === 'interrupted') {
    process.stderr.write(
      `flyvis fit: interrupted at iteration ${result.checkpoint.iteration} of ${iters}; checkpoint written to ${out} (continue with --resume)\n`,
    );
    return 130;
  }
  if (result.status === 'nonfinite') {
    const what = Number.isFinite(result.loss) ? `the gradient is not finite (norm ${result.gradNorm})` : `the loss is ${result.loss}`;
    if (result.iteration === 0) {
      const init = o.params === undefined ? "flyvis's initialization" : `--params ${o.params}`;
      throw new BadStartError(
        `${what} at the first iteration, before any update: the initial parameters (${init}) with --movie ${o.movie}, --dt ${dt} and --t-pre ${o['t-pre']} do not give a finite simulation; check them (the learning rate is not involved yet); nothing was written`,
      );
    }
    const kept = result.checkpoint === null
      ? o.resume ? `the checkpoint of iteration ${start.iteration} in ${out} is kept` : 'no checkpoint was written'
      : `the last good parameters (iteration ${result.checkpoint.iteration}) are in ${out}`;
    if (result.checkpoint !== null) await summary('nonfinite', result.checkpoint.params, result.checkpoint.iteration);
    throw new NonFiniteLossError(`${what} at iteration ${result.iteration + 1}; stopped (${kept}); try a smaller --lr`);
  }
  if (result.status === 'diverged') {
    const c = result.checkpoint;
    await summary('diverged', c.params, c.iteration, { divergence_loss: result.loss });
    throw new NonFiniteLossError(
      `the loss diverged: ${result.loss.toExponential(3)} at iteration ${result.iteration + 1}, more than ${divergenceFactor} times the first loss ` +
        `${result.reference.toExponential(3)}; stopped, and wrote the parameters with the lowest loss (${result.best.toExponential(3)}, iteration ${c.iteration}) to ${out}; ` +
        `try a smaller --lr (now ${o.lr}), or --divergence-factor 0 to let it run`,
    );
  }
  const { losses } = result.checkpoint;
  if (o['loss-plot'] !== undefined && losses.length > 0) {
    outs.stage('loss-plot', await plotBytes(o['loss-plot'], lossCurveSpec(losses, { title: `flyvis fit: loss (${o.optimizer}, lr ${o.lr})` })));
    outs.commit();
  }
  process.stderr.write(
    `flyvis fit: wrote ${out} (fitted parameters, iteration ${result.checkpoint.iteration}) and ${trainDisplay} (training state)` +
      `${o['loss-plot'] !== undefined && losses.length > 0 ? ` and ${o['loss-plot']}` : ''}\n`,
  );
  await summary('done', result.checkpoint.params, result.checkpoint.iteration);
  return 0;
}

/** " at iteration 37 of 100" from a training-state file, or '' when it cannot be read. */
function describeRun(trainFile: string): string {
  try {
    const json = JSON.parse(readFileSync(trainFile, 'utf8')) as { iteration?: unknown };
    return typeof json.iteration === 'number' ? `, at iteration ${json.iteration}` : '';
  } catch {
    return '';
  }
}
