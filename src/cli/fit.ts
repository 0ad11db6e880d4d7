// `flyvis fit --connectome FILE --extent N [--params INIT.json] --movie MOVIE.npy
//  --target TARGET.npy --dt DT [--t-pre S] --iters K [--lr LR] --out FIT.json`
//
// Fits the trainable parameters (biases, time constants, synapse strengths) to recorded
// activity: TARGET is float32 (batch, frames, n_nodes) with NaN where a neuron was not
// recorded; the loss is the mean squared error over recorded entries between TARGET and the
// activity `flyvis simulate` would produce with the same movie, dt and t-pre. Adam (default) or
// SGD, gradients through the whole simulation (the grey t-pre phase included), clamp after every
// update. Progress on stderr; every --checkpoint-every iterations FIT.json (state_dict JSON) and
// FIT.train.json (optimizer state, loss history: what --resume needs) are written atomically;
// Ctrl-C writes both and exits 130; a non-finite loss stops the run (exit 1) keeping the last
// good state. The last line on stdout is {"initial_loss", "final_loss", "iters"}.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Tensor, noGrad } from '../autograd/index.ts';
import { demoConnectomePath } from '../graph/demo.ts';
import { Xoshiro128 } from '../init/index.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { type NpyArray, readNpy } from '../io/npy.ts';
import { PlotError, lossCurveSpec, writePlot } from '../plot/index.ts';
import {
  type Optimizer, type Params, type Recording, type RunDescription, type TrainCheckpoint, OptimizerError, Progress, ScheduleError,
  TrainStateError, adam, countRecorded, initialCheckpoint, makeTrainStep, maskedMSE, networkProjection, onInterrupt, parseSchedule,
  readTrainState, sgd, simulateActivity, train, trainStatePath, writeTrainState,
} from '../train/index.ts';
import { BAD_INPUT, CONNECTOME_OPTIONS, networkFromOptions, paramsOption } from './common.ts';
import { type OptionSpecs, UsageError, formatHelp, parseArgs, runCommand } from './args.ts';

const OPTIONS = {
  ...CONNECTOME_OPTIONS,
  ...paramsOption('INIT.json', "initial parameters, a state_dict checkpoint (default: flyvis's initialization)"),
  movie: { type: 'string', metavar: 'MOVIE.npy', help: 'float32 movie of shape (batch, frames, 1, hexals)' },
  target: { type: 'string', metavar: 'TARGET.npy', help: 'float32 recorded activity (batch, frames, n_nodes), NaN where not recorded' },
  dt: { type: 'number', metavar: 'DT', help: 'integration time step in seconds' },
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
  out: { type: 'string', metavar: 'FIT.json', help: 'where to write the fitted parameters (state_dict JSON); FIT.train.json goes beside it' },
  'loss-plot': { type: 'string', metavar: 'FILE.svg', help: 'also plot the loss curve (.svg, or .png)' },
  'progress-every': { type: 'number', metavar: 'SECONDS', min: 0, default: 2, help: 'seconds between progress lines when stderr is not a terminal' },
} as const satisfies OptionSpecs;

const SUMMARY =
  'Fits the trainable parameters to recorded activity (NaN = not recorded) by minimising the mean\n' +
  'squared error of the simulated activity over recorded entries, with checkpoints, Ctrl-C safety\n' +
  'and --resume. The last stdout line is {"initial_loss", "final_loss", "iters"}.';

/** Bad TARGET or MOVIE data. */
export class FitInputError extends Error {
  override name = 'FitInputError';
}

/** A run stopped by a non-finite loss (exit 1). */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
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
      if (!(dt > 0)) throw new UsageError(`--dt: expected a positive number, got '${dt}'`);
      const out = resolve(o.out!);
      if (o['loss-plot'] !== undefined && !/\.(svg|png)$/i.test(o['loss-plot'])) {
        throw new UsageError(`--loss-plot: expected a file name ending in .svg or .png, got '${o['loss-plot']}'`);
      }
      const optimizer = makeOptimizer(o.optimizer, o.lr, o.schedule, o.momentum, iters);

      const connectomeFile = o.connectome ?? demoConnectomePath;
      const net = networkFromOptions(o);
      const movieNpy = readNpy(o.movie!);
      const H = net.stimulus.nInputElements;
      if (movieNpy.shape.length !== 4 || movieNpy.shape[2] !== 1 || movieNpy.shape[3] !== H) {
        throw new FitInputError(`${o.movie}: movie has shape (${movieNpy.shape.join(', ')}), expected (batch, frames, 1, ${H}) for extent ${o.extent}`);
      }
      const movie = { data: Float32Array.from(movieNpy.data), shape: movieNpy.shape };
      const [B, T] = movie.shape as [number, number];
      if (B === 0 || T === 0) throw new FitInputError(`${o.movie}: movie has shape (${movie.shape.join(', ')}), expected at least one sample and one frame`);
      const target = checkTarget(readNpy(o.target!), o.target!, B, T, net.nNodes) as { data: Float32Array; shape: readonly number[] };
      const batchSize = o['batch-size'];

      const runDescription: RunDescription = {
        connectome: o.connectome === undefined ? 'demo' : digest(connectomeFile),
        extent: o.extent,
        n_syn_fill: o['n-syn-fill'],
        init_params: o.params === undefined ? 'default' : digest(o.params),
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
      const trainFile = trainStatePath(out);
      let start: TrainCheckpoint;
      if (o.resume) {
        if (!existsSync(trainFile)) throw new UsageError(`--resume: no training state ${trainFile} to resume (run without --resume first)`);
        start = readTrainState(trainFile, optimizer, initial, runDescription);
        if (start.iteration > iters) throw new UsageError(`--iters: the run in ${trainFile} is at iteration ${start.iteration}, expected --iters >= ${start.iteration}, got ${iters}`);
      } else start = initialCheckpoint(initial, optimizer);

      const sim = { tPre: o['t-pre'], gradSteadyState: !o['detach-t-pre'] };
      const lossOn = (p: Params, index: readonly number[]): Tensor =>
        index.length === B ? maskedMSE(simulateActivity(net, p, movie, dt, sim), target) : maskedMSE(simulateActivity(net, p, samples(movie, index), dt, sim), samples(target, index));
      const fullLoss = (p: Params): number => noGrad(() => lossOn(p, batchIndices(B, undefined, 0, 0)).item());
      const step = makeTrainStep({ loss: lossOn, optimizer, project: networkProjection(net) });

      // Writes FIT.json (every parameter, state_dict JSON) and FIT.train.json; each atomic.
      const save = (c: TrainCheckpoint): void => {
        const dict = net.stateDict();
        for (const [k, t] of Object.entries(c.params)) dict[k] = Array.from(t.data);
        writeTrainState(trainFile, c, optimizer, runDescription);
        writeFileAtomic(out, `${JSON.stringify(dict)}\n`);
      };

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
          checkpointEvery: o['checkpoint-every'],
          onCheckpoint: save,
          onIteration: (done, loss) => progress.update(done, loss),
          interrupted: () => interrupted,
        });
      } finally {
        progress.finish();
        release();
      }
      if (result.status === 'interrupted') {
        process.stderr.write(
          `flyvis fit: interrupted at iteration ${result.checkpoint.iteration} of ${iters}; checkpoint written to ${out} (continue with --resume)\n`,
        );
        return 130;
      }
      if (result.status === 'nonfinite') {
        const what = Number.isFinite(result.loss) ? `the gradient is not finite (norm ${result.gradNorm})` : `the loss is ${result.loss}`;
        const kept = result.checkpoint === null
          ? o.resume ? `the checkpoint of iteration ${start.iteration} in ${out} is kept` : 'no checkpoint was written'
          : `the last good parameters (iteration ${result.checkpoint.iteration}) are in ${out}`;
        throw new NonFiniteLossError(`${what} at iteration ${result.iteration + 1}; stopped (${kept}); try a smaller --lr`);
      }
      const { losses } = result.checkpoint;
      const initialLoss = losses.length > 0 && (batchSize === undefined || batchSize >= B) ? losses[0]! : fullLoss(initial);
      const finalLoss = fullLoss(result.checkpoint.params);
      if (o['loss-plot'] !== undefined && losses.length > 0) {
        await writePlot(resolve(o['loss-plot']), lossCurveSpec(losses, { title: `flyvis fit: loss (${o.optimizer}, lr ${o.lr})` }));
      }
      process.stdout.write(`${JSON.stringify({ initial_loss: initialLoss, final_loss: finalLoss, iters })}\n`);
      return 0;
    },
    [
      ...BAD_INPUT, FitInputError,
      TrainStateError, OptimizerError, ScheduleError, PlotError,
    ],
  );
}
