// The documented teacher-student example (docs/training.md): a teacher network with perturbed
// parameters produces activity from noise movies; `flyvis fit` starts from flyvis's defaults
// and fits that activity; the fitted network is then compared on a held-out movie.
//
//   npx tsx docs/examples/teacher-student.ts [--connectome FILE] [--extent 15] [--iters 300]
//     [--frames 25] [--batch 2] [--lr 0.01] [--out-dir docs/figures]
//
// Writes OUT/teacher-student-loss.svg, OUT/teacher-student-traces.svg (teacher, start and fit
// on the held-out movie) and OUT/teacher-student.json (the numbers).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { noGrad, tensor } from '../../src/autograd/index.ts';
import { run as fit } from '../../src/cli/fit.ts';
import { compileConnectome } from '../../src/graph/compile.ts';
import { demoConnectomePath } from '../../src/graph/demo.ts';
import { loadConnectomeSpec } from '../../src/graph/load.ts';
import { Xoshiro128 } from '../../src/init/index.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { Network } from '../../src/network/network.ts';
import { centralCell, writePlot } from '../../src/plot/index.ts';
import { networkProjection, simulateActivity } from '../../src/train/index.ts';

const { values: a } = parseArgs({
  options: {
    connectome: { type: 'string' }, extent: { type: 'string', default: '15' }, iters: { type: 'string', default: '300' },
    frames: { type: 'string', default: '25' }, batch: { type: 'string', default: '2' }, lr: { type: 'string', default: '0.01' },
    'out-dir': { type: 'string', default: 'docs/figures' }, 'checkpoint-every': { type: 'string', default: '25' },
  },
});
const extent = Number(a.extent);
const [T, B, dt] = [Number(a.frames), Number(a.batch), 0.02];
const connectomeFile = a.connectome ?? demoConnectomePath;
const net = Network.fromConnectome(compileConnectome(loadConnectomeSpec(connectomeFile), extent, 1));
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

const dir = mkdtempSync(join(tmpdir(), 'flyvis-ts-example-'));
const train = movie(11);
const held = movie(12);
writeFileSync(join(dir, 'movie.npy'), encodeNpy(train.data, train.shape));
writeFileSync(join(dir, 'target.npy'), encodeNpy(act(teacher, train), [B, T, net.nNodes]));
const out = resolve(a['out-dir']);
mkdirSync(out, { recursive: true });
const t0 = performance.now();
const args = [
  '--extent', String(extent), '--movie', join(dir, 'movie.npy'), '--target', join(dir, 'target.npy'), '--dt', String(dt),
  '--iters', a.iters, '--lr', a.lr, '--checkpoint-every', a['checkpoint-every'], '--out', join(dir, 'fit.json'),
  '--loss-plot', join(out, 'teacher-student-loss.svg'), ...(a.connectome ? ['--connectome', a.connectome] : []),
];
let stdout = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((s: string) => ((stdout += s), write(s))) as typeof process.stdout.write;
const code = await fit(args);
process.stdout.write = write;
if (code !== 0) process.exit(code);
const seconds = (performance.now() - t0) / 1000;
const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as { initial_loss: number; final_loss: number };
const fitted = Network.fromConnectome(net.connectome);
fitted.loadCheckpoint(join(dir, 'fit.json'));
const heldTeacher = act(teacher, held);
const heldStart = act(start, held);
const heldFit = act(fitted.trainableParams(), held);
const result = {
  connectome: a.connectome ? 'flyvis fib25-fib19_v2.2' : 'demo', extent, n_nodes: net.nNodes, batch: B, frames: T, dt, iters: Number(a.iters), lr: Number(a.lr),
  initial_loss: summary.initial_loss, final_loss: summary.final_loss, loss_reduction: summary.initial_loss / summary.final_loss,
  held_out_mse_start: mse(heldStart, heldTeacher), held_out_mse_fit: mse(heldFit, heldTeacher),
  held_out_improvement: mse(heldStart, heldTeacher) / mse(heldFit, heldTeacher), seconds: Math.round(seconds),
};
writeFileSync(join(out, 'teacher-student.json'), `${JSON.stringify(result, null, 2)}\n`);
// Held-out traces of a few central cells: teacher, start, fit.
const types = ['L1', 'Mi1', 'T4a'].filter((t) => net.connectome.layerIndex.has(t));
const values = types.flatMap((type) => {
  const n = centralCell(net.connectome, type);
  return (['teacher', 'start', 'fit'] as const).flatMap((who) => {
    const src = who === 'teacher' ? heldTeacher : who === 'start' ? heldStart : heldFit;
    return Array.from({ length: T }, (_, f) => ({ time: (f + 1) * dt, activity: src[f * net.nNodes + n]!, cell_type: type, network: who }));
  });
});
await writePlot(join(out, 'teacher-student-traces.svg'), {
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
console.error(JSON.stringify(result));
