// The documented teacher-student example (docs/training.md): a teacher network with perturbed
// parameters produces activity from noise movies; `flyvis fit` starts from flyvis's defaults
// and fits that activity; the fitted network is then compared on a held-out movie.
//
//   npx tsx docs/examples/teacher-student.ts [--connectome FILE] [--extent 15] [--iters 300]
//     [--frames 25] [--batch 2] [--lr 0.01] [--checkpoint-every 25] [--out-dir teacher-student-out]
//
// --lr 0.01 is what the demo connectome's figures used; flyvis's connectome needs --lr 0.003
// (docs/training.md). Writes, into a new (or empty) folder, OUT/teacher-student-loss.svg,
// OUT/teacher-student-traces.svg (teacher, start and fit on the held-out movie) and
// OUT/teacher-student.json (the numbers); nothing else. The movies, targets and fit checkpoints
// live in a temporary folder that is removed at the end, on failure and on Ctrl-C; a run that does
// not finish leaves no output.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad, tensor } from '../../src/autograd/index.ts';
import { run as fit } from '../../src/cli/fit.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { ConnectomeError, loadConnectomeSpec } from '../../src/graph/load.ts';
import { Xoshiro128, loadCheckpoint } from '../../src/init/index.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { Network } from '../../src/network/network.ts';
import { centralCell, writePlot } from '../../src/plot/index.ts';
import { networkProjection, simulateActivity } from '../../src/train/index.ts';

const NAME = 'teacher-student';
const OUTPUTS = ['teacher-student-loss.svg', 'teacher-student-traces.svg', 'teacher-student.json'] as const;

/** Bad arguments: one line on stderr, exit code 2, nothing written (as for a bad connectome file). */
class UsageError extends Error {}

function options() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        connectome: { type: 'string' }, extent: { type: 'string', default: '15' }, iters: { type: 'string', default: '300' },
        frames: { type: 'string', default: '25' }, batch: { type: 'string', default: '2' }, lr: { type: 'string', default: '0.01' },
        'out-dir': { type: 'string', default: `${NAME}-out` }, 'checkpoint-every': { type: 'string', default: '25' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
  const integer = (flag: keyof typeof values, min: number): number => {
    const text = values[flag] as string;
    const x = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(x) || x < min) throw new UsageError(`--${flag}: expected an integer >= ${min}, got '${text}'`);
    return x;
  };
  const lr = Number(values.lr);
  if (!(lr > 0) || !Number.isFinite(lr)) throw new UsageError(`--lr: expected a positive number, got '${values.lr}'`);
  const outDir = resolve(values['out-dir']);
  if (existsSync(outDir) && (!statSync(outDir).isDirectory() || readdirSync(outDir).length > 0)) {
    throw new UsageError(`--out-dir ${values['out-dir']}: exists and is not an empty folder; name a new folder (the example never overwrites files)`);
  }
  return {
    connectome: values.connectome, extent: integer('extent', 0), iters: integer('iters', 1), frames: integer('frames', 1),
    batch: integer('batch', 1), checkpointEvery: integer('checkpoint-every', 1), lr, lrText: values.lr, outDir,
  };
}

/** Runs the example with its outputs staged in `work`; returns the exit code. */
async function main(o: ReturnType<typeof options>, work: string): Promise<number> {
  const [T, B, dt] = [o.frames, o.batch, 0.02];
  const net = Network.fromConnectome(compileConnectome(loadConnectomeSpec(o.connectome ?? demoConnectomePath), o.extent, 1));
  const H = net.stimulus.nInputElements;
  const rng = new Xoshiro128(1);
  const u = () => rng.nextUint32() / 2 ** 32;
  const start = net.trainableParams();
  const teacher = networkProjection(net)(
    Object.fromEntries(Object.entries(start).map(([k, t]) => [k, tensor(t.data.map((x) => (k === 'nodes_bias' ? x + 0.3 * (u() - 0.5) : x * Math.exp(0.5 * (u() - 0.5)))), t.shape)])),
  );
  const movie = (seed: number) => {
    const g = new Xoshiro128(seed);
    return { data: Float32Array.from({ length: B * T * H }, () => g.nextUint32() / 2 ** 32), shape: [B, T, 1, H] };
  };
  const act = (p: typeof start, m: ReturnType<typeof movie>) => noGrad(() => simulateActivity(net, p, m, dt)).data as Float32Array;
  const mse = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + (v - y[i]!) ** 2, 0) / x.length;

  const staged = join(work, 'out');
  mkdirSync(staged);
  const train = movie(11);
  const held = movie(12);
  writeFileSync(join(work, 'movie.npy'), encodeNpy(train.data, train.shape));
  writeFileSync(join(work, 'target.npy'), encodeNpy(act(teacher, train), [B, T, net.nNodes]));
  const t0 = performance.now();
  const args = [
    '--extent', String(o.extent), '--movie', join(work, 'movie.npy'), '--target', join(work, 'target.npy'), '--dt', String(dt),
    '--iters', String(o.iters), '--lr', o.lrText, '--checkpoint-every', String(o.checkpointEvery), '--out', join(work, 'fit.json'),
    '--loss-plot', join(staged, OUTPUTS[0]), '--connectome', o.connectome ?? 'demo', // the example's default, not the command's (flyvis's)
  ];
  let stdout = ''; // fit's summary line, kept for the numbers (its paths are temporary)
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await fit(args);
  } finally {
    process.stdout.write = write;
  }
  if (code !== 0) return code;
  const seconds = (performance.now() - t0) / 1000;
  const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { initial_loss: number; final_loss: number };
  // The fitted parameters (a time constant Adam pushed to <= 0 is reported: flyvis integrates it as dt).
  const fitted = loadCheckpoint(net.parameters, join(work, 'fit.json'), {
    onWarning: (m) => process.stderr.write(`${NAME}: warning: fitted ${m.replace(/^checkpoint \S+: /, '')}\n`),
  });
  const fittedParams = Object.fromEntries(fitted.parameters.filter((p) => p.trainable).map((p) => [p.stateDictName, tensor(p.raw)]));
  const heldTeacher = act(teacher, held);
  const heldStart = act(start, held);
  const heldFit = act(fittedParams, held);
  const result = {
    connectome: o.connectome ? basename(o.connectome, '.json') : 'demo', extent: o.extent, n_nodes: net.nNodes, batch: B, frames: T, dt,
    iters: o.iters, lr: o.lr, initial_loss: summary.initial_loss, final_loss: summary.final_loss,
    loss_reduction: summary.initial_loss / summary.final_loss,
    held_out_mse_start: mse(heldStart, heldTeacher), held_out_mse_fit: mse(heldFit, heldTeacher),
    held_out_improvement: mse(heldStart, heldTeacher) / mse(heldFit, heldTeacher), seconds: Math.round(seconds),
  };
  writeFileSync(join(staged, OUTPUTS[2]), `${JSON.stringify(result, null, 2)}\n`);
  // Held-out traces of a few central cells: teacher, start, fit.
  const types = ['L1', 'Mi1', 'T4a'].filter((t) => net.connectome.layerIndex.has(t));
  const values = types.flatMap((type) => {
    const n = centralCell(net.connectome, type);
    return (['teacher', 'start', 'fit'] as const).flatMap((who) => {
      const src = who === 'teacher' ? heldTeacher : who === 'start' ? heldStart : heldFit;
      return Array.from({ length: T }, (_, f) => ({ time: (f + 1) * dt, activity: src[f * net.nNodes + n]!, cell_type: type, network: who }));
    });
  });
  await writePlot(join(staged, OUTPUTS[1]), {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white',
    title: 'Held-out movie: central cells of the teacher, the start and the fitted network',
    data: { values },
    facet: { column: { field: 'cell_type', type: 'nominal', title: null, sort: types } },
    spec: {
      width: 220, height: 180, mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'time', type: 'quantitative', title: 'time (s)' },
        y: { field: 'activity', type: 'quantitative', title: 'activity', scale: { zero: false } },
        color: { field: 'network', type: 'nominal', sort: ['teacher', 'start', 'fit'] },
        strokeDash: { field: 'network', type: 'nominal', sort: ['teacher', 'start', 'fit'] },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as never);

  // Publish: only now does anything appear in the output folder.
  const created = !existsSync(o.outDir);
  mkdirSync(o.outDir, { recursive: true });
  published = { dir: o.outDir, created, files: [] };
  for (const f of OUTPUTS) {
    copyFileSync(join(staged, f), join(o.outDir, f));
    published.files.push(join(o.outDir, f));
  }
  published = undefined; // complete: keep it
  console.error(JSON.stringify(result));
  for (const f of OUTPUTS) process.stdout.write(`${join(o.outDir, f)}\n`);
  return 0;
}

/** Output being published (removed again if the run stops before it is complete). */
let published: { dir: string; created: boolean; files: string[] } | undefined;
let work: string | undefined;

/** Removes the temporary folder and any incomplete output; safe to call more than once. */
function cleanup(): void {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
  work = undefined;
  if (published !== undefined) {
    if (published.created) rmSync(published.dir, { recursive: true, force: true });
    else for (const f of published.files) rmSync(f, { force: true });
  }
  published = undefined;
}

process.on('exit', cleanup); // also when something else calls process.exit
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`${NAME}: interrupted; nothing was written\n`);
    process.exit(130);
  });
}

try {
  const o = options();
  work = mkdtempSync(join(tmpdir(), 'flyvis-ts-example-'));
  process.exitCode = await main(o, work);
} catch (e) {
  const usage = e instanceof UsageError || e instanceof ConnectomeError;
  process.stderr.write(`${NAME}: ${usage ? '' : 'error: '}${(e as Error).message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exitCode = usage ? 2 : 1;
} finally {
  cleanup();
}
