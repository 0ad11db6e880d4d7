// One flyvis flow training step here and in PyTorch (bench/flow-train-step.py, flyvis's way), on
// the same network, decoder and batch: iterations per second of each, and their ratio.
//
//   npx tsx bench/flow-train-step.ts [--extent E] [--steps N] [--threads T] [--python PY] [--conv wasm|js]
//
// --conv picks conv2dHex's kernels (src/task/conv2d-hex-wasm.ts; default wasm, where it runs).
// ms_per_step is wall-clock time, cpu_ms_per_step the CPU time of every thread of the process
// (both sides): on a shared machine the CPU times are the steadier comparison.
//
// exportFlowStep writes what the PyTorch step reads (also used by tests/task/solver-torch.test.ts
// to compare one step's results).
import '../src/platform-node.ts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tensor } from '../src/autograd/index.ts';
import type { FlowBatch } from '../src/datasets/flow/batch.ts';
import { flowBatch } from '../src/datasets/flow/batch.ts';
import { ProceduralFlow } from '../src/datasets/flow/procedural.ts';
import { Network } from '../src/network/network.ts';
import { conv2dHexKernel, setConv2dHexKernel } from '../src/task/conv2d-hex-wasm.ts';
import { initDecoder } from '../src/task/decoder.ts';
import { type FlowSolver, type FlowTrainState, defaultSolverConfig, dropoutRng, epochInitialState, flowTrainStep, initialTrainState, makeFlowSolver } from '../src/task/solver.ts';

const bytes = (a: Int32Array | Float32Array | Float64Array | Uint8Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const f32 = (a: ArrayLike<number>): Float32Array => (a instanceof Float32Array ? a : Float32Array.from(a));

/** Writes the folder bench/flow-train-step.py reads: graph, parameters, decoder, batch, dropout uniforms (optional). */
export function exportFlowStep(dir: string, solver: FlowSolver, state: FlowTrainState, batch: FlowBatch, dropoutUniforms?: Float64Array): void {
  const { net, decoder } = solver;
  const w = (name: string, a: Int32Array | Float32Array | Float64Array | Uint8Array): void => writeFileSync(join(dir, name), bytes(a));
  const params = net.parameters.parameters.map((p) => {
    w(`raw_${p.stateDictName}.f32`, f32(state.network[p.stateDictName]?.data ?? p.raw));
    w(`idx_${p.stateDictName}.i32`, p.indices);
    return { name: p.stateDictName, trainable: p.trainable, transform: p.transform, clamp: p.clamp };
  });
  const cols = net.connectome.edges.columns;
  w('source.i32', cols.source_index as Int32Array);
  w('target.i32', cols.target_index as Int32Array);
  const inputs = net.stimulus.inputIndex;
  const H = net.stimulus.nInputElements;
  const inputIndex = new Int32Array(inputs.length * H);
  inputs.forEach((idx, k) => inputIndex.set(idx, k * H));
  w('input_index.i32', inputIndex);
  w('central.i32', net.connectome.centralCellsIndex);
  const g = decoder.geometry;
  w('map_index.i32', g.mapIndex);
  w('read_index.i32', g.readIndex);
  const conv = decoder.layers.find((l) => l.kind === 'conv')!;
  if (conv.kind !== 'conv' || conv.mask === null) throw new Error('exportFlowStep: expected a hex-masked convolution');
  w('mask.u8', conv.mask);
  for (const [name, t] of Object.entries(state.decoder)) w(`dec_${name.replace(/\./g, '_')}.f32`, f32(t.data));
  w('lum.f32', batch.lum.data);
  w('flow.f32', batch.flow.data);
  if (dropoutUniforms) w('dropout_u.f64', dropoutUniforms);
  const it = state.iteration;
  const cfg = solver.config;
  const dropout = decoder.layers.find((l) => l.kind === 'dropout');
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({
    nodes: net.nNodes, hexals: H, dt: solver.dt, t_pre_train: solver.tPreTrain, batch: batch.lum.shape[0], frames: batch.lum.shape[1],
    lr_net: solver.valueAt('lr_net', it), lr_dec: solver.valueAt('lr_dec', it), lr_pen: solver.valueAt('lr_pen', it),
    penalty: cfg.penalizer.activity_penalty, penalized: solver.penalized, params,
    decoder: {
      H: g.H, W: g.W, in_channels: g.cellTypes.length, kernel_size: decoder.config.kernel_size, p_dropout: dropout?.kind === 'dropout' ? dropout.p : 0,
      parameters: decoder.parameterNames.map((n) => [n, decoder.stateShapes.get(n)]),
      buffers: decoder.bufferNames.filter((n) => !n.endsWith('num_batches_tracked')).map((n) => [n, decoder.stateShapes.get(n)]),
    },
  }));
}

/** The default network and decoder at `extent`, a solver for `iters` iterations and a procedural training batch. */
export function flowStepSetup(extent: number, options: { iters?: number; batchSize?: number; frames?: number; seed?: number } = {}) {
  const net = new Network({ connectome: { type: 'ConnectomeFromAvgFilters', file: 'fib25-fib19_v2.2.json', extent, n_syn_fill: 1 } });
  const { decoder, params } = initDecoder(defaultSolverConfig().task.decoder.flow, net.connectome);
  const config = defaultSolverConfig();
  const B = options.batchSize ?? 4;
  const solver = makeFlowSolver({ ...config, task: { ...config.task, n_iters: options.iters ?? 1000, batch_size: B } }, net, decoder, { trainItems: B });
  const ds = new ProceduralFlow({ split: 'train', nSequences: B, extent, seed: options.seed ?? 0, ...(options.frames ? { frames: options.frames } : {}) });
  const batch = flowBatch(ds, Array.from({ length: B }, (_, i) => i));
  const state = initialTrainState(solver, net.trainableParams(), params);
  return { net, decoder, solver, batch, state };
}

/** The uniforms dropoutRng(seed, iteration) gives, n of them. */
export function dropoutUniforms(seed: number, iteration: number, n: number): Float64Array {
  const r = dropoutRng(seed, iteration);
  return Float64Array.from({ length: n }, () => r());
}

if (import.meta.filename === process.argv[1]) {
  const arg = (name: string, fallback: string): string => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : fallback;
  };
  const extent = Number(arg('extent', '15'));
  const steps = Number(arg('steps', '3'));
  const threads = Number(arg('threads', '2'));
  const python = arg('python', '/usr/bin/python3');
  const conv = arg('conv', 'wasm');
  if (conv !== 'wasm' && conv !== 'js') throw new Error(`--conv: expected wasm or js, got ${conv}`);
  setConv2dHexKernel(conv);
  const { solver, batch, state } = flowStepSetup(extent);
  let t = performance.now();
  const initial = epochInitialState(solver, state.network);
  const steadyMs = performance.now() - t;
  let s = state;
  const times: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i <= steps; i++) {
    if (i === 1) cpu = process.cpuUsage();
    t = performance.now();
    const r = flowTrainStep(solver, s, batch, initial, dropoutRng(0, i));
    times.push(performance.now() - t);
    s = r.state;
  }
  const used = process.cpuUsage(cpu);
  const ours = times.slice(1).reduce((a, b) => a + b, 0) / steps;
  const oursCpu = (used.user + used.system) / 1000 / steps;
  const dir = mkdtempSync(join(tmpdir(), 'flow-train-step-'));
  try {
    exportFlowStep(dir, solver, state, batch);
    const torch = JSON.parse(execFileSync(python, [join(import.meta.dirname, 'flow-train-step.py'), dir, '--bench', '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' })) as Record<string, number | string>;
    const result = {
      extent, nodes: solver.net.nNodes, batch: batch.lum.shape[0], frames: batch.lum.shape[1], conv2d_hex: conv2dHexKernel().kind,
      flyvis_ts: { ms_per_step: Math.round(ours), cpu_ms_per_step: Math.round(oursCpu), first_step_ms: Math.round(times[0]!), steady_state_ms: Math.round(steadyMs), iterations_per_second: 1000 / ours },
      torch: { ...torch, iterations_per_second: 1000 / Number(torch.ms_per_step) },
      ratio_ms_per_step: ours / Number(torch.ms_per_step),
      ratio_cpu_ms_per_step: oursCpu / Number(torch.cpu_ms_per_step),
    };
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  void ({} as Tensor);
}
